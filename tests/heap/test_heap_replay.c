/* SPDX-License-Identifier: MIT */
/*
 * test_heap_replay.c - replays the recorded .rep traces (CS:APP malloc-lab
 * form, see ../shared/traces/README.md) through a default buddy heap, with
 * every block stamped and verified, and prints internal fragmentation and
 * peak footprint per trace. Skips cleanly when the traces are absent.
 *
 * Internal fragmentation here is 1 - peak requested / peak held bytes;
 * utilization is peak requested / peak footprint (mdriver's measure), the
 * footprint counting chunks, their metadata and the heap's own state.
 */
#include "heap_test.h"

#include <errno.h>

struct replay {
	struct bheap *h;
	unsigned char **p; /* live block per id */
	size_t *size;      /* requested bytes per id */
	size_t nids;
	unsigned long ops;
};

static void stamp(unsigned char *p, size_t size, size_t id)
{
	size_t n = size < 8 ? size : 8;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(id >> (i * 8 % 32)) ^ (unsigned char)i;
	if (size > 8)
		p[size - 1] = (unsigned char)(id * 31u);
}

static int stamp_ok(const unsigned char *p, size_t size, size_t id)
{
	size_t n = size < 8 ? size : 8;
	for (size_t i = 0; i < n; i++)
		if (p[i] != ((unsigned char)(id >> (i * 8 % 32)) ^ (unsigned char)i))
			return 0;
	return size <= 8 || p[size - 1] == (unsigned char)(id * 31u);
}

/* One trace line; 0 on success. */
static int replay_op(struct replay *r, char op, long id, size_t bytes)
{
	if (id < 0)
		return 0; /* free(NULL) in later dialects */
	if ((size_t)id >= r->nids)
		return -1;
	unsigned char **slot = &r->p[id];
	if (op == 'a' || (op == 'r' && !*slot)) {
		*slot = bheap_malloc(r->h, bytes);
	} else if (op == 'r') {
		size_t keep = r->size[id] < bytes ? r->size[id] : bytes;
		if (!stamp_ok(*slot, r->size[id], (size_t)id))
			return -1;
		*slot = bheap_realloc(r->h, *slot, bytes);
		if (*slot && keep && (*slot)[0] != (unsigned char)id)
			return -1;
	} else if (op == 'f') {
		if (*slot && !stamp_ok(*slot, r->size[id], (size_t)id))
			return -1;
		bheap_free(r->h, *slot);
		*slot = NULL;
		return 0;
	} else {
		return -1;
	}
	if (!*slot && bytes)
		return -1;
	r->size[id] = bytes;
	if (*slot)
		stamp(*slot, bytes, (size_t)id);
	return 0;
}

/* Replay one file; returns the number of operations, or skips/fails. */
static void replay_file(const char *dir, const char *name, unsigned long max_ops)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	unsigned long peak_hdr, nids, nops, weight;
	assert_int_equal(fscanf(f, "%lu %lu %lu %lu", &peak_hdr, &nids, &nops, &weight), 4);
	if (nops > max_ops) {
		print_message("replay %-20s skipped (%lu ops; scaled down)\n", name, nops);
		fclose(f);
		return;
	}
	struct replay r = { bheap_create(NULL), calloc(nids, sizeof(*r.p)),
			    calloc(nids, sizeof(size_t)), nids, 0 };
	assert_non_null(r.h);
	char op;
	long id;
	while (fscanf(f, " %c %ld", &op, &id) == 2) {
		size_t bytes = 0;
		if (op != 'f')
			assert_int_equal(fscanf(f, "%zu", &bytes), 1);
		assert_int_equal(replay_op(&r, op, id, bytes), 0);
		r.ops++;
	}
	fclose(f);
	assert_int_equal(r.ops, nops);
	assert_heap_ok(r.h);

	struct bheap_stats st;
	bheap_get_stats(r.h, &st);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.misuse, 0);
	assert_int_equal(st.peak_requested_bytes, peak_hdr); /* the trace's own peak */
	print_message("replay %-20s ops %7lu  peak requested %9zu  peak held %9zu  "
		      "internal frag %5.1f%%  peak arena %9zu  peak footprint %9zu  "
		      "utilization %5.1f%%  robson %9zu (%s)\n",
		      name, r.ops, st.peak_requested_bytes, st.peak_held_bytes,
		      100.0 * (1.0 - (double)st.peak_requested_bytes / (double)st.peak_held_bytes),
		      st.peak_arena_bytes, st.peak_footprint_bytes,
		      100.0 * (double)st.peak_requested_bytes / (double)st.peak_footprint_bytes,
		      st.robson_bytes, st.robson_met ? "met" : "not met");
	for (size_t i = 0; i < nids; i++)
		bheap_free(r.h, r.p[i]);
	bheap_get_stats(r.h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_heap_ok(r.h);
	bheap_destroy(r.h);
	free(r.p);
	free(r.size);
}

static void test_heap_replay_traces(void **state)
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
	static const char *const traces[] = { "git-status.rep", "sort.rep", "tar-gz.rep",
					      "cc1-O0-small.rep", "python-imports.rep" };
	unsigned long max_ops = under_valgrind() ? 30000 : 1000000;
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++)
		replay_file(dir, traces[i], max_ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_replay_traces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
