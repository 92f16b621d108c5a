/* SPDX-License-Identifier: MIT */
/*
 * buddy_wasm.c - the page allocator core as a WebAssembly module: the thin
 * API the web page (and the Node.js layout test) calls.
 *
 * The module holds one zone over one arena, like a `buddy` session in
 * pages mode: the arena and the core's metadata lie in memory obtained
 * with memory.grow, the metadata outside the arena, so offsets from the
 * arena base match the native command's. Every address that crosses the
 * boundary is an offset from the arena base, in bytes; every page number
 * is a page index within the arena.
 *
 * Results larger than a number are written to static buffers of 32-bit
 * words and read by JavaScript from the module's memory; the *_buf
 * functions give their addresses. Layout of the buffers:
 *
 *   walk:  4 words per block: page, order, state (enum buddy_block_state),
 *          first (1 if the block starts an allocation)
 *   state: a dump of the free lists and pair bitmaps (state_dump below)
 *   events: per split or merge the core reported during the last call:
 *          kind, order, page (the larger block), then, when snapshots are
 *          on, the state dump at that moment
 *
 * Reading the pair bitmaps and following the free lists needs the core's
 * private layout (page/page_internal.h), as page_info.c does: the page
 * shows the allocator's own metadata, not a model of it. The core calls
 * the log callback only between list operations, so a snapshot taken
 * there sees consistent lists, counts and bits.
 *
 * Freestanding: no libc; memset and memcpy, which the compiler may call
 * for struct copies, are defined here.
 */
#include <stddef.h>
#include <stdint.h>

#include "buddy/page.h"
#include "page/page_internal.h"

#define EXPORT(name) __attribute__((export_name(#name)))

/* The page shows at most this many pages (the UI says so); the buffers are sized for it. */
#define BW_MAX_PAGES 8192u
/* Arena and metadata together may take at most this much memory. */
#define BW_MAX_ARENA (64u << 20)
#define WASM_PAGE 65536u

/* --- freestanding support ------------------------------------------------ */

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

void *memset(void *dst, int c, size_t n)
{
	volatile unsigned char *d = dst; /* volatile: never turned back into a memset call */
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

/* --- state ---------------------------------------------------------------- */

static struct buddy_zone zone;
static unsigned char *reserve;     /* memory obtained by memory.grow, at the end of memory */
static size_t reserve_bytes;
static unsigned char *arena;       /* page-aligned start of the arena */
static size_t arena_bytes;
static size_t meta_bytes;
static int ready;                  /* a zone is set up */

static char text[4096];            /* buddyinfo line, status text, check messages */
static uint32_t walk_buf[4 * BW_MAX_PAGES];
static uint32_t stats_buf[16];

/* Events of the last call, with their snapshots. */
#define EVENT_WORDS (1u << 20) /* 4 MiB */
static uint32_t event_buf[EVENT_WORDS];
static size_t event_len;     /* words used */
static uint32_t nevents;     /* events recorded (whole or without snapshot) */
static int snapshots;        /* record a state dump with every event */
static int events_truncated; /* a snapshot did not fit */
static uint32_t state_buf[2 * BW_MAX_PAGES + 4 * BUDDY_NR_ORDERS + 8];

static size_t page_of(uintptr_t a)
{
	return (size_t)(a - (uintptr_t)arena) >> zone.page_shift;
}

/* Memory for n bytes, aligned to `align` (a power of two <= 64 KiB), from the reserve. */
static int reserve_get(size_t n, size_t align)
{
	size_t have = reserve_bytes;
	size_t need = n + align;
	if (have >= need)
		return 0;
	size_t pages = (need - have + WASM_PAGE - 1) / WASM_PAGE;
	size_t old = __builtin_wasm_memory_grow(0, pages);
	if (old == (size_t)-1)
		return -1;
	unsigned char *fresh = (unsigned char *)(old * WASM_PAGE);
	if (reserve && reserve + reserve_bytes == fresh) {
		reserve_bytes += pages * WASM_PAGE; /* grown in place */
	} else {
		reserve = fresh;
		reserve_bytes = pages * WASM_PAGE;
	}
	return reserve_bytes >= need ? 0 : -1;
}

/* --- events and state dumps ---------------------------------------------- */

/* Words being written to a buffer; full once one did not fit. */
struct words {
	uint32_t *w;
	size_t n, cap;
	int full;
};

static void put(struct words *o, size_t v)
{
	if (o->n < o->cap)
		o->w[o->n++] = (uint32_t)v;
	else
		o->full = 1;
}

/*
 * Write the free lists and pair bitmaps to out (cap words); returns the
 * words written, or 0 if they do not fit. Layout:
 *   nonempty mask, top order T, then for k = 0..T: nr_free[k] and the
 *   nr_free[k] page indices of the list, head first (UINT32_MAX for an
 *   entry a damaged link does not lead to);
 *   then the number of bitmap orders M (the region's max_order) and for
 *   k = 0..M-1: the number of pair bits, then the bits in 32-bit words.
 */
static size_t state_dump(uint32_t *out, size_t cap)
{
	struct buddy_stats st;
	const struct buddy_region *r = zone.regions;
	struct words o = { out, 0, cap, 0 };

	buddy_get_stats(&zone, &st);
	put(&o, zone.nonempty);
	put(&o, st.max_order);
	for (unsigned k = 0; k <= st.max_order; k++) {
		const struct buddy_free_area *fa = &zone.free_area[k];
		put(&o, fa->nr_free);
		const struct buddy_list *p = fa->free_list.next;
		for (size_t i = 0; i < fa->nr_free; i++) {
			/* The checker verifies the links; here a damaged one ends the walk. */
			if (p == &fa->free_list || !r || (uintptr_t)p - r->base >= r->end - r->base) {
				put(&o, UINT32_MAX);
				continue;
			}
			put(&o, page_of((uintptr_t)p));
			p = p->next;
		}
	}
	unsigned maps = r ? r->max_order : 0;
	put(&o, maps);
	for (unsigned k = 0; k < maps; k++) {
		size_t bits = map_bits(r->nr_pages, k);
		put(&o, bits);
		for (size_t w = 0; w < (bits + 31) / 32; w++) {
			uint32_t word = 0;
			for (size_t b = 0; b < 32 && w * 32 + b < bits; b++)
				word |= (uint32_t)map_test(r, k, (w * 32 + b) << (k + 1)) << b;
			put(&o, word);
		}
	}
	return o.full ? 0 : o.n;
}

static void event_log(void *arg, const struct buddy_event *ev)
{
	(void)arg;
	nevents++;
	if (event_len + 4 > EVENT_WORDS) {
		events_truncated = 1;
		return;
	}
	uint32_t *rec = &event_buf[event_len];
	rec[0] = (uint32_t)ev->kind;
	rec[1] = ev->order;
	rec[2] = (uint32_t)ev->page;
	rec[3] = 0; /* words of the snapshot that follows */
	event_len += 4;
	if (snapshots) {
		size_t w = state_dump(&event_buf[event_len], EVENT_WORDS - event_len);
		if (!w)
			events_truncated = 1;
		rec[3] = (uint32_t)w;
		event_len += w;
	}
}

/* --- set-up --------------------------------------------------------------- */

/*
 * A fresh zone: arena_len bytes of pages of page_size, max_order an order
 * or -1 for as large as the arena allows. Returns 0 or a buddy_status;
 * BUDDY_ECONFIG also for an arena the page cannot show (more than
 * BW_MAX_PAGES pages, or over BW_MAX_ARENA bytes, or page size above 64 KiB).
 */
EXPORT(bw_reset) int bw_reset(uint32_t arena_len, uint32_t page_size, int32_t max_order)
{
	struct buddy_config cfg;
	struct buddy_zone fresh;

	buddy_config_default(&cfg);
	cfg.page_size = page_size;
	cfg.max_order = max_order < 0 ? BUDDY_MAX_ORDER_AUTO : (unsigned)max_order;
	cfg.log = event_log;
	int st = buddy_zone_init(&fresh, &cfg);
	if (st)
		return st;
	if (page_size > WASM_PAGE || arena_len == 0 || arena_len > BW_MAX_ARENA ||
	    arena_len % page_size || arena_len / page_size > BW_MAX_PAGES)
		return BUDDY_ECONFIG;
	size_t meta = buddy_meta_size(&fresh, arena_len);
	size_t meta_off = (arena_len + 7) & ~(size_t)7;
	if (reserve_get(meta_off + meta, page_size))
		return BUDDY_ENOMEM;

	/* The zone's list heads point into itself: initialise it in place. */
	st = buddy_zone_init(&zone, &cfg);
	if (st)
		return st;
	uintptr_t base = ((uintptr_t)reserve + page_size - 1) & ~(uintptr_t)(page_size - 1);
	arena = (unsigned char *)base;
	arena_bytes = arena_len;
	meta_bytes = meta;
	memset(arena, 0, arena_len);
	event_len = 0;
	nevents = 0;
	st = buddy_add_region(&zone, arena, arena_len, arena + meta_off, meta);
	ready = st == BUDDY_OK;
	event_len = 0; /* the carving of the region is not an operation */
	nevents = 0;
	return st;
}

/* --- operations ----------------------------------------------------------- */

/* Forget the events of the previous call; snapshots on or off for the next. */
EXPORT(bw_begin) void bw_begin(int with_snapshots)
{
	event_len = 0;
	nevents = 0;
	events_truncated = 0;
	snapshots = with_snapshots;
}

static int32_t offset_of(const void *p)
{
	return p ? (int32_t)((const unsigned char *)p - arena) : -1;
}

/* 2^order pages; the offset, or -1 (bw_last_error says why). */
EXPORT(bw_alloc) int32_t bw_alloc(uint32_t order, uint32_t zero)
{
	if (!ready)
		return -1;
	return offset_of(buddy_alloc_pages(&zone, order, zero ? BUDDY_ZERO : 0));
}

/* Exactly npages pages; the offset, or -1. */
EXPORT(bw_alloc_exact) int32_t bw_alloc_exact(uint32_t npages, uint32_t zero)
{
	if (!ready)
		return -1;
	return offset_of(buddy_alloc_pages_exact(&zone, npages, zero ? BUDDY_ZERO : 0));
}

static void *addr_of(uint32_t off)
{
	/* Any offset reaches the core, which checks it against its regions
	 * before it touches memory, and reports one outside them. */
	return (void *)((uintptr_t)arena + off);
}

/* Free the allocation at off (its size looked up); 0 or a buddy_status. */
EXPORT(bw_free) int bw_free(uint32_t off)
{
	if (!ready)
		return BUDDY_ENULL;
	return buddy_free(&zone, addr_of(off));
}

/* Resize the block at off in place to new_order; 0 or a buddy_status. */
EXPORT(bw_resize) int bw_resize(uint32_t off, uint32_t new_order)
{
	if (!ready)
		return BUDDY_ENULL;
	return buddy_resize(&zone, addr_of(off), new_order);
}

/* Copy n bytes inside the arena (realloc moving a block). */
EXPORT(bw_copy) void bw_copy(uint32_t dst, uint32_t src, uint32_t n)
{
	if (ready && dst <= arena_bytes && src <= arena_bytes && n <= arena_bytes - dst &&
	    n <= arena_bytes - src)
		memcpy(addr_of(dst), addr_of(src), n);
}

/* Pages of the allocation at off, or 0. */
EXPORT(bw_alloc_size) uint32_t bw_alloc_size(uint32_t off)
{
	if (!ready)
		return 0;
	return (uint32_t)buddy_alloc_size(&zone, addr_of(off));
}

EXPORT(bw_last_error) int bw_last_error(void)
{
	return buddy_last_error(&zone);
}

/* --- looking -------------------------------------------------------------- */

static const char *text_set(const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < sizeof(text); i++)
		text[i] = s[i];
	text[i] = '\0';
	return text;
}

EXPORT(bw_strerror) const char *bw_strerror(int status)
{
	return text_set(buddy_strerror(status));
}

EXPORT(bw_buddyinfo) const char *bw_buddyinfo(void)
{
	buddy_buddyinfo(&zone, text, sizeof(text));
	return text;
}

EXPORT(bw_frag_index) int bw_frag_index(uint32_t order)
{
	return buddy_fragmentation_index(&zone, order);
}

EXPORT(bw_unusable_index) int bw_unusable_index(uint32_t order)
{
	return buddy_unusable_index(&zone, order);
}

/*
 * Statistics as words: page_size, max_order, total_pages, free_pages,
 * used_pages, peak_used_pages, meta_bytes, allocs, frees, failures,
 * nr_regions, arena_bytes (counters modulo 2^32).
 */
EXPORT(bw_stats) const uint32_t *bw_stats(void)
{
	struct buddy_stats st;
	buddy_get_stats(&zone, &st);
	uint32_t v[] = { (uint32_t)st.page_size, st.max_order, (uint32_t)st.total_pages,
			 (uint32_t)st.free_pages, (uint32_t)st.used_pages,
			 (uint32_t)st.peak_used_pages, (uint32_t)st.meta_bytes,
			 (uint32_t)st.allocs, (uint32_t)st.frees, (uint32_t)st.failures,
			 st.nr_regions, (uint32_t)arena_bytes };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		stats_buf[i] = v[i];
	return stats_buf;
}

struct walker {
	size_t n;
};

static int walk_one(void *arg, const struct buddy_block *blk)
{
	struct walker *w = arg;
	if (w->n >= BW_MAX_PAGES)
		return 1;
	uint32_t *rec = &walk_buf[4 * w->n++];
	rec[0] = (uint32_t)page_of((uintptr_t)blk->addr);
	rec[1] = blk->order;
	rec[2] = (uint32_t)blk->state;
	rec[3] = (uint32_t)blk->first;
	return 0;
}

/* Walk the arena into the walk buffer; returns the number of blocks. */
EXPORT(bw_walk) uint32_t bw_walk(void)
{
	struct walker w = { 0 };
	buddy_walk(&zone, walk_one, &w);
	return (uint32_t)w.n;
}

EXPORT(bw_walk_buf) const uint32_t *bw_walk_buf(void)
{
	return walk_buf;
}

/* Dump the current lists and bitmaps into the state buffer; returns the words. */
EXPORT(bw_state) uint32_t bw_state(void)
{
	return (uint32_t)state_dump(state_buf, sizeof(state_buf) / sizeof(state_buf[0]));
}

EXPORT(bw_state_buf) const uint32_t *bw_state_buf(void)
{
	return state_buf;
}

EXPORT(bw_events) uint32_t bw_events(void)
{
	return nevents;
}

EXPORT(bw_events_len) uint32_t bw_events_len(void)
{
	return (uint32_t)event_len;
}

EXPORT(bw_events_truncated) int bw_events_truncated(void)
{
	return events_truncated;
}

EXPORT(bw_event_buf) const uint32_t *bw_event_buf(void)
{
	return event_buf;
}

static size_t text_len;

static void check_line(void *arg, const char *msg)
{
	(void)arg;
	for (size_t i = 0; msg[i] && text_len + 2 < sizeof(text); i++)
		text[text_len++] = msg[i];
	if (text_len + 1 < sizeof(text))
		text[text_len++] = '\n';
	text[text_len] = '\0';
}

/* Run the core's integrity check; returns the problems, their lines in bw_check_text. */
EXPORT(bw_check) uint32_t bw_check(void)
{
	text_len = 0;
	text[0] = '\0';
	return (uint32_t)buddy_check(&zone, check_line, NULL);
}

EXPORT(bw_check_text) const char *bw_check_text(void)
{
	return text;
}

/* Pointer size of this build (4 on wasm32), so a test can say what it compared. */
EXPORT(bw_pointer_bytes) uint32_t bw_pointer_bytes(void)
{
	return sizeof(void *);
}

EXPORT(bw_arena_bytes) uint32_t bw_arena_bytes(void)
{
	return (uint32_t)arena_bytes;
}

EXPORT(bw_meta_bytes) uint32_t bw_meta_bytes(void)
{
	return (uint32_t)meta_bytes;
}
