/* SPDX-License-Identifier: MIT */
/*
 * page_fixture.c - see page_fixture.h.
 */
#include "page_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FX_MAX_META 64

static void *fx_meta[FX_MAX_META]; /* metadata buffers made by fx_add */
static size_t fx_nr_meta;          /* entries in fx_meta */

void *fx_arena(size_t page_size, size_t npages, size_t align)
{
	if (align < page_size)
		align = page_size;
	void *p = aligned_alloc(align, npages * page_size);
	assert_non_null(p);
	return p;
}

void fx_arena_free(void *p)
{
	free(p);
}

void fx_zone(struct buddy_zone *z, size_t page_size, unsigned max_order)
{
	struct buddy_config cfg;

	buddy_config_default(&cfg);
	cfg.page_size = page_size;
	cfg.max_order = max_order;
	assert_int_equal(buddy_zone_init(z, &cfg), BUDDY_OK);
}

void fx_add(struct buddy_zone *z, void *base, size_t npages)
{
	size_t len = npages * z->page_size;
	size_t need = buddy_meta_size(z, len);
	assert_true(fx_nr_meta < FX_MAX_META);
	void *meta = malloc(need);
	assert_non_null(meta);
	fx_meta[fx_nr_meta++] = meta;
	assert_int_equal(buddy_add_region(z, base, len, meta, need), BUDDY_OK);
}

void fx_cleanup(void)
{
	while (fx_nr_meta)
		free(fx_meta[--fx_nr_meta]);
}

struct layout_buf {
	char *buf;
	size_t size;
	size_t len;
	long region; /* id of the region being written, -1 before the first */
};

static int layout_add(void *arg, const struct buddy_block *b)
{
	struct layout_buf *lb = arg;
	char c = (char)(b->state == BUDDY_BLOCK_FREE ? 'F' : b->first ? 'A' : 'c');
	int n;

	if ((long)b->region != lb->region) {
		n = snprintf(lb->buf + lb->len, lb->size - lb->len, "%s[r%u]",
			     lb->region < 0 ? "" : " ", b->region);
		lb->len += (size_t)n;
		lb->region = b->region;
	}
	n = snprintf(lb->buf + lb->len, lb->size - lb->len, " %zu:%u%c", b->page, b->order, c);
	lb->len += (size_t)n;
	return lb->len + 32 >= lb->size; /* stop before overflowing */
}

static void layout_render(const struct buddy_zone *z, char *buf, size_t size)
{
	struct layout_buf lb = { buf, size, 0, -1 };
	buf[0] = '\0';
	buddy_walk(z, layout_add, &lb);
}

const char *fx_layout(const struct buddy_zone *z)
{
	static char buf[8192];
	layout_render(z, buf, sizeof(buf));
	return buf;
}

const char *fx_info(const struct buddy_zone *z)
{
	static char buf[512];
	buddy_buddyinfo(z, buf, sizeof(buf));
	return buf;
}

static void report_print(void *arg, const char *msg)
{
	(void)arg;
	print_error("buddy_check: %s\n", msg);
}

size_t fx_check(const struct buddy_zone *z)
{
	return buddy_check(z, report_print, NULL);
}

void fx_snap_take(const struct buddy_zone *z, struct fx_snap *s)
{
	memset(s, 0, sizeof(*s));
	buddy_get_stats(z, &s->st);
	buddy_buddyinfo(z, s->info, sizeof(s->info));
	layout_render(z, s->layout, sizeof(s->layout));
}

void fx_snap_expect(const struct buddy_zone *z, const struct fx_snap *s)
{
	struct fx_snap now;

	fx_snap_take(z, &now);
	assert_memory_equal(&now.st, &s->st, sizeof(now.st));
	assert_string_equal(now.info, s->info);
	assert_string_equal(now.layout, s->layout);
	assert_int_equal(fx_check(z), 0);
}
