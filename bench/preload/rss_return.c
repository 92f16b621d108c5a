/* SPDX-License-Identifier: MIT */
/*
 * rss_return.c - does memory go back to the system? Allocates 1 GiB in
 * small (16-1024 bytes) and large (64 KiB-1 MiB) blocks, each touched,
 * frees them all, then does a little more work (a thousand small
 * mallocs and frees); prints the resident size (VmRSS) after each phase,
 * in MiB: "peak A after-free B after-work C". Run under each allocator
 * through LD_PRELOAD (bench/preload/rss.sh).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double rss_mib(void)
{
	char line[256];
	double kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtod(line + 6, NULL);
			break;
		}
	fclose(f);
	return kib / 1024;
}

int main(void)
{
	enum { MAXB = 4000000 };
	static void *b[MAXB];
	size_t total = 0, n = 0;
	unsigned x = 12345;
	while (total < ((size_t)1 << 30) && n < MAXB) {
		x = x * 1103515245u + 12345u;
		size_t sz = (n % 64 == 63) ? ((size_t)64 << 10) + x % ((size_t)960 << 10) : 16 + x % 1009;
		b[n] = malloc(sz);
		if (!b[n])
			return 1;
		memset(b[n], 1, sz);
		total += sz;
		n++;
	}
	double peak = rss_mib();
	for (size_t i = 0; i < n; i++)
		free(b[i]);
	double after_free = rss_mib();
	for (int i = 0; i < 1000; i++) {
		void *p = malloc(64 + (size_t)i);
		memset(p, 2, 64);
		free(p);
	}
	printf("peak %.1f after-free %.1f after-work %.1f (MiB; %zu blocks, %zu MiB)\n", peak,
	       after_free, rss_mib(), n, total >> 20);
	return 0;
}
