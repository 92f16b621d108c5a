/* SPDX-License-Identifier: MIT */
/*
 * plot.c - the replay plot: hand-written SVG, one panel per trace, with
 * the footprint of every allocator (solid) and the live bytes (dashed)
 * against the op index, from the samples of the checked runs.
 *
 * The byte axis is logarithmic: allocators' footprints differ by orders of
 * magnitude (a fixed 32 MiB reservation beside a few hundred KiB), and on
 * a linear axis the largest squashes every other line, the live bytes
 * included, into the bottom pixels. Its ticks are powers of two with exact
 * labels (64 KiB, 1 MiB, ...); the op axis has ticks at 1, 2 or 5 times a
 * power of ten. Both axes are titled.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define PLOT_W 960     /* image width */
#define PLOT_PANEL 330 /* height of one panel */
#define PLOT_LEFT 96   /* room for the y labels and title */
#define PLOT_RIGHT 170 /* room for the legend */
#define PLOT_TOP 34
#define PLOT_BOTTOM 52
#define PLOT_MAX_DOUBLINGS 24 /* the byte axis spans at most 2^24 (16 MiB to 256 TiB, say) */

static const char *const plot_colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
					   "#9467bd", "#8c564b", "#e377c2", "#17becf" };

/* One panel's axes: ops 0..mx; bytes 2^lo..2^hi on a log2 scale. */
struct axes {
	double y0;  /* top of the panel */
	double mx;  /* largest op */
	int lo, hi; /* exponents of the byte range */
};

static double plot_w(void)
{
	return PLOT_W - PLOT_LEFT - PLOT_RIGHT;
}

static double plot_h(void)
{
	return PLOT_PANEL - PLOT_TOP - PLOT_BOTTOM;
}

/* The exponent of the largest power of two <= v (v >= 1). */
static int log2_floor(double v)
{
	return (int)floor(log2(v));
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * The panel's extent: the largest op; the byte exponents from a low value
 * rounded down to a power of two, to the largest rounded up, at most
 * PLOT_MAX_DOUBLINGS apart. The low value is the 2nd percentile of the
 * positive samples, not their least: the first few ops of a trace hold a
 * few bytes, and would stretch the axis over decades nothing else uses
 * (those samples sit on the bottom line).
 */
static void panel_extent(const struct replay_row *rows, size_t n, struct axes *ax)
{
	size_t total = 0, npos = 0;
	double hi = 1;
	ax->mx = 1;
	for (size_t i = 0; i < n; i++)
		total += 2 * rows[i].check.nsamples;
	double *v = malloc((total ? total : 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		if ((double)rows[i].check.ops > ax->mx)
			ax->mx = (double)rows[i].check.ops;
		for (size_t s = 0; s < rows[i].check.nsamples; s++) {
			const struct replay_sample *p = &rows[i].check.samples[s];
			const double pair[2] = { (double)p->footprint, (double)p->live };
			for (int k = 0; k < 2; k++) {
				if (pair[k] > hi)
					hi = pair[k];
				if (pair[k] > 0 && v)
					v[npos++] = pair[k];
			}
		}
	}
	ax->hi = log2_floor(hi);
	if (ldexp(1, ax->hi) < hi)
		ax->hi++;
	ax->lo = ax->hi - 1;
	if (npos) {
		qsort(v, npos, sizeof(*v), double_cmp);
		ax->lo = log2_floor(v[npos / 50]);
	}
	free(v);
	if (ax->lo >= ax->hi)
		ax->lo = ax->hi - 1;
	if (ax->hi - ax->lo > PLOT_MAX_DOUBLINGS)
		ax->lo = ax->hi - PLOT_MAX_DOUBLINGS;
}

static double x_of(const struct axes *ax, double op)
{
	return PLOT_LEFT + plot_w() * op / ax->mx;
}

/* y of a byte count; 0 and values below the axis sit on its bottom line. */
static double y_of(const struct axes *ax, double bytes)
{
	double e = bytes > ldexp(1, ax->lo) ? log2(bytes) : ax->lo;
	return ax->y0 + PLOT_TOP + plot_h() - plot_h() * (e - ax->lo) / (ax->hi - ax->lo);
}

/* 2^e bytes, exactly: "512 B", "64 KiB", "1 MiB". */
static void pow2_label(char *buf, size_t len, int e)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	snprintf(buf, len, "%llu %s", 1ull << (e % 10), unit[e / 10]);
}

/* A round op step: 1, 2 or 5 times a power of ten, giving at most 6 intervals. */
static double op_step(double mx)
{
	double p = 1;
	while (p * 10 <= mx / 6)
		p *= 10;
	static const double m[] = { 1, 2, 5, 10 };
	for (int i = 0; i < 4; i++)
		if (mx / (p * m[i]) <= 6)
			return p * m[i];
	return p * 10;
}

/* Text for SVG: the characters XML reserves, escaped. */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputs(*s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : (char[2]){ *s, 0 },
		      f);
}

static void plot_axes(FILE *f, const struct axes *ax, const char *trace)
{
	double h = plot_h(), w = plot_w(), top = ax->y0 + PLOT_TOP;
	fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"15\"><tspan font-weight=\"bold\">",
		PLOT_LEFT, ax->y0 + 20);
	xml_text(f, trace);
	fprintf(f, "</tspan>: footprint (solid) and live bytes (dashed)</text>\n");
	fprintf(f, "<rect x=\"%d\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
		"stroke=\"#444\"/>\n", PLOT_LEFT, top, w, h);
	/* Byte ticks every 1, 2, 3, 4 or 5 doublings: at most 8 of them. */
	int span = ax->hi - ax->lo, step = 1;
	while (span / step > 7)
		step++;
	for (int e = ax->hi; e >= ax->lo; e -= step) {
		char label[32];
		double y = y_of(ax, ldexp(1, e));
		pow2_label(label, sizeof(label), e);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			PLOT_LEFT, y, PLOT_LEFT + w, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
			PLOT_LEFT - 6, y + 4, label);
	}
	double st = op_step(ax->mx);
	for (long i = 0; (double)i * st <= ax->mx * 1.0001; i++)
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">"
			"%.0f</text>\n", x_of(ax, (double)i * st), top + h + 16, (double)i * st);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">"
		"operations replayed</text>\n", PLOT_LEFT + w / 2, top + h + 36);
	fprintf(f, "<text transform=\"translate(18 %.0f) rotate(-90)\" font-size=\"12\" "
		"text-anchor=\"middle\">bytes (log scale)</text>\n", top + h / 2);
}

static void plot_line(FILE *f, const struct replay_row *r, const struct axes *ax, int live,
		      const char *color)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"", color,
		live ? "1.5" : "2", live ? " stroke-dasharray=\"5,3\"" : "");
	for (size_t s = 0; s < r->check.nsamples; s++) {
		const struct replay_sample *p = &r->check.samples[s];
		fprintf(f, "%.1f,%.1f ", x_of(ax, (double)p->op),
			y_of(ax, (double)(live ? p->live : p->footprint)));
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
	struct axes ax = { .y0 = y0 };
	const char *name = strrchr(rows[0].trace, '/');
	panel_extent(rows, n, &ax);
	plot_axes(f, &ax, name ? name + 1 : rows[0].trace);
	/* Live bytes are the trace's own, the same for every allocator unless an
	 * allocation failed: drawn once, and again for an allocator with failures. */
	plot_line(f, &rows[0], &ax, 1, "#000");
	plot_legend(f, y0, 0, "#000", "live bytes", 1);
	for (size_t i = 0; i < n; i++) {
		const char *c = plot_colors[i % (sizeof(plot_colors) / sizeof(plot_colors[0]))];
		plot_line(f, &rows[i], &ax, 0, c);
		plot_legend(f, y0, i + 1, c, rows[i].alloc, 0);
		if (i > 0 && rows[i].check.failures)
			plot_line(f, &rows[i], &ax, 1, c);
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
