/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bestfit.c - fuzz harness for the best-fit heap (bfit_*), through the
 * shared malloc-family model (malloc_model.h).
 *
 * The first bytes of the input pick the buffer: its length and its offset
 * from an aligned address (the heap must cope with any). Then the model's
 * operations follow. Every block must stay inside the buffer, and the
 * bytes held and free always add up to the heap's.
 *
 * Built again as fuzz_bestfit_damage (FUZZ_DAMAGE 1): the model's damage
 * mode, writing into freed blocks and past live ones anywhere from the
 * first block's header to the end of the buffer (the heap's state and
 * bitmaps before the blocks are the caller's buffer too, but no overflow or
 * write after free reaches them).
 */
#ifndef FUZZ_DAMAGE
#define FUZZ_DAMAGE 0
#endif
#include <stdint.h>
#include <string.h>

#include "buddy/bestfit.h"
#include "malloc_model.h"

#define BUFFER_BYTES ((size_t)1 << 18) /* largest buffer tried */

static _Alignas(64) unsigned char buffer[BUFFER_BYTES];

static const unsigned char *area_lo; /* the first block's header */

/* Damage may go from the first block's header to the end of the buffer. */
static int bestfit_writable(const struct fm_model *m, const unsigned char *p, size_t n)
{
	return p >= area_lo && p + n <= m->hi;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fm_damage_skip(FUZZ_DAMAGE, "fuzz_bestfit_damage"))
		return 0;
	static struct fm_model m;
	struct fuzz_input in = { data, size };
	struct balloc_options opt = { 0 };
	struct balloc_stats st;

	memset(&m, 0, sizeof(m));
	fuzz_reclaim(buffer, sizeof(buffer));
	size_t off = fuzz_byte(&in) % 64;
	size_t len = bfit_min_bytes() + (size_t)fuzz_u16(&in) * 4;
	if (off + len > BUFFER_BYTES)
		len = BUFFER_BYTES - off;
	opt.buffer = buffer + off;
	opt.buffer_bytes = len;
	opt.on_error = fm_on_error;
	opt.error_arg = &m;
	if (balloc_bestfit_create(&opt, &m.a) != 0)
		fm_die(&m, "heap creation failed");
	m.lo = buffer + off;
	m.hi = buffer + off + len;
	m.a.ops->stats(m.a.self, &st);
	m.total_bytes = st.free_bytes; /* nothing held yet: every byte of the heap */
	area_lo = (const unsigned char *)m.a.ops->malloc(m.a.self, 0) - BFIT_HEADER_BYTES;
	m.a.ops->free(m.a.self, (void *)(area_lo + BFIT_HEADER_BYTES)); /* the first block */
	m.damage = FUZZ_DAMAGE;
	m.writable = bestfit_writable;
	fm_run(&m, &in);
	fm_finish(&m);
	return 0;
}
