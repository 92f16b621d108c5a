/* SPDX-License-Identifier: MIT */
/*
 * slab_info.c - looking at a slab cache without changing it: status
 * texts, statistics, the /proc/slabinfo lines, the slab walk and the check
 * of invariants S1..S7 (listed at struct bslab_cache in buddy/slab.h).
 */
#include <stdarg.h>

#include "common/fmt.h"
#include "slab/slab_internal.h"

static const char *const status_text[BSLAB_NR_STATUS] = {
	[BSLAB_OK] = "success",
	[BSLAB_ENULL] = "null pointer",
	[BSLAB_ECONFIG] = "bad configuration (size, alignment, order, name or hooks)",
	[BSLAB_ENOMEM] = "out of memory: no block for a new slab",
	[BSLAB_EBUSY] = "the cache still has objects in use",
	[BSLAB_EINVALID] = "pointer is not an object of this cache",
	[BSLAB_EINTERIOR] = "pointer is inside an object, not at its start",
	[BSLAB_EDOUBLE] = "double free: the object is already free",
	[BSLAB_EALIGN] = "the page source gave a block not aligned to the slab size",
	[BSLAB_ECORRUPT] = "slab cache metadata is corrupted",
};

const char *bslab_strerror(int status)
{
	if (status < 0 || status >= BSLAB_NR_STATUS)
		return "unknown status";
	return status_text[status];
}

static void cache_lock(const struct bslab_cache *c)
{
	if (c->hooks && c->hooks->lock)
		c->hooks->lock(c->hooks->arg, (struct bslab_cache *)c);
}

static void cache_unlock(const struct bslab_cache *c)
{
	if (c->hooks && c->hooks->lock)
		c->hooks->unlock(c->hooks->arg, (struct bslab_cache *)c);
}

static const struct bslab_slab *slab_from_all(const struct bslab_list *l)
{
	return (const struct bslab_slab *)((uintptr_t)l - offsetof(struct bslab_slab, all));
}

static size_t held_slabs(const struct bslab_cache *c)
{
	return (size_t)(c->slabs_allocated - c->slabs_freed);
}

/* Stats without the lock (the caller holds it). */
static void stats_fill(const struct bslab_cache *c, struct bslab_stats *st)
{
	__builtin_memset(st, 0, sizeof(*st));
	st->name = c->name;
	st->object_size = c->size;
	st->stride = c->stride;
	st->align = c->align;
	st->order = c->order;
	st->slab_bytes = c->slab_bytes;
	st->objs_per_slab = c->objs;
	st->header_bytes = SLAB_HEADER_FIXED + (c->objs + 63) / 64 * sizeof(uint64_t);
	st->pad_bytes = c->first - st->header_bytes;
	st->leftover_bytes = c->slab_bytes - c->first - (size_t)c->objs * c->stride;
	st->active_objs = (size_t)(c->allocs - c->frees);
	st->total_slabs = held_slabs(c);
	st->small_slabs = c->nr_small;
	st->small_order = c->small_order;
	st->small_objs = c->small_objs;
	st->total_objs = (st->total_slabs - c->nr_small) * c->objs + c->nr_small * c->small_objs;
	st->active_slabs = c->nr_partial + c->nr_full + (c->cur && c->cur->inuse);
	st->partial_slabs = c->nr_partial;
	st->full_slabs = c->nr_full;
	st->empty_slabs = c->nr_empty;
	st->meta_bytes = st->total_slabs * st->header_bytes;
	st->allocs = c->allocs;
	st->frees = c->frees;
	st->failures = c->failures;
	st->slabs_allocated = c->slabs_allocated;
	st->slabs_freed = c->slabs_freed;
}

void bslab_get_stats(const struct bslab_cache *c, struct bslab_stats *st)
{
	if (!c || !st)
		return;
	cache_lock(c);
	stats_fill(c, st);
	cache_unlock(c);
}

/* mm/slab_common.c, print_slabinfo_header (slabinfo version 2.1). */
size_t bslab_slabinfo_header(char *buf, size_t size)
{
	return buddy_fmt(buf, size,
		    "slabinfo - version: 2.1\n"
		    "# name            <active_objs> <num_objs> <objsize> <objperslab> "
		    "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
		    "slabdata <active_slabs> <num_slabs> <sharedavail>\n");
}

/* mm/slab_common.c, cache_show; SLUB prints the tunables as 0. */
size_t bslab_slabinfo(const struct bslab_cache *c, char *buf, size_t size)
{
	struct bslab_stats st;
	if (!c) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	bslab_get_stats(c, &st);
	return buddy_fmt(buf, size,
		    "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
		    st.name, (unsigned long)st.active_objs, (unsigned long)st.total_objs,
		    (unsigned)st.stride, st.objs_per_slab, 1 << st.order, 0u, 0u, 0u,
		    (unsigned long)st.active_slabs, (unsigned long)st.total_slabs, 0ul);
}

/* ------------------------------------------------------------------ */
/* walk                                                                */
/* ------------------------------------------------------------------ */

static void info_fill(const struct bslab_cache *c, const struct bslab_slab *s,
		      struct bslab_block *in)
{
	in->addr = (void *)(uintptr_t)s;
	in->order = s->order;
	in->bytes = bslab_bytes(c, s);
	in->state = (enum bslab_slab_state)s->state;
	/* Clamped, so that a damaged header never sends a reader past the bitmap. */
	in->objs = s->objs < c->objs ? s->objs : c->objs;
	in->inuse = s->inuse;
	in->carved = s->carved < in->objs ? s->carved : in->objs;
	in->first_obj = (void *)bslab_objs_base(c, s);
	in->stride = c->stride;
	in->inuse_map = s->map;
}

int bslab_walk(const struct bslab_cache *c, bslab_walk_fn fn, void *arg)
{
	struct bslab_block in;
	int rc = 0;
	if (!c || !fn)
		return 0;
	cache_lock(c);
	size_t bound = held_slabs(c), off = offsetof(struct bslab_slab, all);
	/* Each link is checked before it is followed: a damaged header ends the walk early. */
	for (const struct bslab_list *l = &c->slabs; !rc && bound--;) {
		l = l->next;
		if (l == &c->slabs || !bslab_link_ok(c, &c->slabs, l, off))
			break;
		info_fill(c, slab_from_all(l), &in);
		rc = fn(arg, &in);
	}
	cache_unlock(c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

static const char *const state_names[] = { "current", "partial", "full", "empty" };

struct checker {
	const struct bslab_cache *c;
	buddy_report_fn report;
	void *arg;
	size_t problems;
	size_t inuse;          /* objects in use over the slabs seen */
	size_t slabs;          /* slabs seen */
	size_t state[4];       /* slabs seen per state */
	size_t small;          /* slabs of the small order seen */
};

/* Report "TAG: cache: text". */
__attribute__((format(printf, 3, 4))) static void problem(struct checker *k, const char *tag,
							  const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = buddy_fmt(msg, sizeof(msg), "%s: %s: ", tag, k->c->name);
	buddy_vfmt(msg + (n < sizeof(msg) ? n : sizeof(msg) - 1), n < sizeof(msg) ? sizeof(msg) - n : 1,
	      fmt, ap);
	va_end(ap);
	k->problems++;
	if (k->report)
		k->report(k->arg, msg);
}

/* Bits set in v (SWAR; the builtin may call into libgcc, which a freestanding core avoids). */
static unsigned popcount64(uint64_t v)
{
	v = v - ((v >> 1) & 0x5555555555555555ull);
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

/* S2: carved, bitmap and inuse agree. */
static void check_bitmap(struct checker *k, const struct bslab_slab *s)
{
	const struct bslab_cache *c = k->c;
	size_t set = 0, words = (c->objs + 63) / 64;
	if (s->carved > s->objs)
		problem(k, "S2", "slab %p has %u objects carved, more than its %u", (const void *)s,
			(unsigned)s->carved, (unsigned)s->objs);
	for (size_t w = 0; w < words; w++) {
		uint64_t v = s->map[w];
		for (size_t b = 0; v && b < 64; b++)
			if ((v >> b & 1u) && w * 64 + b >= s->carved) {
				problem(k, "S2", "slab %p marks object %zu in use, beyond the %u carved",
					(const void *)s, w * 64 + b, (unsigned)s->carved);
				break;
			}
		set += popcount64(v);
	}
	if (set != s->inuse)
		problem(k, "S2", "slab %p counts %u objects in use, its bitmap %zu", (const void *)s,
			(unsigned)s->inuse, set);
}

/* S3: the freelist, checked before every step. */
static void check_freelist(struct checker *k, const struct bslab_slab *s)
{
	const struct bslab_cache *c = k->c;
	size_t want = s->carved >= s->inuse ? (size_t)s->carved - s->inuse : 0, n = 0;
	uintptr_t base = bslab_objs_base(c, s);
	for (const char *p = s->freelist; p; n++) {
		uintptr_t off = (uintptr_t)p - base;
		size_t idx = bslab_index(c, off);
		if (n >= want) {
			problem(k, "S3", "slab %p has more than %zu objects on its freelist (or a loop)",
				(const void *)s, want);
			return;
		}
		/* (s->objs is the page source's count here: S1 passed) */
		if (off >= (uintptr_t)s->carved * c->stride || idx >= s->objs ||
		    idx * c->stride != off) {
			problem(k, "S3", "slab %p freelist leads to %p, not a carved object of it",
				(const void *)s, (const void *)p);
			return;
		}
		if (bslab_bit(s, idx)) {
			problem(k, "S3", "slab %p freelist holds object %zu, which is in use",
				(const void *)s, idx);
			return;
		}
		p = bslab_link_get(c, p);
	}
	if (n != want)
		problem(k, "S3", "slab %p has %zu objects on its freelist, %zu expected", (const void *)s,
			n, want);
}

/* S1 (except its lists), S2, S3 and S4 for one slab. */
static void check_slab(struct checker *k, const struct bslab_slab *s)
{
	const struct bslab_cache *c = k->c;
	int order = bslab_source_order(c, s); /* the page source's word, not the header's */
	int small = c->small_slabs && order == (int)c->small_order;
	size_t bytes = small ? c->small_bytes : c->slab_bytes;
	k->slabs++;
	if (order < 0 || s->order != (unsigned)order || s->cache != c ||
	    ((uintptr_t)s & (bytes - 1)) || s->state > SLAB_EMPTY ||
	    s->objs != (small ? c->small_objs : c->objs)) {
		problem(k, "S1", "slab %p does not belong to the cache (owner, alignment, state, "
			"order or size)", (const void *)s);
		return;
	}
	if ((s->state == SLAB_CUR) != (s == c->cur))
		problem(k, "S1", "slab %p is marked %s", (const void *)s, state_names[s->state]);
	k->state[s->state]++;
	k->small += small;
	check_bitmap(k, s);
	check_freelist(k, s);
	k->inuse += s->inuse;
	int ok = s->state == SLAB_CUR || (s->state == SLAB_FULL && s->inuse == s->objs) ||
		 (s->state == SLAB_PARTIAL && s->inuse && s->inuse < s->objs) ||
		 (s->state == SLAB_EMPTY && s->inuse == 0);
	if (!ok)
		problem(k, "S4", "%s slab %p has %u of %u objects in use", state_names[s->state],
			(const void *)s, (unsigned)s->inuse, (unsigned)s->objs);
}

/*
 * Whether slab s shows damage: S1 (but its lists), S2, S3 and S4 for it
 * alone. The misuse paths ask before they blame the caller: a header
 * damaged behind the cache's back (a live object's bit cleared, the carved
 * count lowered) makes a valid pointer look like a double or invalid free,
 * which is then reported as the corruption it is. Reads only the slab.
 */
int bslab_slab_damaged(const struct bslab_cache *c, const struct bslab_slab *s)
{
	struct checker k;
	__builtin_memset(&k, 0, sizeof(k));
	k.c = c;
	check_slab(&k, s);
	return k.problems != 0;
}

/*
 * Walk the list at h (links at offset `off` of a slab header) for at most
 * `bound` entries, checking that each link leads to the head or a slab of
 * the cache before it is followed (a damaged header must not send the
 * checker elsewhere), and that links point back; call fn on each slab.
 * Returns the entries seen.
 */
static size_t check_list(struct checker *k, const struct bslab_list *h, size_t off,
			 const char *name, size_t bound, uint8_t want_state)
{
	size_t n = 0;
	for (const struct bslab_list *l = h;;) {
		if (!bslab_link_ok(k->c, h, l->next, off)) {
			problem(k, "S1", "%s list link at %p leads outside the cache's slabs", name,
				(const void *)l);
			return n;
		}
		if (l->next->prev != l) {
			problem(k, "S1", "%s list link at %p does not point back", name, (const void *)l);
			return n;
		}
		l = l->next;
		if (l == h)
			return n;
		if (n++ >= bound) {
			problem(k, "S5", "%s list longer than the %zu slabs held", name, bound);
			return n;
		}
		const struct bslab_slab *s = (const struct bslab_slab *)((uintptr_t)l - off);
		if (want_state == 0xff)
			check_slab(k, s);
		else if (s->state != want_state)
			problem(k, "S4", "%s slab %p is on the %s list", state_names[s->state <= SLAB_EMPTY ?
				s->state : 0], (const void *)s, name);
	}
}

size_t bslab_check(const struct bslab_cache *c, buddy_report_fn report, void *arg)
{
	struct checker k;
	__builtin_memset(&k, 0, sizeof(k));
	k.c = c;
	k.report = report;
	k.arg = arg;
	if (!c) {
		if (report)
			report(arg, "cache is NULL");
		return 1;
	}
	cache_lock(c);
	size_t held = held_slabs(c);
	size_t all = check_list(&k, &c->slabs, offsetof(struct bslab_slab, all), "slab", held, 0xff);
	size_t partial = check_list(&k, &c->partial, offsetof(struct bslab_slab, link), "partial",
				    held, SLAB_PARTIAL);
	size_t empty = check_list(&k, &c->empty, offsetof(struct bslab_slab, link), "empty", held,
				  SLAB_EMPTY);
	if (c->cur && (c->cur->cache != c || c->cur->state != SLAB_CUR))
		problem(&k, "S1", "the current slab %p is not a current slab of the cache",
			(const void *)c->cur);
	if (partial != k.state[SLAB_PARTIAL] || empty != k.state[SLAB_EMPTY])
		problem(&k, "S4", "%zu partial and %zu empty slabs listed, %zu and %zu found", partial,
			empty, k.state[SLAB_PARTIAL], k.state[SLAB_EMPTY]);
	if (c->nr_partial != k.state[SLAB_PARTIAL] || c->nr_full != k.state[SLAB_FULL] ||
	    c->nr_empty != k.state[SLAB_EMPTY] || c->nr_small != k.small)
		problem(&k, "S5", "counted %zu partial, %zu full, %zu empty, %zu small; found %zu, %zu, "
			"%zu, %zu", c->nr_partial, c->nr_full, c->nr_empty, c->nr_small,
			k.state[SLAB_PARTIAL], k.state[SLAB_FULL], k.state[SLAB_EMPTY], k.small);
	if (c->nr_empty > c->reserve)
		problem(&k, "S5", "%zu empty slabs kept, more than the reserve of %u", c->nr_empty,
			(unsigned)c->reserve);
	if (k.inuse != (size_t)(c->allocs - c->frees))
		problem(&k, "S6", "%zu objects in use in the slabs, %llu by the counters", k.inuse,
			(unsigned long long)(c->allocs - c->frees));
	if (all != held)
		problem(&k, "S7", "%zu slabs held, %zu by the counters", all, held);
	cache_unlock(c);
	return k.problems;
}
