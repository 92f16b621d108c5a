/* SPDX-License-Identifier: MIT */
/*
 * fuzz_kmalloc.c - fuzz harness for the kmalloc heap (bkm_*) and the slab
 * caches under it, through the shared malloc-family model (malloc_model.h).
 *
 * The first bytes of the input pick the configuration: zone page size,
 * classes per doubling, largest class, huge threshold, the first arena,
 * a mapping limit, the bytes retained before pages go back, small first
 * slabs and the reserve of empty slabs, whether the zone's links live in
 * the arenas' metadata, and whether the heap works in a fixed buffer. Then the model's operations follow; the heap's own
 * (opcode 9) is posix_memalign, making the next mappings fail, or looking
 * at the heap (slabinfo, a walk, what a pointer is) and checking what it
 * says against the model.
 *
 * Built again as fuzz_kmalloc_damage (FUZZ_DAMAGE 1): the model's damage
 * mode, writing into freed blocks and past live ones wherever the memory is
 * one of the heap's arenas (zone regions: slabs with their headers and free
 * pointers, page runs, free pages with the zone's links) or, in a fixed
 * buffer, the gap before an arena's metadata; never into the guard page
 * behind a mapped arena, nor a huge block's own mapping, gone once freed. The heap reports damage
 * once (a slab cache or the zone found it, and stops itself) and the input
 * ends there (reports_once). In damage mode, what the heap says about
 * itself (opcode 9's look) need only be said without crashing.
 */
#ifndef FUZZ_DAMAGE
#define FUZZ_DAMAGE 0
#endif
#include <stdint.h>
#include <string.h>

#include "buddy/kmalloc.h"
#include "malloc_model.h"

#define BUFFER_BYTES ((size_t)1 << 20) /* fixed-buffer mode */

static _Alignas(4096) unsigned char buffer[BUFFER_BYTES];

/* posix_memalign: checked by the model. */
static void op_posix_memalign(struct fm_model *m, struct fuzz_input *in)
{
	size_t align = (size_t)1 << (fuzz_byte(in) % 16);
	size_t size = fm_size(in);
	void *p = NULL;
	int st = bkm_posix_memalign(m->ctx, &p, align, size);
	fm_posix_memalign_result(m, st, p, align, size);
}

struct walk_count {
	size_t live;
	uintptr_t last;
	int order_bad;
};

static int walk_count(void *arg, const struct bkm_block *b)
{
	struct walk_count *w = arg;
	if ((uintptr_t)b->addr < w->last)
		w->order_bad = 1;
	w->last = (uintptr_t)b->addr;
	w->live += (size_t)b->allocated;
	return 0;
}

/*
 * What the heap says about itself must agree with the model; once damage
 * is written, it must only be said (a damaged slab header may change what
 * a walk or slabinfo shows, unreported until a call relies on it).
 */
static void op_look(struct fm_model *m, struct fuzz_input *in)
{
	struct bkm_heap *h = m->ctx;
	struct bkm_stats st;
	int judge = !m->damaged;
	bkm_get_stats(h, &st);
	if (judge && st.live_allocs != (size_t)m->nr_live)
		fm_die(m, "live_allocs differs from the model");
	struct walk_count w = { 0, 0, 0 };
	bkm_walk(h, walk_count, &w);
	if (judge && (w.live != (size_t)m->nr_live || w.order_bad))
		fm_die(m, "the walk does not list the live blocks in address order");
	char info[8192];
	size_t n = bkm_slabinfo(h, info, sizeof(info));
	if (n >= sizeof(info) || strncmp(info, "slabinfo - version: 2.1\n", 24) != 0)
		fm_die(m, "slabinfo is not /proc/slabinfo");
	if (m->nr_live) {
		const struct fm_live *l = &m->live[fuzz_pick(in, m->nr_live)];
		struct bkm_block_info b;
		bkm_block_info(h, l->p, &b);
		if (judge && (b.kind == BKM_BLOCK_NONE || b.addr != l->p || b.size < l->size))
			fm_die(m, "block_info does not describe a live block");
		bkm_block_info(h, l->p + 1, &b);
		if (judge && b.kind != BKM_BLOCK_NONE)
			fm_die(m, "block_info describes an interior pointer");
	}
}

static void op_kmalloc(struct fm_model *m, struct fuzz_input *in)
{
	unsigned b = fuzz_byte(in) % 3;
	if (b == 0)
		op_posix_memalign(m, in);
	else if (b == 1)
		fm_map_fail = (int)(fuzz_byte(in) % 4);
	else
		op_look(m, in);
}

/*
 * Damage may go where the heap's zone has a region: its arenas (not huge
 * blocks, not the guard page behind a mapped arena); in a fixed buffer
 * anywhere in it (the 16 bytes past an arena's last block are the gap
 * before its metadata).
 */
static int kmalloc_writable(const struct fm_model *m, const unsigned char *p, size_t n)
{
	return fm_zone_writable(bkm_zone(m->ctx), p, n) || (m->lo && p >= m->lo && p + n <= m->hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fm_model m;
	struct fuzz_input in = { data, size };
	struct bkm_config cfg;

	if (fm_damage_skip(FUZZ_DAMAGE, "fuzz_kmalloc_damage"))
		return 0;

	memset(&m, 0, sizeof(m));
	fm_map_fail = 0;
	fuzz_reclaim(buffer, sizeof(buffer)); /* a checker may still see the last heap in it */
	bkm_config_default(&cfg);
	unsigned c = fuzz_byte(&in), d = fuzz_byte(&in);
	cfg.page_size = (size_t)256 << (c % 5);
	cfg.class_steps = 2u << ((c >> 3) % 3);
	cfg.max_class_bytes = (size_t)1024 << ((c >> 5) % 4);
	if (cfg.max_class_bytes > 16 * cfg.page_size)
		cfg.max_class_bytes = 16 * cfg.page_size; /* keeps slabs within a small arena */
	if (cfg.max_class_bytes < 1024)
		cfg.max_class_bytes = 1024;
	cfg.huge_bytes = cfg.max_class_bytes << (1 + d % 6);
	cfg.arena_bytes = (size_t)64 << (10 + (d >> 3) % 3);
	cfg.limit_bytes = ((d >> 5) & 1) ? (size_t)2 << 20 : 0;
	cfg.retain_bytes = ((d >> 6) & 1) ? 0 : (size_t)1 << 20;
	cfg.small_slabs = (c >> 7) ? 0 : 2;
	cfg.slab_reserve = (d >> 7);
	cfg.random = 0x5eedull;
	unsigned e = fuzz_byte(&in);
	cfg.outside_links = (int)((e >> 2) & 1); /* the zone's links in the arenas' metadata */
	if (e % 4 == 0) {
		cfg.buffer = buffer;
		cfg.buffer_bytes = BUFFER_BYTES - (size_t)(fuzz_byte(&in) % 16) * 4096;
	}
	cfg.on_error = fm_on_error;
	cfg.error_arg = &m;
	cfg.map = fm_map;
	cfg.unmap = fm_unmap;
	struct bkm_heap *h = bkm_create(&cfg);
	if (!h || bkm_balloc(h, &m.a) != 0)
		fm_die(&m, "heap creation failed");
	if (cfg.buffer) {
		m.lo = buffer;
		m.hi = buffer + cfg.buffer_bytes;
	}
	m.double_may_be_invalid = 1; /* a freed huge block or arena is unmapped at once */
	m.extra = op_kmalloc;
	m.ctx = h;
	m.damage = FUZZ_DAMAGE;
	m.writable = kmalloc_writable;
	m.reports_once = 1;
	fm_run(&m, &in);
	fm_finish(&m);
	return 0;
}
