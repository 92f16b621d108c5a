/* SPDX-License-Identifier: MIT */
/*
 * bfit_test.c - helpers for the best-fit heap's tests (see bfit_test.h).
 */
#include "bfit_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
