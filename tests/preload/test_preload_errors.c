/* SPDX-License-Identifier: MIT */
/*
 * test_preload_errors.c - misuse and damage end the program as glibc's
 * malloc does: one line on stderr naming the call, the problem and the
 * pointer ("buddymalloc: free(): double free at 0x..."), then SIGABRT.
 * Each case runs in a child: a double free while the object is in the
 * thread's cache and after the cache gave it back, of a run and of a huge
 * block; a pointer never handed out; interior pointers; realloc and
 * malloc_usable_size of a freed block; a damaged free pointer in a slab, a
 * damaged link in a thread's cache, a damaged slab header.
 * ctest runs this program as it is and again with BUDDY_MALLOC_CHECK=1
 * and =2 (no thread caches, every pointer checked by the heap): the
 * expected lines are the same.
 */
#include "preload_test.h"

#include <pthread.h>

struct bad {
	const char *op;      /* the call named */
	const char *problem; /* as buddy_error_name prints it */
	void *ptr;           /* the pointer named */
};

static void expect_abort(void (*fn)(const void *), struct bad *b)
{
	struct child_end e;
	run_child(fn, b, &e);
	char want[200];
	/* The pointer is known once the child made it: children repeat the same steps. */
	fn(NULL);
	snprintf(want, sizeof(want), "buddymalloc: %s(): %s at %p\n", b->op, b->problem, b->ptr);
	if (!WIFSIGNALED(e.status) || WTERMSIG(e.status) != SIGABRT || strcmp(e.err, want) != 0)
		fail_msg("child status %d, stderr \"%s\"; wanted SIGABRT and \"%s\"", e.status,
			 e.err, want);
}

/*
 * Each case is called twice: in the child with b (it misbehaves and must
 * die), then in the parent with NULL (it only computes the same pointer,
 * into the static below, without the misuse).
 */
static struct bad *cur;

static void *fresh(size_t n)
{
	void *p = bmalloc_malloc(n);
	assert_non_null(p);
	return p;
}

static void double_free_cached(const void *arg)
{
	char *p = fresh(64);
	cur->ptr = p;
	bmalloc_free(p);
	if (arg)
		bmalloc_free(p);
	else
		bmalloc_thread_flush();
}

static void double_free_flushed(const void *arg)
{
	char *p = fresh(80);
	cur->ptr = p;
	bmalloc_free(p);
	bmalloc_thread_flush();
	if (arg)
		bmalloc_free(p);
}

static void double_free_run(const void *arg)
{
	char *p = fresh(30000);
	cur->ptr = p;
	bmalloc_free(p);
	if (arg)
		bmalloc_free(p);
}

static void double_free_huge(const void *arg)
{
	char *p = fresh((size_t)3 << 20);
	cur->ptr = p;
	char *guard = fresh((size_t)3 << 20); /* keeps the address from being reused at once */
	bmalloc_free(p);
	if (arg)
		bmalloc_free(p);
	bmalloc_free(guard);
}

static void foreign_pointer(const void *arg)
{
	static long not_ours[8];
	cur->ptr = &not_ours[2];
	if (arg)
		bmalloc_free(cur->ptr);
}

static void wild_pointer(const void *arg)
{
	cur->ptr = (void *)((uintptr_t)1 << 60);
	if (arg)
		bmalloc_free(cur->ptr);
}

static void usable_size_cached(const void *arg)
{
	char *p = fresh(48);
	cur->ptr = p;
	bmalloc_free(p);
	if (arg)
		(void)bmalloc_usable_size(p);
	else
		bmalloc_thread_flush();
}

/*
 * The first free put p in another thread's bin, and that thread still
 * runs (it waits on a pipe): the second free, here, is caught all the same.
 */
static int freed[2], park[2];

static void *free_and_wait(void *p)
{
	char c = 0;
	bmalloc_free(p);
	if (write(freed[1], &c, 1) != 1 || read(park[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static void double_free_other_thread(const void *arg)
{
	char *p = fresh(64);
	char c = 0;
	pthread_t t;
	cur->ptr = p;
	if (pipe(freed) != 0 || pipe(park) != 0 ||
	    pthread_create(&t, NULL, free_and_wait, p) != 0 || read(freed[0], &c, 1) != 1)
		child_exit(5);
	if (arg)
		bmalloc_free(p);
	if (write(park[1], &c, 1) != 1 || pthread_join(t, NULL) != 0)
		child_exit(6);
	close(freed[0]);
	close(freed[1]);
	close(park[0]);
	close(park[1]);
}

/* The start of a 32 KiB slab of the 4 KiB class: its header, before the first object. */
static void slab_header(const void *arg)
{
	void *p[40];
	for (int i = 0; i < 40; i++)
		p[i] = fresh(4096);
	cur->ptr = (void *)((uintptr_t)p[39] & ~(uintptr_t)32767);
	if (arg)
		bmalloc_free(cur->ptr);
	for (int i = 0; i < 40; i++)
		bmalloc_free(p[i]);
}

static void interior_small(const void *arg)
{
	char *p = fresh(64);
	cur->ptr = p + 16;
	if (arg)
		bmalloc_free(p + 16);
	bmalloc_free(p);
}

static void interior_misaligned(const void *arg)
{
	char *p = fresh(200);
	cur->ptr = p + 3;
	if (arg)
		bmalloc_free(p + 3);
	bmalloc_free(p);
}

static void interior_run(const void *arg)
{
	char *p = fresh(50000);
	cur->ptr = p + 4096;
	if (arg)
		bmalloc_free(p + 4096);
	bmalloc_free(p);
}

static void realloc_freed(const void *arg)
{
	char *p = fresh(100);
	cur->ptr = p;
	bmalloc_free(p);
	if (arg)
		bmalloc_realloc(p, 300);
	else
		bmalloc_thread_flush();
}

static void usable_size_freed(const void *arg)
{
	char *p = fresh(5000);
	cur->ptr = p;
	bmalloc_free(p);
	if (arg)
		(void)bmalloc_usable_size(p);
}

#define CASE(fn, op_, problem_)                                                        \
	static void test_##fn(void **state)                                            \
	{                                                                              \
		(void)state;                                                           \
		struct bad b = { op_, problem_, NULL };                                \
		cur = &b;                                                              \
		expect_abort(fn, &b);                                                  \
	}

CASE(double_free_cached, "free", "double free")
CASE(double_free_flushed, "free", "double free")
CASE(double_free_run, "free", "double free")
CASE(interior_small, "free", "interior pointer")
CASE(interior_misaligned, "free", "interior pointer")
CASE(interior_run, "free", "interior pointer")
CASE(foreign_pointer, "free", "invalid pointer")
CASE(wild_pointer, "free", "invalid pointer")
CASE(slab_header, "free", "invalid pointer")
CASE(usable_size_cached, "malloc_usable_size", "double free")
CASE(double_free_other_thread, "free", "double free")
CASE(realloc_freed, "realloc", "double free")
CASE(usable_size_freed, "malloc_usable_size", "double free")

/* A huge block's mapping is gone once freed: its pointer is no longer the heap's. */
static void test_double_free_huge(void **state)
{
	(void)state;
	struct bad b = { "free", "invalid pointer", NULL };
	cur = &b;
	expect_abort(double_free_huge, &b);
}

/* A free slab object's free pointer overwritten: the heap says so before handing anything out. */
static void damage_free_pointer(const void *arg)
{
	(void)arg;
	enum { N = 200 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = fresh(1280);
	for (int i = 0; i < N; i += 2)
		bmalloc_free(p[i]);
	bmalloc_thread_flush();
	for (int i = 0; i < N; i += 2)
		memset(p[i], 0x41, 8); /* use after free: the slab's free pointer */
	for (int i = 0; i < N; i++)
		p[i] = fresh(1280);
}

/* The same damage while the objects are in the thread's cache: its links are checked. */
static void damage_cache_link(const void *arg)
{
	(void)arg;
	enum { N = 12 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = fresh(1280);
	for (int i = 0; i < N; i++)
		bmalloc_free(p[i]);
	for (int i = 0; i < N; i++)
		memset(p[i], 0x41, 8);
	for (int i = 0; i < N; i++)
		p[i] = fresh(1280);
}

/*
 * The header of a slab overwritten (an underflow from its first object)
 * while an object of it waits in the thread's cache: when the cache gives
 * the object back, the slab no longer names its cache, and that is
 * reported rather than written through. Class 1280's slabs hold their
 * first object 64 bytes in (docs/kmalloc.md), at an offset that no other
 * object of a slab has modulo 1 KiB.
 */
static void damage_slab(size_t from, size_t len, int byte)
{
	enum { N = 40 };
	char *p[N], *first = NULL;
	for (int i = 0; i < N; i++) {
		p[i] = fresh(1280);
		if (!first && ((uintptr_t)p[i] & 1023) == 64)
			first = p[i];
	}
	if (first) {
		memset(first - 64 + from, byte, len);
		bmalloc_free(first);
		bmalloc_thread_flush();
	}
	child_exit(first ? 2 : 1); /* (not reached with a first object: the flush aborts) */
}

static void damage_slab_header(const void *arg)
{
	(void)arg;
	damage_slab(0, 64, 0x41);
}

/*
 * Only the in-use bitmap after the header's 56 bytes, cleared: the slab
 * refuses the cached object it gets back. (Without the caches the heap
 * sees a double free there, which is what a clear bit says.)
 */
static void damage_slab_bitmap(const void *arg)
{
	(void)arg;
	damage_slab(56, 8, 0);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void expect_damage(void (*fn)(const void *))
{
#ifdef UNDER_ASAN
	/* Objects free in the heap (not in a thread cache) are poisoned there. */
	const char *ck = getenv("BUDDY_MALLOC_CHECK");
	if (fn == damage_free_pointer || (ck && strcmp(ck, "0") != 0)) {
		print_message("skipped: AddressSanitizer reports the write after free first\n");
		return;
	}
#endif
	struct child_end e;
	run_child(fn, NULL, &e);
	if (!WIFSIGNALED(e.status) || WTERMSIG(e.status) != SIGABRT ||
	    strncmp(e.err, "buddymalloc: ", 13) != 0 || !strstr(e.err, "corrupt") ||
	    strchr(e.err, '\n') != e.err + strlen(e.err) - 1)
		fail_msg("child status %d, stderr \"%s\"", e.status, e.err);
}

static void test_damage_reported(void **state)
{
	(void)state;
	expect_damage(damage_free_pointer);
	expect_damage(damage_cache_link);
	expect_damage(damage_slab_header);
	const char *ck = getenv("BUDDY_MALLOC_CHECK"), *tc = getenv("BUDDY_MALLOC_TCACHE");
	if ((!ck || strcmp(ck, "0") == 0) && (!tc || strcmp(tc, "0") != 0))
		expect_damage(damage_slab_bitmap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double_free_cached),
		cmocka_unit_test(test_double_free_flushed),
		cmocka_unit_test(test_double_free_run),
		cmocka_unit_test(test_double_free_huge),
		cmocka_unit_test(test_interior_small),
		cmocka_unit_test(test_interior_misaligned),
		cmocka_unit_test(test_interior_run),
		cmocka_unit_test(test_foreign_pointer),
		cmocka_unit_test(test_wild_pointer),
		cmocka_unit_test(test_slab_header),
		cmocka_unit_test(test_usable_size_cached),
		cmocka_unit_test(test_double_free_other_thread),
		cmocka_unit_test(test_realloc_freed),
		cmocka_unit_test(test_usable_size_freed),
		cmocka_unit_test(test_damage_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
