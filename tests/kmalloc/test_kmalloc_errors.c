/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_errors.c - misuse and damage: a pointer the heap never
 * handed out, a double free and an interior pointer, for slab objects, runs
 * and huge blocks, through free, realloc and malloc_usable_size; each is
 * reported with its kind and exact message and changes nothing. The
 * default handler prints and aborts. Damage to a free pointer or a slab
 * header is reported as corruption, the damaged cache refuses to allocate,
 * and no block is ever handed out twice.
 */
#include "kmalloc_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slab/slab_internal.h"

struct fx {
	struct bkm_heap *h;
	struct kerr e;
};

static struct fx *fx_new(void)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	struct bkm_config cfg = kconfig(NULL, &f.e, NULL);
	f.h = kheap(&cfg);
	return &f;
}

/* Everything a caller can see, to prove a refused call changed nothing. */
struct snap {
	struct bkm_stats st;
	char slabinfo[8192];
};

static void snap_take(struct bkm_heap *h, struct snap *s)
{
	bkm_get_stats(h, &s->st);
	bkm_slabinfo(h, s->slabinfo, sizeof(s->slabinfo));
}

static void snap_expect(struct bkm_heap *h, const struct snap *s)
{
	struct snap now;
	snap_take(h, &now);
	assert_string_equal(now.slabinfo, s->slabinfo);
	assert_int_equal(now.st.live_allocs, s->st.live_allocs);
	assert_int_equal(now.st.held_bytes, s->st.held_bytes);
	assert_int_equal(now.st.frees, s->st.frees);
	assert_int_equal(now.st.footprint_bytes, s->st.footprint_bytes);
	assert_int_equal(now.st.free_bytes, s->st.free_bytes);
}

/* free, realloc and malloc_usable_size of p are each refused as `kind`. */
static void expect_misuse(struct fx *f, void *p, int kind)
{
	static const char *const ops[] = { "free", "realloc", "malloc_usable_size" };
	for (int i = 0; i < 3; i++) {
		struct snap before;
		snap_take(f->h, &before);
		int n = f->e.count;
		if (i == 0) {
			bkm_free(f->h, p);
		} else if (i == 1) {
			errno = 0;
			assert_null(bkm_realloc(f->h, p, 10));
			assert_int_equal(errno, EINVAL);
		} else {
			assert_int_equal(bkm_usable_size(f->h, p), 0);
		}
		assert_int_equal(f->e.count, n + 1);
		assert_int_equal(f->e.kind, kind);
		assert_string_equal(f->e.op, ops[i]);
		assert_ptr_equal(f->e.ptr, p);
		char want[200];
		snprintf(want, sizeof(want), "bkm: %s(): %s at %p", ops[i], buddy_error_name(kind), p);
		assert_string_equal(f->e.msg, want);
		snap_expect(f->h, &before);
		assert_kheap_ok(f->h);
	}
}

static void test_kmalloc_invalid_pointers(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char *small = bkm_malloc(f->h, 100);
	static char not_ours[64];
	int on_stack;
	expect_misuse(f, not_ours, BUDDY_ERR_INVALID);
	expect_misuse(f, &on_stack, BUDDY_ERR_INVALID);
	/* in the arena, in free pages: the zone says they lie in a free block */
	char *far = small + 40 * 1024;
	struct bkm_block_info b;
	bkm_block_info(f->h, far, &b);
	assert_int_equal(b.kind, BKM_BLOCK_NONE);
	expect_misuse(f, far, BUDDY_ERR_DOUBLE);
	/* a slab's header, and an object slot never handed out */
	char *slab = (char *)((uintptr_t)small & ~(uintptr_t)1023);
	expect_misuse(f, slab + 8, BUDDY_ERR_INVALID);
	expect_misuse(f, small + 112 * 3, BUDDY_ERR_INVALID);
	bkm_free(f->h, small);
	assert_kheap_ok(f->h);
	bkm_destroy(f->h);
}

static void test_kmalloc_double_and_interior(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char *a = bkm_malloc(f->h, 100), *keep = bkm_malloc(f->h, 100);
	char *run = bkm_malloc(f->h, 9000), *huge = bkm_malloc(f->h, 3u << 20);
	expect_misuse(f, a + 1, BUDDY_ERR_INTERIOR);
	expect_misuse(f, a + 111, BUDDY_ERR_INTERIOR);
	expect_misuse(f, run + 16, BUDDY_ERR_INTERIOR);
	expect_misuse(f, run + 4096, BUDDY_ERR_INTERIOR);
	expect_misuse(f, huge + 4096, BUDDY_ERR_INTERIOR);
	bkm_free(f->h, a);
	expect_misuse(f, a, BUDDY_ERR_DOUBLE);
	bkm_free(f->h, run);
	expect_misuse(f, run, BUDDY_ERR_DOUBLE);
	bkm_free(f->h, huge);
	/* a huge block's mapping is gone: the heap no longer knows the address */
	expect_misuse(f, huge, BUDDY_ERR_INVALID);
	assert_int_equal(f->e.count, 8 * 3);
	struct bkm_stats st;
	bkm_get_stats(f->h, &st);
	assert_int_equal(st.misuse, 8 * 3);
	bkm_free(f->h, keep);
	assert_kheap_ok(f->h);
	bkm_destroy(f->h);
}

/* Without a handler: the message on stderr, then abort(), as glibc does. */
static void test_kmalloc_default_handler_aborts(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		struct bkm_heap *h = bkm_create(NULL);
		char *p = bkm_malloc(h, 10);
		bkm_free(h, p);
		dprintf(fds[1], "[%p]\n", (void *)p);
		bkm_free(h, p);
		_exit(0); /* not reached when the default handler aborts */
	}
	close(fds[1]);
	char out[512] = "";
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(out) - 1 && (k = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)k;
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	char ptr[64];
	assert_int_equal(sscanf(out, "[%63[^]]]", ptr), 1);
	char want[128];
	snprintf(want, sizeof(want), "bkm: free(): double free at %s\n", ptr);
	assert_non_null(strstr(out, want));
}

/*
 * A free object's link overwritten after free: the next allocation that
 * would follow it reports corruption, that cache then refuses, the others
 * go on, and nothing is handed out twice.
 */
static void test_kmalloc_damaged_free_pointer(void **state)
{
	(void)state;
	SKIP_IF_FULL_CHECKS();
	struct fx *f = fx_new();
	char *a = bkm_malloc(f->h, 64), *b = bkm_malloc(f->h, 64);
	char *other = bkm_malloc(f->h, 200);
	bkm_free(f->h, a);
	bkm_free(f->h, b); /* freelist: b -> a */
	annot_defined(b, 8);
	memset(b, 0x41, 8); /* written after free */
	assert_ptr_equal(bkm_malloc(f->h, 64), b);
	assert_int_equal(f->e.count, 0);
	errno = 0;
	assert_null(bkm_malloc(f->h, 64));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(f->e.count, 1);
	assert_int_equal(f->e.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(f->e.op, "alloc");
	assert_true(strncmp(f->e.msg, "bkm: alloc(): corrupted free pointer in cache kmalloc-64 at 0x",
			    62) == 0);
	/* the damaged class refuses from now on, once reported; the others work */
	assert_null(bkm_malloc(f->h, 60));
	assert_int_equal(f->e.count, 1);
	char *c = bkm_malloc(f->h, 300);
	assert_non_null(c);
	bkm_free(f->h, c);
	bkm_free(f->h, other);
	bkm_destroy(f->h);
}

/* A slab header whose owner was overwritten: a free into it is corruption, refused. */
static void test_kmalloc_damaged_slab_header(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char *a = bkm_malloc(f->h, 100), *b = bkm_malloc(f->h, 100);
	struct bslab_slab *s = (struct bslab_slab *)((uintptr_t)a & ~(uintptr_t)1023);
	const struct bslab_cache *owner = s->cache;
	s->cache = NULL; /* an overflow from the block below */
	struct bkm_stats before, after;
	bkm_get_stats(f->h, &before);
	bkm_free(f->h, b);
	bkm_get_stats(f->h, &after);
	assert_int_equal(f->e.count, 1);
	assert_int_equal(f->e.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(f->e.op, "free");
	assert_int_equal(after.frees, before.frees);
	s->cache = owner; /* repaired, the heap is whole again */
	bkm_free(f->h, b);
	bkm_free(f->h, a);
	assert_kheap_ok(f->h);
	bkm_destroy(f->h);
}

/*
 * Counts in a slab header lowered by damage: a live block's bit cleared, or
 * the carved count below it. Its free or its size must not be blamed on
 * the caller (double free, invalid pointer) while the header itself does
 * not add up: the heap reports corruption and frees nothing.
 */
static void test_kmalloc_damaged_slab_counts(void **state)
{
	(void)state;
	for (int how = 0; how < 3; how++) {
		struct fx *f = fx_new();
		char *a = bkm_malloc(f->h, 100), *b = bkm_malloc(f->h, 100);
		struct bslab_slab *s = (struct bslab_slab *)((uintptr_t)a & ~(uintptr_t)1023);
		struct bkm_block_info bi;
		bkm_block_info(f->h, b, &bi);
		assert_ptr_equal(bi.slab, s);
		if (how == 0)
			s->map[bi.index / 64] &= ~((uint64_t)1 << (bi.index % 64));
		else
			s->carved = (uint16_t)bi.index;
		struct bkm_stats before, after;
		bkm_get_stats(f->h, &before);
		if (how < 2)
			bkm_free(f->h, b);
		else
			assert_int_equal(bkm_usable_size(f->h, b), 0);
		bkm_get_stats(f->h, &after);
		assert_int_equal(f->e.count, 1);
		assert_int_equal(f->e.kind, BUDDY_ERR_CORRUPT);
		assert_string_equal(f->e.op, how < 2 ? "free" : "malloc_usable_size");
		assert_int_equal(after.frees, before.frees);
		assert_int_equal(after.live_allocs, before.live_allocs);
		/* the damaged class refuses from now on: a malloc without a second
		 * report, a free of its live block saying so */
		assert_null(bkm_malloc(f->h, 100));
		assert_int_equal(f->e.count, 1);
		bkm_free(f->h, a);
		assert_int_equal(f->e.count, 2);
		assert_int_equal(f->e.kind, BUDDY_ERR_CORRUPT);
		bkm_destroy(f->h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_invalid_pointers),
		cmocka_unit_test(test_kmalloc_double_and_interior),
		cmocka_unit_test(test_kmalloc_default_handler_aborts),
		cmocka_unit_test(test_kmalloc_damaged_free_pointer),
		cmocka_unit_test(test_kmalloc_damaged_slab_header),
		cmocka_unit_test(test_kmalloc_damaged_slab_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
