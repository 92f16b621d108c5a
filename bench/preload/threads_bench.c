/* SPDX-License-Identifier: MIT */
/*
 * threads_bench.c - a multi-threaded allocation benchmark for the process
 * malloc and its peers (run under each through LD_PRELOAD by
 * bench/preload/threads.sh): THREADS threads each do OPS operations on 4096
 * slots of their own, mixed small (16-256 bytes, 70%), medium (257-4096,
 * 25%) and larger (4097-32768, 5%) mallocs, each block's first and last
 * bytes written; one block in eight is handed to the next thread and freed
 * there. Hand-offs go in batches of OUTBOX blocks through a ring under a
 * mutex (each ring on cache lines of its own), so that the benchmark's own
 * synchronisation stays small beside the allocator's work: one lock per
 * 512 operations or so, as a program that passes work between threads in
 * batches does. Prints the operations (a malloc and its free) per second
 * over all threads.
 * Usage: threads_bench THREADS [OPS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SLOTS = 4096, RING = 1024, OUTBOX = 64 };

struct ring {
	_Alignas(64) pthread_mutex_t lock;
	unsigned head, tail; /* head: written under the lock, read without it to skip an empty ring */
	void *slot[RING];
};

static struct ring *rings;
static int nthreads;
static long ops = 2000000;

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

static size_t pick(uint64_t *s)
{
	uint32_t r = rnd(s) % 100;
	if (r < 70)
		return 16 + rnd(s) % 241;
	if (r < 95)
		return 257 + rnd(s) % 3840;
	return 4097 + rnd(s) % 28672;
}

/* Free what other threads handed over. */
static void drain(struct ring *r)
{
	void *batch[RING];
	unsigned n = 0;
	if (__atomic_load_n(&r->head, __ATOMIC_RELAXED) == r->tail)
		return; /* only this thread moves tail */
	pthread_mutex_lock(&r->lock);
	while (r->tail != r->head)
		batch[n++] = r->slot[r->tail++ % RING];
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < n; i++)
		free(batch[i]);
}

/* Hand the n blocks of out to ring r; those that do not fit are freed here. */
static void hand(struct ring *r, void **out, unsigned n)
{
	unsigned i = 0;
	pthread_mutex_lock(&r->lock);
	for (; i < n && r->head - r->tail < RING; i++) {
		r->slot[r->head % RING] = out[i];
		__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&r->lock);
	for (; i < n; i++)
		free(out[i]);
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
	char **slot = calloc(SLOTS, sizeof(*slot));
	void *out[OUTBOX];
	unsigned nout = 0;
	struct ring *next = &rings[(id + 1) % nthreads];
	for (long i = 0; i < ops; i++) {
		unsigned k = rnd(&s) % SLOTS;
		if (slot[k]) {
			if (rnd(&s) % 8 == 0) {
				out[nout++] = slot[k];
				if (nout == OUTBOX) {
					hand(next, out, nout);
					nout = 0;
				}
			} else {
				free(slot[k]);
			}
			slot[k] = NULL;
		}
		size_t n = pick(&s);
		slot[k] = malloc(n);
		slot[k][0] = (char)i;
		slot[k][n - 1] = (char)i;
		if ((i & 255) == 0)
			drain(&rings[id]);
	}
	hand(next, out, nout);
	for (unsigned k = 0; k < SLOTS; k++)
		free(slot[k]);
	free(slot);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (nthreads = (int)strtol(argv[1], NULL, 10)) < 1) {
		fprintf(stderr, "usage: threads_bench THREADS [OPS]\n");
		return 2;
	}
	if (argc > 2)
		ops = strtol(argv[2], NULL, 10);
	rings = aligned_alloc(_Alignof(struct ring), (size_t)nthreads * sizeof(*rings));
	if (!rings)
		return 1;
	memset(rings, 0, (size_t)nthreads * sizeof(*rings));
	for (int i = 0; i < nthreads; i++)
		pthread_mutex_init(&rings[i].lock, NULL);
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (int i = 0; i < nthreads; i++)
		drain(&rings[i]);
	double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.0f\n", (double)ops * nthreads / sec);
	free(t);
	free(rings);
	return 0;
}
