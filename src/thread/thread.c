/* SPDX-License-Identifier: MIT */
/*
 * thread.c - the hosted helper of buddy/thread.h: pthread locks, a page set
 * per thread in thread-local storage, membarrier as the page-set protocol's
 * heavy barrier. Outside the freestanding core (src/page never includes it).
 */
#define _GNU_SOURCE
#include "buddy/thread.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/compiler.h"

/* --- locks --- */

static void mutex_lock(void *arg)
{
	pthread_mutex_lock(&((struct buddy_thread_lock *)arg)->mutex);
}

static void mutex_unlock(void *arg)
{
	pthread_mutex_unlock(&((struct buddy_thread_lock *)arg)->mutex);
}

static int mutex_trylock(void *arg)
{
	return pthread_mutex_trylock(&((struct buddy_thread_lock *)arg)->mutex) == 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Test and test-and-set; after 64 looks at a held lock, yield the CPU (its
 * holder may be descheduled: more threads than cores). */
static void spin_lock(void *arg)
{
	int *w = &((struct buddy_thread_lock *)arg)->spin;
	for (unsigned tries = 0;; tries++) {
		if (!__atomic_load_n(w, __ATOMIC_RELAXED) && !__atomic_exchange_n(w, 1, __ATOMIC_ACQUIRE))
			return;
		if (tries < 64)
			cpu_relax();
		else
			sched_yield();
	}
}

static void spin_unlock(void *arg)
{
	__atomic_store_n(&((struct buddy_thread_lock *)arg)->spin, 0, __ATOMIC_RELEASE);
}

static int spin_trylock(void *arg)
{
	int *w = &((struct buddy_thread_lock *)arg)->spin;
	return !__atomic_load_n(w, __ATOMIC_RELAXED) && !__atomic_exchange_n(w, 1, __ATOMIC_ACQUIRE);
}

static void yield(void *arg)
{
	(void)arg;
	sched_yield();
}

/* --- the heavy barrier --- */

static int membarrier_state; /* 0 unknown, 1 registered, -1 unavailable */

static void membarrier_heavy(void *arg)
{
	(void)arg;
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		abort(); /* registered below: it cannot fail (membarrier(2)) */
}

static int membarrier_ready(void)
{
	int st = __atomic_load_n(&membarrier_state, __ATOMIC_ACQUIRE);
	if (st == 0) {
		long q = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
		st = q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
				     syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
			     ? 1
			     : -1;
		__atomic_store_n(&membarrier_state, st, __ATOMIC_RELEASE);
	}
	return st > 0;
}

/* --- a page set per thread --- */

/*
 * A thread's page sets, one per zone it used, in a list in thread-local
 * storage; buddy_thread_last_ is the one used last and its zone (one
 * compare on the fast path). The key's destructor gives them back when the
 * thread exits. initial-exec: a thread-local access is one move, also in
 * the shared library.
 */
struct thread_set {
	struct buddy_pageset ps;
	struct thread_set *next;
};

#define TLS_IE __thread __attribute__((tls_model("initial-exec")))
static TLS_IE struct thread_set *tls_sets;
__thread struct buddy_thread_last_ buddy_thread_last_ __attribute__((tls_model("initial-exec"))) = {
	BUDDY_THREAD_NO_ZONE_, NULL
};

/* The thread's last set is ps (of zone z), or none. */
static struct buddy_pageset *set_last(struct buddy_zone *z, struct buddy_pageset *ps)
{
	buddy_thread_last_.zone = ps ? z : BUDDY_THREAD_NO_ZONE_;
	buddy_thread_last_.ps = ps;
	return ps;
}
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;

static void thread_exit(void *unused)
{
	(void)unused;
	struct thread_set *t = tls_sets;
	tls_sets = NULL;
	set_last(NULL, NULL);
	while (t) {
		struct thread_set *next = t->next;
		buddy_pageset_release(&t->ps);
		free(t);
		t = next;
	}
}

static void exit_key_create(void)
{
	exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

static NOINLINE struct buddy_pageset *thread_pageset_slow(struct buddy_zone *z)
{
	struct thread_set **pp = &tls_sets, *t;

	/* Find the zone's set; drop sets whose zone has let them go. */
	while ((t = *pp) != NULL) {
		struct buddy_zone *tz = __atomic_load_n(&t->ps.zone, __ATOMIC_RELAXED);
		if (tz == z)
			return set_last(z, &t->ps);
		if (!tz) {
			*pp = t->next;
			if (buddy_thread_last_.ps == &t->ps)
				set_last(NULL, NULL);
			free(t);
			continue;
		}
		pp = &t->next;
	}
	pthread_once(&exit_once, exit_key_create);
	if (!exit_key_ok || pthread_setspecific(exit_key, (void *)1) != 0)
		return NULL; /* no way to give it back at exit: use the zone */
	t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	if (buddy_pageset_init(z, &t->ps) != BUDDY_OK) {
		free(t);
		return NULL;
	}
	t->next = tls_sets;
	tls_sets = t;
	return set_last(z, &t->ps);
}

struct buddy_pageset *buddy_thread_pageset(struct buddy_zone *z)
{
	struct buddy_pageset *ps = buddy_thread_last_.ps;
	if (likely(ps && __atomic_load_n(&ps->zone, __ATOMIC_RELAXED) == z))
		return ps;
	return z ? thread_pageset_slow(z) : NULL;
}

void *buddy_thread_alloc_pages_miss(struct buddy_zone *z, unsigned order, unsigned flags)
{
	struct buddy_pageset *ps = buddy_thread_pageset(z);
	return ps ? buddy_pageset_alloc_pages(ps, order, flags) : buddy_alloc_pages(z, order, flags);
}

int buddy_thread_free_pages_miss(struct buddy_zone *z, void *addr, unsigned order)
{
	struct buddy_pageset *ps = buddy_thread_pageset(z);
	return ps ? buddy_pageset_free_pages(ps, addr, order) : buddy_free_pages(z, addr, order);
}

static struct buddy_pageset *pageset_hook(struct buddy_zone *z, void *arg)
{
	(void)arg;
	return buddy_thread_pageset(z);
}

void buddy_thread_zone_fini(struct buddy_zone *z)
{
	buddy_zone_release_pagesets(z);
}

/* --- configuration --- */

int buddy_thread_config(struct buddy_config *cfg, struct buddy_thread_lock *lk,
			enum buddy_lock_kind kind, unsigned flags)
{
	if (!cfg || !lk || (unsigned)kind > BUDDY_LOCK_SPIN ||
	    (flags & ~(BUDDY_THREAD_PAGESETS | BUDDY_THREAD_NO_BARRIER | BUDDY_THREAD_STRICT)))
		return EINVAL;
	if (kind == BUDDY_LOCK_DEFAULT)
		kind = BUDDY_LOCK_MUTEX;
	lk->kind = kind;
	lk->spin = 0;
	if (kind == BUDDY_LOCK_MUTEX) {
		int rc = pthread_mutex_init(&lk->mutex, NULL);
		if (rc)
			return rc;
		cfg->lock = mutex_lock;
		cfg->unlock = mutex_unlock;
		cfg->trylock = mutex_trylock;
	} else {
		cfg->lock = spin_lock;
		cfg->unlock = spin_unlock;
		cfg->trylock = spin_trylock;
	}
	cfg->lock_arg = lk;
	cfg->relax = yield;
	cfg->barrier = !(flags & BUDDY_THREAD_NO_BARRIER) && membarrier_ready() ? membarrier_heavy
										 : NULL;
	if (flags & BUDDY_THREAD_STRICT)
		cfg->strict_frees = 1;
	if (flags & BUDDY_THREAD_PAGESETS) {
		if (!cfg->pcp_high) {
			cfg->pcp_high = BUDDY_THREAD_PCP_HIGH;
			cfg->pcp_max_order = BUDDY_THREAD_PCP_MAX_ORDER;
		}
		cfg->pageset = pageset_hook;
		cfg->pageset_arg = NULL;
	}
	return 0;
}

void buddy_thread_lock_destroy(struct buddy_thread_lock *lk)
{
	if (lk && lk->kind == BUDDY_LOCK_MUTEX)
		pthread_mutex_destroy(&lk->mutex);
}
