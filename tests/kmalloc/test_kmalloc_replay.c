/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_replay.c - replays the recorded .rep traces (CS:APP
 * malloc-lab form, see ../shared/traces/README.md) through a default
 * kmalloc heap, every block stamped and verified, the heap checked every
 * 1024 operations and at the end, and prints each trace's peak footprint
 * and utilization (peak requested / peak footprint), with the share of
 * metadata in the footprint at its peak. The two smallest programs (git
 * status, tar czf) must stay under 256 KiB of footprint, and python's
 * metadata at most 2% of its footprint.
 * Skips cleanly when the traces are absent.
 */
#include "kmalloc_test.h"

struct replay {
	struct bkm_heap *h;
	unsigned char **p; /* live block per id */
	size_t *size;      /* requested bytes per id */
	size_t nids;
	unsigned long ops;
	size_t live, peak_live;
	size_t peak_fp, peak_meta; /* footprint at its peak, and the metadata then */
};

/* The first bytes of a block (up to 16) and its last byte carry its id's pattern. */
static void stamp(unsigned char *p, size_t size, size_t id)
{
	kfill(p, size < 16 ? size : 16, (unsigned)id);
	if (size > 16)
		p[size - 1] = kpat((unsigned)id, 99);
}

static int stamp_ok(const unsigned char *p, size_t size, size_t id)
{
	return kfill_ok(p, size < 16 ? size : 16, (unsigned)id) &&
	       (size <= 16 || p[size - 1] == kpat((unsigned)id, 99));
}

/* One trace line; 0 on success. */
static int replay_op(struct replay *r, char op, long id, size_t bytes)
{
	if (id < 0)
		return 0; /* free(NULL) in later dialects */
	if ((size_t)id >= r->nids)
		return -1;
	unsigned char **slot = &r->p[id];
	if (*slot && !stamp_ok(*slot, r->size[id], (size_t)id))
		return -1;
	r->live -= r->size[id];
	if (op == 'f') {
		bkm_free(r->h, *slot);
		*slot = NULL;
		r->size[id] = 0;
		return 0;
	}
	if (op == 'a' || !*slot)
		*slot = bkm_malloc(r->h, bytes);
	else if (op == 'r')
		*slot = bkm_realloc(r->h, *slot, bytes);
	else
		return -1;
	if (!*slot)
		return bytes ? -1 : 0;
	r->size[id] = bytes;
	r->live += bytes;
	if (r->live > r->peak_live)
		r->peak_live = r->live;
	stamp(*slot, bytes, (size_t)id);
	return 0;
}

/* Note the footprint's peak and the metadata at that moment. */
static void peak_note(struct replay *r)
{
	struct bkm_stats st;
	bkm_get_stats(r->h, &st);
	if (st.footprint_bytes > r->peak_fp) {
		r->peak_fp = st.footprint_bytes;
		r->peak_meta = st.meta_bytes;
	}
}

static void replay_file(const char *dir, const char *name, size_t max_footprint,
			double max_meta_share)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	unsigned long peak_hdr, nids, nops, weight;
	assert_int_equal(fscanf(f, "%lu %lu %lu %lu", &peak_hdr, &nids, &nops, &weight), 4);
	struct replay r = { bkm_create(NULL), calloc(nids, sizeof(*r.p)),
			    calloc(nids, sizeof(size_t)), nids, 0, 0, 0, 0, 0 };
	assert_non_null(r.h);
	char op;
	long id;
	while (fscanf(f, " %c %ld", &op, &id) == 2) {
		size_t bytes = 0;
		if (op != 'f')
			assert_int_equal(fscanf(f, "%zu", &bytes), 1);
		assert_int_equal(replay_op(&r, op, id, bytes), 0);
		peak_note(&r);
		if (++r.ops % 1024 == 0)
			assert_kheap_ok(r.h);
	}
	fclose(f);
	assert_int_equal(r.ops, nops);
	assert_int_equal(r.peak_live, peak_hdr); /* the trace's own peak */
	assert_kheap_ok(r.h);
	struct bkm_stats st;
	bkm_get_stats(r.h, &st);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.misuse, 0);
	print_message("replay %-20s ops %7lu  peak live %9zu  peak footprint %9zu  "
		      "utilization %5.1f%%  metadata %5.2f%% of it\n",
		      name, r.ops, r.peak_live, st.peak_footprint_bytes,
		      100.0 * (double)r.peak_live / (double)st.peak_footprint_bytes,
		      100.0 * (double)r.peak_meta / (double)r.peak_fp);
	assert_int_equal(r.peak_fp, st.peak_footprint_bytes);
	if (max_footprint)
		assert_true(st.peak_footprint_bytes < max_footprint);
	if (max_meta_share > 0)
		assert_true((double)r.peak_meta <= max_meta_share * (double)r.peak_fp);
	for (size_t i = 0; i < nids; i++)
		bkm_free(r.h, r.p[i]);
	bkm_get_stats(r.h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_kheap_ok(r.h);
	bkm_destroy(r.h);
	free(r.p);
	free(r.size);
}

static void test_kmalloc_replay_traces(void **state)
{
	(void)state;
	const char *src = getenv("BUDDY_SOURCE_DIR");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/../shared/traces", src ? src : ".");
	char probe[1100];
	snprintf(probe, sizeof(probe), "%s/README.md", dir);
	FILE *f = src ? fopen(probe, "r") : NULL;
	if (!f) {
		print_message("replay: %s absent, skipping\n", dir);
		skip();
	}
	fclose(f);
	replay_file(dir, "git-status.rep", 256u << 10, 0);
	replay_file(dir, "tar-gz.rep", 256u << 10, 0);
	replay_file(dir, "sort.rep", 0, 0);
	replay_file(dir, "cc1-O0-small.rep", 0, 0);
	if (getenv("BUDDY_UNDER_VALGRIND"))
		print_message("replay python-imports.rep skipped under valgrind (298,639 ops)\n");
	else
		replay_file(dir, "python-imports.rep", 0, 0.02);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_replay_traces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
