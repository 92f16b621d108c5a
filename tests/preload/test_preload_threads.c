/* SPDX-License-Identifier: MIT */
/*
 * test_preload_threads.c - the paths threads add, one at a time: objects
 * freed by another thread than their allocator's (handed over after it
 * ended, and streamed between two running threads), a thread's cached
 * objects given back when it exits, and fork while other threads
 * allocate, with the child allocating.
 */
#include "preload_test.h"

#include <pthread.h>

static size_t live_now(void)
{
	struct bmalloc_stats st;
	bmalloc_thread_flush();
	bmalloc_get_stats(&st);
	return st.heap.live_allocs;
}

enum { HANDED = 1000 };
static void *handed[HANDED];

static void *alloc_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < HANDED; i++) {
		handed[i] = bmalloc_malloc(64);
		stamp_fill(handed[i], 64, (uint32_t)i);
	}
	return NULL;
}

/* The freeing thread's cache takes the objects: its next mallocs reuse them. */
static void *free_many(void *arg)
{
	int *reused = arg;
	for (int i = 0; i < HANDED; i++) {
		assert_true(stamp_ok(handed[i], 64, (uint32_t)i));
		bmalloc_free(handed[i]);
	}
	void *p = bmalloc_malloc(64);
	for (int i = 0; i < HANDED; i++)
		if (handed[i] == p)
			*reused = 1;
	bmalloc_free(p);
	return NULL;
}

static void test_cross_thread_handover(void **state)
{
	(void)state;
	struct bmalloc_stats a, b;
	size_t base = live_now();
	bmalloc_get_stats(&a);
	pthread_t t;
	int reused = 0;
	assert_int_equal(pthread_create(&t, NULL, alloc_many, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(live_now(), base + HANDED);
	assert_int_equal(pthread_create(&t, NULL, free_many, &reused), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(reused);
	bmalloc_get_stats(&b);
	assert_int_equal(b.thread_exits, a.thread_exits + 2);
	assert_int_equal(b.nr_threads, a.nr_threads);
	assert_int_equal(live_now(), base);
}

/* A ring of blocks from a producer thread to a consumer thread, both running. */
enum { RING = 256, STREAM = 100000 };
struct ring {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *slot[RING];
	size_t size[RING];
	unsigned head, tail;
	int bad;
};

static void *producer(void *arg)
{
	struct ring *r = arg;
	for (unsigned i = 0; i < STREAM; i++) {
		size_t n = 1 + (i * 2654435761u) % (i % 16 ? 600 : 9000);
		void *p = bmalloc_malloc(n);
		stamp_fill(p, n, i);
		pthread_mutex_lock(&r->lock);
		while (r->head - r->tail == RING)
			pthread_cond_wait(&r->cond, &r->lock);
		r->slot[r->head % RING] = p;
		r->size[r->head % RING] = n;
		r->head++;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		/* Its own traffic as well. */
		void *q = bmalloc_malloc(n / 2 + 1);
		bmalloc_free(q);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct ring *r = arg;
	for (unsigned i = 0; i < STREAM; i++) {
		pthread_mutex_lock(&r->lock);
		while (r->head == r->tail)
			pthread_cond_wait(&r->cond, &r->lock);
		void *p = r->slot[r->tail % RING];
		size_t n = r->size[r->tail % RING];
		r->tail++;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		if (!stamp_ok(p, n, i))
			r->bad++;
		bmalloc_free(p);
	}
	return NULL;
}

static void test_cross_thread_stream(void **state)
{
	(void)state;
	size_t base = live_now();
	static struct ring r = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, { 0 },
				 0, 0, 0 };
	pthread_t p, c;
	assert_int_equal(pthread_create(&c, NULL, consumer, &r), 0);
	assert_int_equal(pthread_create(&p, NULL, producer, &r), 0);
	assert_int_equal(pthread_join(p, NULL), 0);
	assert_int_equal(pthread_join(c, NULL), 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(live_now(), base);
}

/* Threads that fill their caches and exit: everything comes back. */
static void *fill_and_exit(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *p[500];
	for (int i = 0; i < 500; i++)
		p[i] = bmalloc_malloc(1 + (seed + (unsigned)i * 7919u) % 4096);
	for (int i = 0; i < 500; i++)
		bmalloc_free(p[i]);
	return NULL;
}

static void test_thread_exit_gives_back(void **state)
{
	(void)state;
	struct bmalloc_stats a, b;
	size_t base = live_now();
	bmalloc_get_stats(&a);
	for (uintptr_t i = 0; i < 50; i++) {
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, fill_and_exit, (void *)i), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
	}
	bmalloc_get_stats(&b);
	assert_int_equal(b.thread_exits, a.thread_exits + 50);
	assert_int_equal(b.nr_threads, a.nr_threads);
	assert_int_equal(live_now(), base);
}

/* fork while two threads allocate: the child allocates, checks and exits 0. */
static volatile int spin_stop;

static void *spin_alloc(void *arg)
{
	(void)arg;
	unsigned i = 0;
	while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED)) {
		size_t n = 1 + (i++ * 2654435761u) % 20000;
		void *p = bmalloc_malloc(n);
		stamp_fill(p, n < 64 ? n : 64, i);
		bmalloc_free(p);
	}
	return NULL;
}

static void test_fork_while_threads_allocate(void **state)
{
	(void)state;
	pthread_t t[2];
	spin_stop = 0;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, spin_alloc, NULL), 0);
	/* Under memcheck a fork copies the tool too, and the spinning threads share
	 * its one lock with the forking one: 4 forks there (15 minutes for 20 on
	 * the loaded test machine). */
	const char *vg = getenv("BUDDY_UNDER_VALGRIND");
	int forks = vg && *vg == '1' ? 4 : 20;
	for (int f = 0; f < forks; f++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			void *p[200];
			for (int i = 0; i < 200; i++) {
				size_t n = 1 + (size_t)i * 977;
				p[i] = bmalloc_malloc(n);
				if (!p[i])
					child_exit(2);
				stamp_fill(p[i], n, (uint32_t)i);
			}
			for (int i = 0; i < 200; i++) {
				if (!stamp_ok(p[i], 1 + (size_t)i * 977, (uint32_t)i))
					child_exit(3);
				bmalloc_free(p[i]);
			}
			child_exit(0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	__atomic_store_n(&spin_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

/*
 * A thread-specific value's destructor that runs after the heap's own (a
 * key made later) allocates and frees: the thread's cache is gone by then,
 * so these take the heap's locked path, and nothing is left behind.
 */
static pthread_key_t late_key;
static int late_ok;

/* cppcheck-suppress constParameter ; the type pthread_key_create wants */
static void late_destructor(void *v)
{
	void *p = bmalloc_malloc(100);
	void *q = bmalloc_malloc(10000);
	late_ok = p && q && v;
	bmalloc_free(p);
	bmalloc_free(q);
}

static void *set_late_key(void *arg)
{
	bmalloc_free(bmalloc_malloc(10)); /* the heap's key is set first */
	pthread_setspecific(late_key, arg);
	return NULL;
}

static void test_allocation_after_thread_exit(void **state)
{
	(void)state;
	size_t base = live_now();
	assert_int_equal(pthread_key_create(&late_key, late_destructor), 0);
	pthread_t t;
	late_ok = 0;
	assert_int_equal(pthread_create(&t, NULL, set_late_key, &late_ok), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(late_ok);
	assert_int_equal(live_now(), base);
	pthread_key_delete(late_key);
}

/*
 * Another library's fork handlers allocate. Registered before the heap's
 * own (the first call registers those), this prepare handler runs after
 * the heap's, while the forking thread holds the heap lock: its malloc must
 * go through under that hold, not wait for itself.
 */
static int fork_hooks_on;
static void *hook_block;

static void hook_prepare(void)
{
	if (fork_hooks_on)
		hook_block = bmalloc_malloc(5000);
}

static void hook_after(void)
{
	if (fork_hooks_on) {
		bmalloc_free(hook_block);
		hook_block = NULL;
	}
}

static void test_fork_handlers_allocate(void **state)
{
	(void)state;
	fork_hooks_on = 1;
	for (int f = 0; f < 3; f++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			void *p = bmalloc_malloc(70000);
			child_exit(p && !hook_block ? 0 : 1);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_null(hook_block);
	}
	fork_hooks_on = 0;
}

int main(void)
{
	pthread_atfork(hook_prepare, hook_after, hook_after);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_handlers_allocate),
		cmocka_unit_test(test_allocation_after_thread_exit),
		cmocka_unit_test(test_cross_thread_handover),
		cmocka_unit_test(test_cross_thread_stream),
		cmocka_unit_test(test_thread_exit_gives_back),
		cmocka_unit_test(test_fork_while_threads_allocate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
