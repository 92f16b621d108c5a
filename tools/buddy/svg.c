/* SPDX-License-Identifier: MIT */
/*
 * svg.c - the map as an SVG image: the same rows of units as the terminal
 * map, allocated blocks in their handle's colour with "#N" on them (kmalloc
 * slabs in sand with their class and occupancy), free blocks in a blue
 * that deepens with the order, the free lists beside the map and a legend
 * below. Plain SVG 1.1 (rectangles and text only), so
 * browsers and rsvg-convert draw it alike.
 */
#include <errno.h>
#include <string.h>

#include "session.h"

#define SVG_MAP_W 768.0 /* pixels for one row of the map */
#define SVG_X0 64.0     /* left margin (room for row labels) */
#define SVG_Y0 56.0     /* top of the first row */
#define SVG_ROW_H 40.0  /* height of a row */
#define SVG_ROW_GAP 12.0
#define SVG_SIDE_W 250.0 /* width of the free-list column */
#define SVG_MAX_ROWS 16

/* Handle colours: warm and green hues only, so no allocation looks like free (blue) space. */
static const char *const handle_fill[PALETTE_SIZE] = {
	"#e6194b", "#3cb44b", "#ffe119", "#911eb4", "#f58231", "#f032e6",
	"#469990", "#bfef45", "#9a6324", "#fabed4", "#800000", "#808000",
};
/* Text on each handle colour: white on the dark ones. */
static const char *const handle_ink[PALETTE_SIZE] = {
	"#fff", "#000", "#000", "#fff", "#000", "#fff",
	"#fff", "#000", "#fff", "#000", "#fff", "#fff",
};

/* Free blocks: from pale (order 0) to deep blue (order 10 and up). */
static void free_fill(int order, char *buf, size_t n)
{
	int k = order < 0 ? 3 : order > 10 ? 10 : order;
	int r = 222 - 19 * k, g = 234 - 15 * k, b = 252 - 6 * k;
	snprintf(buf, n, "#%02x%02x%02x", r, g, b);
}

static const char *free_ink(int order)
{
	return order >= 6 ? "#fff" : "#223";
}

struct svg_layout {
	size_t row_units; /* units per row */
	size_t rows;
	double scale;     /* pixels per unit */
};

static void svg_layout(size_t units, struct svg_layout *L)
{
	size_t r = 1;
	while (r < units && r < 32)
		r *= 2;
	while ((units + r - 1) / r > SVG_MAX_ROWS)
		r *= 2;
	L->row_units = r;
	L->rows = (units + r - 1) / r;
	L->scale = SVG_MAP_W / (double)r;
}

/* One block's piece within a row: rectangle and, if it fits, its label. */
static void piece_draw(FILE *f, const struct vblock *v, size_t unit_bytes, size_t row, size_t u0,
		       size_t u1, const struct svg_layout *L)
{
	double x = SVG_X0 + (double)(u0 - row * L->row_units) * L->scale;
	double w = (double)(u1 - u0) * L->scale;
	double y = SVG_Y0 + (double)row * (SVG_ROW_H + SVG_ROW_GAP);
	char fill[16], label[32] = "";
	const char *ink;
	if (v->allocated && v->handle) {
		unsigned i = palette_index(v->handle);
		snprintf(fill, sizeof(fill), "%s", handle_fill[i]);
		ink = handle_ink[i];
		/* A block over several rows: its later pieces say they continue it. */
		snprintf(label, sizeof(label), u0 == v->start ? "#%lu" : "#%lu, continued", v->handle);
	} else if (v->allocated && v->label) { /* a kmalloc slab: "64 3/15" */
		const char *sz = strchr(v->label, '-') ? strchr(v->label, '-') + 1 : v->label;
		snprintf(fill, sizeof(fill), "#d7d7af");
		ink = "#000";
		int n = u0 == v->start ? snprintf(label, sizeof(label), "%s %u/%u", sz, v->inuse,
						  v->objs) : 0;
		if (n > 0 && w < 6.0 * n + 2.0) /* too narrow: the class size alone */
			snprintf(label, sizeof(label), "%s", sz);
	} else if (v->allocated) {
		snprintf(fill, sizeof(fill), "#888");
		ink = "#fff";
	} else {
		free_fill(v->order, fill, sizeof(fill));
		ink = free_ink(v->order);
		if (v->order >= 0 && u0 == v->start)
			snprintf(label, sizeof(label), "%d", v->order);
		else if (u0 == v->start)
			fmt_size(label, sizeof(label), v->len * unit_bytes);
	}
	fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" "
		   "stroke=\"#333\" stroke-width=\"1\"/>\n", x, y, w, SVG_ROW_H, fill);
	size_t ll = strlen(label);
	const char *small = w >= 8.0 * (double)ll + 4.0 ? "" : " font-size=\"10\"";
	if (ll && w >= 6.0 * (double)ll + 2.0)
		fprintf(f, "<text x=\"%.2f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"middle\"%s%s>"
			   "%s</text>\n", x + w / 2, y + SVG_ROW_H / 2 + 5, ink,
			v->allocated ? " font-weight=\"bold\"" : "", small, label);
}

static void map_body(FILE *f, const struct vpicture *p, const struct svg_layout *L)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\" "
		   "font-size=\"11\">%s</text>\n", SVG_X0 - 8, SVG_Y0 - 6,
		p->byte_pos ? "offset" : p->unit_name);
	for (size_t r = 0; r < L->rows; r++) {
		char pos[24];
		vpicture_pos(p, r * L->row_units, pos, sizeof(pos));
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
			SVG_X0 - 8, SVG_Y0 + (double)r * (SVG_ROW_H + SVG_ROW_GAP) + SVG_ROW_H / 2 + 5,
			pos);
	}
	for (size_t i = 0; i < p->nblocks; i++) {
		const struct vblock *v = &p->blocks[i];
		size_t u = v->start, end = v->start + v->len;
		while (u < end) {
			size_t row = u / L->row_units;
			size_t row_end = (row + 1) * L->row_units;
			size_t e = end < row_end ? end : row_end;
			piece_draw(f, v, p->unit_bytes, row, u, e, L);
			u = e;
		}
	}
}

static void side_column(FILE *f, const struct vpicture *p, double x)
{
	double y = SVG_Y0 + 12;
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">%s</text>\n", x, y,
		p->max_order >= 0 ? "free lists" : "free blocks");
	int top = p->max_order;
	for (int k = 0; k <= top; k++) {
		char fill[16];
		y += 20;
		free_fill(k, fill, sizeof(fill));
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\" "
			   "stroke=\"#333\"/>\n", x, y - 12, fill);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">order %d: %zu free</text>\n", x + 22, y, k,
			p->nr_free[k]);
	}
	if (top < 0)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">count: %zu</text>\n", x, y + 20,
			p->nr_free[BUDDY_NR_ORDERS]);
}

/* Whether the picture has kmalloc slabs (the legend then says what they are). */
static int slabs_drawn(const struct vpicture *p)
{
	for (size_t i = 0; i < p->nblocks; i++)
		if (p->blocks[i].label)
			return 1;
	return 0;
}

/* The legend: what the colours mean, then every handle's swatch. */
static double legend(FILE *f, const struct vpicture *p, double y)
{
	if (p->max_order >= 0)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">Coloured: allocations, "
			   "labelled with their handles. Blue: free blocks, labelled with their order K "
			   "(2^K %ss); deeper blue for larger orders.</text>\n", SVG_X0, y, p->unit_name);
	else
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">Coloured: allocations, "
			   "labelled with their handles. Blue: free blocks, labelled with their "
			   "size.</text>\n", SVG_X0, y);
	if (slabs_drawn(p)) {
		y += 18;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">Sand: slabs of the kmalloc "
			   "caches, labelled with the class size and the objects in use of all.</text>\n",
			SVG_X0, y);
	}
	double x = SVG_X0;
	int rows_used = 0;
	y += 28;
	for (size_t i = 0; i < p->nblocks; i++) {
		const struct vblock *v = &p->blocks[i];
		if (!v->allocated || !v->handle)
			continue;
		char item[96], size[32];
		fmt_size(size, sizeof(size), v->len * p->unit_bytes);
		int len = p->byte_pos ? snprintf(item, sizeof(item), "#%lu: at 0x%zx, %s", v->handle,
						 v->start * p->unit_bytes, size)
				      : snprintf(item, sizeof(item), "#%lu: %s %zu, %zu %s%s", v->handle,
						 p->unit_name, v->start, v->len, p->unit_name,
						 v->len == 1 ? "" : "s");
		double w = 20 + 7.5 * len + 24; /* swatch, text at ~7.5 px a character, gap */
		if (x > SVG_X0 && x + w > SVG_X0 + SVG_MAP_W + SVG_SIDE_W) {
			x = SVG_X0;
			y += 22;
		}
		unsigned c = palette_index(v->handle);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\" "
			   "stroke=\"#333\"/>\n", x, y - 12, handle_fill[c]);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 20, y, item);
		x += w;
		rows_used = 1;
	}
	return y + 16 * rows_used;
}

int svg_save(const struct cmd_session *s, const struct vpicture *p, const char *path, char *msg,
	     size_t n)
{
	struct svg_layout L;
	svg_layout(p->units ? p->units : 1, &L);
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(msg, n, "save: cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	double map_h = (double)L.rows * (SVG_ROW_H + SVG_ROW_GAP);
	double side_h = SVG_Y0 + 20 + 20.0 * (p->max_order + 2);
	double legend_y = (SVG_Y0 + map_h > side_h ? SVG_Y0 + map_h : side_h) + 16;
	size_t handles = 0;
	for (size_t i = 0; i < p->nblocks; i++)
		handles += p->blocks[i].allocated && p->blocks[i].handle;
	size_t legend_rows = (handles + 5) / 6; /* six handles to a row */
	double h = legend_y + 40 + 22.0 * (double)legend_rows + (slabs_drawn(p) ? 18 : 0);
	double w = SVG_X0 + SVG_MAP_W + SVG_SIDE_W + 20;
	char total[32], unit[32];
	fmt_size(total, sizeof(total), p->units * p->unit_bytes);
	fmt_size(unit, sizeof(unit), p->unit_bytes);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
		   "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, "
		   "sans-serif\" font-size=\"13\">\n", w, h, w, h);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
	fprintf(f, "<text x=\"%.1f\" y=\"28\" font-size=\"16\" font-weight=\"bold\">%s: %zu %ss "
		   "of %s (%s)</text>\n", SVG_X0, session_mode_name(s), p->units, p->unit_name,
		unit, total);
	if (p->units == 0)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">Nothing mapped yet: the arena comes with the "
			   "first allocation.</text>\n", SVG_X0, SVG_Y0 + 20);
	map_body(f, p, &L);
	side_column(f, p, SVG_X0 + SVG_MAP_W + 30);
	legend(f, p, legend_y);
	fprintf(f, "</svg>\n");
	if (fclose(f)) {
		snprintf(msg, n, "save: cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
