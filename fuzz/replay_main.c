/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c - runs a fuzz harness over saved inputs without libFuzzer:
 * each argument is a file, or a directory whose regular files are replayed
 * in name order. Built with any compiler and run under valgrind, it turns
 * the seed corpora and every crash input kept in fuzz/regressions/ into
 * ordinary tests. Exit status 0 when every input ran; a harness that finds
 * a problem aborts.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, opendir */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (1u << 20) /* larger inputs are a mistake, not a test */

static int replay_file(const char *path)
{
	static uint8_t buf[INPUT_MAX];
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return 1;
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	int err = ferror(f) || !feof(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "replay: cannot read %s (or above %u bytes)\n", path, INPUT_MAX);
		return 1;
	}
	/* A private copy of exactly n bytes, so reads past the end are caught. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return 1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	char *names[4096];
	size_t n = 0;
	int bad = 0;
	const struct dirent *e;

	if (!d) {
		fprintf(stderr, "replay: cannot open %s\n", dir);
		return 1;
	}
	while ((e = readdir(d)) && n < sizeof(names) / sizeof(names[0]))
		if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		bad |= replay_file(path);
		free(names[i]);
		++*count;
	}
	return bad;
}

int main(int argc, char **argv)
{
	int bad = 0, count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			bad |= replay_dir(argv[i], &count);
		} else {
			bad |= replay_file(argv[i]);
			count++;
		}
	}
	printf("replay: %d inputs%s\n", count, bad ? ", some unreadable" : "");
	return bad;
}
