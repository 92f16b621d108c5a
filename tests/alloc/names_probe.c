/* SPDX-License-Identifier: MIT */
/*
 * names_probe.c - balloc_names() called by several threads at once, built
 * with ThreadSanitizer together with src/alloc/registry.c alone (the
 * constructors it names are stubs here): any write balloc_names() made to
 * shared memory would be a race TSan reports, failing the test. It used to
 * fill a static array on every call.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "buddy/alloc.h"
#include "buddy/kmalloc.h"

int balloc_buddy_heap_create(const struct balloc_options *opt, struct balloc *out)
{
	(void)opt, (void)out;
	return 0;
}

int balloc_kmalloc_create(const struct balloc_options *opt, struct balloc *out)
{
	(void)opt, (void)out;
	return 0;
}

int balloc_bestfit_create(const struct balloc_options *opt, struct balloc *out)
{
	(void)opt, (void)out;
	return 0;
}

int balloc_system_create(const struct balloc_options *opt, struct balloc *out)
{
	(void)opt, (void)out;
	return 0;
}

#define THREADS 4
#define CALLS 2000

static void *caller(void *arg)
{
	size_t *bad = arg;
	for (int i = 0; i < CALLS; i++) {
		const char *const *n = balloc_names();
		if (!n[0] || strcmp(n[0], "buddy") != 0 || !n[1] || strcmp(n[1], "kmalloc") != 0 ||
		    !n[2] || strcmp(n[2], "bestfit") != 0 || !n[3] || strcmp(n[3], "system") != 0 ||
		    n[4])
			(*bad)++;
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	size_t bad[THREADS] = { 0 };
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, caller, &bad[i]) != 0)
			return 2;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		if (bad[i]) {
			fprintf(stderr, "thread %d saw a wrong name list %zu times\n", i, bad[i]);
			return 1;
		}
	printf("%d threads called balloc_names() %d times each\n", THREADS, CALLS);
	return 0;
}
