/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_errors.c - every class of bad pointer given to free and
 * realloc: detected before anything changes, reported through the
 * configured handler with a message naming the problem and the pointer,
 * and, with the default handler, printed to stderr followed by abort().
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, dup2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bestfit/bestfit_internal.h"
#include "bfit_test.h"
#include "buddy/bestfit.h"

static _Alignas(16) unsigned char buf[BFIT_DEMO_BYTES];
static _Alignas(16) unsigned char before[BFIT_DEMO_BYTES];
static struct bfit_test_errors errs;
static struct bfit *h;

/* A snapshot of the whole buffer, to show a rejected call changed nothing. */
static unsigned char snapshot[sizeof buf];

static int heap_setup(void **state)
{
	struct bfit_config cfg = { bfit_test_record, &errs };

	(void)state;
	memset(&errs, 0, sizeof errs);
	h = bfit_init(buf, sizeof buf, &cfg, NULL);
	return h ? 0 : -1;
}

static void heap_snapshot(void)
{
	memcpy(snapshot, buf, sizeof buf);
}

/*
 * free(p) must report status and leave every byte of the buffer as it was,
 * the heap's state and bitmap included, but for the status it records.
 */
static void free_rejected(void *p, int status, const char *phrase)
{
	char want[96];
	int before_count = errs.count;
	size_t at = (size_t)((unsigned char *)&h->last_error - buf), len = sizeof h->last_error;

	heap_snapshot();
	bfit_free(h, p);
	assert_int_equal(errs.count, before_count + 1);
	assert_int_equal(errs.kind, bfit_test_kind(status));
	assert_string_equal(errs.op, "free");
	assert_ptr_equal(errs.ptr, p);
	snprintf(want, sizeof want, "bfit: free(): %s at %p", phrase, p);
	assert_string_equal(errs.msg, want);
	assert_int_equal(bfit_last_error(h), status);
	assert_memory_equal(buf, snapshot, at);
	assert_memory_equal(buf + at + len, snapshot + at + len, sizeof buf - at - len);
	assert_int_equal(bfit_test_check(h), 0);
}

static void test_bestfit_free_outside_heap(void **state)
{
	int local;

	(void)state;
	free_rejected(&local, BFIT_EINVALID, "invalid pointer");
	free_rejected(before + 64, BFIT_EINVALID, "invalid pointer");
	free_rejected(buf + sizeof buf - 1, BFIT_EINVALID, "invalid pointer");
}

static void test_bestfit_free_in_metadata(void **state)
{
	(void)state;
	free_rejected(h, BFIT_EINVALID, "invalid pointer");
	free_rejected((char *)h + 64, BFIT_EINVALID, "invalid pointer");
}

static void test_bestfit_free_interior(void **state)
{
	char *p = bfit_malloc(h, 100);

	(void)state;
	free_rejected(p + 16, BFIT_EINTERIOR, "interior pointer");
	free_rejected(p + 1, BFIT_EINTERIOR, "interior pointer");
	free_rejected(p + 99, BFIT_EINTERIOR, "interior pointer");
	bfit_free(h, p);
	assert_int_equal(errs.count, 3);
}

static void test_bestfit_free_far_inside_a_block(void **state)
{
	char *p = bfit_malloc(h, 3000); /* the block start is words of bitmap away */

	(void)state;
	free_rejected(p + 2048, BFIT_EINTERIOR, "interior pointer");
	free_rejected(p + 2999, BFIT_EINTERIOR, "interior pointer");
	bfit_free(h, p);
	free_rejected(p + 2048, BFIT_EDOUBLE, "double free");
	free_rejected(p + 2047, BFIT_EINVALID, "invalid pointer");
}

static void test_bestfit_free_header_bytes(void **state)
{
	char *p = bfit_malloc(h, 28), *q = bfit_malloc(h, 28);

	(void)state;
	/* the 4 bytes before q are q's header: not anyone's payload */
	free_rejected(q - 2, BFIT_EINVALID, "invalid pointer");
	free_rejected(q - 4, BFIT_EINVALID, "invalid pointer");
	bfit_free(h, p);
	bfit_free(h, q);
}

static void test_bestfit_free_double(void **state)
{
	char *p = bfit_malloc(h, 28), *q = bfit_malloc(h, 28), *r = bfit_malloc(h, 28);

	(void)state;
	bfit_free(h, q);
	free_rejected(q, BFIT_EDOUBLE, "double free");
	bfit_free(h, p); /* q's memory is now inside the block that starts at p */
	free_rejected(q, BFIT_EDOUBLE, "double free");
	free_rejected(p, BFIT_EDOUBLE, "double free");
	free_rejected(q + 3, BFIT_EINVALID, "invalid pointer");
	bfit_free(h, r);
	free_rejected(r, BFIT_EDOUBLE, "double free");
}

/*
 * A header that disagrees with the bitmaps: reported as corruption of that
 * block (its payload address), the block area and the bitmaps unchanged;
 * from then on the heap refuses every change (test_bestfit_damage.c).
 */
static void corrupt_header_rejected(uint32_t value)
{
	char *p = bfit_malloc(h, 28), *q = bfit_malloc(h, 28);
	uint32_t *hdr = (uint32_t *)(void *)(q - 4);
	const unsigned char *area = (const unsigned char *)(h + 1);
	size_t area_len = sizeof buf - (size_t)(area - buf);
	char want[96];

	*hdr = value;
	heap_snapshot();
	bfit_free(h, q);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(errs.op, "free");
	assert_ptr_equal(errs.ptr, q);
	snprintf(want, sizeof want, "bfit: free(): corrupted block header at %p", (void *)q);
	assert_string_equal(errs.msg, want);
	assert_int_equal(bfit_last_error(h), BFIT_ECORRUPT);
	assert_memory_equal(area, snapshot + (area - buf), area_len);
	(void)p;
}

static void test_bestfit_free_corrupt_header(void **state)
{
	(void)state;
	corrupt_header_rejected(0x3ffffff1u); /* a huge size with the allocated bit: an overflow from p */
	heap_setup(NULL);
	corrupt_header_rejected((3u << 2) | 1u); /* in bounds but not ending on a block start */
	heap_setup(NULL);
	corrupt_header_rejected(2u << 2); /* the right size, the allocated bit cleared */
}

static void test_bestfit_realloc_bad_pointer(void **state)
{
	char *p = bfit_malloc(h, 28);
	char want[96];

	(void)state;
	errno = 0;
	assert_null(bfit_realloc(h, p + 16, 64));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(errs.kind, BUDDY_ERR_INTERIOR);
	assert_string_equal(errs.op, "realloc");
	assert_int_equal(bfit_last_error(h), BFIT_EINTERIOR);
	snprintf(want, sizeof want, "bfit: realloc(): interior pointer at %p", (void *)(p + 16));
	assert_string_equal(errs.msg, want);
	bfit_free(h, p);
	assert_null(bfit_realloc(h, p, 64));
	assert_int_equal(errs.kind, BUDDY_ERR_DOUBLE);
	assert_int_equal(bfit_last_error(h), BFIT_EDOUBLE);
	assert_null(bfit_realloc(h, p, 0));
	assert_int_equal(errs.kind, BUDDY_ERR_DOUBLE);
	assert_int_equal(errs.count, 3);
	assert_true(bfit_test_layout(h, "F*"));
}

static char *abort_ptr;

static void double_free_default(void)
{
	struct bfit *d = bfit_init(buf, sizeof buf, NULL, NULL);

	abort_ptr = bfit_malloc(d, 10);
	bfit_free(d, abort_ptr);
	bfit_free(d, abort_ptr); /* prints and aborts */
}

static void test_bestfit_default_handler_aborts(void **state)
{
	char out[4096], want[96];
	struct bfit *d = bfit_init(buf, sizeof buf, NULL, NULL);
	int status;

	(void)state;
	abort_ptr = bfit_malloc(d, 10); /* the child gets the same address */
	status = bfit_test_child(double_free_default, out, sizeof out);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	snprintf(want, sizeof want, "bfit: free(): double free at %p\n", (void *)abort_ptr);
	assert_non_null(strstr(out, want));
}

#define T(name) cmocka_unit_test_setup(name, heap_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bestfit_free_outside_heap),
		T(test_bestfit_free_in_metadata),
		T(test_bestfit_free_interior),
		T(test_bestfit_free_far_inside_a_block),
		T(test_bestfit_free_header_bytes),
		T(test_bestfit_free_double),
		T(test_bestfit_free_corrupt_header),
		T(test_bestfit_realloc_bad_pointer),
		cmocka_unit_test(test_bestfit_default_handler_aborts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
