/* SPDX-License-Identifier: MIT */
/*
 * kmalloc_test.h - helpers shared by the kmalloc heap's tests: a map hook
 * that counts and can be told to fail, an error handler that records what
 * it was told, a log hook that counts events, byte patterns, and the
 * heap's check as an assertion.
 */
#ifndef KMALLOC_TEST_H
#define KMALLOC_TEST_H

#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "buddy/kmalloc.h"
#include "common/annotate.h"

/* Skip a test whose damage the expensive debug tier (common/debug.h) stops at by design. */
#if BUDDY_DEBUG >= 2
#define SKIP_IF_FULL_CHECKS()                                                                  \
	do {                                                                                   \
		print_message("skipped: the full check after each call traps on this damage "  \
			      "by design\n");                                                \
		skip();                                                                        \
	} while (0)
#else
#define SKIP_IF_FULL_CHECKS() ((void)0)
#endif

/* Map hook state: counts, and the call number (from 1) that fails. */
struct kmap {
	int calls;       /* map calls so far */
	int fail_from;   /* fail every call from this number on; 0 = never */
	int unmaps;      /* unmap calls so far */
	size_t mapped;   /* bytes mapped now */
};

static inline void *kmap_map(void *arg, size_t len)
{
	struct kmap *m = arg;
	m->calls++;
	if (m->fail_from && m->calls >= m->fail_from)
		return NULL;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	m->mapped += len;
	return p;
}

static inline void kmap_unmap(void *arg, void *p, size_t len)
{
	struct kmap *m = arg;
	m->unmaps++;
	m->mapped -= len;
	munmap(p, len);
}

/* What on_error was told. */
struct kerr {
	int count;
	int kind;
	char op[32];
	const void *ptr;
	char msg[256];
};

static inline void kerr_record(void *arg, int kind, const char *op, const void *ptr,
			       const char *msg)
{
	struct kerr *e = arg;
	e->count++;
	e->kind = kind;
	snprintf(e->op, sizeof(e->op), "%s", op);
	e->ptr = ptr;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

/* Events the log hook saw, by kind. */
struct klog {
	int n[BKM_EV_RELEASE + 1];
	size_t released; /* bytes of BKM_EV_RELEASE events */
	char last_cache[32];
};

static inline void klog_record(void *arg, const struct bkm_event *ev)
{
	struct klog *l = arg;
	l->n[ev->kind]++;
	if (ev->kind == BKM_EV_RELEASE)
		l->released += ev->bytes;
	if (ev->cache)
		snprintf(l->last_cache, sizeof(l->last_cache), "%s", ev->cache);
}

/* A configuration with the hooks given (any may be NULL). */
static inline struct bkm_config kconfig(struct kmap *m, struct kerr *e, struct klog *l)
{
	struct bkm_config cfg;
	bkm_config_default(&cfg);
	cfg.random = 0x0123456789abcdefull;
	if (m) {
		cfg.map = kmap_map;
		cfg.unmap = kmap_unmap;
		cfg.map_arg = m;
	}
	if (e) {
		cfg.on_error = kerr_record;
		cfg.error_arg = e;
	}
	if (l) {
		cfg.log = klog_record;
		cfg.log_arg = l;
	}
	return cfg;
}

static inline struct bkm_heap *kheap(const struct bkm_config *cfg)
{
	struct bkm_heap *h = bkm_create(cfg);
	assert_non_null(h);
	return h;
}

static inline void kreport(void *arg, const char *msg)
{
	(void)arg;
	print_error("check: %s\n", msg);
}

#define assert_kheap_ok(h) assert_int_equal(bkm_check((h), kreport, NULL), 0)

static inline unsigned char kpat(unsigned seed, size_t i)
{
	return (unsigned char)((seed * 2654435761u) >> 24 ^ (unsigned)i * 31u);
}

static inline void kfill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = kpat(seed, i);
}

static inline int kfill_ok(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != kpat(seed, i))
			return 0;
	return 1;
}

#endif /* KMALLOC_TEST_H */
