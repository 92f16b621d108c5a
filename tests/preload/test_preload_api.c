/* SPDX-License-Identifier: MIT */
/*
 * test_preload_api.c - the process malloc's C API through its bmalloc_
 * names: alignment of every size, malloc(0), calloc zeroing and overflow,
 * realloc growth and shrinking in and across classes, runs and huge
 * blocks, reallocarray, the aligned family's arguments and results,
 * usable sizes, the thread cache's refill and flush counted, statistics
 * and the exit report's lines.
 */
#include "preload_test.h"

#include <pthread.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/resource.h>

/*
 * Objects come out of a thread cache in the order their slab handed them
 * to it, which in a fresh slab is by rising address: consecutive mallocs of
 * one class that lie next to each other in one slab (one stride apart)
 * rise. Runs first, while the class (3 KiB, stride 3,072) has no slab yet.
 * Handed out in the reverse order of each refill, as they were before,
 * those neighbours fell instead. Steps between slabs are not counted: where
 * the zone puts the next slab is its own affair.
 */
static void test_refill_in_address_order(void **state)
{
	(void)state;
	enum { N = 40 };
	const ptrdiff_t stride = 3072;
	char *p[N];
	int rising = 0, falling = 0;
	for (int i = 0; i < N; i++) {
		p[i] = bmalloc_malloc(2900);
		assert_non_null(p[i]);
		assert_int_equal(bmalloc_usable_size(p[i]), (size_t)stride);
		if (i > 0) {
			ptrdiff_t d = (ptrdiff_t)((uintptr_t)p[i] - (uintptr_t)p[i - 1]);
			rising += d == stride;
			falling += d == -stride;
		}
	}
	for (int i = 0; i < N; i++)
		bmalloc_free(p[i]);
	assert_int_equal(falling, 0);
	assert_true(rising >= N / 2);
}

static void test_sizes_aligned_and_usable(void **state)
{
	(void)state;
	static void *p[5100];
	size_t n = 0;
	for (size_t size = 0; size <= 70000; size += size < 5000 ? 1 : 997) {
		void *q = bmalloc_malloc(size);
		assert_non_null(q);
		assert_int_equal((uintptr_t)q % 16, 0);
		assert_true(bmalloc_usable_size(q) >= size);
		stamp_fill(q, size, (uint32_t)size);
		p[n++] = q;
	}
	n = 0;
	for (size_t size = 0; size <= 70000; size += size < 5000 ? 1 : 997) {
		assert_true(stamp_ok(p[n], size, (uint32_t)size));
		bmalloc_free(p[n++]);
	}
	bmalloc_free(NULL);
	assert_int_equal(bmalloc_usable_size(NULL), 0);
}

static void test_malloc_zero_unique(void **state)
{
	(void)state;
	void *a = bmalloc_malloc(0), *b = bmalloc_malloc(0);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	bmalloc_free(a);
	bmalloc_free(b);
}

static void test_calloc_zeroes(void **state)
{
	(void)state;
	for (size_t n = 1; n < 200000; n = n * 3 + 1) {
		unsigned char *p = bmalloc_malloc(n);
		assert_non_null(p);
		memset(p, 0xa5, n);
		bmalloc_free(p);
		p = bmalloc_calloc(n, 1);
		assert_non_null(p);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(p[i], 0);
		bmalloc_free(p);
	}
	errno = 0;
	assert_null(bmalloc_calloc(SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	void *z = bmalloc_calloc(0, 5);
	assert_non_null(z);
	bmalloc_free(z);
}

static void test_realloc_moves(void **state)
{
	(void)state;
	assert_null(bmalloc_realloc(bmalloc_malloc(10), 0));
	char *p = bmalloc_realloc(NULL, 20);
	assert_non_null(p);
	stamp_fill(p, 20, 1);
	/* Within the class: the same block. */
	size_t have = bmalloc_usable_size(p);
	assert_ptr_equal(bmalloc_realloc(p, have), p);
	/* Growing through classes, runs and a huge block, and shrinking back. */
	size_t n = 20;
	for (size_t next = 33; next < ((size_t)3 << 20); next = next * 2 + 7) {
		p = bmalloc_realloc(p, next);
		assert_non_null(p);
		assert_true(stamp_ok(p, n, 1));
		stamp_fill(p, next, 1);
		n = next;
	}
	for (size_t next = n / 3; next > 8; next /= 3) {
		p = bmalloc_realloc(p, next);
		assert_non_null(p);
		assert_true(stamp_ok(p, next, 1));
	}
	bmalloc_free(p);
	/* A run shrunk to a small class becomes a cached object. */
	p = bmalloc_malloc(20000);
	stamp_fill(p, 100, 9);
	p = bmalloc_realloc(p, 100);
	assert_true(stamp_ok(p, 100, 9));
	assert_int_equal(bmalloc_usable_size(p) % 16, 0);
	bmalloc_free(p);
	errno = 0;
	void *q = bmalloc_malloc(8);
	assert_null(bmalloc_realloc(q, SIZE_MAX - 4096));
	assert_int_equal(errno, ENOMEM);
	bmalloc_free(q);
}

static void test_reallocarray(void **state)
{
	(void)state;
	int *a = bmalloc_reallocarray(NULL, 10, sizeof(int));
	assert_non_null(a);
	for (int i = 0; i < 10; i++)
		a[i] = i;
	a = bmalloc_reallocarray(a, 1000, sizeof(int));
	for (int i = 0; i < 10; i++)
		assert_int_equal(a[i], i);
	errno = 0;
	assert_null(bmalloc_reallocarray(a, SIZE_MAX / 2, 4));
	assert_int_equal(errno, ENOMEM);
	bmalloc_free(a);
}

static void test_aligned(void **state)
{
	(void)state;
	long pg = sysconf(_SC_PAGESIZE);
	for (size_t align = 1; align <= ((size_t)2 << 20); align <<= 1) {
		for (size_t size = 1; size < 100000; size = size * 7 + 3) {
			void *p = bmalloc_aligned_alloc(align, size);
			assert_non_null(p);
			assert_int_equal((uintptr_t)p % align, 0);
			memset(p, 1, size);
			bmalloc_free(p);
			void *q = NULL;
			if (align >= sizeof(void *)) {
				assert_int_equal(bmalloc_posix_memalign(&q, align, size), 0);
				assert_int_equal((uintptr_t)q % align, 0);
				bmalloc_free(q);
			}
			q = bmalloc_memalign(align, size);
			assert_int_equal((uintptr_t)q % align, 0);
			assert_true(bmalloc_usable_size(q) >= size);
			bmalloc_free(q);
		}
	}
	errno = 0;
	assert_null(bmalloc_aligned_alloc(24, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(bmalloc_aligned_alloc(0, 10));
	void *q = (void *)1;
	assert_int_equal(bmalloc_posix_memalign(&q, 24, 10), EINVAL);
	assert_int_equal(bmalloc_posix_memalign(&q, 0, 10), EINVAL);
	assert_int_equal(bmalloc_posix_memalign(&q, 4, 10), EINVAL);
	assert_int_equal(bmalloc_posix_memalign(&q, 64, SIZE_MAX - 100), ENOMEM);
	assert_ptr_equal(q, (void *)1);
	/* memalign rounds an alignment that is no power of two up to one (glibc). */
	q = bmalloc_memalign(48, 10);
	assert_int_equal((uintptr_t)q % 64, 0);
	bmalloc_free(q);
	errno = 0;
	assert_null(bmalloc_memalign(SIZE_MAX - 1, 10));
	assert_int_equal(errno, EINVAL);
	q = bmalloc_valloc(100);
	assert_int_equal((uintptr_t)q % (uintptr_t)pg, 0);
	bmalloc_free(q);
	q = bmalloc_pvalloc(100);
	assert_int_equal((uintptr_t)q % (uintptr_t)pg, 0);
	assert_true(bmalloc_usable_size(q) >= (size_t)pg);
	bmalloc_free(q);
	errno = 0;
	assert_null(bmalloc_pvalloc(SIZE_MAX - 10));
	assert_int_equal(errno, ENOMEM);
}

/* The thread caches are off in this run (they have nothing to count): says so. */
static int caches_off(void)
{
	const char *tc = getenv("BUDDY_MALLOC_TCACHE"), *ck = getenv("BUDDY_MALLOC_CHECK");
	if ((tc && strcmp(tc, "0") == 0) || (ck && strcmp(ck, "0") != 0)) {
		print_message("skipped: the thread caches are off in this run\n");
		return 1;
	}
	return 0;
}

static void test_cache_refill_and_flush(void **state)
{
	(void)state;
	if (caches_off())
		skip();
	struct bmalloc_stats a, b;
	bmalloc_thread_flush();
	bmalloc_get_stats(&a);
	void *p[300];
	for (int i = 0; i < 300; i++)
		p[i] = bmalloc_malloc(48);
	bmalloc_get_stats(&b);
	assert_true(b.refills > a.refills);
	/* A cached malloc takes nothing from the heap: the heap's count moves in batches. */
	assert_true(b.heap.allocs - a.heap.allocs >= 300);
	assert_true(b.heap.allocs - a.heap.allocs < 300 + 64);
	for (int i = 0; i < 300; i++)
		bmalloc_free(p[i]);
	bmalloc_get_stats(&b);
	assert_true(b.flushes > a.flushes);
	bmalloc_thread_flush();
	bmalloc_get_stats(&b);
	assert_int_equal(b.heap.live_allocs, a.heap.live_allocs);
	assert_true(b.nr_threads >= 1);
}

/*
 * A thread's first refill of a class takes two objects up to 1 KiB and one
 * above (a second large object would be most of a slab a program using the
 * class once never touches); the next refill of the class takes twice as many.
 */
struct first_refill {
	size_t size;
	uint64_t first, second; /* objects the heap handed out at the first and second refill */
};

static void *first_refill_thread(void *arg)
{
	struct first_refill *r = arg;
	struct bmalloc_stats a, b, c;
	/* The thread's cache is made (an object of the heap) at its first malloc. */
	void *warm = bmalloc_malloc(100);
	bmalloc_get_stats(&a);
	void *p = bmalloc_malloc(r->size);
	bmalloc_get_stats(&b);
	void *q[5];
	for (int i = 0; i < 5; i++)
		q[i] = bmalloc_malloc(r->size);
	bmalloc_get_stats(&c);
	r->first = b.heap.allocs - a.heap.allocs;
	r->second = c.heap.allocs - b.heap.allocs;
	bmalloc_free(p);
	for (int i = 0; i < 5; i++)
		bmalloc_free(q[i]);
	bmalloc_free(warm);
	return NULL;
}

static void test_cache_first_refill(void **state)
{
	(void)state;
	if (caches_off())
		skip();
	const size_t sizes[] = { 48, 1024, 1025, 8000, 16384 };
	for (unsigned i = 0; i < 5; i++) {
		struct first_refill r = { sizes[i], 0, 0 };
		pthread_t t;
		/* A fresh thread, so that its bins are empty and never refilled. */
		assert_int_equal(pthread_create(&t, NULL, first_refill_thread, &r), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		uint64_t first = sizes[i] > 1024 ? 1 : 2;
		assert_int_equal(r.first, first);
		/* The next refills double: 2 then 4 objects (or 4) serve the 5 more mallocs. */
		assert_int_equal(r.second, first == 1 ? 2 + 4 : 4);
	}
}

/* Release: a large free range goes back to the system without further calls. */
static void test_memory_returns(void **state)
{
	(void)state;
	struct bmalloc_stats a, b;
	enum { N = 4000 };
	static void *p[N];
	bmalloc_get_stats(&a);
	for (int i = 0; i < N; i++) {
		p[i] = bmalloc_malloc(i % 2 ? 3000 : 20000);
		memset(p[i], 7, i % 2 ? 3000 : 20000);
	}
	for (int i = 0; i < N; i++)
		bmalloc_free(p[i]);
	bmalloc_thread_flush();
	bmalloc_get_stats(&b);
	assert_true(b.heap.peak_footprint_bytes > (size_t)40 << 20);
	assert_true(b.heap.footprint_bytes < (size_t)16 << 20);
	assert_true(b.heap.released_bytes + b.heap.unmaps > a.heap.released_bytes + a.heap.unmaps);
}

static void print_report(const void *arg)
{
	(void)arg;
	void *p = bmalloc_malloc(100);
	bmalloc_print_stats(2);
	bmalloc_free(p);
}

static void test_print_stats(void **state)
{
	(void)state;
	struct child_end e;
	run_child(print_report, NULL, &e);
	assert_true(WIFEXITED(e.status));
	assert_non_null(strstr(e.err, "buddymalloc: allocs "));
	assert_non_null(strstr(e.err, "Node 0, zone"));
	assert_non_null(strstr(e.err, "slabinfo - version: 2.1"));
	assert_non_null(strstr(e.err, "kmalloc-96"));
}

/* The address space this process has mapped, from /proc/self/statm. */
static size_t mapped_bytes(void)
{
	char buf[128] = { 0 };
	int fd = open("/proc/self/statm", O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	return (size_t)strtoull(buf, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Memory runs out (RLIMIT_AS a little above what is mapped): small, large,
 * aligned and calloc'd requests each fail with ENOMEM, and once blocks are
 * freed, allocation works again.
 */
static void run_out(const void *arg)
{
	(void)arg;
	enum { N = 200000 };
	static void *p[N];
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_AS, &rl), 0);
	rl.rlim_cur = mapped_bytes() + ((size_t)48 << 20);
	assert_int_equal(setrlimit(RLIMIT_AS, &rl), 0);
	size_t n = 0;
	errno = 0;
	while (n < N && (p[n] = bmalloc_malloc(1000 + n % 2000)) != NULL)
		n++;
	if (n == N || errno != ENOMEM)
		child_exit(1);
	/* What address space is left goes in mappings of their own. */
	while (n < N && (p[n] = bmalloc_malloc((size_t)1 << 20)) != NULL)
		n++;
	/* (Small requests may still find objects in partial slabs and the caches.) */
	errno = 0;
	if (n == N || bmalloc_calloc(1, 300000) || errno != ENOMEM ||
	    bmalloc_memalign(1 << 16, 1 << 16) || bmalloc_realloc(p[0], 200000))
		child_exit(2);
	void *q = NULL;
	if (bmalloc_posix_memalign(&q, 4096, 1 << 20) != ENOMEM || q)
		child_exit(3);
	while (n)
		bmalloc_free(p[--n]);
	q = bmalloc_malloc(100000);
	if (!q)
		child_exit(4);
	bmalloc_free(q);
}

static void test_out_of_memory(void **state)
{
	(void)state;
	if (getenv("BUDDY_UNDER_VALGRIND")) {
		print_message("skipped: valgrind maps its own memory, a limit on it stops the tool\n");
		skip();
	}
	struct child_end e;
	run_child(run_out, NULL, &e);
	if (!WIFEXITED(e.status) || WEXITSTATUS(e.status) != 0)
		fail_msg("child status %#x: %s", e.status, e.err);
}

/* A report to a descriptor that is not open writes nothing and returns. */
static void test_print_stats_bad_fd(void **state)
{
	(void)state;
	bmalloc_print_stats(-1);
}

/*
 * Run as "test_preload_api no-memory": the process's first call finds no
 * memory for the heap (RLIMIT_AS below what is mapped): every call fails
 * as C says, and nothing else happens. Exit status 0 if so, else the step.
 */
static int no_memory_run(void)
{
	struct rlimit old, none;
	if (getrlimit(RLIMIT_AS, &old) != 0)
		return 100;
	none = old;
	none.rlim_cur = 0;
	if (setrlimit(RLIMIT_AS, &none) != 0)
		return 101;
	int step = 0;
	void *p = NULL;
	struct bmalloc_stats st;
	errno = 0;
	if (bmalloc_malloc(10) || errno != ENOMEM)
		step = 1;
	else if (bmalloc_calloc(1, 100000) || bmalloc_calloc(1, 10))
		step = 2;
	else if (bmalloc_realloc(NULL, 10) || bmalloc_realloc((void *)64, 100000))
		step = 3;
	else if (bmalloc_posix_memalign(&p, 64, 100) != ENOMEM || p)
		step = 4;
	else if (bmalloc_aligned_alloc(64, 10) || bmalloc_valloc(10))
		step = 5;
	else if (bmalloc_usable_size((void *)64) != 0)
		step = 6;
	bmalloc_free((void *)64);
	bmalloc_thread_flush();
	bmalloc_get_stats(&st);
	bmalloc_print_stats(2);
	if (!step && (st.heap.allocs || st.nr_threads))
		step = 7;
	setrlimit(RLIMIT_AS, &old); /* so that exit can write what it writes */
	return step;
}

static const char *self_path;

static void test_no_memory_at_first_call(void **state)
{
	(void)state;
	if (getenv("BUDDY_UNDER_VALGRIND")) {
		print_message("skipped: valgrind maps its own memory, a limit on it stops the tool\n");
		skip();
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(self_path, self_path, "no-memory", (char *)NULL);
		_exit(99);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "no-memory") == 0)
		return no_memory_run();
	self_path = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refill_in_address_order), /* first: its class is fresh */
		cmocka_unit_test(test_sizes_aligned_and_usable),
		cmocka_unit_test(test_malloc_zero_unique),
		cmocka_unit_test(test_calloc_zeroes),
		cmocka_unit_test(test_realloc_moves),
		cmocka_unit_test(test_reallocarray),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_cache_refill_and_flush),
		cmocka_unit_test(test_cache_first_refill),
		cmocka_unit_test(test_memory_returns),
		cmocka_unit_test(test_print_stats),
		cmocka_unit_test(test_print_stats_bad_fd),
		cmocka_unit_test(test_no_memory_at_first_call),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
