/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the replay engine (see engine.h).
 *
 * Live blocks sit in a treap keyed by address (nodes indexed by slot, in
 * mapped memory): inserting a block splits the treap at its address, and
 * the largest block below and the smallest above are the only ones it can
 * overlap. Expected O(log n) per op. The fill pattern is a function of the
 * slot and the byte offset, so a block moved by realloc must carry the same
 * bytes at the same offsets, and bytes written by a neighbour show up as a
 * mismatch when the block is next checked.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* One treap node per slot; node 0 is the empty tree. */
struct tnode {
	uintptr_t start; /* block address */
	uintptr_t end;   /* start + requested bytes (at least 1) */
	uint32_t left, right; /* children, 0 for none */
	uint32_t prio;   /* heap priority (random) */
};

/* State of a checked run. */
struct engine {
	const struct balloc *a;   /* allocator under test */
	size_t align;             /* required alignment */
	void **ptr;               /* per slot: the block, or NULL */
	uint64_t *size;           /* per slot: requested bytes */
	uint64_t *usable;         /* per slot: usable bytes reported */
	uint8_t *in_tree;         /* per slot: 1 if in the treap */
	struct tnode *node;       /* nslots + 1 treap nodes */
	uint32_t root;            /* treap root */
	uint64_t live, held;      /* requested and usable bytes of live blocks */
	uint64_t op;              /* index of the current op */
	struct replay_result *r;  /* results */
	size_t map_bytes;         /* bytes mapped for the arrays above */
	void *map;                /* start of that mapping */
};

static void *map_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* --- Treap of live blocks --- */

static void tree_split(struct tnode *n, uint32_t t, uintptr_t key, uint32_t *l, uint32_t *r)
{
	if (!t) {
		*l = *r = 0;
	} else if (n[t].start < key) {
		tree_split(n, n[t].right, key, &n[t].right, r);
		*l = t;
	} else {
		tree_split(n, n[t].left, key, l, &n[t].left);
		*r = t;
	}
}

static uint32_t tree_merge(struct tnode *n, uint32_t l, uint32_t r)
{
	if (!l || !r)
		return l ? l : r;
	if (n[l].prio > n[r].prio) {
		n[l].right = tree_merge(n, n[l].right, r);
		return l;
	}
	n[r].left = tree_merge(n, l, n[r].left);
	return r;
}

/* Insert node k unless it overlaps a node; returns the one it overlaps, or 0. */
static uint32_t tree_insert(struct engine *e, uint32_t k)
{
	struct tnode *n = e->node;
	uint32_t l, r, pred, succ, clash = 0;
	tree_split(n, e->root, n[k].start, &l, &r);
	for (pred = l; pred && n[pred].right; pred = n[pred].right)
		;
	for (succ = r; succ && n[succ].left; succ = n[succ].left)
		;
	if (pred && n[pred].end > n[k].start)
		clash = pred;
	else if (succ && n[succ].start < n[k].end)
		clash = succ;
	n[k].left = n[k].right = 0;
	e->root = clash ? tree_merge(n, l, r) : tree_merge(n, tree_merge(n, l, k), r);
	return clash;
}

static void tree_remove(struct engine *e, uint32_t k)
{
	uint32_t l, m, r;
	tree_split(e->node, e->root, e->node[k].start, &l, &r);
	tree_split(e->node, r, e->node[k].start + 1, &m, &r);
	e->root = tree_merge(e->node, l, r);
}

/* --- Fill pattern --- */

static uint64_t pattern_word(uint32_t slot, uint64_t j)
{
	return ((uint64_t)slot + 1) * 0x9E3779B97F4A7C15ull ^ (j + 1) * 0xD6E8FEB86659FD93ull;
}

/* Write the pattern into bytes [from, to) of the block (rounded out to words). */
static void pattern_fill(unsigned char *p, uint32_t slot, uint64_t from, uint64_t to)
{
	for (uint64_t j = from / 8; j * 8 < to; j++) {
		uint64_t w = pattern_word(slot, j);
		uint64_t n = to - j * 8 < 8 ? to - j * 8 : 8;
		memcpy(p + j * 8, &w, (size_t)n);
	}
}

/* Whether bytes [from, to) (rounded out to words, as written) hold the pattern. */
static int pattern_ok(const unsigned char *p, uint32_t slot, uint64_t from, uint64_t to)
{
	for (uint64_t j = from / 8; j * 8 < to; j++) {
		uint64_t w = pattern_word(slot, j);
		uint64_t len = to - j * 8 < 8 ? to - j * 8 : 8;
		if (memcmp(p + j * 8, &w, (size_t)len) != 0)
			return 0;
	}
	return 1;
}

/*
 * The bytes of an n-byte block that carry the pattern: all of a block up to
 * two windows long; the first and the last CHECK_WINDOW bytes of a larger
 * one, so that a huge request in a trace (1 TiB, say) that an allocator
 * grants lazily is never written through. [0, *head) and [*tail, n).
 */
#define CHECK_WINDOW ((uint64_t)1 << 16)

static void pattern_window(uint64_t n, uint64_t *head, uint64_t *tail)
{
	*head = n < CHECK_WINDOW ? n : CHECK_WINDOW;
	*tail = n > 2 * CHECK_WINDOW ? n - CHECK_WINDOW : *head;
}

static void window_fill(unsigned char *p, uint32_t slot, uint64_t n)
{
	uint64_t head, tail;
	pattern_window(n, &head, &tail);
	pattern_fill(p, slot, 0, head);
	pattern_fill(p, slot, tail, n);
}

/* Whether the patterned bytes of an n-byte block that lie below `limit` are intact. */
static int window_ok(const unsigned char *p, uint32_t slot, uint64_t n, uint64_t limit)
{
	uint64_t head, tail;
	pattern_window(n, &head, &tail);
	return pattern_ok(p, slot, 0, head < limit ? head : limit) &&
	       (tail >= limit || pattern_ok(p, slot, tail, n < limit ? n : limit));
}

/* --- Checks --- */

static void engine_error(struct engine *e, uint64_t *counter, const char *what,
			 uint32_t slot, const void *p)
{
	(*counter)++;
	if (e->r->first_error[0] == '\0')
		snprintf(e->r->first_error, sizeof(e->r->first_error),
			 "op %llu: %s (block %u at %p)", (unsigned long long)e->op, what,
			 (unsigned)slot, p);
}

/*
 * Check a slot's block at p against its pattern, as written for a block of
 * the slot's size, over its first `limit` bytes.
 */
static void block_verify(struct engine *e, uint32_t slot, const void *p, uint64_t limit,
			 const char *what)
{
	if (!window_ok(p, slot, e->size[slot], limit))
		engine_error(e, &e->r->corrupted, what, slot, p);
}

/* Take a new block p of size bytes into slot: align, overlap, accounting. */
static void block_adopt(struct engine *e, uint32_t slot, void *p, uint64_t size)
{
	uint32_t k = slot + 1;
	/* A block of n bytes need not be aligned beyond the largest power of two <= n
	 * (C11 7.22.3: suitably aligned for any object that fits). */
	size_t need = e->align;
	while (need > 1 && need > size)
		need >>= 1;
	if ((uintptr_t)p % need)
		engine_error(e, &e->r->misaligned, "misaligned block", slot, p);
	e->ptr[slot] = p;
	e->size[slot] = size;
	e->usable[slot] = e->a->ops->usable_size ? e->a->ops->usable_size(e->a->self, p) : size;
	e->node[k].start = (uintptr_t)p;
	e->node[k].end = (uintptr_t)p + (size ? size : 1);
	e->in_tree[slot] = 0;
	if (tree_insert(e, k))
		engine_error(e, &e->r->overlaps, "block overlaps a live block", slot, p);
	else
		e->in_tree[slot] = 1;
	e->live += size;
	e->held += e->usable[slot];
}

/* Forget the block in slot (before it is freed or moved). */
static void block_drop(struct engine *e, uint32_t slot)
{
	if (e->in_tree[slot])
		tree_remove(e, slot + 1);
	e->in_tree[slot] = 0;
	e->live -= e->size[slot];
	e->held -= e->usable[slot];
	e->ptr[slot] = NULL;
}

/* --- The checked run --- */

static void op_alloc(struct engine *e, uint32_t slot, uint64_t size)
{
	void *p = e->a->ops->malloc(e->a->self, (size_t)size);
	if (!p) {
		e->r->failures += size > 0;
		return;
	}
	block_adopt(e, slot, p, size);
	window_fill(p, slot, size);
}

static void op_free(struct engine *e, uint32_t slot)
{
	if (slot == TRACE_NO_SLOT || !e->ptr[slot]) {
		e->a->ops->free(e->a->self, NULL);
		return;
	}
	void *p = e->ptr[slot];
	block_verify(e, slot, p, e->size[slot], "block changed before free");
	block_drop(e, slot);
	e->a->ops->free(e->a->self, p);
}

static void op_realloc(struct engine *e, uint32_t slot, uint64_t size)
{
	void *p = e->ptr[slot];
	uint64_t old = p ? e->size[slot] : 0;
	if (p) {
		block_verify(e, slot, p, old, "block changed before realloc");
		block_drop(e, slot);
	}
	void *q = e->a->ops->realloc(e->a->self, p, (size_t)size);
	if (!q) {
		if (size > 0)
			e->r->failures++;
		if (p && size > 0) /* the old block stays */
			block_adopt(e, slot, p, old);
		return;
	}
	uint64_t keep = old < size ? old : size;
	e->size[slot] = old; /* the pattern in q is still the old block's */
	if (p)
		block_verify(e, slot, q, keep, "realloc lost the data");
	block_adopt(e, slot, q, size);
	window_fill(q, slot, size); /* restore the kept bytes too, after a report */
}

static int engine_setup(struct engine *e, const struct trace *t, const struct balloc *a,
			const struct replay_config *cfg, struct replay_result *r)
{
	size_t n = t->nslots;
	memset(e, 0, sizeof(*e));
	e->a = a;
	e->r = r;
	e->align = cfg && cfg->align ? cfg->align : 16;
	e->map_bytes = n * (sizeof(void *) + 2 * sizeof(uint64_t) + 1) + (n + 1) * sizeof(struct tnode) + 64;
	e->map = map_zeroed(e->map_bytes);
	if (!e->map)
		return -1;
	char *m = e->map;
	e->node = (struct tnode *)m;
	m += (n + 1) * sizeof(struct tnode);
	e->ptr = (void **)m;
	m += n * sizeof(void *);
	e->size = (uint64_t *)m;
	m += n * sizeof(uint64_t);
	e->usable = (uint64_t *)m;
	m += n * sizeof(uint64_t);
	e->in_tree = (uint8_t *)m;
	uint64_t x = 0x2545F4914F6CDD1Dull; /* xorshift64 for the treap priorities */
	for (size_t i = 1; i <= n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		e->node[i].prio = (uint32_t)(x >> 32);
	}
	return 0;
}

/* Op index at which live bytes peak if no allocation fails (uses e->size). */
static uint64_t trace_peak_op(struct engine *e, const struct trace *t)
{
	uint64_t live = 0, peak = 0, at = 0;
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *o = &t->ops[i];
		if (o->slot == TRACE_NO_SLOT)
			continue;
		live -= e->size[o->slot];
		e->size[o->slot] = o->kind == TRACE_FREE ? 0 : o->size;
		live += e->size[o->slot];
		if (live > peak) {
			peak = live;
			at = i;
		}
	}
	memset(e->size, 0, t->nslots * sizeof(uint64_t));
	return at;
}

static void engine_sample(struct engine *e, size_t cap)
{
	struct balloc_stats st;
	memset(&st, 0, sizeof(st));
	e->a->ops->stats(e->a->self, &st);
	if (st.footprint_bytes > e->r->peak_footprint)
		e->r->peak_footprint = st.footprint_bytes;
	if (e->r->nsamples < cap)
		e->r->samples[e->r->nsamples++] = (struct replay_sample){ e->op, e->live, st.footprint_bytes };
}

/* Move the samples from their mapping to malloc'd memory. */
static int samples_unmap(struct replay_result *r, size_t cap)
{
	struct replay_sample *s = malloc((r->nsamples ? r->nsamples : 1) * sizeof(*s));
	if (s)
		memcpy(s, r->samples, r->nsamples * sizeof(*s));
	munmap(r->samples, cap * sizeof(*s));
	r->samples = s;
	if (!s)
		r->nsamples = 0;
	return s ? 0 : -1;
}

int replay_check(const struct trace *t, const struct balloc *a,
		 const struct replay_config *cfg, struct replay_result *r)
{
	struct engine e;
	size_t want = cfg ? cfg->max_samples : 0;
	memset(r, 0, sizeof(*r));
	if (engine_setup(&e, t, a, cfg, r) < 0)
		return -1;
	size_t cap = want + 2;
	/* Mapped during the run so that it does not count in the footprint. */
	r->samples = map_zeroed(cap * sizeof(*r->samples));
	if (!r->samples) {
		munmap(e.map, e.map_bytes);
		return -1;
	}
	uint64_t every = want ? (t->nops + want - 1) / want : (t->nops / 1024 + 1);
	uint64_t peak_op = trace_peak_op(&e, t);
	for (e.op = 0; e.op < t->nops; e.op++) {
		const struct trace_op *o = &t->ops[e.op];
		if (o->kind == TRACE_ALLOC)
			op_alloc(&e, o->slot, o->size);
		else if (o->kind == TRACE_FREE)
			op_free(&e, o->slot);
		else
			op_realloc(&e, o->slot, o->size);
		if (e.live > r->peak_live) {
			r->peak_live = e.live;
			r->held_at_peak = e.held;
		}
		if (e.op % every == 0 || e.op == peak_op)
			engine_sample(&e, want ? cap : 0);
	}
	engine_sample(&e, want ? cap : 0);
	struct balloc_stats st;
	memset(&st, 0, sizeof(st));
	a->ops->stats(a->self, &st);
	if (st.peak_footprint_bytes > r->peak_footprint)
		r->peak_footprint = st.peak_footprint_bytes;
	r->ops = t->nops;
	for (size_t s = 0; s < t->nslots; s++) /* leave the allocator empty */
		if (e.ptr[s])
			a->ops->free(a->self, e.ptr[s]);
	munmap(e.map, e.map_bytes);
	return samples_unmap(r, cap);
}

/* --- The timed run --- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int replay_time(const struct trace *t, const struct balloc *a, struct replay_result *r)
{
	size_t bytes = t->nslots * sizeof(void *);
	void **ptr = map_zeroed(bytes);
	const struct balloc_ops *ops = a->ops;
	void *self = a->self;
	memset(r, 0, sizeof(*r));
	if (!ptr)
		return -1;
	double t0 = now_seconds();
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *o = &t->ops[i];
		if (o->kind == TRACE_ALLOC) {
			ptr[o->slot] = ops->malloc(self, (size_t)o->size);
		} else if (o->kind == TRACE_FREE) {
			ops->free(self, o->slot == TRACE_NO_SLOT ? NULL : ptr[o->slot]);
			if (o->slot != TRACE_NO_SLOT)
				ptr[o->slot] = NULL;
		} else {
			void *q = ops->realloc(self, ptr[o->slot], (size_t)o->size);
			if (q || o->size == 0)
				ptr[o->slot] = q;
		}
	}
	r->seconds = now_seconds() - t0;
	r->ops = t->nops;
	for (size_t s = 0; s < t->nslots; s++)
		if (ptr[s])
			ops->free(self, ptr[s]);
	munmap(ptr, bytes ? bytes : 1);
	return 0;
}

uint64_t replay_trace_peak_live(const struct trace *t)
{
	uint64_t *size = calloc(t->nslots ? t->nslots : 1, sizeof(*size));
	uint64_t live = 0, peak = 0;
	if (!size)
		return 0;
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *o = &t->ops[i];
		if (o->slot == TRACE_NO_SLOT)
			continue;
		live -= size[o->slot];
		size[o->slot] = o->kind == TRACE_FREE ? 0 : o->size;
		live += size[o->slot];
		if (live > peak)
			peak = live;
	}
	free(size);
	return peak;
}

/* --- Results as text --- */

void replay_result_free(struct replay_result *r)
{
	free(r->samples);
	r->samples = NULL;
	r->nsamples = 0;
}

uint64_t replay_result_errors(const struct replay_result *r)
{
	return r->misaligned + r->overlaps + r->corrupted;
}

void replay_result_write(FILE *f, const struct replay_result *r)
{
	fprintf(f, "result ops=%llu seconds=%.9f peak_live=%llu held_at_peak=%llu "
		"peak_footprint=%llu failures=%llu misaligned=%llu overlaps=%llu corrupted=%llu\n",
		(unsigned long long)r->ops, r->seconds, (unsigned long long)r->peak_live,
		(unsigned long long)r->held_at_peak, (unsigned long long)r->peak_footprint,
		(unsigned long long)r->failures, (unsigned long long)r->misaligned,
		(unsigned long long)r->overlaps, (unsigned long long)r->corrupted);
	for (size_t i = 0; i < r->nsamples; i++)
		fprintf(f, "sample %llu %llu %llu\n", (unsigned long long)r->samples[i].op,
			(unsigned long long)r->samples[i].live,
			(unsigned long long)r->samples[i].footprint);
	if (r->first_error[0])
		fprintf(f, "error %s\n", r->first_error);
}

static int result_field(struct replay_result *r, const char *key, const char *val)
{
	static const char *const names[] = { "ops", "peak_live", "held_at_peak", "peak_footprint",
					     "failures", "misaligned", "overlaps", "corrupted" };
	uint64_t *fields[] = { &r->ops, &r->peak_live, &r->held_at_peak, &r->peak_footprint,
			       &r->failures, &r->misaligned, &r->overlaps, &r->corrupted };
	char *end;
	if (strcmp(key, "seconds") == 0) {
		r->seconds = strtod(val, &end);
		return *end ? -1 : 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(key, names[i]) == 0) {
			*fields[i] = strtoull(val, &end, 10);
			return *end ? -1 : 0;
		}
	return -1;
}

static int result_read_fields(struct replay_result *r, const char *s)
{
	char key[32], val[48];
	int n;
	while (sscanf(s, " %31[a-z_]=%47s%n", key, val, &n) == 2) {
		if (result_field(r, key, val) < 0)
			return -1;
		s += n;
	}
	while (*s == ' ' || *s == '\n')
		s++;
	return *s ? -1 : 0;
}

static int result_read_sample(struct replay_result *r, const char *s)
{
	unsigned long long op, live, foot;
	char extra;
	/* A line our own runner wrote; the count check refuses anything else. */
	if (sscanf(s, "%llu %llu %llu %c", &op, &live, &foot, &extra) != 3) // NOLINT(cert-err34-c)
		return -1;
	struct replay_sample *ns = realloc(r->samples, (r->nsamples + 1) * sizeof(*ns));
	if (!ns)
		return -1;
	r->samples = ns;
	r->samples[r->nsamples++] = (struct replay_sample){ op, live, foot };
	return 0;
}

int replay_result_read_line(struct replay_result *r, const char *line)
{
	if (strncmp(line, "result ", 7) == 0)
		return result_read_fields(r, line + 7);
	if (strncmp(line, "sample ", 7) == 0)
		return result_read_sample(r, line + 7);
	if (strncmp(line, "error ", 6) == 0) {
		snprintf(r->first_error, sizeof(r->first_error), "%.*s",
			 (int)strcspn(line + 6, "\n"), line + 6);
		return 0;
	}
	return -1;
}
