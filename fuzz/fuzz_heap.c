/* SPDX-License-Identifier: MIT */
/*
 * fuzz_heap.c - fuzz harness for the buddy byte heap (bheap_*), through the
 * shared malloc-family model (malloc_model.h).
 *
 * The first bytes of the input pick the configuration: smallest block,
 * chunk size, mapping limit, retained bytes, and whether the heap works in
 * a fixed buffer instead of mapping chunks. Then the model's operations
 * follow; the heap's own (opcode 9) is posix_memalign, or making the next
 * chunk mappings fail. New chunks (the heap's regions) are mapped on demand
 * through a map hook that fails when told to.
 *
 * Built again as fuzz_heap_damage (FUZZ_DAMAGE 1): the model's damage mode,
 * writing into freed blocks and past live ones wherever the memory is still
 * one of the heap's chunks (never into the guard page behind a chunk, nor
 * into memory already unmapped).
 */
#ifndef FUZZ_DAMAGE
#define FUZZ_DAMAGE 0
#endif
#include <stdint.h>
#include <string.h>

#include "buddy/heap.h"
#include "malloc_model.h"

/*
 * Fixed-buffer mode. The damage mode runs the heap's check after every
 * damage operation, whose cost grows with the pages: a smaller buffer there
 * keeps the executions many.
 */
#define BUFFER_BYTES ((size_t)1 << (FUZZ_DAMAGE ? 16 : 18))

static _Alignas(4096) unsigned char buffer[BUFFER_BYTES];

/* posix_memalign: checked by the model. */
static void op_posix_memalign(struct fm_model *m, struct fuzz_input *in)
{
	size_t align = (size_t)1 << (fuzz_byte(in) % 14);
	size_t size = fm_size(in);
	void *p = NULL;
	int st = bheap_posix_memalign(m->ctx, &p, align, size);
	fm_posix_memalign_result(m, st, p, align, size);
}

static void op_heap(struct fm_model *m, struct fuzz_input *in)
{
	unsigned b = fuzz_byte(in);
	if (b & 1)
		op_posix_memalign(m, in);
	else
		fm_map_fail = (int)((b >> 1) % 4);
}

/* Damage may go where the heap's zone has a region: its chunks, mapped. */
static int heap_writable(const struct fm_model *m, const unsigned char *p, size_t n)
{
	return fm_zone_writable(bheap_zone(m->ctx), p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fm_damage_skip(FUZZ_DAMAGE, "fuzz_heap_damage"))
		return 0;
	static struct fm_model m;
	struct fuzz_input in = { data, size };
	struct bheap_config cfg;

	memset(&m, 0, sizeof(m));
	fm_map_fail = 0;
	fuzz_reclaim(buffer, sizeof(buffer)); /* a checker may still see the last heap in it */
	bheap_config_default(&cfg);
	unsigned c = fuzz_byte(&in);
	cfg.min_block = (size_t)16 << (c % 3);
	cfg.chunk_bytes = (size_t)4096 << ((c >> 2) % 5);
	cfg.limit_bytes = ((c >> 5) & 1) ? (size_t)1 << 20 : 0;
	cfg.retain_bytes = ((c >> 6) & 1) ? 0 : cfg.chunk_bytes;
	if (c >> 7) {
		cfg.buffer = buffer;
		cfg.buffer_bytes = BUFFER_BYTES - (size_t)(fuzz_byte(&in) % 8) * (BUFFER_BYTES / 64);
	}
	cfg.on_error = fm_on_error;
	cfg.error_arg = &m;
	cfg.map = fm_map;
	cfg.unmap = fm_unmap;
	struct bheap *h = bheap_create(&cfg);
	if (!h || bheap_balloc(h, &m.a) != 0)
		fm_die(&m, "heap creation failed");
	m.knows_requested = 1;
	m.double_may_be_invalid = 1; /* the freed block's chunk may be unmapped already */
	m.extra = op_heap;
	m.ctx = h;
	m.damage = FUZZ_DAMAGE;
	m.writable = heap_writable;
	fm_run(&m, &in);
	fm_finish(&m);
	return 0;
}
