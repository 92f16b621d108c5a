/* SPDX-License-Identifier: MIT */
/*
 * test_slab_corruption.c - damage to a cache's own data, as a program
 * writing after free or past an object could do it: free pointers
 * overwritten (garbage, a live object, a loop, a skip), the freelist head
 * and list links in a slab header, counts that disagree with the bitmap
 * (the carved count among them).
 * The cache must report corruption once, refuse every later change, and
 * never hand out an object twice. Then each invariant S1..S7 is broken on
 * purpose and the check must name it.
 */
#include "slab_test.h"

#include "slab/slab_internal.h"

#define PS ((size_t)4096)

struct fixture {
	struct tzone t;
	struct bslab_cache c;
	struct trec r;
	struct bslab_hooks h;
};

static struct fixture *fixture_new(size_t size, unsigned reserve)
{
	static struct fixture f;
	struct bslab_config cfg;
	memset(&f, 0, sizeof(f));
	f.h = trec_hooks(&f.r, 0, 0);
	tzone_init(&f.t, PS, 64);
	bslab_config_default(&cfg);
	cfg.name = "victim";
	cfg.size = size;
	cfg.reserve = reserve;
	cfg.random = 0x1234567887654321ull;
	cfg.hooks = &f.h;
	assert_int_equal(bslab_cache_create(&f.c, &f.t.z, &cfg), BSLAB_OK);
	return &f;
}

/* Raw access to the link word of a free object (a memory checker is told first). */
static uintptr_t *link_word(const struct bslab_cache *c, void *obj)
{
	uintptr_t *w = (uintptr_t *)((char *)obj + c->link_off);
	annot_defined(w, sizeof(*w));
	return w;
}

/* After damage: reported once as corruption, and every later change refused. */
static void expect_stopped(struct fixture *f, void *some_live)
{
	assert_int_equal(f->r.errors, 1);
	assert_int_equal(f->r.kind, BUDDY_ERR_CORRUPT);
	assert_true(strncmp(f->r.msg, "bslab: ", 7) == 0);
	assert_non_null(strstr(f->r.msg, "(): corrupted "));
	assert_non_null(strstr(f->r.msg, " in cache victim at 0x"));
	assert_null(bslab_alloc(&f->c, 0));
	assert_int_equal(bslab_last_error(&f->c), BSLAB_ECORRUPT);
	assert_int_equal(bslab_free(&f->c, some_live), BSLAB_ECORRUPT);
	assert_int_equal(bslab_cache_destroy(&f->c), BSLAB_ECORRUPT);
	assert_int_equal(bslab_shrink(&f->c), 0);
	assert_int_equal(f->r.errors, 1);
	tzone_fini(&f->t);
}

static void test_slab_garbage_free_pointer(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0), *keep = bslab_alloc(&f->c, 0);
	bslab_free(&f->c, a);
	bslab_free(&f->c, b); /* freelist: b -> a */
	*link_word(&f->c, b) = 0x4141414141414141ull; /* written after free */
	assert_ptr_equal(bslab_alloc(&f->c, 0), b);
	assert_int_equal(f->r.errors, 0);
	assert_null(bslab_alloc(&f->c, 0)); /* the garbage is caught before use */
	assert_string_equal(f->r.op, "alloc");
	assert_true(strncmp(f->r.msg, "bslab: alloc(): corrupted free pointer in cache victim at 0x",
			    60) == 0);
	expect_stopped(f, keep);
}

/* A link forged to point at an object in use is refused, never handed out twice. */
static void test_slab_link_to_live_object(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0), *live = bslab_alloc(&f->c, 0);
	bslab_free(&f->c, a);
	bslab_free(&f->c, b);
	/* encoded exactly as the cache would, but naming the live object */
	bslab_link_set(&f->c, b, live);
	assert_ptr_equal(bslab_alloc(&f->c, 0), b);
	assert_null(bslab_alloc(&f->c, 0));
	assert_ptr_equal(f->r.ptr, live);
	expect_stopped(f, live);
}

/* A loop in the freelist: the second visit finds the object in use. */
static void test_slab_freelist_loop(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0);
	bslab_free(&f->c, a);
	bslab_free(&f->c, b);
	bslab_link_set(&f->c, b, b);
	assert_int_equal(bslab_check(&f->c, NULL, NULL), 1);
	assert_ptr_equal(bslab_alloc(&f->c, 0), b);
	assert_null(bslab_alloc(&f->c, 0));
	expect_stopped(f, b);
}

/* A link that skips free objects loses them, but nothing overlaps; the check sees it. */
static void test_slab_freelist_skip_is_seen(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *o[4];
	for (int i = 0; i < 4; i++)
		o[i] = bslab_alloc(&f->c, 0);
	for (int i = 0; i < 4; i++)
		bslab_free(&f->c, o[i]); /* freelist: o3 o2 o1 o0 */
	bslab_link_set(&f->c, o[3], o[0]);
	assert_int_equal(bslab_check(&f->c, NULL, NULL), 1);
	assert_ptr_equal(bslab_alloc(&f->c, 0), o[3]);
	assert_ptr_equal(bslab_alloc(&f->c, 0), o[0]);
	assert_int_equal(f->r.errors, 0);
	tzone_fini(&f->t);
}

/* The raw freelist head in a slab header, damaged by an overflow. */
static void test_slab_damaged_freelist_head(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *keep = bslab_alloc(&f->c, 0);
	bslab_free(&f->c, a);
	struct bslab_slab *s = bslab_slab_of(&f->c, a);
	s->freelist = a + 8; /* not an object boundary */
	assert_null(bslab_alloc(&f->c, 0));
	assert_ptr_equal(f->r.ptr, a + 8);
	expect_stopped(f, keep);
}

/* A carved count lowered in a slab header: the next object to carve is in use. */
static void test_slab_damaged_carved_count(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0);
	struct bslab_slab *s = bslab_slab_of(&f->c, a);
	s->carved = 1; /* as if b had never been handed out */
	assert_null(bslab_alloc(&f->c, 0));
	assert_ptr_equal(f->r.ptr, b);
	assert_true(strncmp(f->r.msg, "bslab: alloc(): corrupted carved count in cache victim",
			    54) == 0);
	expect_stopped(f, a);
}

/*
 * A live object's bit cleared in its slab header: its free would look like
 * a double free, but the header no longer adds up (inuse counts one more
 * object than the bitmap), so the free reports corruption instead.
 */
static void test_slab_cleared_bit_is_corruption_not_double_free(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0);
	struct bslab_slab *s = bslab_slab_of(&f->c, a);
	s->map[0] &= ~(uint64_t)2; /* b's bit */
	assert_int_equal(bslab_free(&f->c, b), BSLAB_ECORRUPT);
	assert_int_equal(f->r.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(f->r.op, "free");
	assert_non_null(strstr(f->r.msg, "corrupted slab header"));
	expect_stopped(f, a);
}

/* A carved count lowered below a live object: its free is corruption, not an invalid pointer. */
static void test_slab_lowered_carved_is_corruption_not_invalid(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0);
	bslab_slab_of(&f->c, a)->carved = 1;
	assert_int_equal(bslab_free(&f->c, b), BSLAB_ECORRUPT);
	assert_int_equal(f->r.kind, BUDDY_ERR_CORRUPT);
	expect_stopped(f, a);
}

/* The carved count lowered and the live object's bit cleared with it: inuse still tells. */
static void test_slab_lowered_carved_and_bit_caught_on_carve(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0);
	struct bslab_slab *s = bslab_slab_of(&f->c, a);
	s->carved = 1;
	s->map[0] &= ~(uint64_t)2; /* as if b had never been handed out */
	assert_null(bslab_alloc(&f->c, 0)); /* b is not handed out again */
	assert_ptr_equal(f->r.ptr, b);
	assert_non_null(strstr(f->r.msg, "corrupted carved count"));
	expect_stopped(f, a);
}

/*
 * The current slab's header raised to claim more objects than it has: the
 * cache carves only as many as the page source's block holds, so nothing is
 * handed out past the slab's end; the check names the slab. (The slab,
 * never counted full again, is not reused: its free objects are lost.)
 */
static void test_slab_raised_object_count_stays_inside(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *first = bslab_alloc(&f->c, 0);
	struct bslab_slab *s = bslab_slab_of(&f->c, first);
	unsigned n = s->objs;
	s->objs = (uint16_t)(n + 8);
	char *last = NULL;
	for (unsigned i = 1; i < n + 8; i++) {
		char *o = bslab_alloc(&f->c, 0);
		assert_non_null(o);
		if (i < n)
			assert_true(o >= (char *)s && o + 64 <= (char *)s + f->c.slab_bytes);
		else
			assert_true(o < (char *)s || o >= (char *)s + f->c.slab_bytes);
		last = o;
	}
	assert_int_equal(bslab_free(&f->c, first), BSLAB_OK);
	assert_int_equal(bslab_free(&f->c, last), BSLAB_OK);
	assert_int_equal(f->r.errors, 0);
	assert_true(bslab_check(&f->c, NULL, NULL) > 0);
	tzone_fini(&f->t);
}

/*
 * The partial list's tail slab with its forward link overwritten: a full
 * slab that then gets a free goes behind it without the damaged link being
 * followed (it crashed), and the link is rewritten in passing.
 */
static void test_slab_damaged_partial_tail_not_followed(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *first = bslab_alloc(&f->c, 0);
	unsigned n = bslab_slab_of(&f->c, first)->objs;
	char *o[2] = { first, NULL };
	for (unsigned i = 1; i < 2 * n + 1; i++) { /* two full slabs and one more object */
		char *p = bslab_alloc(&f->c, 0);
		assert_non_null(p);
		if (i == n)
			o[1] = p; /* the second slab's first object */
	}
	struct bslab_slab *a = bslab_slab_of(&f->c, o[0]), *b = bslab_slab_of(&f->c, o[1]);
	assert_ptr_not_equal(a, b);
	assert_int_equal(bslab_free(&f->c, o[0]), BSLAB_OK); /* a: full -> partial, the tail */
	assert_ptr_equal(f->c.partial.prev, &a->link);
	a->link.next = (struct bslab_list *)(uintptr_t)0x4141414141414141ull;
	assert_int_equal(bslab_free(&f->c, o[1]), BSLAB_OK); /* b goes behind a */
	assert_ptr_equal(f->c.partial.prev, &b->link);
	assert_ptr_equal(a->link.next, &b->link);
	assert_int_equal(f->r.errors, 0);
	assert_int_equal(bslab_check(&f->c, NULL, NULL), 0);
	tzone_fini(&f->t);
}

static int count_slab(void *arg, const struct bslab_block *b)
{
	(void)b;
	++*(int *)arg;
	return 0;
}

/* A slab's link on the list of all slabs overwritten: the walk stops there, not following it. */
static void test_slab_walk_stops_at_damaged_link(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(64, 1);
	char *first = bslab_alloc(&f->c, 0);
	unsigned n = bslab_slab_of(&f->c, first)->objs;
	for (unsigned i = 1; i < n + 1; i++) /* a second slab */
		assert_non_null(bslab_alloc(&f->c, 0));
	int seen = 0;
	bslab_walk(&f->c, count_slab, &seen);
	assert_int_equal(seen, 2);
	struct bslab_slab *newest = (struct bslab_slab *)((uintptr_t)f->c.slabs.next -
							   offsetof(struct bslab_slab, all));
	newest->all.next = (struct bslab_list *)(uintptr_t)0x4141414141414140ull;
	seen = 0;
	bslab_walk(&f->c, count_slab, &seen);
	assert_int_equal(seen, 1);
	assert_true(bslab_check(&f->c, NULL, NULL) > 0);
	newest->all.next = &bslab_slab_of(&f->c, first)->all; /* repaired for the teardown */
	tzone_fini(&f->t);
}

/*
 * A partial slab's state byte overwritten to say full, then the free that
 * empties it: the slab is not put on a list a second time (a full slab
 * links to itself; this one is still on the partial list), the damage is
 * reported.
 */
static void test_slab_state_damaged_to_full(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(64, 1);
	char *first = bslab_alloc(&f->c, 0);
	unsigned n = bslab_slab_of(&f->c, first)->objs;
	for (unsigned i = 1; i < n + 1; i++) /* the first slab full, a second current */
		assert_non_null(bslab_alloc(&f->c, 0));
	char *second = first + f->c.stride;
	assert_int_equal(bslab_free(&f->c, first), BSLAB_OK); /* full -> partial */
	struct bslab_slab *s = bslab_slab_of(&f->c, first);
	assert_int_equal(s->state, BSLAB_SLAB_PARTIAL);
	s->state = BSLAB_SLAB_FULL;
	assert_int_equal(bslab_free(&f->c, second), BSLAB_OK); /* no move: not emptied yet */
	for (unsigned i = 2; i < n - 1; i++)
		bslab_free(&f->c, first + i * f->c.stride);
	assert_int_equal(f->r.errors, 0);
	bslab_free(&f->c, first + (n - 1) * f->c.stride); /* emptied: moves, and finds the damage */
	assert_int_equal(f->r.errors, 1);
	assert_int_equal(f->r.kind, BUDDY_ERR_CORRUPT);
	assert_non_null(strstr(f->r.msg, "corrupted slab state"));
	tzone_fini(&f->t);
}

/* A real double free in an intact slab is still called one. */
static void test_slab_double_free_in_intact_slab(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(64, 1);
	char *a = bslab_alloc(&f->c, 0), *b = bslab_alloc(&f->c, 0);
	assert_int_equal(bslab_free(&f->c, b), BSLAB_OK);
	assert_int_equal(bslab_free(&f->c, b), BSLAB_EDOUBLE);
	assert_int_equal(f->r.kind, BUDDY_ERR_DOUBLE);
	assert_int_equal(bslab_free(&f->c, a), BSLAB_OK);
	assert_int_equal(bslab_check(&f->c, NULL, NULL), 0);
	tzone_fini(&f->t);
}

/* List links in a slab header that do not point back stop the next move. */
static void test_slab_damaged_list_links(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1000, 1);
	void *o[8];
	for (int i = 0; i < 8; i++)
		o[i] = bslab_alloc(&f->c, 0);
	/* slab 0 becomes partial; damage its links; the next refill unlinks it */
	assert_int_equal(bslab_free(&f->c, o[0]), BSLAB_OK);
	struct bslab_slab *s0 = bslab_slab_of(&f->c, o[1]);
	assert_int_equal(s0->state, SLAB_PARTIAL);
	s0->link.prev = (struct bslab_list *)0x1000;
	size_t zone_allocs = f->t.z.allocs;
	assert_null(bslab_alloc(&f->c, 0));
	assert_int_equal(f->t.z.allocs, zone_allocs);
	assert_non_null(strstr(f->r.msg, "corrupted slab list links"));
	expect_stopped(f, o[1]);
}

/*
 * Two partial slabs whose list links were made to point at each other,
 * both ways: each neighbour points back, but unlinked, one of them would
 * stay on the list the head still names. Emptying one (which takes it off
 * the partial list) stops there.
 */
static void test_slab_list_links_forming_a_cycle(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(1000, 1);
	char *o[64] = { NULL };
	unsigned n = 0, ia = 0, ib = 0;
	struct bslab_slab *a = NULL, *b = NULL;
	/* Objects until a third slab starts: slabs a and b are full. */
	while (n < 64) {
		o[n] = bslab_alloc(&f->c, 0);
		assert_non_null(o[n]);
		struct bslab_slab *s = bslab_slab_of(&f->c, o[n]);
		if (!a) {
			a = s;
			ia = n;
		} else if (s != a && !b) {
			b = s;
			ib = n;
		} else if (s != a && s != b) {
			break;
		}
		n++;
	}
	assert_true(n < 64 && a && b && a->objs >= 2 && b->objs >= 2);
	/* One object of each back: both partial. */
	assert_int_equal(bslab_free(&f->c, o[ia]), BSLAB_OK);
	assert_int_equal(bslab_free(&f->c, o[ib]), BSLAB_OK);
	assert_int_equal(a->state, SLAB_PARTIAL);
	assert_int_equal(b->state, SLAB_PARTIAL);
	a->link.next = a->link.prev = &b->link;
	b->link.next = b->link.prev = &a->link;
	/* Free a's other objects: the last one moves a off the partial list (and is freed). */
	for (unsigned i = ia + 1; i < ib && !f->r.errors; i++)
		if (bslab_slab_of(&f->c, o[i]) == a)
			assert_int_equal(bslab_free(&f->c, o[i]), BSLAB_OK);
	assert_int_equal(f->r.errors, 1);
	assert_non_null(strstr(f->r.msg, "corrupted slab list links"));
	expect_stopped(f, o[ib + 1]);
}

/*
 * A list link damaged to name the slab at address 0, while the cache has no
 * current slab (which a link check once took for the current one, and
 * read): refused, not followed.
 */
static void test_slab_list_link_to_null(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1000, 0);
	void *o[9];
	for (int i = 0; i < 9; i++)
		o[i] = bslab_alloc(&f->c, 0); /* slabs of four: the ninth starts a third */
	bslab_free(&f->c, o[8]);              /* it empties and goes back (no reserve) */
	assert_null(f->c.cur);
	for (int i = 0; i < 3; i++)
		bslab_free(&f->c, o[i]);
	struct bslab_slab *a = bslab_slab_of(&f->c, o[3]);
	assert_int_equal(a->state, SLAB_PARTIAL);
	assert_int_equal(f->r.errors, 0);
	a->link.next = (struct bslab_list *)offsetof(struct bslab_slab, link);
	bslab_free(&f->c, o[3]); /* empties it: its unlink meets the link */
	assert_non_null(strstr(f->r.msg, "corrupted slab list links"));
	expect_stopped(f, o[4]);
}

/* The list of all slabs, damaged: giving an empty slab back is refused. */
static void test_slab_damaged_all_list(void **state)
{
	(void)state;
	SKIP_UNDER_FULL_CHECKS();
	struct fixture *f = fixture_new(1000, 0);
	void *o[8];
	for (int i = 0; i < 8; i++)
		o[i] = bslab_alloc(&f->c, 0);
	struct bslab_slab *s0 = bslab_slab_of(&f->c, o[0]);
	s0->all.next = (struct bslab_list *)((char *)s0 + 4 * PS);
	struct buddy_stats before, after;
	buddy_get_stats(&f->t.z, &before);
	for (int i = 0; i < 4; i++)
		bslab_free(&f->c, o[i]);
	buddy_get_stats(&f->t.z, &after);
	assert_int_equal(after.frees, before.frees);
	expect_stopped(f, o[5]);
}

/* A slab whose count says empty while its bitmap has objects is never given back. */
static void test_slab_count_damage_never_frees_live_slab(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1000, 0);
	void *o[8];
	for (int i = 0; i < 8; i++)
		o[i] = bslab_alloc(&f->c, 0);
	struct bslab_slab *s0 = bslab_slab_of(&f->c, o[0]);
	s0->inuse = 1; /* three objects are still in use */
	struct buddy_stats before, after;
	buddy_get_stats(&f->t.z, &before);
	assert_int_equal(bslab_free(&f->c, o[0]), BSLAB_OK);
	buddy_get_stats(&f->t.z, &after);
	assert_int_equal(after.frees, before.frees);
	assert_int_equal(f->r.errors, 1);
	assert_non_null(strstr(f->r.msg, "slab counted empty with objects in use"));
	expect_stopped(f, o[1]);
}

/* Messages the check gave, one line each. */
struct reports {
	char text[4096];
	int n;
};

static void collect(void *arg, const char *msg)
{
	struct reports *r = arg;
	size_t len = strlen(r->text);
	snprintf(r->text + len, sizeof(r->text) - len, "%s\n", msg);
	r->n++;
}

static void expect_report_of(struct fixture *f, const char *tag_and_text)
{
	struct reports r;
	memset(&r, 0, sizeof(r));
	size_t n = bslab_check(&f->c, collect, &r);
	assert_int_equal(n, (size_t)r.n);
	assert_true(n >= 1);
	if (!strstr(r.text, tag_and_text)) {
		print_error("wanted '%s' in:\n%s", tag_and_text, r.text);
		fail();
	}
	/* every message starts with an invariant's tag */
	for (const char *l = r.text; *l; l = strchr(l, '\n') + 1)
		assert_true(l[0] == 'S' && l[1] >= '1' && l[1] <= '7' && l[2] == ':');
}

/* Three slabs of four: slab 0 full, slab 1 partial, slab 2 current; one empty later. */
static struct fixture *populated(void **objs)
{
	struct fixture *f = fixture_new(1000, 1);
	for (int i = 0; i < 10; i++)
		objs[i] = bslab_alloc(&f->c, 0);
	bslab_free(&f->c, objs[4]);
	assert_string_equal(slabs_text(&f->c, &f->t), "C2:2/2 P1:3/4 F0:4/4");
	assert_cache_ok(&f->c);
	return f;
}

static void test_slab_check_names_each_invariant(void **state)
{
	(void)state;
	void *o[10];
	struct fixture *f;
	struct bslab_slab *s;

	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->cache = NULL;
	expect_report_of(f, "S1: victim: slab");
	tzone_fini(&f->t);

	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->state = SLAB_EMPTY;
	expect_report_of(f, "S4: victim: empty slab");
	tzone_fini(&f->t);

	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->all.next->prev = NULL;
	expect_report_of(f, "S1: victim: slab list link");
	tzone_fini(&f->t);

	f = populated(o);
	s = bslab_slab_of(&f->c, o[4]);
	s->link.next->prev = NULL;
	expect_report_of(f, "S1: victim: partial list link");
	tzone_fini(&f->t);

	/* links leading outside the cache's slabs: reported, never followed */
	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->all.next = (struct bslab_list *)0x1000;
	expect_report_of(f, "S1: victim: slab list link at");
	expect_report_of(f, "leads outside the cache's slabs");
	tzone_fini(&f->t);

	f = populated(o);
	s = bslab_slab_of(&f->c, o[4]);
	s->link.next = (struct bslab_list *)(uintptr_t)0x4141414141414141ull;
	expect_report_of(f, "S1: victim: partial list link at");
	expect_report_of(f, "leads outside the cache's slabs");
	tzone_fini(&f->t);

	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->inuse = 3;
	expect_report_of(f, "S2: victim: slab");
	tzone_fini(&f->t);

	f = populated(o);
	s = bslab_slab_of(&f->c, o[8]);
	s->map[0] |= (uint64_t)1 << 3; /* beyond the two carved */
	expect_report_of(f, "S2: victim: slab");
	tzone_fini(&f->t);

	f = populated(o);
	bslab_link_set(&f->c, o[4], o[5]); /* a free object linking to a live one */
	expect_report_of(f, "S3: victim: slab");
	tzone_fini(&f->t);

	/* S4 alone: a full slab with one object free, consistently recorded */
	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->map[0] &= ~(uint64_t)1;
	s->inuse--;
	bslab_link_set(&f->c, o[0], NULL);
	s->freelist = o[0];
	f->c.frees++;
	expect_report_of(f, "S4: victim: full slab");
	tzone_fini(&f->t);

	f = populated(o);
	f->c.nr_partial++;
	expect_report_of(f, "S5: victim: counted 2 partial, 1 full, 0 empty, 0 small");
	tzone_fini(&f->t);

	f = populated(o);
	for (int i = 5; i < 8; i++)
		bslab_free(&f->c, o[i]); /* slab 1 empties */
	f->c.reserve = 0;
	expect_report_of(f, "S5: victim: 1 empty slabs kept, more than the reserve of 0");
	tzone_fini(&f->t);

	f = populated(o);
	f->c.allocs++;
	expect_report_of(f, "S6: victim: 9 objects in use in the slabs, 10 by the counters");
	tzone_fini(&f->t);

	f = populated(o);
	f->c.slabs_allocated++;
	expect_report_of(f, "S7: victim: 3 slabs held, 4 by the counters");
	tzone_fini(&f->t);

	/* more carved than the slab holds */
	f = populated(o);
	s = bslab_slab_of(&f->c, o[4]);
	s->carved = (uint16_t)(s->objs + 1);
	expect_report_of(f, "objects carved, more than its 4");
	tzone_fini(&f->t);

	/* a free object linking inside another object */
	f = populated(o);
	bslab_link_set(&f->c, o[4], (char *)o[6] + 8);
	expect_report_of(f, "S3: victim: slab");
	assert_int_equal(f->r.errors, 0); /* the check reports; it changes nothing */
	tzone_fini(&f->t);

	/* the freelist's head is an object in use */
	f = populated(o);
	s = bslab_slab_of(&f->c, o[4]);
	s->freelist = o[5];
	expect_report_of(f, "which is in use");
	tzone_fini(&f->t);

	/* a slab other than the current one marked current */
	f = populated(o);
	s = bslab_slab_of(&f->c, o[0]);
	s->state = SLAB_CUR;
	expect_report_of(f, "is marked current");
	tzone_fini(&f->t);

	/* the partial list holding a slab marked full */
	f = populated(o);
	s = bslab_slab_of(&f->c, o[4]);
	s->state = SLAB_FULL;
	expect_report_of(f, "S4: victim: full slab");
	tzone_fini(&f->t);

	/* the current slab not marked current */
	f = populated(o);
	f->c.cur->state = SLAB_PARTIAL;
	expect_report_of(f, "S1: victim: the current slab");
	tzone_fini(&f->t);

	/* more slabs on the list of all than the counters say are held */
	f = populated(o);
	f->c.slabs_allocated -= 2;
	expect_report_of(f, "S5: victim: slab list longer than the 1 slabs held");
	tzone_fini(&f->t);

	/* no cache at all */
	struct reports r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(bslab_check(NULL, collect, &r), 1);
	assert_string_equal(r.text, "cache is NULL\n");
	assert_int_equal(bslab_check(NULL, NULL, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slab_garbage_free_pointer),
		cmocka_unit_test(test_slab_link_to_live_object),
		cmocka_unit_test(test_slab_freelist_loop),
		cmocka_unit_test(test_slab_freelist_skip_is_seen),
		cmocka_unit_test(test_slab_damaged_freelist_head),
		cmocka_unit_test(test_slab_damaged_carved_count),
		cmocka_unit_test(test_slab_cleared_bit_is_corruption_not_double_free),
		cmocka_unit_test(test_slab_lowered_carved_is_corruption_not_invalid),
		cmocka_unit_test(test_slab_lowered_carved_and_bit_caught_on_carve),
		cmocka_unit_test(test_slab_raised_object_count_stays_inside),
		cmocka_unit_test(test_slab_damaged_partial_tail_not_followed),
		cmocka_unit_test(test_slab_walk_stops_at_damaged_link),
		cmocka_unit_test(test_slab_state_damaged_to_full),
		cmocka_unit_test(test_slab_double_free_in_intact_slab),
		cmocka_unit_test(test_slab_damaged_list_links),
		cmocka_unit_test(test_slab_list_links_forming_a_cycle),
		cmocka_unit_test(test_slab_list_link_to_null),
		cmocka_unit_test(test_slab_damaged_all_list),
		cmocka_unit_test(test_slab_count_damage_never_frees_live_slab),
		cmocka_unit_test(test_slab_check_names_each_invariant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
