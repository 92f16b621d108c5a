/* SPDX-License-Identifier: MIT */
/*
 * bfit_test.c - helpers for the best-fit heap's tests (see bfit_test.h).
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, dup2 */
#include "bfit_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct layout_buf {
	char text[4096]; /* the layout so far, tokens separated by spaces */
	size_t len;      /* characters in text */
};

static int layout_add(void *arg, const struct bfit_block *b)
{
	struct layout_buf *lb = arg;
	int n = snprintf(lb->text + lb->len, sizeof lb->text - lb->len, "%s%c%zu",
			 lb->len ? " " : "", b->allocated ? 'A' : 'F', b->size);

	if (n > 0 && (size_t)n < sizeof lb->text - lb->len)
		lb->len += (size_t)n;
	return 0;
}

/* Expand the "*" in expect into the bytes the other tokens leave over. */
static void layout_expand(const struct bfit *h, const char *expect, char *out, size_t size)
{
	struct bfit_stats st;
	size_t used = 0;
	const char *s = expect;

	bfit_get_stats(h, &st);
	while (*s) {
		if (*s == 'A' || *s == 'F')
			used += strtoul(s + 1, NULL, 10);
		s++;
	}
	out[0] = '\0';
	for (s = expect; *s && strlen(out) + 24 < size; s++) {
		size_t len = strlen(out);
		if (*s == '*')
			snprintf(out + len, size - len, "%zu", st.heap_bytes - used);
		else
			snprintf(out + len, size - len, "%c", *s);
	}
}

int bfit_test_layout(const struct bfit *h, const char *expect)
{
	struct layout_buf lb = { .len = 0 };
	char want[4096];

	lb.text[0] = '\0';
	bfit_walk(h, layout_add, &lb);
	layout_expand(h, expect, want, sizeof want);
	if (strcmp(lb.text, want) == 0)
		return 1;
	fprintf(stderr, "layout: want %s\n        have %s\n", want, lb.text);
	return 0;
}

void bfit_test_record(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	struct bfit_test_errors *e = arg;

	e->count++;
	e->kind = kind;
	snprintf(e->op, sizeof e->op, "%s", op);
	e->ptr = ptr;
	snprintf(e->msg, sizeof e->msg, "%s", msg);
}

int bfit_test_kind(int status)
{
	switch (status) {
	case BFIT_EINVALID: return BUDDY_ERR_INVALID;
	case BFIT_EDOUBLE: return BUDDY_ERR_DOUBLE;
	case BFIT_EINTERIOR: return BUDDY_ERR_INTERIOR;
	case BFIT_ECORRUPT: return BUDDY_ERR_CORRUPT;
	default: return 0;
	}
}

static void check_print(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "check: %s\n", msg);
}

size_t bfit_test_check(const struct bfit *h)
{
	return bfit_check(h, check_print, NULL);
}

int bfit_test_light(void)
{
	const char *v = getenv("BUDDY_UNDER_VALGRIND");

	return v && *v && strcmp(v, "0") != 0;
}

struct bfit *bfit_test_heap(void *buf, size_t len, int fill, struct bfit_test_errors *errs)
{
	struct bfit_config cfg = { bfit_test_record, errs };

	memset(errs, 0, sizeof *errs);
	memset(buf, fill, len);
	return bfit_init(buf, len, &cfg, NULL);
}

int bfit_test_child(void (*fn)(void), char *out, size_t size)
{
	int fds[2], status = 0;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (len + 1 < size && (n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}
