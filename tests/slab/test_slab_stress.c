/* SPDX-License-Identifier: MIT */
/*
 * test_slab_stress.c - a model-based stress of slab caches: caches of many
 * sizes, alignments and orders (some with constructors, different
 * reserves, some starting with small slabs) share one zone; a fixed-seed generator allocates, frees, runs
 * bulk calls and shrinks. The model knows every live object and the
 * pattern it was filled with; every object must be aligned, inside the
 * arena, and keep its pattern until it is freed (so no two live objects
 * ever overlap). After every operation the touched cache's check must pass
 * and its counts must equal the model's; every 4096 operations all caches
 * and the zone are checked. One million operations over two page sizes
 * in the optimized build (24,000 under valgrind, 120,000 with the
 * sanitizers, 200,000 unoptimized); the zone is small enough to run out, so
 * failures are exercised too. At the end every object is freed, every
 * cache destroyed, and the zone is whole again.
 */
#include "slab_test.h"
#include "test_build.h"

#define NCACHES 24
#define MAXLIVE 160 /* per cache */

struct mobj {
	unsigned char *p;
	uint32_t seed;
};

struct mcache {
	struct bslab_cache c;
	size_t size;
	size_t align;
	struct mobj live[MAXLIVE];
	size_t nlive;
	int ctor;
};

struct stress {
	struct tzone t;
	struct mcache m[NCACHES];
	uint64_t rng;
	uint32_t seed;
	unsigned long ops, fails;
};

static uint64_t rnd(struct stress *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static unsigned char pat(uint32_t seed, size_t i)
{
	return (unsigned char)((seed * 2654435761u) >> 24 ^ (uint32_t)i * 31u);
}

static void ctor_fill(void *arg, void *obj)
{
	struct mcache *m = arg;
	memset(obj, 0xc5, m->size);
}

static void obj_fill(struct stress *s, struct mcache *m, unsigned char *p)
{
	struct mobj *o = &m->live[m->nlive++];
	o->p = p;
	o->seed = s->seed++;
	for (size_t i = 0; i < m->size; i++)
		p[i] = pat(o->seed, i);
}

static void obj_verify(const struct mcache *m, const struct mobj *o)
{
	for (size_t i = 0; i < m->size; i++)
		if (o->p[i] != pat(o->seed, i)) {
			print_error("object %p of cache %s (size %zu) damaged at byte %zu\n",
				    (void *)o->p, m->c.name, m->size, i);
			fail();
		}
}

/* A fresh object: aligned, in the arena, zeroed or constructed if it should be. */
static void obj_new(struct stress *s, struct mcache *m, unsigned char *p, unsigned flags)
{
	assert_int_equal((uintptr_t)p % m->align, 0);
	assert_true(p >= (unsigned char *)s->t.arena &&
		    p + m->size <= (unsigned char *)s->t.arena + s->t.npages * s->t.page_size);
	if (flags & BSLAB_ZERO)
		for (size_t i = 0; i < m->size; i++)
			assert_int_equal(p[i], 0);
	obj_fill(s, m, p);
}

static void expect_counts(const struct mcache *m)
{
	struct bslab_stats st;
	bslab_get_stats(&m->c, &st);
	assert_int_equal(st.active_objs, m->nlive);
}

static void op_alloc(struct stress *s, struct mcache *m)
{
	if (m->nlive == MAXLIVE)
		return;
	unsigned flags = rnd(s) % 8 == 0 ? BSLAB_ZERO : 0;
	unsigned char *p = bslab_alloc(&m->c, flags);
	if (!p) {
		assert_int_equal(bslab_last_error(&m->c), BSLAB_ENOMEM);
		s->fails++;
		return;
	}
	obj_new(s, m, p, flags);
}

static void op_free(struct stress *s, struct mcache *m)
{
	if (!m->nlive)
		return;
	size_t i = (size_t)(rnd(s) % m->nlive);
	obj_verify(m, &m->live[i]);
	assert_int_equal(bslab_free(&m->c, m->live[i].p), BSLAB_OK);
	m->live[i] = m->live[--m->nlive];
}

static void op_bulk(struct stress *s, struct mcache *m)
{
	void *objs[16];
	size_t n = 1 + (size_t)(rnd(s) % 16);
	if (rnd(s) & 1) {
		if (m->nlive + n > MAXLIVE)
			return;
		if (bslab_alloc_bulk(&m->c, 0, n, objs) != n) {
			assert_int_equal(bslab_last_error(&m->c), BSLAB_ENOMEM);
			s->fails++;
			return;
		}
		for (size_t i = 0; i < n; i++)
			obj_new(s, m, objs[i], 0);
		return;
	}
	if (n > m->nlive)
		n = m->nlive;
	for (size_t i = 0; i < n; i++) {
		obj_verify(m, &m->live[m->nlive - 1 - i]);
		objs[i] = m->live[m->nlive - 1 - i].p;
	}
	size_t done = 0;
	assert_int_equal(bslab_free_bulk(&m->c, n, objs, &done), BSLAB_OK);
	assert_int_equal(done, n);
	m->nlive -= n;
}

static void check_all(struct stress *s)
{
	for (int i = 0; i < NCACHES; i++) {
		assert_cache_ok(&s->m[i].c);
		expect_counts(&s->m[i]);
	}
	assert_int_equal(fx_check(&s->t.z), 0);
}

/* Sizes from 1 byte to 20 KB, alignments from 8 to 256, two with constructors. */
static void caches_create(struct stress *s)
{
	static const size_t sizes[NCACHES] = { 1,   8,    13,   16,   24,   40,   64,   96,
					       100, 128,  192,  250,  256,  500,  512,  700,
					       1024, 1500, 2048, 3000, 4096, 6000, 9000, 20000 };
	for (int i = 0; i < NCACHES; i++) {
		struct mcache *m = &s->m[i];
		struct bslab_config cfg;
		bslab_config_default(&cfg);
		m->size = sizes[i];
		m->align = (size_t)8 << (i % 6);
		m->ctor = i % 11 == 3;
		cfg.name = "stress";
		cfg.size = m->size;
		cfg.align = m->align;
		cfg.reserve = (unsigned)(i % 3);
		cfg.random = 0x5eed0000u + (unsigned)i;
		if (m->ctor) {
			cfg.ctor = ctor_fill;
			cfg.ctor_arg = m;
		}
		if (i % 5 == 1)
			cfg.order = 3;
		if (i % 4 == 2)
			cfg.small_slabs = 2;
		assert_int_equal(bslab_cache_create(&m->c, &s->t.z, &cfg), BSLAB_OK);
	}
}

static void caches_destroy(struct stress *s)
{
	for (int i = 0; i < NCACHES; i++) {
		struct mcache *m = &s->m[i];
		while (m->nlive) {
			obj_verify(m, &m->live[m->nlive - 1]);
			assert_int_equal(bslab_free(&m->c, m->live[--m->nlive].p), BSLAB_OK);
		}
		assert_cache_ok(&m->c);
		assert_int_equal(bslab_cache_destroy(&m->c), BSLAB_OK);
	}
}

static void run(size_t page_size, size_t npages, unsigned long nops, uint64_t seed)
{
	static struct stress s;
	memset(&s, 0, sizeof(s));
	s.rng = seed;
	tzone_init(&s.t, page_size, npages);
	caches_create(&s);
	struct buddy_stats before;
	buddy_get_stats(&s.t.z, &before);
	for (s.ops = 0; s.ops < nops; s.ops++) {
		/* skewed towards small caches, as programs are */
		int ci = (int)(rnd(&s) % 3 ? rnd(&s) % (NCACHES / 2) : rnd(&s) % NCACHES);
		struct mcache *m = &s.m[ci];
		unsigned what = (unsigned)(rnd(&s) % 100);
		if (what < 52)
			op_alloc(&s, m);
		else if (what < 97)
			op_free(&s, m);
		else if (what < 99)
			op_bulk(&s, m);
		else
			bslab_shrink(&m->c);
		assert_cache_ok(&m->c);
		expect_counts(m);
		if (s.ops % 4096 == 0)
			check_all(&s);
	}
	check_all(&s);
	caches_destroy(&s);
	struct buddy_stats after;
	buddy_drain_cache(&s.t.z);
	buddy_get_stats(&s.t.z, &after);
	assert_int_equal(after.free_pages, before.free_pages);
	assert_int_equal(after.used_pages, 0);
	assert_int_equal(fx_check(&s.t.z), 0);
	print_message("%lu operations on %zu-byte pages, %lu allocations failed for lack of pages\n",
		      s.ops, page_size, s.fails);
	tzone_fini(&s.t);
}

/*
 * A million in the optimized build (make check's gcc build); fewer where
 * every operation costs more: under valgrind, with the sanitizers (whose
 * build also runs the library's own full check after calls, see
 * common/debug.h), and unoptimized (the coverage build).
 */
static unsigned long total_ops(void)
{
	if (getenv("BUDDY_UNDER_VALGRIND"))
		return 24000ul;
#if TEST_SANITIZED
	return 120000ul;
#elif TEST_OPTIMIZED
	return 1000000ul;
#else
	return 200000ul;
#endif
}

/* 4 KiB pages: 2 MiB, tight enough that some allocations fail. */
static void test_slab_stress_4k_pages(void **state)
{
	(void)state;
	run(4096, 512, total_ops() / 2, 0x9e3779b97f4a7c15ull);
}

/* 1 KiB pages and more room. */
static void test_slab_stress_1k_pages(void **state)
{
	(void)state;
	run(1024, 4096, total_ops() / 2, 0x2545f4914f6cdd1dull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slab_stress_4k_pages),
		cmocka_unit_test(test_slab_stress_1k_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
