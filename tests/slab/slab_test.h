/* SPDX-License-Identifier: MIT */
/*
 * slab_test.h - helpers shared by the slab cache tests: a zone over an
 * aligned arena, hooks that record errors, events and lock calls, the slab
 * walk as text (so tests can assert exact slab states), a snapshot of
 * everything observable about a cache, and the check as an assertion.
 */
#ifndef SLAB_TEST_H
#define SLAB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buddy/slab.h"
#include "page_fixture.h"

/* A zone of npages pages of page_size over an arena aligned to its whole size. */
struct tzone {
	struct buddy_zone z;
	void *arena;
	size_t page_size;
	size_t npages;
};

static inline void tzone_init(struct tzone *t, size_t page_size, size_t npages)
{
	t->page_size = page_size;
	t->npages = npages;
	t->arena = fx_arena(page_size, npages, page_size * npages);
	fx_zone(&t->z, page_size, BUDDY_MAX_ORDER_AUTO);
	fx_add(&t->z, t->arena, npages);
}

static inline void tzone_fini(struct tzone *t)
{
	fx_arena_free(t->arena);
	fx_cleanup();
}

/*
 * Locks a changing call takes: its own, and with the expensive debug tier
 * (common/debug.h) the full check's on the way out.
 */
#if BUDDY_DEBUG >= 2
#define LOCKS_PER_CHANGE 2
#else
#define LOCKS_PER_CHANGE 1
#endif

/* Skip a test whose damage the expensive debug tier stops at by design. */
#if BUDDY_DEBUG >= 2
#define SKIP_UNDER_FULL_CHECKS()                                                              \
	do {                                                                                  \
		print_message("skipped: the full check after each call traps on this damage " \
			      "by design\n");                                               \
		skip();                                                                       \
	} while (0)
#else
#define SKIP_UNDER_FULL_CHECKS() ((void)0)
#endif

/* What on_error, log and lock were told. */
struct trec {
	int errors;          /* on_error calls */
	int kind;            /* last kind */
	char op[32];         /* last op */
	const void *ptr;     /* last pointer */
	char msg[256];       /* last message */
	int new_slabs;       /* BSLAB_EV_NEW_SLAB events */
	int freed_slabs;     /* BSLAB_EV_FREE_SLAB events */
	void *last_slab;     /* slab of the last event */
	int locks, unlocks;  /* lock and unlock calls */
	int depth;           /* locks held now */
	int max_depth;       /* most locks held at once */
	int unlocked_page_calls; /* page source calls made without the lock */
	struct buddy_zone *zone; /* for the page source hooks */
	int page_allocs, page_frees; /* page source calls */
	int fail_pages;      /* page_alloc returns NULL while set */
	size_t skew;         /* page_alloc returns its block moved by this many bytes */
};

static inline void trec_error(void *arg, int kind, const char *op, const void *ptr,
			      const char *msg)
{
	struct trec *r = arg;
	r->errors++;
	r->kind = kind;
	snprintf(r->op, sizeof(r->op), "%s", op);
	r->ptr = ptr;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static inline void trec_log(void *arg, const struct bslab_event *ev)
{
	struct trec *r = arg;
	if (ev->kind == BSLAB_EV_NEW_SLAB)
		r->new_slabs++;
	else
		r->freed_slabs++;
	r->last_slab = ev->slab;
}

static inline void trec_lock(void *arg, struct bslab_cache *c)
{
	struct trec *r = arg;
	(void)c;
	r->locks++;
	if (++r->depth > r->max_depth)
		r->max_depth = r->depth;
}

static inline void trec_unlock(void *arg, struct bslab_cache *c)
{
	struct trec *r = arg;
	(void)c;
	r->unlocks++;
	r->depth--;
}

static inline void *trec_page_alloc(void *arg, struct bslab_cache *c, unsigned order)
{
	struct trec *r = arg;
	(void)c;
	r->page_allocs++;
	if (r->depth == 0)
		r->unlocked_page_calls++;
	if (r->fail_pages)
		return NULL;
	char *p = buddy_alloc_pages(r->zone, order, 0);
	return p ? p + r->skew : NULL;
}

static inline void trec_page_free(void *arg, struct bslab_cache *c, void *block, unsigned order)
{
	struct trec *r = arg;
	(void)c;
	r->page_frees++;
	if (r->depth == 0)
		r->unlocked_page_calls++;
	assert_int_equal(buddy_free_pages(r->zone, (char *)block - r->skew, order), BUDDY_OK);
}

static inline int trec_page_owned(void *arg, const struct bslab_cache *c, const void *block)
{
	struct trec *r = arg;
	return buddy_alloc_size(r->zone, block) == (size_t)1 << c->order ? 1 + (int)c->order : 0;
}

/* Hooks with everything recorded: errors and log always, lock and pages on request. */
static inline struct bslab_hooks trec_hooks(struct trec *r, int lock, int pages)
{
	struct bslab_hooks h;
	memset(&h, 0, sizeof(h));
	h.on_error = trec_error;
	h.log = trec_log;
	h.arg = r;
	if (lock) {
		h.lock = trec_lock;
		h.unlock = trec_unlock;
	}
	if (pages) {
		h.page_alloc = trec_page_alloc;
		h.page_free = trec_page_free;
		h.page_owned = trec_page_owned;
	}
	return h;
}

static inline void report_print(void *arg, const char *msg)
{
	(void)arg;
	print_error("check: %s\n", msg);
}

/* The check must find nothing. */
#define assert_cache_ok(c) assert_int_equal(bslab_check((c), report_print, NULL), 0)

/* A cache of `size` bytes with defaults otherwise. */
static inline void cache_new(struct bslab_cache *c, struct tzone *t, const char *name,
			     size_t size, size_t align, const struct bslab_hooks *h)
{
	struct bslab_config cfg;
	bslab_config_default(&cfg);
	cfg.name = name;
	cfg.size = size;
	cfg.align = align;
	cfg.hooks = h;
	assert_int_equal(bslab_cache_create(c, &t->z, &cfg), BSLAB_OK);
}

struct walk_text {
	char buf[4096];
	size_t len;
	uintptr_t base;
	size_t slab_bytes;
};

static inline int walk_text_add(void *arg, const struct bslab_block *s)
{
	static const char state[] = "CPFE";
	struct walk_text *w = arg;
	size_t n = (size_t)snprintf(w->buf + w->len, sizeof(w->buf) - w->len, "%s%c%zu:%u/%u",
				    w->len ? " " : "", state[s->state],
				    (size_t)((uintptr_t)s->addr - w->base) / w->slab_bytes,
				    s->inuse, s->carved);
	w->len += n < sizeof(w->buf) - w->len ? n : 0;
	return 0;
}

/*
 * The slabs as "C0:3/5 P2:1/4 F1:4/4 E3:0/2": state (current, partial, full,
 * empty), slab number from the arena start, objects in use / carved.
 */
static inline const char *slabs_text(const struct bslab_cache *c, const struct tzone *t)
{
	static struct walk_text w;
	memset(&w, 0, sizeof(w));
	w.base = (uintptr_t)t->arena;
	w.slab_bytes = c->slab_bytes;
	bslab_walk(c, walk_text_add, &w);
	return w.buf;
}

/* Everything a caller can observe about a cache. */
struct csnap {
	struct bslab_stats st;
	char slabs[4096];
	struct buddy_stats zs;
};

static inline void csnap_take(const struct bslab_cache *c, const struct tzone *t,
			      struct csnap *s)
{
	memset(s, 0, sizeof(*s));
	bslab_get_stats(c, &s->st);
	snprintf(s->slabs, sizeof(s->slabs), "%s", slabs_text(c, t));
	buddy_get_stats(&t->z, &s->zs);
}

/* Fails the test if the cache or its zone changed since the snapshot. */
static inline void csnap_expect(const struct bslab_cache *c, const struct tzone *t,
				const struct csnap *s)
{
	struct csnap now;
	csnap_take(c, t, &now);
	assert_string_equal(now.slabs, s->slabs);
	assert_int_equal(now.st.active_objs, s->st.active_objs);
	assert_int_equal(now.st.total_slabs, s->st.total_slabs);
	assert_int_equal(now.st.allocs, s->st.allocs);
	assert_int_equal(now.st.frees, s->st.frees);
	assert_int_equal(now.zs.free_pages, s->zs.free_pages);
	assert_int_equal(now.zs.allocs, s->zs.allocs);
	assert_int_equal(now.zs.frees, s->zs.frees);
}

#endif /* SLAB_TEST_H */
