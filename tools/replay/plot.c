/* SPDX-License-Identifier: MIT */
/*
 * plot.c - the replay plot: hand-written SVG, one panel per trace, with
 * the footprint of every allocator (solid) and the live bytes (dashed)
 * against the op index, from the samples of the checked runs.
 */
#include <string.h>

#include "report.h"

#define PLOT_W 960     /* image width */
#define PLOT_PANEL 320 /* height of one panel */
#define PLOT_LEFT 90   /* room for the y labels */
#define PLOT_RIGHT 170 /* room for the legend */
#define PLOT_TOP 34
#define PLOT_BOTTOM 42

static const char *const plot_colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
					   "#9467bd", "#8c564b", "#e377c2", "#17becf" };

/* Extent of a panel: largest op and largest byte count over its rows. */
static void panel_extent(const struct replay_row *rows, size_t n, double *mx, double *my)
{
	*mx = 1;
	*my = 1;
	for (size_t i = 0; i < n; i++) {
		if ((double)rows[i].check.ops > *mx)
			*mx = (double)rows[i].check.ops;
		for (size_t s = 0; s < rows[i].check.nsamples; s++) {
			const struct replay_sample *p = &rows[i].check.samples[s];
			if ((double)p->footprint > *my)
				*my = (double)p->footprint;
			if ((double)p->live > *my)
				*my = (double)p->live;
		}
	}
}

static void plot_axes(FILE *f, double y0, double mx, double my, const char *title)
{
	double h = PLOT_PANEL - PLOT_TOP - PLOT_BOTTOM, w = PLOT_W - PLOT_LEFT - PLOT_RIGHT;
	fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
		PLOT_LEFT, y0 + 20, title);
	fprintf(f, "<rect x=\"%d\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
		"stroke=\"#444\"/>\n", PLOT_LEFT, y0 + PLOT_TOP, w, h);
	for (int i = 0; i <= 4; i++) {
		double y = y0 + PLOT_TOP + h - h * i / 4, v = my * i / 4;
		const char *u = v >= 1048576 ? "MiB" : "KiB";
		double d = v >= 1048576 ? 1048576 : 1024;
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			PLOT_LEFT, y, PLOT_LEFT + w, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">"
			"%.1f %s</text>\n", PLOT_LEFT - 6, y + 4, v / d, u);
		double x = PLOT_LEFT + w * i / 4;
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">"
			"%.0f</text>\n", x, y0 + PLOT_PANEL - PLOT_BOTTOM + 16, mx * i / 4);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">"
		"operation</text>\n", PLOT_LEFT + w / 2, y0 + PLOT_PANEL - 8);
}

static void plot_line(FILE *f, const struct replay_row *r, double y0, double mx, double my,
		      int live, const char *color)
{
	double h = PLOT_PANEL - PLOT_TOP - PLOT_BOTTOM, w = PLOT_W - PLOT_LEFT - PLOT_RIGHT;
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"", color,
		live ? "1.2" : "2", live ? " stroke-dasharray=\"5,3\"" : "");
	for (size_t s = 0; s < r->check.nsamples; s++) {
		const struct replay_sample *p = &r->check.samples[s];
		double v = (double)(live ? p->live : p->footprint);
		fprintf(f, "%.1f,%.1f ", PLOT_LEFT + w * (double)p->op / mx,
			y0 + PLOT_TOP + h - h * v / my);
	}
	fprintf(f, "\"/>\n");
}

/* Legend entry `k` of a panel: a line sample and its label. */
static void plot_legend(FILE *f, double y0, size_t k, const char *color, const char *label,
			int dashed)
{
	double ly = y0 + PLOT_TOP + 10 + 20.0 * (double)k;
	fprintf(f, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" stroke=\"%s\" "
		"stroke-width=\"2\"%s/>\n", PLOT_W - PLOT_RIGHT + 12, ly, PLOT_W - PLOT_RIGHT + 36,
		ly, color, dashed ? " stroke-dasharray=\"5,3\"" : "");
	fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"12\">%s</text>\n",
		PLOT_W - PLOT_RIGHT + 42, ly + 4, label);
}

static void plot_panel(FILE *f, const struct replay_row *rows, size_t n, double y0)
{
	double mx, my;
	const char *title = strrchr(rows[0].trace, '/');
	panel_extent(rows, n, &mx, &my);
	plot_axes(f, y0, mx, my * 1.05, title ? title + 1 : rows[0].trace);
	/* Live bytes are the trace's own, the same for every allocator unless an
	 * allocation failed: drawn once, and again for an allocator with failures. */
	plot_line(f, &rows[0], y0, mx, my * 1.05, 1, "#000");
	plot_legend(f, y0, 0, "#000", "live bytes", 1);
	for (size_t i = 0; i < n; i++) {
		const char *c = plot_colors[i % (sizeof(plot_colors) / sizeof(plot_colors[0]))];
		plot_line(f, &rows[i], y0, mx, my * 1.05, 0, c);
		plot_legend(f, y0, i + 1, c, rows[i].alloc, 0);
		if (i > 0 && rows[i].check.failures)
			plot_line(f, &rows[i], y0, mx, my * 1.05, 1, c);
	}
}

void report_plot(FILE *f, const struct replay_row *rows, size_t n)
{
	size_t panels = 0;
	for (size_t i = 0; i < n; i++)
		panels += i == 0 || strcmp(rows[i].trace, rows[i - 1].trace) != 0;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
		"font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		PLOT_W, panels * PLOT_PANEL);
	size_t panel = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(rows[j].trace, rows[i].trace) == 0)
			j++;
		plot_panel(f, rows + i, j - i, (double)(panel++ * PLOT_PANEL));
		i = j;
	}
	fprintf(f, "</svg>\n");
}
