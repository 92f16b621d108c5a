/* SPDX-License-Identifier: MIT */
/*
 * malloc_model.c - the malloc-family model the byte-allocator harnesses
 * share (see malloc_model.h).
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "malloc_model.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void fm_die(const struct fm_model *m, const char *what)
{
	fprintf(stderr, "fuzz %s: %s\n", m->a.ops ? m->a.ops->name : "?", what);
	abort();
}

int fm_damage_skip(int damage, const char *name)
{
#if BUDDY_DEBUG >= 2
	static int said;
	if (damage && !said++)
		fprintf(stderr, "%s: skipped at BUDDY_DEBUG >= 2\n", name);
	return damage;
#else
	(void)damage, (void)name;
	return 0;
#endif
}

int fm_zone_writable(const struct buddy_zone *z, const unsigned char *p, size_t n)
{
	const void *owner = buddy_region_owner(z, p);
	return owner && buddy_region_owner(z, p + n - 1) == owner;
}

void fm_on_error(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	struct fm_model *m = arg;
	(void)op, (void)ptr;
	m->misuse++;
	m->kind = kind;
	if (kind == BUDDY_ERR_CORRUPT) {
		if (!m->damaged) {
			fprintf(stderr, "report: %s\n", msg);
			fm_die(m, "corruption reported, but no damage was done");
		}
		m->corrupted = 1;
	}
}

static void on_problem(void *arg, const char *msg)
{
	const struct fm_model *m = arg;
	fprintf(stderr, "%s check: %s\n", m->a.ops->name, msg);
}

static size_t usable(const struct fm_model *m, const void *p)
{
	return m->a.ops->usable_size(m->a.self, p);
}

static int ranges_overlap(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Whether the n bytes at p all hold v: eight at a time (each comparison in
 * the harness is instrumented for the fuzzer, and this loop dominated the
 * run time when it went byte by byte).
 */
static int bytes_are(const unsigned char *p, size_t n, unsigned char v)
{
	const uint64_t vv = v * (uint64_t)0x0101010101010101u;
	size_t b = 0;

	for (; b + 8 <= n; b += 8) {
		uint64_t w;
		memcpy(&w, p + b, 8);
		if (w != vv)
			return 0;
	}
	for (; b < n; b++)
		if (p[b] != v)
			return 0;
	return 1;
}

static void live_verify(const struct fm_model *m, int i)
{
	const struct fm_live *l = &m->live[i];
	if (!bytes_are(l->p, l->size, l->tag))
		fm_die(m, "allocation contents changed while it was live");
}

/* A block given back: remembered, so damage may write through a stale pointer. */
static void freed_note(struct fm_model *m, unsigned char *p, size_t u)
{
	m->freed[m->nr_freed++ % FM_FREED_MAX] = (struct fm_freed){ p, u };
}

void fm_live_add(struct fm_model *m, unsigned char *p, size_t size, size_t align)
{
	if (!p)
		return;
	size_t u = usable(m, p);
	if (m->corrupted)
		u = size; /* the call met earlier damage; the run ends after this operation */
	else if (u < size || u == 0)
		fm_die(m, "usable size below the request");
	if ((uintptr_t)p % 16 || (align && (uintptr_t)p % align))
		fm_die(m, "allocation not aligned as asked (16 bytes at least)");
	if (m->lo && (p < m->lo || p + u > m->hi))
		fm_die(m, "allocation outside the allocator's buffer");
	for (int i = 0; i < m->nr_live; i++)
		if (ranges_overlap(p, u, m->live[i].p, usable(m, m->live[i].p)))
			fm_die(m, "allocation overlaps a live allocation");
	if (m->nr_live == FM_LIVE_MAX) {
		m->a.ops->free(m->a.self, p); /* the model is full: give it back */
		return;
	}
	struct fm_live *l = &m->live[m->nr_live++];
	*l = (struct fm_live){ p, size, u, ++m->next_tag };
	memset(p, l->tag, size);
}

static void live_remove(struct fm_model *m, int i)
{
	m->live[i] = m->live[--m->nr_live];
}

size_t fm_size(struct fuzz_input *in)
{
	unsigned v = fuzz_u16(in);
	return (v & 0x8000) ? (v & 0x7fff) % FM_SIZE_MAX : (v & 0x7fff) % 300;
}

static void op_malloc(struct fm_model *m, struct fuzz_input *in)
{
	size_t size = fm_size(in);
	fm_live_add(m, m->a.ops->malloc(m->a.self, size), size, 0);
}

static void op_calloc(struct fm_model *m, struct fuzz_input *in)
{
	size_t n = fuzz_byte(in) % 64, size = fm_size(in) % 1024;
	if (fuzz_byte(in) == 0xff)
		n = SIZE_MAX / 2 + 1; /* n * size overflows unless size < 2 */
	unsigned char *p = m->a.ops->calloc(m->a.self, n, size);
	if (n > SIZE_MAX / 4 && size > 1 && p)
		fm_die(m, "calloc overflow not refused");
	if (!p)
		return;
	for (size_t b = 0; b < n * size; b++)
		if (p[b])
			fm_die(m, "calloc memory not zero");
	fm_live_add(m, p, n * size, 0);
}

static void op_realloc(struct fm_model *m, struct fuzz_input *in)
{
	size_t size = fm_size(in);
	if (!m->nr_live || fuzz_byte(in) % 8 == 0) {
		fm_live_add(m, m->a.ops->realloc(m->a.self, NULL, size), size, 0);
		return;
	}
	int i = fuzz_pick(in, m->nr_live);
	struct fm_live l = m->live[i];
	live_verify(m, i);
	unsigned char *q = m->a.ops->realloc(m->a.self, l.p, size);
	if (size == 0) {
		if (q)
			fm_die(m, "realloc to 0 returned a block");
		freed_note(m, l.p, l.usable);
		live_remove(m, i);
		return;
	}
	if (!q)
		return; /* failed: the old block stays, unchanged */
	if (q != l.p)
		freed_note(m, l.p, l.usable);
	live_remove(m, i);
	size_t keep = l.size < size ? l.size : size;
	if (!bytes_are(q, keep, l.tag))
		fm_die(m, "realloc lost contents");
	fm_live_add(m, q, size, 0);
}

static void op_free(struct fm_model *m, struct fuzz_input *in)
{
	if (!m->nr_live) {
		m->a.ops->free(m->a.self, NULL);
		return;
	}
	int i = fuzz_pick(in, m->nr_live);
	live_verify(m, i);
	m->a.ops->free(m->a.self, m->live[i].p);
	/* Freed by the program, refused or not: its contents are no longer ours to check. */
	freed_note(m, m->live[i].p, m->live[i].usable);
	live_remove(m, i);
}

static void op_aligned(struct fm_model *m, struct fuzz_input *in)
{
	unsigned shift = fuzz_byte(in);
	size_t align = (size_t)1 << (shift % 14);
	size_t size = fm_size(in);
	if (shift & 0x80)
		align += 8; /* not a power of two (or 9 or 24...): must be refused */
	errno = 0;
	void *p = m->a.ops->aligned_alloc(m->a.self, align, size);
	if (align & (align - 1)) {
		if (p || errno != EINVAL)
			fm_die(m, "aligned_alloc accepted an alignment that is not a power of two");
		return;
	}
	fm_live_add(m, p, size, align);
}

/* Misuse must be reported once, with the right kind, and change nothing. */
static void op_bad_pointer(struct fm_model *m, struct fuzz_input *in)
{
	struct balloc_stats before, after;
	unsigned what = fuzz_byte(in) % 3;
	unsigned char *p;
	int want;

	if (what == 0 && m->nr_live) {
		struct fm_live *l = &m->live[fuzz_pick(in, m->nr_live)];
		p = l->p + 1 + fuzz_u16(in) % (l->usable - 1);
		want = BUDDY_ERR_INTERIOR;
	} else if (what == 1) {
		p = (unsigned char *)&before; /* never in the allocator */
		want = BUDDY_ERR_INVALID;
	} else {
		/* Free a fresh block twice; the second free must be refused. */
		size_t size = fm_size(in);
		p = m->a.ops->malloc(m->a.self, size);
		if (!p)
			return;
		size_t u = usable(m, p);
		m->a.ops->free(m->a.self, p);
		if (m->corrupted)
			return;
		freed_note(m, p, u);
		want = BUDDY_ERR_DOUBLE;
	}
	m->a.ops->stats(m->a.self, &before);
	int seen = m->misuse;
	switch (fuzz_byte(in) % 3) {
	case 0: m->a.ops->free(m->a.self, p); break;
	case 1:
		if (m->a.ops->realloc(m->a.self, p, 10))
			fm_die(m, "realloc of a bad pointer returned a block");
		break;
	default:
		if (usable(m, p))
			fm_die(m, "usable_size of a bad pointer is not 0");
	}
	m->a.ops->stats(m->a.self, &after);
	if (m->misuse != seen + 1)
		fm_die(m, "misuse not reported exactly once");
	if (m->corrupted)
		return; /* the call met damage first, and said so */
	if (m->kind != want &&
	    !(want == BUDDY_ERR_DOUBLE && m->kind == BUDDY_ERR_INVALID && m->double_may_be_invalid))
		fm_die(m, "misuse reported with the wrong kind");
	if (after.live_allocs != before.live_allocs || after.held_bytes != before.held_bytes)
		fm_die(m, "misuse changed the allocator");
}

static void op_usable(struct fm_model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	struct fm_live *l = &m->live[fuzz_pick(in, m->nr_live)];
	if (usable(m, l->p) < l->size && !m->corrupted)
		fm_die(m, "usable size shrank below the request");
}

/* ------------------------------------------------------------------ */
/* damage                                                              */
/* ------------------------------------------------------------------ */

/* Whether the byte at p belongs to a live block (the program's own data). */
static int in_live(const struct fm_model *m, const unsigned char *p)
{
	for (int i = 0; i < m->nr_live; i++)
		if (p >= m->live[i].p && p < m->live[i].p + m->live[i].usable)
			return 1;
	return 0;
}

/*
 * Write bytes as a misbehaving program would: into a block freed earlier
 * (at any offset of what it was), or into the 16 bytes past a live block.
 * The bytes come from the input, are a 32-bit value (small numbers look like
 * sizes and links), all 0xff, or a copy of the start of another freed block
 * (links that look right).
 */
static void op_damage(struct fm_model *m, struct fuzz_input *in)
{
	unsigned char data[16];
	unsigned how = fuzz_byte(in), len = 1 + fuzz_byte(in) % 16, off;
	unsigned char *at;

	switch (how % 4) {
	case 0:
		for (unsigned i = 0; i < len; i++)
			data[i] = (unsigned char)fuzz_byte(in);
		break;
	case 1: {
		uint32_t v = fuzz_u16(in);
		for (unsigned i = 0; i < 16; i += 4)
			memcpy(data + i, &v, 4);
		break;
	}
	case 2:
		memset(data, 0xff, sizeof(data));
		break;
	default: {
		const struct fm_freed *f = m->nr_freed ? &m->freed[fuzz_pick(in, FM_FREED_MAX)] : NULL;
		if (f && f->p && m->writable && m->writable(m, f->p, 16)) {
			fuzz_reclaim(f->p, 16);
			memcpy(data, f->p, 16);
		} else {
			memset(data, 0x01, sizeof(data));
		}
	}
	}
	if ((how & 0x10) && m->nr_live) { /* past the end of a live block */
		const struct fm_live *l = &m->live[fuzz_pick(in, m->nr_live)];
		off = fuzz_byte(in) % 16;
		at = l->p + l->usable + off;
		if (len > 16 - off)
			len = 16 - off;
	} else if (m->nr_freed) { /* after free, through a stale pointer */
		const struct fm_freed *f = &m->freed[fuzz_pick(in, FM_FREED_MAX)];
		if (!f->p)
			return;
		off = fuzz_u16(in) % f->usable;
		at = f->p + off;
		if (len > f->usable - off)
			len = (unsigned)(f->usable - off);
	} else {
		return;
	}
	for (unsigned i = 0; i < len; i++) {
		if (in_live(m, at + i) || !m->writable || !m->writable(m, at + i, 1))
			continue;
		fuzz_reclaim(at + i, 1); /* a memory checker may have it marked free */
		at[i] = data[i];
		m->damaged = 1;
		m->damage_writes++;
	}
}

/*
 * After a corruption report: every call refuses, reporting corruption
 * again, and changes nothing; the live blocks keep their contents; the
 * check and the statistics still return.
 */
static void refusals_verify(struct fm_model *m)
{
	struct balloc_stats before, after;
	int seen;

	m->a.ops->stats(m->a.self, &before);
	seen = m->misuse;
	if (m->a.ops->malloc(m->a.self, 16) || m->a.ops->calloc(m->a.self, 2, 8) ||
	    m->a.ops->aligned_alloc(m->a.self, 64, 8) || m->a.ops->realloc(m->a.self, NULL, 8))
		fm_die(m, "a corrupted heap handed out a block");
	if (m->misuse != seen + 4)
		fm_die(m, "a corrupted heap refused an allocation without saying so");
	if (m->nr_live) {
		unsigned char *p = m->live[0].p;
		m->a.ops->free(m->a.self, p);
		if (m->a.ops->realloc(m->a.self, p, 8) || usable(m, p))
			fm_die(m, "a corrupted heap resized or measured a block");
		if (m->misuse != seen + 7)
			fm_die(m, "a corrupted heap refused a call without saying so");
		live_remove(m, 0); /* freed by the program, refused or not */
	}
	if (m->kind != BUDDY_ERR_CORRUPT)
		fm_die(m, "a corrupted heap reported something else");
	m->a.ops->stats(m->a.self, &after);
	if (after.live_allocs != before.live_allocs || after.held_bytes != before.held_bytes ||
	    after.free_bytes != before.free_bytes)
		fm_die(m, "a corrupted heap changed");
	for (int i = 0; i < m->nr_live; i++)
		live_verify(m, i);
	if (m->a.ops->check)
		m->a.ops->check(m->a.self, NULL, NULL); /* must return; any count */
}

/*
 * How often damage mode runs the allocator's check: 0 (the default) right
 * after each damage operation and every 32nd other one; N > 0 every N-th
 * operation of any kind; -1 only at the end of the input. From the
 * environment, FUZZ_DAMAGE_CHECK ("end" or N), read once: long runs, whose
 * oracle is the model's (contents intact, no overlap, no crash), use it to
 * spend their time on inputs rather than on the check.
 */
static int damage_check_every(void)
{
	static int every = -2;
	if (every == -2) {
		const char *e = getenv("FUZZ_DAMAGE_CHECK");
		every = !e ? 0 : strcmp(e, "end") == 0 ? -1 : (int)strtol(e, NULL, 10);
		if (every < -1)
			every = 0;
	}
	return every;
}

/* Whether damage mode runs the check now (after_damage: a damage operation; end: the input's). */
static int damage_check_due(struct fm_model *m, int after_damage, int end)
{
	int every = damage_check_every();
	if (end)
		return 1;
	if (every == 0)
		return after_damage || ++m->checks_skipped % 32 == 0;
	return every > 0 && ++m->checks_skipped % (unsigned)every == 0;
}

/*
 * After every operation: the allocator's check (in damage mode, which
 * verifies the check survives damage rather than finds none, when
 * damage_check_due says, since it dominates the run time), then the
 * statistics against the model.
 */
static void model_verify(struct fm_model *m, int after_damage, int end)
{
	struct balloc_stats st;
	size_t requested = 0;

	if (m->a.ops->check && (!m->damage || damage_check_due(m, after_damage, end)) &&
	    m->a.ops->check(m->a.self, m->damaged ? NULL : on_problem, m) != 0 && !m->damaged)
		fm_die(m, "the allocator's check found problems");
	m->a.ops->stats(m->a.self, &st);
	for (int i = 0; i < m->nr_live; i++)
		requested += m->live[i].size;
	if (st.live_allocs != (size_t)m->nr_live)
		fm_die(m, "live allocations disagree with the model");
	if (m->knows_requested && st.requested_bytes != requested)
		fm_die(m, "requested bytes disagree with the model");
	if (m->total_bytes && st.held_bytes + st.free_bytes != m->total_bytes)
		fm_die(m, "held + free bytes do not add up to the allocator's bytes");
}

void fm_run(struct fm_model *m, struct fuzz_input *in)
{
	while (!fuzz_empty(in)) {
		unsigned op = fuzz_byte(in);
		if (m->damage && op >= FM_DAMAGE_OP) {
			op_damage(m, in);
			model_verify(m, 1, 0);
			continue;
		}
		switch (op % 10) {
		case 0: case 1: op_malloc(m, in); break;
		case 2: op_calloc(m, in); break;
		case 3: op_realloc(m, in); break;
		case 4: case 5: op_free(m, in); break;
		case 6: op_aligned(m, in); break;
		case 7: op_bad_pointer(m, in); break;
		case 8: op_usable(m, in); break;
		default:
			if (m->extra)
				m->extra(m, in);
			else
				op_usable(m, in);
		}
		if (m->corrupted) {
			if (!m->reports_once)
				refusals_verify(m);
			return;
		}
		model_verify(m, 0, 0);
	}
}

void fm_finish(struct fm_model *m)
{
	while (m->nr_live && !m->corrupted) {
		live_verify(m, m->nr_live - 1);
		m->a.ops->free(m->a.self, m->live[m->nr_live - 1].p);
		live_remove(m, m->nr_live - 1);
	}
	if (m->corrupted && !m->reports_once)
		refusals_verify(m);
	else if (!m->corrupted)
		model_verify(m, 1, 1);
	if (m->damage && getenv("FUZZ_DAMAGE_LOG")) /* what a replayed input did */
		fprintf(stderr, "%s: %lu bytes of damage, corruption %s\n", m->a.ops->name,
			m->damage_writes, m->corrupted ? "reported" : "not reported");
	balloc_destroy(&m->a);
}

void fm_posix_memalign_result(struct fm_model *m, int st, void *p, size_t align, size_t size)
{
	if (align < sizeof(void *)) {
		if (st != EINVAL || p)
			fm_die(m, "posix_memalign accepted an alignment below sizeof(void *)");
		return;
	}
	if (st == 0)
		fm_live_add(m, p, size, align);
	else if (p)
		fm_die(m, "failed posix_memalign changed *out");
}

int fm_map_fail;

void *fm_map(void *arg, size_t len)
{
	(void)arg;
	if (fm_map_fail > 0) {
		fm_map_fail--;
		return NULL;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void fm_unmap(void *arg, void *p, size_t len)
{
	(void)arg;
	munmap(p, len);
}
