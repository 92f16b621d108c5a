/* SPDX-License-Identifier: MIT */
/*
 * fuzz_heap.c - fuzz harness for the buddy byte heap (bheap_*).
 *
 * The first bytes of the input pick the configuration: smallest block,
 * chunk size, mapping limit, retained bytes, and whether the heap works in
 * a fixed buffer instead of mapping chunks. Then each operation is an
 * opcode byte and its arguments:
 *
 *     malloc | calloc | realloc (grow, shrink, to 0, of NULL) | free |
 *     aligned_alloc | posix_memalign | usable_size | bad pointer (inside a
 *     block, freed, never allocated) | make the next chunk mappings fail
 *
 * New chunks (the heap's regions) are mapped on demand through a map hook
 * that fails when told to. A model keeps every live allocation with its
 * size and fill byte: contents must survive until freed (and realloc must
 * keep the common prefix), blocks must never overlap, usable_size must
 * cover the request and alignment must hold. bheap_check runs after every
 * operation; misuse must be reported with the right kind and change
 * nothing. Any disagreement aborts.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buddy/heap.h"
#include "fuzz_input.h"

#define LIVE_MAX 48                 /* live allocations the model tracks */
#define SIZE_MAX_FUZZ 40000u        /* largest request tried */
#define BUFFER_BYTES ((size_t)1 << 18) /* fixed-buffer mode */

struct live {
	unsigned char *p; /* what the heap returned */
	size_t size;      /* bytes asked for */
	unsigned char tag; /* every byte of [p, p+size) holds it */
};

struct model {
	struct bheap *heap;
	struct live live[LIVE_MAX];
	int nr_live;
	unsigned char next_tag;
	int map_fail;          /* map calls left that fail */
	int misuse;            /* misuse reports seen */
	enum bheap_error kind; /* kind of the last one */
};

static _Alignas(4096) unsigned char buffer[BUFFER_BYTES];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_heap: %s\n", what);
	abort();
}

static void *hook_map(void *arg, size_t len)
{
	struct model *m = arg;
	if (m->map_fail > 0) {
		m->map_fail--;
		return NULL;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void hook_unmap(void *arg, void *p, size_t len)
{
	(void)arg;
	munmap(p, len);
}

static void on_misuse(void *arg, enum bheap_error kind, const char *op, const void *ptr,
		      const char *msg)
{
	struct model *m = arg;
	(void)op, (void)ptr, (void)msg;
	m->misuse++;
	m->kind = kind;
}

static void on_problem(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "bheap_check: %s\n", msg);
}

static int ranges_overlap(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

static void live_verify(const struct model *m, int i)
{
	const struct live *l = &m->live[i];
	for (size_t b = 0; b < l->size; b++)
		if (l->p[b] != l->tag)
			die("allocation contents changed while it was live");
}

/* Record a new allocation of size bytes at p (p may be NULL on failure). */
static void live_add(struct model *m, unsigned char *p, size_t size, size_t align)
{
	if (!p)
		return;
	size_t usable = bheap_usable_size(m->heap, p);
	if (usable < size || usable == 0)
		die("usable size below the request");
	if (align && (uintptr_t)p % align)
		die("allocation not aligned as asked");
	for (int i = 0; i < m->nr_live; i++)
		if (ranges_overlap(p, usable, m->live[i].p, bheap_usable_size(m->heap, m->live[i].p)))
			die("allocation overlaps a live allocation");
	if (m->nr_live == LIVE_MAX) {
		bheap_free(m->heap, p); /* the model is full: give it back */
		return;
	}
	struct live *l = &m->live[m->nr_live++];
	*l = (struct live){ p, size, ++m->next_tag };
	memset(p, l->tag, size);
}

static void live_remove(struct model *m, int i)
{
	m->live[i] = m->live[--m->nr_live];
}

static size_t fuzz_size(struct fuzz_input *in)
{
	unsigned v = fuzz_u16(in);
	/* Mostly small requests, sometimes large ones. */
	return (v & 0x8000) ? (v & 0x7fff) % SIZE_MAX_FUZZ : (v & 0x7fff) % 300;
}

static void op_malloc(struct model *m, struct fuzz_input *in)
{
	size_t size = fuzz_size(in);
	live_add(m, bheap_malloc(m->heap, size), size, 0);
}

static void op_calloc(struct model *m, struct fuzz_input *in)
{
	size_t n = fuzz_byte(in) % 64, size = fuzz_size(in) % 1024;
	if (fuzz_byte(in) == 0xff)
		n = SIZE_MAX / 2 + 1; /* n * size overflows unless size < 2 */
	unsigned char *p = bheap_calloc(m->heap, n, size);
	if (n > SIZE_MAX / 4 && size > 1 && p)
		die("calloc overflow not refused");
	if (!p)
		return;
	for (size_t b = 0; b < n * size; b++)
		if (p[b])
			die("calloc memory not zero");
	live_add(m, p, n * size, 0);
}

static void op_realloc(struct model *m, struct fuzz_input *in)
{
	size_t size = fuzz_size(in);
	if (!m->nr_live || fuzz_byte(in) % 8 == 0) {
		live_add(m, bheap_realloc(m->heap, NULL, size), size, 0);
		return;
	}
	int i = fuzz_pick(in, m->nr_live);
	struct live l = m->live[i];
	live_verify(m, i);
	unsigned char *q = bheap_realloc(m->heap, l.p, size);
	if (size == 0) {
		if (q)
			die("realloc to 0 returned a block");
		live_remove(m, i);
		return;
	}
	if (!q)
		return; /* failed: the old block stays, unchanged */
	live_remove(m, i);
	size_t keep = l.size < size ? l.size : size;
	for (size_t b = 0; b < keep; b++)
		if (q[b] != l.tag)
			die("realloc lost contents");
	live_add(m, q, size, 0);
}

static void op_free(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live) {
		bheap_free(m->heap, NULL);
		return;
	}
	int i = fuzz_pick(in, m->nr_live);
	live_verify(m, i);
	bheap_free(m->heap, m->live[i].p);
	live_remove(m, i);
}

static void op_aligned(struct model *m, struct fuzz_input *in)
{
	size_t align = (size_t)1 << (fuzz_byte(in) % 14);
	size_t size = fuzz_size(in);
	if (fuzz_byte(in) & 1) {
		live_add(m, bheap_aligned_alloc(m->heap, align, size), size, align);
		return;
	}
	void *p = NULL;
	int st = bheap_posix_memalign(m->heap, &p, align, size);
	if (align < sizeof(void *)) {
		if (st != EINVAL || p)
			die("posix_memalign accepted an alignment below sizeof(void *)");
		return;
	}
	if (st == 0)
		live_add(m, p, size, align);
	else if (p)
		die("failed posix_memalign changed *out");
}

/* Misuse must be reported with the right kind and change nothing. */
static void op_bad_pointer(struct model *m, struct fuzz_input *in)
{
	struct bheap_stats before, after;
	unsigned what = fuzz_byte(in) % 3;
	unsigned char *p;
	enum bheap_error want;

	if (what == 0 && m->nr_live) {
		struct live *l = &m->live[fuzz_pick(in, m->nr_live)];
		size_t usable = bheap_usable_size(m->heap, l->p);
		p = l->p + 1 + fuzz_u16(in) % (usable - 1);
		want = BHEAP_ERR_INTERIOR;
	} else if (what == 1) {
		p = (unsigned char *)&before; /* never in the heap */
		want = BHEAP_ERR_INVALID;
	} else {
		/* Free a fresh block twice; the second free must be refused. */
		size_t size = fuzz_size(in);
		p = bheap_malloc(m->heap, size);
		if (!p)
			return;
		bheap_free(m->heap, p);
		want = BHEAP_ERR_DOUBLE;
	}
	bheap_get_stats(m->heap, &before);
	int seen = m->misuse;
	switch (fuzz_byte(in) % 3) {
	case 0: bheap_free(m->heap, p); break;
	case 1:
		if (bheap_realloc(m->heap, p, 10))
			die("realloc of a bad pointer returned a block");
		break;
	default:
		if (bheap_usable_size(m->heap, p))
			die("usable_size of a bad pointer is not 0");
	}
	bheap_get_stats(m->heap, &after);
	if (m->misuse != seen + 1)
		die("misuse not reported exactly once");
	/* A freed block's chunk may be unmapped already: then the pointer is invalid. */
	if (m->kind != want && !(want == BHEAP_ERR_DOUBLE && m->kind == BHEAP_ERR_INVALID))
		die("misuse reported with the wrong kind");
	if (after.live_allocs != before.live_allocs || after.held_bytes != before.held_bytes)
		die("misuse changed the heap");
}

static void op_usable(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	struct live *l = &m->live[fuzz_pick(in, m->nr_live)];
	if (bheap_usable_size(m->heap, l->p) < l->size)
		die("usable size shrank below the request");
}

static void model_verify(struct model *m)
{
	struct bheap_stats st;
	size_t requested = 0;

	if (bheap_check(m->heap, on_problem, NULL) != 0)
		die("bheap_check found problems");
	bheap_get_stats(m->heap, &st);
	for (int i = 0; i < m->nr_live; i++)
		requested += m->live[i].size;
	if (st.live_allocs != (size_t)m->nr_live)
		die("live allocations disagree with the model");
	if (st.requested_bytes != requested)
		die("requested bytes disagree with the model");
}

static void model_run(struct model *m, struct fuzz_input *in)
{
	while (!fuzz_empty(in)) {
		switch (fuzz_byte(in) % 10) {
		case 0: case 1: op_malloc(m, in); break;
		case 2: op_calloc(m, in); break;
		case 3: op_realloc(m, in); break;
		case 4: case 5: op_free(m, in); break;
		case 6: op_aligned(m, in); break;
		case 7: op_bad_pointer(m, in); break;
		case 8: op_usable(m, in); break;
		default: m->map_fail = (int)(fuzz_byte(in) % 4);
		}
		model_verify(m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct fuzz_input in = { data, size };
	struct bheap_config cfg;

	memset(&m, 0, sizeof(m));
	fuzz_reclaim(buffer, sizeof(buffer)); /* a checker may still see the last heap in it */
	bheap_config_default(&cfg);
	unsigned c = fuzz_byte(&in);
	cfg.min_block = (size_t)16 << (c % 3);
	cfg.chunk_bytes = (size_t)4096 << ((c >> 2) % 5);
	cfg.limit_bytes = ((c >> 5) & 1) ? (size_t)1 << 20 : 0;
	cfg.retain_bytes = ((c >> 6) & 1) ? 0 : cfg.chunk_bytes;
	if (c >> 7) {
		cfg.buffer = buffer;
		cfg.buffer_bytes = BUFFER_BYTES - (size_t)(fuzz_byte(&in) % 8) * 4096;
	}
	cfg.on_error = on_misuse;
	cfg.error_arg = &m;
	cfg.map = hook_map;
	cfg.unmap = hook_unmap;
	cfg.map_arg = &m;
	m.heap = bheap_create(&cfg);
	if (!m.heap)
		die("heap creation failed");
	model_run(&m, &in);
	while (m.nr_live) {
		live_verify(&m, m.nr_live - 1);
		bheap_free(m.heap, m.live[m.nr_live - 1].p);
		live_remove(&m, m.nr_live - 1);
	}
	model_verify(&m);
	bheap_destroy(m.heap);
	return 0;
}
