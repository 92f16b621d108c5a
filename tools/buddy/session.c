/* SPDX-License-Identifier: MIT */
/*
 * session.c - one session: creating the arena, the handle table, and the
 * dispatch from a parsed command to the code that runs it.
 *
 * Invariant: a command either succeeds or changes nothing, neither in the
 * arena nor in the handle table; every error is a single line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buddy/bestfit.h"

#include "session.h"

const char *session_mode_name(const struct cmd_session *s)
{
	switch (s->opt.mode) {
	case MODE_HEAP: return "buddy heap";
	case MODE_BESTFIT: return "best fit";
	case MODE_KMALLOC: return "kmalloc";
	default: return "buddy pages";
	}
}

void fmt_size(char *buf, size_t len, size_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	size_t whole = bytes, rem = 0;
	while (whole >= 1024 && u < 4) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (rem == 0)
		snprintf(buf, len, "%zu %s", whole, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)whole + (double)rem / 1024.0, unit[u]);
}

static void event_collect(void *arg, const struct buddy_event *ev)
{
	struct cmd_session *s = arg;
	if (s->nevents < SESSION_MAX_EVENTS)
		s->events[s->nevents++] = *ev;
	else
		s->events_lost++;
}

static int pages_init(struct cmd_session *s, char *err, size_t n)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.page_size = s->opt.page_size;
	cfg.max_order = s->opt.max_order;
	cfg.log = event_collect;
	cfg.log_arg = s;
	int st = buddy_zone_init(&s->zone, &cfg);
	if (st) {
		snprintf(err, n, "cannot set up the zone: %s", buddy_strerror(st));
		return -1;
	}
	s->arena = aligned_alloc(s->opt.page_size, s->opt.arena_bytes);
	s->meta_bytes = buddy_meta_size(&s->zone, s->opt.arena_bytes);
	s->meta = malloc(s->meta_bytes);
	if (!s->arena || !s->meta) {
		snprintf(err, n, "cannot get %zu bytes for the arena", s->opt.arena_bytes);
		return -1;
	}
	st = buddy_add_region(&s->zone, s->arena, s->opt.arena_bytes, s->meta, s->meta_bytes);
	if (st) {
		snprintf(err, n, "cannot add the arena: %s", buddy_strerror(st));
		return -1;
	}
	return 0;
}

/*
 * The kmalloc heap's log: the zone's splits and merges go with the pages
 * mode's events (as page numbers from the arena start), so they are told
 * the same way; slab, run and release events go to kevents.
 */
static void kevent_collect(void *arg, const struct bkm_event *ev)
{
	struct cmd_session *s = arg;
	if (ev->kind == BKM_EV_SPLIT || ev->kind == BKM_EV_MERGE) {
		struct buddy_event be = { ev->kind == BKM_EV_SPLIT ? BUDDY_EV_SPLIT : BUDDY_EV_MERGE,
					  ev->order, ev->addr, 0,
					  ((uintptr_t)ev->addr - s->km_base) / s->km_page };
		event_collect(s, &be);
	} else if (s->nkevents < SESSION_MAX_KEVENTS) {
		s->kevents[s->nkevents++] = *ev;
	}
}

/*
 * The kmalloc heap: one arena of opt.arena_bytes (a power of two), limited
 * to it, with no empty slab kept and no page cache, so that every empty
 * slab goes back and merges at once, where the session can show it.
 */
static int kmalloc_init(struct cmd_session *s, char *err, size_t n)
{
	struct bkm_config cfg;
	struct buddy_region_info ri;
	bkm_config_default(&cfg);
	cfg.arena_bytes = cfg.limit_bytes = s->opt.arena_bytes;
	cfg.slab_reserve = 0;
	cfg.zone_pcp_high = 0;
	cfg.log = kevent_collect;
	cfg.log_arg = s;
	s->km_base = 0;
	s->km_page = cfg.page_size;
	errno = 0;
	s->km = bkm_create(&cfg);
	if (!s->km || bkm_balloc(s->km, &s->heap) ||
	    buddy_region_info(bkm_zone(s->km), 0, &ri) != BUDDY_OK) {
		int e = errno ? errno : ENOMEM;
		snprintf(err, n, "cannot create the kmalloc heap: %s", strerror(e));
		if (s->km)
			bkm_destroy(s->km);
		s->km = NULL;
		s->heap.ops = NULL;
		return -1;
	}
	s->km_base = (uintptr_t)ri.base;
	return 0;
}

/*
 * The byte heap: one arena of opt.arena_bytes, kept mapped (the heap maps
 * it on first use), never grown past it.
 */
static int heap_init(struct cmd_session *s, char *err, size_t n)
{
	int st;
	if (s->opt.mode == MODE_KMALLOC)
		return kmalloc_init(s, err, n);
	errno = 0;
	s->bheap = NULL;
	if (s->opt.mode == MODE_HEAP) {
		/* Made here rather than by balloc_buddy_heap_create, to keep the heap
		 * itself at hand; the configuration is the one those options give. */
		struct bheap_config cfg;
		bheap_config_default(&cfg);
		cfg.chunk_bytes = cfg.retain_bytes = cfg.limit_bytes = s->opt.arena_bytes;
		cfg.cache_blocks = 0; /* every free merges at once, so the session can show it */
		s->bheap = bheap_create(&cfg);
		st = s->bheap ? bheap_balloc(s->bheap, &s->heap) : errno ? errno : ENOMEM;
		if (st && s->bheap)
			bheap_destroy(s->bheap);
	} else {
		struct balloc_options bo = { 0 };
		bo.arena_bytes = s->opt.arena_bytes;
		bo.limit_bytes = s->opt.arena_bytes;
		st = balloc_bestfit_create(&bo, &s->heap); /* 0 or an errno value */
	}
	if (st) {
		snprintf(err, n, "cannot create the %s allocator: %s", session_mode_name(s), strerror(st));
		s->heap.ops = NULL;
		s->bheap = NULL;
		return -1;
	}
	return 0;
}

/*
 * Refuse, with the reason, a heap arena that could serve nothing: the buddy
 * heap maps its arena as one chunk, whose size is a power of two and at
 * least the system page; best fit needs room for its state and one block;
 * the kmalloc heap's arena is one zone region, a power of two of at least
 * 64 KiB.
 */
static int heap_arena_check(const struct cmd_opts *opt, char *err, size_t n)
{
	size_t a = opt->arena_bytes;
	char have[32], lo[32], hi[32];
	if (a % 1024)
		snprintf(have, sizeof(have), "%zu bytes", a);
	else
		fmt_size(have, sizeof(have), a);
	if (opt->mode == MODE_BESTFIT && a < bfit_min_bytes()) {
		snprintf(err, n, "a best-fit arena of %s is too small: it needs at least %zu bytes "
			 "(its state and one block)", have, bfit_min_bytes());
		return -1;
	}
	long page = sysconf(_SC_PAGESIZE);
	size_t min = page > 0 ? (size_t)page : 4096, below;
	if (opt->mode == MODE_KMALLOC)
		min = (size_t)64 << 10;
	if ((opt->mode != MODE_HEAP && opt->mode != MODE_KMALLOC) || (a >= min && !(a & (a - 1))))
		return 0;
	below = min;
	while (below <= a / 2)
		below *= 2;
	fmt_size(lo, sizeof(lo), below);
	fmt_size(hi, sizeof(hi), a < min ? min : below * 2);
	if (opt->mode == MODE_KMALLOC)
		snprintf(err, n, "a kmalloc arena of %s cannot be used: the heap's arena is one zone "
			 "region whose size is a power of two of at least 64 KiB (try %s%s%s)", have,
			 a < min ? "" : lo, a < min ? "" : " or ", hi);
	else if (a < min)
		snprintf(err, n, "a buddy-heap arena of %s is too small: the heap maps its arena as one "
			 "chunk of at least the system page, %s", have, hi);
	else
		snprintf(err, n, "a buddy-heap arena of %s cannot be used: the heap maps its arena as one "
			 "chunk whose size is a power of two (try %s or %s)", have, lo, hi);
	return -1;
}

int cmd_session_init(struct cmd_session *s, const struct cmd_opts *opt, char *err, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->opt = *opt;
	s->next_id = 1;
	if (heap_arena_check(opt, err, n))
		return -1;
	int st = opt->mode == MODE_PAGES ? pages_init(s, err, n) : heap_init(s, err, n);
	if (st)
		cmd_session_fini(s);
	return st;
}

void cmd_session_fini(struct cmd_session *s)
{
	if (s->heap.ops)
		s->heap.ops->destroy(s->heap.self);
	s->heap.ops = NULL;
	s->km = NULL;
	free(s->arena);
	free(s->meta);
	free(s->handles);
	s->arena = s->meta = NULL;
	s->handles = NULL;
	s->nhandles = s->handles_cap = 0;
}

/* --- handles --- */

struct handle *session_handle_find(struct cmd_session *s, unsigned long id)
{
	size_t lo = 0, hi = s->nhandles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->handles[mid].id == id)
			return &s->handles[mid];
		if (s->handles[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct handle *session_handle_at(struct cmd_session *s, size_t off)
{
	for (size_t i = 0; i < s->nhandles; i++)
		if (s->handles[i].off == off)
			return &s->handles[i];
	return NULL;
}

/* Make room for one more handle; -1 when memory runs out. */
static int handles_reserve(struct cmd_session *s)
{
	if (s->nhandles < s->handles_cap)
		return 0;
	size_t cap = s->handles_cap ? s->handles_cap * 2 : 16;
	struct handle *h = realloc(s->handles, cap * sizeof(*h));
	if (!h)
		return -1;
	s->handles = h;
	s->handles_cap = cap;
	return 0;
}

struct handle *session_handle_add(struct cmd_session *s, void *ptr, size_t off, size_t bytes,
				  size_t asked)
{
	if (handles_reserve(s))
		return NULL;
	struct handle *h = &s->handles[s->nhandles++];
	h->id = s->next_id++;
	h->ptr = ptr;
	h->off = off;
	h->bytes = bytes;
	h->asked = 0;
	session_handle_asked(s, h, asked);
	return h;
}

/* The live allocation whose bytes hold offset off, or NULL. */
static struct handle *handle_holding(struct cmd_session *s, size_t off)
{
	for (size_t i = 0; i < s->nhandles; i++)
		if (off >= s->handles[i].off && off - s->handles[i].off < s->handles[i].bytes)
			return &s->handles[i];
	return NULL;
}

struct heap_probe {
	size_t off;   /* the offset looked for */
	int in_free;  /* it lies in a free block */
};

static int probe_block(void *arg, const struct balloc_block *blk)
{
	struct heap_probe *hp = arg;
	if (!blk->allocated && hp->off >= blk->offset && hp->off - blk->offset < blk->size)
		hp->in_free = 1;
	return hp->in_free;
}

/* Whether offset off lies in free memory: the core's verdict, or the heap's blocks. */
static int offset_is_free(struct cmd_session *s, size_t off)
{
	if (s->opt.mode == MODE_PAGES) {
		struct buddy_alloc_info info;
		return buddy_alloc_info(&s->zone, (char *)s->arena + off, &info) == BUDDY_EDOUBLE;
	}
	struct heap_probe hp = { off, 0 };
	if (s->heap.ops->walk)
		s->heap.ops->walk(s->heap.self, probe_block, &hp);
	return hp.in_free;
}

/*
 * The live allocation a free or realloc names, by #ID or by offset, or NULL
 * with the reason in msg, worded alike in every mode: a handle freed
 * already or never given; an offset outside the arena, inside an
 * allocation, or in free memory. A bare number that is also a live
 * handle's id gets the hint that '#' was probably meant.
 */
struct handle *session_target(struct cmd_session *s, const struct cmd *c, char *msg, size_t n)
{
	const char *name = cmd_name(c->kind);
	if (c->has_handle) {
		struct handle *h = session_handle_find(s, c->handle);
		if (h)
			return h;
		if (c->handle < s->next_id)
			snprintf(msg, n, "%s: #%lu was freed already (%s)", name, c->handle,
				 c->kind == CMD_FREE ? "a double free" : "a use after free");
		else if (s->next_id > 1)
			snprintf(msg, n, "%s: there is no #%lu (the last allocation was #%lu)", name,
				 c->handle, s->next_id - 1);
		else
			snprintf(msg, n, "%s: there is no #%lu (nothing has been allocated)", name,
				 c->handle);
		return NULL;
	}
	unsigned long long off = c->num[0];
	struct handle *h = off < s->opt.arena_bytes ? session_handle_at(s, (size_t)off) : NULL;
	if (h)
		return h;
	char why[96];
	const struct handle *in = off < s->opt.arena_bytes ? handle_holding(s, (size_t)off) : NULL;
	if (off >= s->opt.arena_bytes)
		snprintf(why, sizeof(why), "the arena ends at 0x%zx", s->opt.arena_bytes);
	else if (in)
		snprintf(why, sizeof(why), "it is inside #%lu, which starts at 0x%zx", in->id, in->off);
	else if (offset_is_free(s, (size_t)off))
		snprintf(why, sizeof(why), "it is in free memory: freed already?");
	else
		snprintf(why, sizeof(why), "it is not in any allocation");
	const struct handle *meant = off <= ~0UL ? session_handle_find(s, (unsigned long)off) : NULL;
	if (meant)
		snprintf(msg, n, "%s: no allocation starts at offset 0x%llx (%s); did you mean '%s #%lu'?",
			 name, off, why, name, meant->id);
	else
		snprintf(msg, n, "%s: no allocation starts at offset 0x%llx (%s)", name, off, why);
	return NULL;
}

void session_handle_asked(struct cmd_session *s, struct handle *h, size_t asked)
{
	s->asked_bytes = s->asked_bytes - h->asked + asked;
	h->asked = asked;
	if (s->asked_bytes > s->peak_asked_bytes)
		s->peak_asked_bytes = s->asked_bytes;
}

void session_handle_remove(struct cmd_session *s, struct handle *h)
{
	s->asked_bytes -= h->asked;
	size_t i = (size_t)(h - s->handles);
	memmove(h, h + 1, (s->nhandles - i - 1) * sizeof(*h));
	s->nhandles--;
}

/* --- dispatch --- */

static int fail(char *msg, size_t n, const char *text)
{
	snprintf(msg, n, "%s", text);
	return -1;
}

/*
 * Start again on a fresh arena. The zone holds list heads that point into
 * itself, so it is re-initialised in place over the same memory rather than
 * copied; a new heap is created before the old one goes, so a failure
 * leaves the session as it was.
 */
static int cmd_reset(struct cmd_session *s, FILE *out, char *msg, size_t n)
{
	if (s->opt.mode == MODE_PAGES) {
		struct buddy_config cfg;
		buddy_config_default(&cfg);
		cfg.page_size = s->opt.page_size;
		cfg.max_order = s->opt.max_order;
		cfg.log = event_collect;
		cfg.log_arg = s;
		if (buddy_zone_init(&s->zone, &cfg) ||
		    buddy_add_region(&s->zone, s->arena, s->opt.arena_bytes, s->meta, s->meta_bytes))
			return fail(msg, n, "reset: cannot set up the zone again");
	} else {
		struct balloc old = s->heap;
		struct bheap *old_bheap = s->bheap;
		struct bkm_heap *old_km = s->km;
		uintptr_t old_base = s->km_base;
		if (heap_init(s, msg, n)) {
			s->heap = old;
			s->bheap = old_bheap;
			s->km = old_km;
			s->km_base = old_base;
			return -1;
		}
		old.ops->destroy(old.self);
		s->nevents = s->nkevents = 0; /* the new heap's first arena */
	}
	s->nhandles = 0;
	s->asked_bytes = s->peak_asked_bytes = 0;
	s->next_id = 1;
	fprintf(out, "reset: a fresh arena; handles start again at #1\n");
	return 0;
}

static int exec_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	if (s->opt.mode == MODE_PAGES)
		return cmd_pages_alloc(s, c, out, msg, n);
	if (c->kind == CMD_ALLOC || c->kind == CMD_PAGES) {
		snprintf(msg, n, "%s: only the pages allocator hands out pages (use malloc)",
			 cmd_name(c->kind));
		return -1;
	}
	return s->opt.mode == MODE_KMALLOC ? cmd_kmalloc_alloc(s, c, out, msg, n)
					   : cmd_heap_alloc(s, c, out, msg, n);
}

int cmd_session_exec(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg,
		       size_t n)
{
	s->nevents = s->events_lost = s->nkevents = 0;
	switch (c->kind) {
	case CMD_NONE:
		return 0;
	case CMD_ALLOC:
	case CMD_PAGES:
	case CMD_MALLOC:
	case CMD_CALLOC:
		return exec_alloc(s, c, out, msg, n);
	case CMD_REALLOC:
		return s->opt.mode == MODE_PAGES     ? cmd_pages_realloc(s, c, out, msg, n)
		       : s->opt.mode == MODE_KMALLOC ? cmd_kmalloc_realloc(s, c, out, msg, n)
						     : cmd_heap_realloc(s, c, out, msg, n);
	case CMD_FREE:
		return s->opt.mode == MODE_PAGES     ? cmd_pages_free(s, c, out, msg, n)
		       : s->opt.mode == MODE_KMALLOC ? cmd_kmalloc_free(s, c, out, msg, n)
						     : cmd_heap_free(s, c, out, msg, n);
	case CMD_RESET:
		return cmd_reset(s, out, msg, n);
	case CMD_HELP:
		cmd_help_print(out, c->text);
		return 0;
	case CMD_QUIT:
		s->quit = 1;
		return 0;
	case CMD_COUNT:
		return fail(msg, n, "bad command");
	default:
		return cmd_info(s, c, out, msg, n);
	}
}

int cmd_session_exec_line(struct cmd_session *s, const char *line, FILE *out, FILE *err)
{
	struct cmd cmd;
	char msg[CMD_PATH_MAX + 256];

	int st = cmd_parse_line(line, &cmd, msg, sizeof(msg));
	if (st == 0)
		st = cmd_session_exec(s, &cmd, out, msg, sizeof(msg));
	if (st) {
		fflush(out);
		if (s->src_name)
			fprintf(err, "%s:%lu: ", s->src_name, s->lineno);
		fprintf(err, "error: %s\n", msg);
		fflush(err);
		return 1;
	}
	return s->quit ? 2 : 0;
}
