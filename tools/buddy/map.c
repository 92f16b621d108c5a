/* SPDX-License-Identifier: MIT */
/*
 * map.c - the arena drawn in the terminal.
 *
 * The arena is laid out in rows of a power-of-two number of units (pages),
 * so rows line up with the big buddy blocks. Each unit gets up to four
 * cells when the width allows, else one; when even that is too many rows,
 * each cell stands for a power-of-two number of units. A cell belongs to
 * one block: an allocation wins over free space, a larger free block over
 * a smaller one. Allocations read "[#N==]" in their cells (just '#'s where
 * the label and its brackets do not fit) and carry their handle's colour;
 * kmalloc slabs read "[64 3/15]" (class size, objects in use of all, or
 * just "[64]", '~'s where even that does not fit) and are sand-coloured,
 * their handles listed in the legend; a free block of order K starts with
 * the digit K and continues with dots, so every block boundary is visible
 * without colour.
 * The legend and the free lists go beside the map in a wide terminal and
 * below it at 80 columns.
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define MAP_MAX_ROWS 16
#define MAP_LABEL_W 7 /* row label: at least six columns for its position, and a blank */
#define SIDE_W 38     /* most columns a line of the free lists takes */

/* How units map to cells. */
struct layout {
	size_t label_w;  /* columns of a row label, blank included */
	size_t upc;      /* units per cell (power of two) */
	size_t cpu;      /* cells per unit (1, 2 or 4; > 1 only when upc == 1) */
	size_t row_cells; /* cells per row */
	size_t rows;     /* rows drawn */
	size_t cells;    /* cells in the picture (rows * row_cells, trailing ones unused) */
};

static size_t pow2_floor(size_t v)
{
	size_t p = 1;
	while (p <= v / 2) /* p * 2 <= v, without overflowing */
		p *= 2;
	return p;
}

static size_t pow2_ceil(size_t v)
{
	size_t p = 1;
	while (p < v && p <= SIZE_MAX / 2) /* never doubles past the top bit to 0 */
		p *= 2;
	return p;
}

/* Row labels are as wide as the position of the arena's last unit needs. */
static size_t label_width(const struct vpicture *p)
{
	char buf[32];
	int w = vpicture_pos(p, p->units ? p->units - 1 : 0, buf, sizeof(buf)) + 1;
	return (size_t)w > MAP_LABEL_W ? (size_t)w : MAP_LABEL_W;
}

static void layout_compute(size_t units, unsigned width, size_t label_w, struct layout *L)
{
	size_t avail = width > label_w + 8 ? width - label_w : 8;
	L->label_w = label_w;
	size_t cap = pow2_ceil(units ? units : 1);
	static const size_t cpus[] = { 4, 2, 1 };
	size_t r = 1;

	L->upc = 1;
	for (size_t i = 0; i < 3; i++) {
		L->cpu = cpus[i];
		r = pow2_floor(avail / cpus[i] > 0 ? avail / cpus[i] : 1);
		r = r < cap ? r : cap;
		if (r == 0) /* cannot happen (both are at least 1); said for the analyzer */
			r = 1;
		if ((units + r - 1) / r <= (cpus[i] == 4 ? MAP_MAX_ROWS / 2 : MAP_MAX_ROWS))
			break;
	}
	/* Still too many rows at one cell per unit: several units per cell. */
	while ((units + L->upc * r - 1) / (L->upc * r) > MAP_MAX_ROWS)
		L->upc *= 2;
	L->row_cells = r * L->cpu;
	L->cells = L->cpu > 1 ? units * L->cpu : (units + L->upc - 1) / L->upc;
	L->rows = (L->cells + L->row_cells - 1) / L->row_cells;
}

/* A better owner for a cell: an allocation over free space, a bigger free block. */
static int block_better(const struct vblock *a, const struct vblock *b)
{
	if (a->allocated != b->allocated)
		return a->allocated;
	return a->len > b->len;
}

static long *owners_compute(const struct vpicture *p, const struct layout *L)
{
	long *own = malloc((L->cells ? L->cells : 1) * sizeof(*own));
	if (!own)
		return NULL;
	for (size_t c = 0; c < L->cells; c++)
		own[c] = -1;
	for (size_t i = 0; i < p->nblocks; i++) {
		const struct vblock *v = &p->blocks[i];
		size_t c0 = L->cpu > 1 ? v->start * L->cpu : v->start / L->upc;
		size_t c1 = L->cpu > 1 ? (v->start + v->len) * L->cpu : (v->start + v->len - 1) / L->upc + 1;
		for (size_t c = c0; c < c1 && c < L->cells; c++)
			if (own[c] < 0 || block_better(v, &p->blocks[own[c]]))
				own[c] = (long)i;
	}
	return own;
}

static char order_glyph(int order)
{
	if (order < 0)
		return '|';
	return (char)(order < 10 ? '0' + order : 'a' + order - 10);
}

/*
 * Text of a run of len cells for block v: "[#12==]" or "3......". A block
 * that goes on from the row above has no '[' (and no label), one that goes
 * on into the next row no ']', so a block over several rows reads as one.
 */
static void run_text(const struct vblock *v, size_t len, int colour, int opens, int closes,
		     char *buf)
{
	memset(buf, v->allocated ? (colour ? ' ' : '=') : '.', len);
	buf[len] = '\0';
	if (!v->allocated) {
		if (opens)
			buf[0] = order_glyph(v->order);
		return;
	}
	char label[48];
	if (v->label) { /* a slab: "[64 3/15]", or "[64]", or ~'s */
		const char *sz = strchr(v->label, '-') ? strchr(v->label, '-') + 1 : v->label;
		size_t ll = (size_t)snprintf(label, sizeof(label), "%s %u/%u", sz, v->inuse, v->objs);
		if (len < ll + 2)
			ll = (size_t)snprintf(label, sizeof(label), "%s", sz);
		memset(buf, colour ? ' ' : '~', len);
		if (len >= ll + 2) {
			buf[0] = '[';
			memcpy(buf + 1, label, ll);
			buf[len - 1] = ']';
		}
		return;
	}
	size_t ll = v->handle ? (size_t)snprintf(label, sizeof(label), "#%lu", v->handle) : 0;
	if (!v->handle) {
		memset(buf, 'x', len);
	} else if (!opens) {
		if (closes)
			buf[len - 1] = ']';
	} else if (len >= ll + 1 + (size_t)closes) {
		buf[0] = '[';
		memcpy(buf + 1, label, ll);
		if (closes)
			buf[len - 1] = ']';
	} else {
		memset(buf, '#', len); /* no room for the label */
	}
}

/*
 * ANSI 256-colour backgrounds, close to the SVG's: warm and green hues for
 * handles, a blue that deepens with the order for free blocks.
 */
static const int pal_bg[PALETTE_SIZE] = { 160, 34, 220, 91, 208, 201, 30, 154, 130, 218, 88, 100 };
static const int pal_fg[PALETTE_SIZE] = { 97, 30, 30, 97, 30, 97, 97, 30, 97, 30, 97, 97 };
static const int free_bg[] = { 195, 153, 117, 111, 110, 75, 68, 67 };

static void colour_set(FILE *out, const struct vblock *v)
{
	if (v->allocated && v->handle) {
		unsigned i = palette_index(v->handle);
		fprintf(out, "\x1b[%d;48;5;%dm", pal_fg[i], pal_bg[i]);
	} else if (v->allocated && v->label) {
		fprintf(out, "\x1b[30;48;5;187m"); /* a slab: sand */
	} else if (v->allocated) {
		fprintf(out, "\x1b[97;100m"); /* allocator overhead: grey */
	} else {
		int k = v->order < 0 ? 2 : v->order > 7 ? 7 : v->order;
		fprintf(out, "\x1b[30;48;5;%dm", free_bg[k]);
	}
}

/* Draw cells [c0, c1) of the picture's ncells. */
static void cells_draw(FILE *out, const struct vpicture *p, const long *own, size_t ncells,
		       size_t c0, size_t c1, int colour)
{
	char buf[1100];
	size_t c = c0;
	while (c < c1) {
		size_t e = c;
		while (e < c1 && own[e] == own[c])
			e++;
		if (own[c] < 0) {
			fprintf(out, "%*s", (int)(e - c), "");
			c = e;
			continue;
		}
		const struct vblock *v = &p->blocks[own[c]];
		size_t len = e - c < sizeof(buf) - 1 ? e - c : sizeof(buf) - 1;
		int opens = c == 0 || own[c - 1] != own[c];
		int closes = c + len >= ncells || own[c + len] != own[c];
		run_text(v, len, colour, opens, closes, buf);
		if (colour)
			colour_set(out, v);
		fputs(buf, out);
		if (colour)
			fputs("\x1b[0m", out);
		c += len;
	}
}

/*
 * The lines that go beside (or below) the map: the free lists per order,
 * each with where its first blocks start; at most SIDE_W columns each.
 */
static size_t side_lines(const struct vpicture *p, char lines[][SIDE_W + 1], size_t max)
{
	size_t n = 0;
	snprintf(lines[n++], SIDE_W + 1, "%s", p->max_order >= 0 ? "free lists (@ where blocks start):"
								: "free blocks (no orders in best fit):");
	for (int k = 0; k <= p->max_order && n < max; k++) {
		char *l = lines[n++];
		int w = snprintf(l, SIDE_W + 1, "  order %2d: %3zu", k, p->nr_free[k]);
		size_t shown = 0;
		for (size_t i = 0; i < p->nblocks && shown < p->nr_free[k]; i++) {
			const struct vblock *v = &p->blocks[i];
			if (v->allocated || v->order != k)
				continue;
			char num[32], pos[24];
			vpicture_pos(p, v->start, pos, sizeof(pos));
			int nw = snprintf(num, sizeof(num), "%s%s", shown ? " " : "  @", pos);
			if (w + nw > SIDE_W - 4)
				break;
			memcpy(l + w, num, (size_t)nw + 1);
			w += nw;
			shown++;
		}
		if (shown < p->nr_free[k] && shown)
			memcpy(l + w, " ...", 5);
	}
	if (p->max_order < 0 && n < max)
		snprintf(lines[n++], SIDE_W + 1, "  count: %zu", p->nr_free[BUDDY_NR_ORDERS]);
	return n;
}

static void header_print(const struct cmd_session *s, const struct vpicture *p,
			 const struct layout *L, FILE *out)
{
	char total[32], unit[32];
	fmt_size(total, sizeof(total), p->units * p->unit_bytes);
	fmt_size(unit, sizeof(unit), p->unit_bytes);
	fprintf(out, "%s: %zu %ss of %s (%s)", session_mode_name(s), p->units, p->unit_name,
		unit, total);
	if (L->cpu > 1)
		fprintf(out, "; 1 %s = %zu cells\n", p->unit_name, L->cpu);
	else
		fprintf(out, "; 1 cell = %zu %s%s\n", L->upc, p->unit_name, L->upc > 1 ? "s" : "");
}

/* A slab's legend item: "kmalloc-64 @2: #1 #3" (its handles, as many as fit). */
static int slab_item(const struct cmd_session *s, const struct vpicture *p,
		     const struct vblock *v, char *item, size_t n)
{
	size_t w = (size_t)snprintf(item, n, "%s @%zu:", v->label, v->start);
	uintptr_t lo = s->km_base + v->start * p->unit_bytes, hi = lo + v->len * p->unit_bytes;
	for (size_t i = 0; i < s->nhandles && w < n; i++) {
		const struct handle *h = &s->handles[i];
		if ((uintptr_t)h->ptr < lo || (uintptr_t)h->ptr >= hi)
			continue;
		char id[24];
		size_t iw = (size_t)snprintf(id, sizeof(id), " #%lu", h->id);
		if (w + iw + 4 >= n) {
			w += (size_t)snprintf(item + w, n - w, " ...");
			break;
		}
		memcpy(item + w, id, iw + 1);
		w += iw;
	}
	if (!v->inuse)
		w += (size_t)snprintf(item + w, n - w, " empty");
	return (int)w;
}

static void legend_print(const struct cmd_session *s, const struct vpicture *p, FILE *out)
{
	int colour = s->opt.colour;
	if (p->max_order >= 10) {
		/* "a = 10", "a = 10, b = 11", "a = 10, b = 11, ... e = 14" */
		char letters[64];
		int m = p->max_order;
		snprintf(letters, sizeof(letters), "a = 10%s%s", m >= 11 ? ", b = 11" : "",
			 m > 12 ? ", ... " : m == 12 ? ", " : "");
		if (m > 11)
			snprintf(letters + strlen(letters), sizeof(letters) - strlen(letters), "%c = %d",
				 order_glyph(m), m);
		fprintf(out, "legend: [#N] allocation #N (# where too narrow)   "
			     "K... free block of order K\n        (orders from 10 are letters: %s)\n",
			letters);
	}
	else if (p->max_order >= 0)
		fprintf(out, "legend: [#N] allocation #N (# where too narrow)   "
			     "K... free block of order K\n");
	else
		fprintf(out, "legend: [#N] allocation #N (# where too narrow)   |... free block\n");
	if (s->opt.mode == MODE_KMALLOC)
		fprintf(out, "        [S U/N] slab of the kmalloc-S cache, U of its N objects in use "
			     "(~ where too narrow)\n");
	size_t col = 0, shown = 0;
	for (size_t i = 0; i < p->nblocks && shown < 48; i++) {
		const struct vblock *v = &p->blocks[i];
		if (!v->allocated || (!v->handle && !v->label))
			continue;
		char item[80], size[32];
		fmt_size(size, sizeof(size), v->len * p->unit_bytes);
		int w = v->label ? slab_item(s, p, v, item, sizeof(item))
			: p->byte_pos ? snprintf(item, sizeof(item), "#%lu at 0x%zx (%s)", v->handle,
						 v->start * p->unit_bytes, size)
			: v->len == 1 ? snprintf(item, sizeof(item), "#%lu %s %zu", v->handle,
						 p->unit_name, v->start)
				      : snprintf(item, sizeof(item), "#%lu %ss %zu-%zu", v->handle,
						 p->unit_name, v->start, v->start + v->len - 1);
		if (col + (size_t)w + 2 > s->opt.width && col) {
			fputc('\n', out);
			col = 0;
		}
		fputs(col ? "  " : "", out);
		if (colour)
			colour_set(out, v);
		fputs(item, out);
		if (colour)
			fputs("\x1b[0m", out);
		col += (size_t)w + (col ? 2 : 0);
		shown++;
	}
	if (shown)
		fputc('\n', out);
}

/*
 * The map goes beside the free lists when that leaves four cells per unit
 * (so even one-page allocations carry their label); otherwise the map
 * takes the whole width and the free lists follow below it.
 */
void map_draw(const struct cmd_session *s, const struct vpicture *p, FILE *out)
{
	struct layout L;
	char side[BUDDY_NR_ORDERS + 4][SIDE_W + 1];
	size_t nside = side_lines(p, side, BUDDY_NR_ORDERS + 4);
	unsigned beside_w = s->opt.width > SIDE_W + 3 ? s->opt.width - SIDE_W - 3 : 0;
	size_t label_w = label_width(p);
	layout_compute(p->units, beside_w, label_w, &L);
	int beside = beside_w >= label_w + 8 && L.cpu == 4;
	if (!beside)
		layout_compute(p->units, s->opt.width, label_w, &L);
	long *own = owners_compute(p, &L);
	if (!own) {
		fprintf(out, "map: out of memory\n");
		return;
	}
	size_t map_w = L.label_w + L.row_cells;
	if (p->units == 0) {
		fprintf(out, "%s: nothing mapped yet (the arena comes with the first allocation)\n",
			session_mode_name(s));
		free(own);
		return;
	}
	header_print(s, p, &L, out);
	size_t lines = beside && nside > L.rows ? nside : L.rows;
	for (size_t r = 0; r < lines; r++) {
		if (r < L.rows) {
			size_t c0 = r * L.row_cells, c1 = c0 + L.row_cells;
			size_t first = L.cpu > 1 ? c0 / L.cpu : c0 * L.upc;
			char pos[24];
			vpicture_pos(p, first, pos, sizeof(pos));
			fprintf(out, "%*s ", (int)L.label_w - 1, pos);
			cells_draw(out, p, own, L.cells, c0, c1 < L.cells ? c1 : L.cells, s->opt.colour);
			if (beside && r < nside && c1 > L.cells)
				fprintf(out, "%*s", (int)(c1 - L.cells), "");
		} else if (r < nside) {
			fprintf(out, "%*s", (int)map_w, "");
		}
		if (beside && r < nside)
			fprintf(out, "   %s", side[r]);
		fputc('\n', out);
	}
	if (!beside)
		for (size_t i = 0; i < nside; i++)
			fprintf(out, "%s\n", side[i]);
	legend_print(s, p, out);
	free(own);
}
