/* SPDX-License-Identifier: MIT */
/*
 * preload.c - the process malloc (buddy/malloc.h): one kmalloc heap behind
 * a lock per size class and a heap lock, per-thread object caches in front
 * of it, the owner map that lets free find an object's size class without
 * a lock, the thread-exit and fork handlers, the environment options and
 * the exit report.
 *
 * Compiled twice: into libbuddy with the bmalloc_ names only, and with
 * BMALLOC_EXPORT into libbuddymalloc, which also defines malloc, free and
 * the rest of the C API.
 *
 * What it owns: the heap (all memory, through the heap's own mappings);
 * one struct bmal_tcache per thread, itself an object of the heap; the
 * owner map, mmap'd leaves of one byte per zone page; a few globals.
 *
 * Locks (pthread mutexes): class_lock[c] guards the slab cache of size
 * class c (its slabs, lists and counters); heap_lock guards the rest of the
 * heap (the zone, the arenas and their page maps, runs, huge blocks, the
 * heap's counters), the owner map's leaves being made, and the globals
 * counting threads; the options and the class table are written once
 * before `ready` is published. A thread's cache is touched only by its
 * thread (no lock). A refill or a flush of class c holds class_lock[c]
 * and works on the cache through the slab layer's paths; when the cache
 * needs a slab from the zone or gives one back, the heap's page source
 * takes heap_lock inside (the heap's page_lock hook). Every other call
 * (runs, huge and aligned blocks, calls without a thread cache) takes the
 * class locks of the classes it may touch (the owner map's class of the
 * pointer, the class of the size), in ascending order, then heap_lock,
 * and calls the heap. Lock order: thread cache -> class_lock[c] in
 * ascending c -> heap_lock (-> the heap's zone, which has no lock of its
 * own here). heap_lock may be taken again by the thread holding it (a
 * depth count): the page source's hold nests inside a call's. The
 * counters of refills and flushes are atomic. Statistics and the fork
 * handlers take every lock; a malloc by the forking thread inside another
 * prepare handler proceeds under the locks it already holds.
 *
 * Invariants (M1..M4; the unit tests and, for M1, BUDDY_MALLOC_CHECK=2's
 * bkm_check verify them):
 *   M1 the heap's own invariants hold (K1..K6 of the kmalloc heap);
 *   M2 every object in a bin is a live block of the heap of that bin's
 *      class, in no other bin, its second word holding free_key;
 *   M3 for every live small block p handed out with the caches on, the
 *      owner map byte of p's zone page is the heap's page map byte of that
 *      page (1 + p's class, plus KM_PG_SMALL on a small slab); a zero byte
 *      sends a free to the locked, checked path (always safe);
 *   M4 a bin holds at most its class's `high` objects; `count` is its
 *      length.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buddy/common.h"
#include "buddy/kmalloc.h"
#include "buddy/malloc.h"
#include "buddy/page.h"
#include "buddy/slab.h"
#include "common/annotate.h"
#include "common/compiler.h"
#include "common/fmt.h"
#include "kmalloc/kmalloc_internal.h"
#include "slab/slab_internal.h"

#define TLS_IE __attribute__((tls_model("initial-exec")))
#define MAL_ALIGN 16u              /* every small object's alignment (max_align_t) */
#define MAL_MAX_SMALL 32768u       /* the heap's largest class here, and the cached ones */
/*
 * Bytes a full bin holds, about (at most MAL_HIGH_MAX objects): 8 objects
 * of 32 KiB, 16 of 16 KiB, 64 up to 4 KiB. At 128 KiB (4 of 32 KiB, 32 of
 * 4 KiB) preload_threads_bench's two threads spent their time in the
 * refills and flushes of the classes above 4 KiB, whose slabs hold one to
 * three objects: every refill took slabs from the zone under heap_lock and
 * every flush gave them back. At 256 KiB, in one run of 12 alternating
 * pairs, 2 threads did 49-53 M operations a second against 40-44 while
 * cache lines moved slowly between the cores, and 1 thread 54-60 against
 * 53-55.
 */
#define MAL_CACHE_BUDGET 262144u
#define MAL_HIGH_MIN 4u
#define MAL_REFILL_MIN 2u
#define MAL_REFILL_ONE 1024u       /* larger classes' first refill takes one object */
#define MAL_HIGH_MAX 64u
_Static_assert(MAL_CACHE_BUDGET / MAL_MAX_SMALL >= MAL_HIGH_MIN, "a bin of the largest class holds 4");
_Static_assert(MAL_CACHE_BUDGET / 4096u >= MAL_HIGH_MAX, "classes up to 4 KiB hold 64");
#define MAL_TOP_SHIFT 32u          /* owner map: top level by bits 32..47 */
#define MAL_TOP_LEN ((size_t)1 << 16)
#define MAL_ADDR_BITS 48u
#define MAL_STATS_BUF 16384u
_Static_assert(MAL_STATS_BUF >= 1024u + BKM_CLASSES_MAX * 128u, "the exit report fits");
#define MAL_RECIP_SHIFT 44u        /* object index by multiplication, as the slab caches */
#define MAL_MAP_BYTES ((size_t)128 << 10) /* blocks this large: a mapping each (huge_bytes) */

/*
 * One bin: objects of a class, linked through their first word (masked).
 * A bin's refills start at MAL_REFILL_MIN objects (one above
 * MAL_REFILL_ONE bytes) and double up to the class's batch, so a class a
 * thread uses a little holds little.
 */
struct bmal_bin {
	uintptr_t head;   /* first object ^ link_key; link_key when empty */
	uint32_t count;
	uint32_t refill;  /* objects the next refill takes; 0 = the class's refill0 */
};

struct bmal_tcache {
	struct bmal_bin bins[BKM_CLASSES_MAX];
};

enum { TC_NONE, TC_MAKING, TC_READY, TC_GONE };

/*
 * The two large arrays are defined before the small globals: GCC lays a
 * file's variables out in the reverse of their order here, so the small
 * ones every process touches lie together on 3 pages (with the first data
 * page), not around these (a process touches one page of map_top, and of
 * stats_buf nothing before an exit report). tar czf: 4 pages of the
 * library's bss touched, not 6. Only resident size depends on it.
 *
 * The owner map: leaves of one byte per zone page, made under heap_lock.
 */
static uint8_t *map_top[MAL_TOP_LEN];
static char stats_buf[MAL_STATS_BUF];

#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP /* glibc: see locks_init */
static pthread_mutex_t heap_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
#else
static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
#endif
static pthread_mutex_t class_lock[BKM_CLASSES_MAX]; /* made with the heap */
static struct bkm_heap *heap;
static int ready;                 /* published with release once the globals below are set */
static int init_done;             /* key and fork handlers registered */

/*
 * A size class as free sees it: the object size, its slab cache's geometry
 * (to tell an object's start from any other address) and the bin limits.
 */
struct bmal_class {
	uint32_t bytes;           /* object (usable) size */
	uint32_t stride;          /* from one object to the next */
	uint32_t first;           /* offset of object 0 in a slab */
	uint8_t high;             /* a bin holds at most this many */
	uint8_t batch;            /* refilled and flushed this many at a time */
	uint8_t refill0;          /* objects the first refill takes */
	uint64_t recip;           /* ceil(2^44 / stride) */
	uintptr_t slab_mask;      /* slab bytes - 1 */
	uintptr_t small_mask;     /* the cache's small first slabs: their bytes - 1 */
};

/* Set once before `ready`, then only read. */
static unsigned nr_classes;
static unsigned page_shift;
static size_t max_small;          /* the largest cached size (0: caches off) */
static struct bmal_class classes[BKM_CLASSES_MAX];
static uint8_t size_class[MAL_MAX_SMALL / MAL_ALIGN + 1]; /* (n + 15) / 16 -> class */
static uintptr_t link_key;        /* masks the bins' links */
static uintptr_t free_key;        /* second word of a cached object */
static int opt_check;             /* BUDDY_MALLOC_CHECK */
static int opt_stats;             /* BUDDY_MALLOC_STATS */
static int stats_fd = -1;         /* a copy of stderr made at the first call, for the report */
static pthread_key_t tc_key;

static uint64_t nr_refills, nr_flushes; /* atomic */
/* Under heap_lock. */
static uint64_t nr_exits;
static size_t nr_threads;

static __thread struct bmal_tcache *tc_self TLS_IE;
static __thread int tc_state TLS_IE;
static __thread int fork_holder TLS_IE; /* this thread holds every lock across fork */
static __thread int heap_held TLS_IE;   /* this thread's holds of heap_lock (nested) */

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return; /* nowhere to say it */
		s += w;
		n -= (size_t)w;
	}
}

/*
 * "buddymalloc: free(): double free at 0x..." on stderr with write(2),
 * then abort. Damage is told by the layer that found it, in its own line
 * ("buddymalloc: bkm: malloc(): ... corrupt ... at 0x..."), which says what
 * and where.
 */
static COLD void mal_error(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	char line[320];
	size_t n;
	(void)arg;
	if (kind == BUDDY_ERR_CORRUPT)
		n = buddy_fmt(line, sizeof(line), "buddymalloc: %s", msg);
	else
		n = buddy_fmt(line, sizeof(line), "buddymalloc: %s(): %s at %p", op,
			      buddy_error_name(kind), ptr);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	write_all(2, line, n);
	abort();
}

/* BUDDY_MALLOC_CHECK=2: the first problem bkm_check finds becomes the line. */
static char check_first[256];

static void check_report(void *arg, const char *msg)
{
	size_t *count = arg;
	if ((*count)++ == 0)
		buddy_fmt(check_first, sizeof(check_first), "%s", msg);
}

static COLD void check_failed(size_t count)
{
	char msg[320];
	buddy_fmt(msg, sizeof(msg), "check(): heap corrupted: %s (%zu problems)",
		  check_first, count);
	mal_error(NULL, BUDDY_ERR_CORRUPT, "check", NULL, msg);
}

/* ------------------------------------------------------------------ */
/* the lock                                                            */
/* ------------------------------------------------------------------ */

static void heap_lock_take(void)
{
	if (heap_held++ || unlikely(fork_holder))
		return;
	pthread_mutex_lock(&heap_lock);
}

static void heap_lock_drop(void)
{
	if (heap_held > 1) {
		heap_held--;
		return;
	}
	/*
	 * The check runs while this thread still counts its hold, so that the
	 * page lookups it makes through the page_lock hook nest in it rather
	 * than wait for the mutex this thread holds.
	 */
	if (unlikely(opt_check >= 2)) { /* (set only once the heap exists; caches off) */
		size_t count = 0;
		bkm_check(heap, check_report, &count);
		if (count)
			check_failed(count);
	}
	heap_held = 0;
	if (unlikely(fork_holder))
		return;
	pthread_mutex_unlock(&heap_lock);
}

/* The heap's page_lock hook: its page source works under heap_lock. */
static void page_lock(void *arg)
{
	(void)arg;
	heap_lock_take();
}

static void page_unlock(void *arg)
{
	(void)arg;
	heap_lock_drop();
}

static void class_lock_take(unsigned c)
{
	if (likely(!fork_holder))
		pthread_mutex_lock(&class_lock[c]);
}

static void class_lock_drop(unsigned c)
{
	if (likely(!fork_holder))
		pthread_mutex_unlock(&class_lock[c]);
}

/*
 * The locks of a call that goes to the heap: the locks of classes a and b
 * (-1: none), in ascending order, then heap_lock. With the caches off no
 * one works on a cache under its class lock alone: heap_lock is enough.
 * In the builds that check the whole heap after every call of it
 * (BUDDY_DEBUG >= 2), every class lock, so that no cache is seen in the
 * middle of a change.
 */
struct held {
	int a, b; /* class locks held, -1 for none; a = -2: all of them */
};

static struct held locks_take(int a, int b)
{
	struct held h = { -1, -1 };
	if (max_small) {
		if (BUDDY_DEBUG >= 2) {
			for (unsigned c = 0; c < nr_classes; c++)
				class_lock_take(c);
			h.a = -2;
		} else {
			h.a = a < b ? a : b;
			h.b = a < b ? b : a;
			if (h.a == h.b)
				h.a = -1;
			if (h.a >= 0)
				class_lock_take((unsigned)h.a);
			if (h.b >= 0)
				class_lock_take((unsigned)h.b);
		}
	}
	heap_lock_take();
	return h;
}

static void locks_drop(struct held h)
{
	heap_lock_drop();
	if (h.a == -2) {
		for (unsigned c = nr_classes; c-- > 0;)
			class_lock_drop(c);
		return;
	}
	if (h.b >= 0)
		class_lock_drop((unsigned)h.b);
	if (h.a >= 0)
		class_lock_drop((unsigned)h.a);
}

/* Every lock, for the statistics and across fork. */
static void lock_all(void)
{
	for (unsigned c = 0; c < nr_classes; c++)
		pthread_mutex_lock(&class_lock[c]);
	pthread_mutex_lock(&heap_lock);
}

static void unlock_all(void)
{
	pthread_mutex_unlock(&heap_lock);
	for (unsigned c = nr_classes; c-- > 0;)
		pthread_mutex_unlock(&class_lock[c]);
}

/* Every lock for the statistics, unless this thread holds them across fork. */
static void all_take(void)
{
	if (likely(!fork_holder))
		lock_all();
}

static void all_drop(void)
{
	if (likely(!fork_holder))
		unlock_all();
}

static void fork_prepare(void)
{
	lock_all();
	fork_holder = 1;
}

static void fork_parent(void)
{
	fork_holder = 0;
	unlock_all();
}

/*
 * The locks spin a while before they sleep (glibc's adaptive mutex): the
 * sections they guard last a microsecond or two, less than a sleep and a
 * wake-up cost. With plain mutexes two threads spent about a third of
 * preload_threads_bench's time in futex calls.
 */
static void locks_init(pthread_mutex_t *m, unsigned n)
{
	/* One attribute object for them all (made per lock, its three calls
	 * were most of what making the locks cost at every start). */
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	for (unsigned i = 0; i < n; i++)
		pthread_mutex_init(&m[i], &attr);
	pthread_mutexattr_destroy(&attr);
#else /* a C library without it: plain mutexes */
	for (unsigned i = 0; i < n; i++)
		pthread_mutex_init(&m[i], NULL);
#endif
}

/* The child has one thread, this one: the others' caches are lost with them. */
static void fork_child(void)
{
	fork_holder = 0;
	nr_threads = tc_self ? 1 : 0;
	locks_init(&heap_lock, 1);
	locks_init(class_lock, nr_classes);
}

/* ------------------------------------------------------------------ */
/* the owner map                                                       */
/* ------------------------------------------------------------------ */

/* 1 + the class of the small block at p, or 0 (not known: take the locked path). */
static inline unsigned map_get(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (unlikely(a >> MAL_ADDR_BITS))
		return 0;
	uint8_t *leaf = __atomic_load_n(&map_top[a >> MAL_TOP_SHIFT], __ATOMIC_ACQUIRE);
	if (unlikely(!leaf))
		return 0;
	return __atomic_load_n(&leaf[(a & 0xffffffffu) >> page_shift], __ATOMIC_RELAXED);
}

/*
 * The class of p if it is the start of an object of a cached class, by
 * the owner map and that class's slab geometry; -1 for anything else
 * (which the heap's checked path then names).
 */
static inline int small_class(const void *p)
{
	unsigned code = map_get(p);
	unsigned c = (code & ~KM_PG_SMALL) - 1u;
	if (unlikely(c >= nr_classes))
		return -1;
	const struct bmal_class *k = &classes[c];
	uintptr_t mask = (code & KM_PG_SMALL) ? k->small_mask : k->slab_mask;
	uintptr_t off = ((uintptr_t)p & mask) - k->first;
	if (unlikely(off > mask + 1 - k->first - k->stride))
		return -1;
	if (unlikely(((off * k->recip) >> MAL_RECIP_SHIFT) * k->stride != off))
		return -1;
	return (int)c;
}

/*
 * Under the lock of the block's class (or heap_lock): set p's byte. A leaf
 * is published with a compare-and-swap (two threads may make one at once:
 * the loser unmaps its own); one that cannot be made leaves the byte 0 (safe).
 */
static void map_set(const void *p, unsigned code)
{
	uintptr_t a = (uintptr_t)p; /* a block of the heap: below 2^48 */
	uint8_t **slot = &map_top[a >> MAL_TOP_SHIFT];
	uint8_t *leaf = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!leaf) {
		if (!code)
			return;
		size_t len = ((size_t)1 << MAL_TOP_SHIFT) >> page_shift;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return;
		leaf = m;
		uint8_t *seen = NULL;
		if (!__atomic_compare_exchange_n(slot, &seen, leaf, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			munmap(m, len);
			leaf = seen;
		}
	}
	__atomic_store_n(&leaf[(a & 0xffffffffu) >> page_shift], (uint8_t)code, __ATOMIC_RELAXED);
}

/*
 * The class the owner map names for p's page, or -1: the class lock a
 * locked call on p takes (for a live small block it is the block's class;
 * for anything else at worst one lock too many).
 */
static int owner_class(const void *p)
{
	unsigned c = (map_get(p) & ~KM_PG_SMALL) - 1u;
	return c < nr_classes ? (int)c : -1;
}

/* The class a request of n bytes takes from the heap, or -1 (a run or a huge block). */
static int size_class_of(size_t n)
{
	return n <= max_small ? (int)size_class[(n + MAL_ALIGN - 1) / MAL_ALIGN] : -1;
}

/*
 * Under heap_lock: the heap's own page map byte for block p (1 + class,
 * plus KM_PG_SMALL on a small first slab), or 0 when p is no cached
 * class's object.
 */
static unsigned page_code(const void *p)
{
	struct bkm_arena *ar = bkm_arena_of(heap, (uintptr_t)p);
	if (!ar)
		return 0;
	unsigned code = ar->map[bkm_page_index(heap, ar, (uintptr_t)p)];
	unsigned c = (code & ~KM_PG_SMALL) - 1u; /* a free page or a run: out of range */
	return c < nr_classes ? code : 0;
}

/* Under heap_lock: record a block the heap handed out on a locked path. */
static void *note_kept(void *p)
{
	if (p && max_small)
		map_set(p, page_code(p));
	return p;
}

/* The same for a new block, whose second word may still hold a key: cleared. */
static void *note(void *p)
{
	if (note_kept(p) && max_small)
		((void **)p)[1] = NULL;
	return p;
}

/* ------------------------------------------------------------------ */
/* initialisation                                                      */
/* ------------------------------------------------------------------ */

/* The number a variable holds (an empty or non-numeric value is 0), or dflt when unset. */
static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);
	return v ? (int)strtol(v, NULL, 10) : dflt;
}

static uintptr_t key_from(uint64_t seed)
{
	seed ^= seed >> 31;
	seed *= 0x9e3779b97f4a7c15ull;
	seed ^= seed >> 29;
	return (uintptr_t)(seed | 1u);
}

/* Classes, bins and the size table from the heap; caches off if they do not fit. */
static void classes_setup(int caches)
{
	/* The caches and the zone themselves, not bkm_get_stats (which adds up
	 * every counter of the heap): this runs at every process's start. */
	nr_classes = 0;
	while (bkm_cache(heap, nr_classes))
		nr_classes++;
	page_shift = bkm_zone(heap)->page_shift;
	for (unsigned i = 0; i < nr_classes; i++) {
		const struct bslab_cache *c = bkm_cache(heap, i);
		struct bmal_class *k = &classes[i];
		size_t high = MAL_CACHE_BUDGET / c->size; /* >= MAL_HIGH_MIN: below */
		if (high > MAL_HIGH_MAX)
			high = MAL_HIGH_MAX;
		k->bytes = (uint32_t)c->size;
		k->stride = c->stride;
		k->first = c->first;
		k->recip = (((uint64_t)1 << MAL_RECIP_SHIFT) + c->stride - 1) / c->stride;
		k->slab_mask = c->slab_bytes - 1;
		k->small_mask = c->small_bytes - 1;
		k->high = (uint8_t)high;
		k->batch = (uint8_t)(high / 2);
		/* A second object of a large class would be most of a slab that a
		 * program using the class once never touches (tar: 0.15 MiB). */
		k->refill0 = c->size > MAL_REFILL_ONE ? 1 : MAL_REFILL_MIN;
	}
	/*
	 * The heap's classes are multiples of 16, in ascending order, and a
	 * request takes the smallest that holds it: sizes b*16-15 .. b*16 all
	 * take the first class of at least b*16 bytes. One run of entries per
	 * class.
	 */
	size_t max_class = nr_classes ? classes[nr_classes - 1].bytes : 0;
	size_t top = max_class < MAL_MAX_SMALL ? max_class : MAL_MAX_SMALL;
	size_t b = 0;
	for (unsigned i = 0; i < nr_classes && b <= top / MAL_ALIGN; i++) {
		BUDDY_ASSERT(classes[i].bytes % MAL_ALIGN == 0);
		size_t end = classes[i].bytes / MAL_ALIGN; /* the last entry of class i */
		if (end > top / MAL_ALIGN)
			end = top / MAL_ALIGN;
		memset(size_class + b, (int)i, end + 1 - b);
		b = end + 1;
	}
	max_small = top * (size_t)(caches != 0);
}

static void heap_setup(void)
{
	struct bkm_config cfg;
	bkm_config_default(&cfg);
	cfg.on_error = mal_error;
	/*
	 * Size classes up to 32 KiB (the heap's default stops at 4 KiB): requests
	 * of 4-32 KiB then come from the thread caches too, instead of taking the
	 * heap lock for a run of pages each time. 16 KiB classes gave about 1.5x
	 * the throughput of 4 KiB ones at 2 threads in bench/preload/threads.sh;
	 * 32 KiB ones, about twice that again (with 16 KiB classes its two
	 * threads spent about a third of their time in futex calls, most of it
	 * on the heap lock that each run of 16-32 KiB took: 2.5% of its
	 * requests). The real programs' peak RSS was unchanged both times: a
	 * slab of one 20 KiB object spans 32 KiB, but its tail is never touched.
	 */
	cfg.max_class_bytes = MAL_MAX_SMALL;
	/*
	 * A process's resident size is what counts here: nothing is touched
	 * before a program uses it (most processes are small: a shell, git),
	 * and blocks of MAL_MAP_BYTES and more are mappings of their own, which
	 * go back to the system when freed, as glibc's mmap threshold (128 KiB)
	 * does; calloc of such a block writes nothing, its fresh pages are zero
	 * (git callocs sparse hash tables of 512 KiB). git's peak RSS: 1.20x
	 * glibc's with these in the arenas, whose free pages go back only
	 * beyond retain_bytes; about 1.03x so (bench/preload/programs.sh).
	 * A lower retain_bytes did as well for git, but had a steady threaded
	 * program give back and fault in pages over and over (4.6 times the
	 * page faults of preload_threads_bench, a quarter less throughput).
	 */
	cfg.populate_bytes = 0;
	cfg.huge_bytes = MAL_MAP_BYTES;
	/*
	 * The zone's free-list links in the arenas' metadata, not in the free
	 * pages: splitting a fresh arena's block, or trimming a run of pages,
	 * then writes (and so faults in) none of the pages it leaves free, and
	 * a program's write after free cannot reach a link. Anonymous memory
	 * at exit: tar czf 308 KiB against 344 (glibc: 212), its gzip 724
	 * against 740 (664), git --version 340 against 348 (244).
	 */
	cfg.outside_links = 1;
	/*
	 * Two small first slabs per class, not the heap's one: most processes
	 * are short (git runs dozens), and a class's second slab then takes one
	 * page, not four. git --version: 163-166 page faults against 167-169
	 * with one (perf stat -r 300, three builds; glibc 134).
	 */
	cfg.small_slabs = 2;
	/* The caches' page source takes heap_lock: the caches have locks of their own. */
	cfg.page_lock = page_lock;
	cfg.page_unlock = page_unlock;
	/* Keys from the system's entropy (should that fail, from addresses ASLR
	 * moves), the heap's too: one getrandom call at start-up, not two. */
	uint64_t seed = (uint64_t)(uintptr_t)&cfg ^ (uint64_t)(uintptr_t)&heap_setup, rnd = 0;
	(void)!getentropy(&rnd, sizeof(rnd));
	seed ^= rnd;
	cfg.random = key_from(seed ^ 0x27d4eb2du);
	heap = bkm_create(&cfg);
	if (!heap)
		return;
	opt_check = env_int("BUDDY_MALLOC_CHECK", 0);
	opt_stats = env_int("BUDDY_MALLOC_STATS", 0);
	if (getenv("BUDDY_MALLOC_STATS_FILE"))
		opt_stats = 1;
	else if (opt_stats)
		stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 10); /* programs may close stderr before exit */
	int caches = !opt_check && env_int("BUDDY_MALLOC_TCACHE", 1) != 0;
	seed ^= (uint64_t)(uintptr_t)heap;
	link_key = key_from(seed);
	free_key = key_from(seed ^ 0x5bd1e995u);
	classes_setup(caches);
	locks_init(class_lock, nr_classes);
}

static void thread_exit(void *arg);

/* The first call in the process: the heap, then (lock dropped) the key and fork handlers. */
static COLD int mal_init(void)
{
	if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return 1;
	heap_lock_take();
	if (!heap)
		heap_setup();
	int ok = heap != NULL;
	heap_lock_drop();
	if (!ok) {
		errno = ENOMEM;
		return 0;
	}
	/* Either may allocate: the heap is there, this thread's cache is not yet. */
	int expected = 0;
	if (__atomic_compare_exchange_n(&init_done, &expected, 1, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		tc_state = TC_MAKING;
		/* Without a key (none left), no thread exit: no caches. */
		max_small *= (size_t)(pthread_key_create(&tc_key, thread_exit) == 0);
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		tc_state = TC_NONE;
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
		return 1;
	}
	if (tc_state == TC_MAKING)
		return 1; /* a call from inside the registrations above */
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		sched_yield();
	return 1;
}

/* ------------------------------------------------------------------ */
/* thread caches                                                       */
/* ------------------------------------------------------------------ */

/* This thread's cache, made now if it may have one; NULL if it may not. */
static COLD struct bmal_tcache *tc_make(void)
{
	if (!mal_init() || !max_small || tc_state != TC_NONE)
		return tc_self;
	tc_state = TC_MAKING;
	struct held held = locks_take(size_class_of(sizeof(struct bmal_tcache)), -1);
	struct bmal_tcache *tc = bkm_calloc(heap, 1, sizeof(*tc));
	if (tc) {
		for (unsigned i = 0; i < nr_classes; i++)
			tc->bins[i].head = link_key;
		nr_threads++;
	}
	locks_drop(held);
	if (!tc) {
		tc_state = TC_NONE;
		return NULL;
	}
	/* May allocate (a second-level key array): this thread takes the locked path meanwhile. */
	pthread_setspecific(tc_key, tc);
	tc_self = tc;
	tc_state = TC_READY;
	return tc;
}

static COLD void link_damaged(const void *o)
{
	char msg[160];
	buddy_fmt(msg, sizeof(msg), "malloc(): corrupted thread cache link to %p", o);
	mal_error(NULL, BUDDY_ERR_CORRUPT, "malloc", o, msg);
}

/*
 * The first object of a non-empty bin of class c. Its link was written
 * into a free object, where a write after free can reach it: the object
 * must be the start of an object of class c (M2), else it is reported.
 */
static inline void *bin_pop(struct bmal_bin *b, unsigned c)
{
	void **o = (void **)(b->head ^ link_key);
	if (unlikely(small_class(o) != (int)c))
		link_damaged(o);
	b->head = (uintptr_t)o[0];
	b->count--;
	o[1] = NULL;
	return o;
}

static inline void bin_push(struct bmal_bin *b, void *p)
{
	void **o = p;
	o[0] = (void *)b->head;
	o[1] = (void *)free_key;
	b->head = (uintptr_t)o ^ link_key;
	b->count++;
}

/*
 * The second word of a small object: free_key while it is in a bin,
 * heap_key() once a bin gave it back to the heap (the slab's free pointer
 * is the first word), cleared whenever the heap hands it out again. A free
 * that finds either is looked at more closely.
 */
static inline uintptr_t heap_key(void)
{
	return free_key ^ 2u;
}

enum { KEY_NONE, KEY_CACHED, KEY_FREED };

static inline int key_of(const void *p)
{
#if BUDDY_ANNOTATE_ASAN
	/* Under AddressSanitizer a free object of the heap is poisoned: such an
	 * object is no cached one, and the heap names the free. */
	if (__asan_address_is_poisoned((void *const *)p + 1))
		return KEY_FREED;
#endif
	uintptr_t w = (uintptr_t)((void *const *)p)[1];
	if (likely(((w ^ free_key) | 2u) != 2u))
		return KEY_NONE;
	return w == free_key ? KEY_CACHED : KEY_FREED;
}

static COLD void cached_damaged(const void *o)
{
	char msg[160];
	buddy_fmt(msg, sizeof(msg), "free(): corrupted thread cache object %p", o);
	mal_error(NULL, BUDDY_ERR_CORRUPT, "free", o, msg);
}

/*
 * Under class_lock[c]: give n objects of class c starting at masked link
 * `head` back to their slabs, found from the owner map (M3) as the heap's
 * free would find them from its page map. A bin holds only live objects
 * of its class (M2): one that its slab refuses means damage.
 */
static void give_back(unsigned c, uintptr_t head, uint32_t n)
{
	struct bslab_cache *cache = &heap->caches[c];
	while (n--) {
		void **o = (void **)(head ^ link_key);
		head = (uintptr_t)o[0];
		unsigned code = map_get(o);
		struct bslab_slab *s = bkm_code_slab(cache, code, o);
		if (unlikely((code & ~KM_PG_SMALL) != c + 1 || s->cache != cache))
			cached_damaged(o);
		o[1] = (void *)heap_key();
		if (unlikely(bslab_free_in(cache, s, o) != BSLAB_OK))
			cached_damaged(o);
	}
}

/*
 * Under class_lock[c]: an object from class c's cache, its owner map byte
 * set (the object came from the cache's current slab, which says whether
 * it is one of the small first slabs); NULL when no memory is left.
 */
static void *take(unsigned c)
{
	struct bslab_cache *cache = &heap->caches[c];
	void *o = bslab_alloc_fast(cache, 0);
	if (unlikely(!o))
		return NULL;
	const struct bslab_slab *s = cache->cur;
	BUDDY_ASSERT((uintptr_t)o - (uintptr_t)s < bslab_bytes(cache, s));
	map_set(o, (1 + c) | (s->order != cache->order ? KM_PG_SMALL : 0));
	return o;
}

/*
 * The bin is empty: take up to `want` objects (a batch, growing from the
 * class's refill0) under the class lock. They go in so that the bin hands
 * them out in the order the slab did, which in a fresh slab is by rising
 * address: consecutive allocations then lie one after the other, as a
 * program that walks its objects in allocation order (Python's cyclic
 * collector walks its lists of containers so) likes best. Handed out in
 * the reverse order of each batch instead, python3's workload of
 * tests/preload/workloads.sh took 20% more CPU time (median 0.54 s against
 * 0.45, six alternating runs).
 */
static NOINLINE void *refill(struct bmal_tcache *tc, unsigned c)
{
	struct bmal_bin *b = &tc->bins[c];
	unsigned want = b->refill ? b->refill : classes[c].refill0, n = 0;
	void *got[MAL_HIGH_MAX];
	BUDDY_ASSERT(want <= MAL_HIGH_MAX);
	b->refill = want * 2 < classes[c].batch ? want * 2 : classes[c].batch;
	class_lock_take(c);
	while (n < want) {
		void *o = take(c);
		if (!o)
			break;
		got[n++] = o;
	}
	class_lock_drop(c);
	while (n)
		bin_push(b, got[--n]);
	__atomic_fetch_add(&nr_refills, 1, __ATOMIC_RELAXED);
	if (!b->count) {
		heap_lock_take();
		heap->failures++;
		heap_lock_drop();
		errno = ENOMEM;
		return NULL;
	}
	return bin_pop(b, c);
}

/* The bin is full: its `batch` coldest objects (at the tail) go back. */
static NOINLINE void flush(struct bmal_bin *b, unsigned c)
{
	uint32_t keep = b->count - classes[c].batch;
	uintptr_t *link = &b->head;
	for (uint32_t i = 0; i < keep; i++)
		link = (uintptr_t *)((*link ^ link_key));
	uintptr_t tail = *link;
	*link = link_key;
	class_lock_take(c);
	give_back(c, tail, b->count - keep);
	class_lock_drop(c);
	__atomic_fetch_add(&nr_flushes, 1, __ATOMIC_RELAXED);
	b->count = keep;
}

/*
 * p's second word holds free_key: p waits in a bin, this thread's or
 * another's (any object handed out has that word cleared, and the key is
 * a random secret), so this free is a second one.
 */
static COLD void double_free(const void *p, const char *op)
{
	mal_error(NULL, BUDDY_ERR_DOUBLE, op, p, NULL);
}

/* Every bin of tc back to the heap, each under its class's lock. */
static void drain(struct bmal_tcache *tc)
{
	for (unsigned i = 0; i < nr_classes; i++) {
		if (!tc->bins[i].count)
			continue;
		class_lock_take(i);
		give_back(i, tc->bins[i].head, tc->bins[i].count);
		class_lock_drop(i);
		tc->bins[i].head = link_key;
		tc->bins[i].count = 0;
	}
}

static void thread_exit(void *arg)
{
	struct bmal_tcache *tc = arg;
	tc_state = TC_GONE;
	tc_self = NULL;
	drain(tc);
	struct held held = locks_take(owner_class(tc), -1);
	bkm_free(heap, tc);
	nr_threads--;
	nr_exits++;
	locks_drop(held);
}

void bmalloc_thread_flush(void)
{
	struct bmal_tcache *tc = tc_self;
	if (tc)
		drain(tc);
}

/* ------------------------------------------------------------------ */
/* the C API                                                           */
/* ------------------------------------------------------------------ */

static NOINLINE void *malloc_slow(size_t n)
{
	if (!mal_init())
		return NULL;
	struct held held = locks_take(size_class_of(n), -1);
	void *p = note(bkm_malloc(heap, n));
	locks_drop(held);
	return p;
}

static inline void *mal_malloc(size_t n)
{
	struct bmal_tcache *tc = tc_self;
	if (unlikely(!tc) && n <= MAL_MAX_SMALL && tc_state == TC_NONE)
		tc = tc_make();
	if (likely(tc != NULL && n <= max_small)) {
		unsigned c = size_class[(n + MAL_ALIGN - 1) / MAL_ALIGN];
		struct bmal_bin *b = &tc->bins[c];
		if (likely(b->count))
			return bin_pop(b, c);
		return refill(tc, c);
	}
	return malloc_slow(n);
}

static NOINLINE void free_slow(void *p)
{
	if (!p || !mal_init())
		return;
	struct held held = locks_take(owner_class(p), -1);
	bkm_free(heap, p);
	locks_drop(held);
}

/* Push p, an object of class c whose key is KEY_NONE, on this thread's bin. */
static inline void free_cached(struct bmal_tcache *tc, void *p, unsigned c)
{
	struct bmal_bin *b = &tc->bins[c];
	if (unlikely(b->count >= classes[c].high))
		flush(b, c);
	bin_push(b, p);
}

static inline void mal_free(void *p)
{
	struct bmal_tcache *tc = tc_self;
	if (unlikely(!tc) && p && tc_state == TC_NONE)
		tc = tc_make();
	if (likely(tc != NULL)) {
		int c = small_class(p);
		if (likely(c >= 0)) {
			int key = key_of(p);
			if (likely(key == KEY_NONE)) {
				free_cached(tc, p, (unsigned)c);
				return;
			}
			if (key == KEY_CACHED)
				double_free(p, "free");
		}
	}
	free_slow(p);
}

static void *mal_calloc(size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	if (bytes <= MAL_MAX_SMALL) {
		void *p = mal_malloc(bytes);
		if (p)
			memset(p, 0, bytes);
		return p;
	}
	if (!mal_init())
		return NULL;
	struct held held = locks_take(-1, -1); /* a run or a huge block: no class */
	/* A huge block (from MAL_MAP_BYTES on) is fresh zero pages: not written. */
	void *p = note(bkm_calloc(heap, n, size));
	locks_drop(held);
	return p;
}

static void *mal_realloc(void *p, size_t n)
{
	if (!p)
		return mal_malloc(n);
	if (n == 0) {
		mal_free(p);
		return NULL;
	}
	struct bmal_tcache *tc = tc_self;
	int c = tc ? small_class(p) : -1;
	int key = c >= 0 ? key_of(p) : KEY_FREED;
	if (key == KEY_CACHED)
		double_free(p, "realloc");
	if (key == KEY_NONE) {
		size_t have = classes[c].bytes;
		if (n <= max_small && size_class[(n + MAL_ALIGN - 1) / MAL_ALIGN] == (unsigned)c)
			return p;
		void *q = mal_malloc(n);
		if (!q)
			return NULL;
		memcpy(q, p, n < have ? n : have);
		free_cached(tc, p, (unsigned)c);
		return q;
	}
	if (!mal_init())
		return NULL;
	struct held held = locks_take(owner_class(p), size_class_of(n));
	/* A block moved to a small object may keep a stale key past n: harmless,
	 * such a key only sends its free to the checked path. */
	void *q = note_kept(bkm_realloc(heap, p, n));
	locks_drop(held);
	return q;
}

/* The class the heap serves an aligned request from (a power of two), or -1. */
static int aligned_class_of(size_t align, size_t n)
{
	if (n > max_small || align > max_small)
		return -1;
	size_t c = align;
	while (c < n)
		c *= 2;
	return size_class_of(c);
}

static void *mal_aligned(size_t align, size_t n)
{
	if (align <= MAL_ALIGN)
		return mal_malloc(n);
	if (!mal_init())
		return NULL;
	struct held held = locks_take(aligned_class_of(align, n), -1);
	void *p = note(bkm_aligned_alloc(heap, align, n));
	locks_drop(held);
	return p;
}

static void *mal_memalign(size_t align, size_t n)
{
	/* glibc: an alignment that is no power of two is rounded up to one. */
	if (align & (align - 1)) {
		size_t a = MAL_ALIGN;
		while (a < align && a <= (SIZE_MAX >> 1))
			a <<= 1;
		if (a < align) {
			errno = EINVAL;
			return NULL;
		}
		align = a;
	}
	return mal_aligned(align, n);
}

static int mal_posix_memalign(void **out, size_t align, size_t n)
{
	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = mal_aligned(align, n);
	int err = p ? 0 : errno;
	errno = saved;
	if (p)
		*out = p;
	return err;
}

static size_t sys_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void *mal_pvalloc(size_t n)
{
	size_t pg = sys_page();
	if (n > SIZE_MAX - pg) {
		errno = ENOMEM;
		return NULL;
	}
	return mal_aligned(pg, (n + pg - 1) & ~(pg - 1));
}

static size_t mal_usable_size(const void *p)
{
	if (!p)
		return 0;
	int c = tc_self ? small_class(p) : -1;
	int key = c >= 0 ? key_of(p) : KEY_FREED;
	if (key == KEY_CACHED)
		double_free(p, "malloc_usable_size");
	if (key == KEY_NONE)
		return classes[c].bytes;
	if (!mal_init())
		return 0;
	struct held held = locks_take(owner_class(p), -1);
	size_t n = bkm_usable_size(heap, p);
	locks_drop(held);
	return n;
}

static void *mal_reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return mal_realloc(p, bytes);
}

void *bmalloc_malloc(size_t size)
{
	return mal_malloc(size);
}

void bmalloc_free(void *p)
{
	mal_free(p);
}

void *bmalloc_calloc(size_t n, size_t size)
{
	return mal_calloc(n, size);
}

void *bmalloc_realloc(void *p, size_t size)
{
	return mal_realloc(p, size);
}

void *bmalloc_reallocarray(void *p, size_t n, size_t size)
{
	return mal_reallocarray(p, n, size);
}

void *bmalloc_aligned_alloc(size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return mal_aligned(align, size);
}

int bmalloc_posix_memalign(void **out, size_t align, size_t size)
{
	return mal_posix_memalign(out, align, size);
}

void *bmalloc_memalign(size_t align, size_t size)
{
	return mal_memalign(align, size);
}

void *bmalloc_valloc(size_t size)
{
	return mal_aligned(sys_page(), size);
}

void *bmalloc_pvalloc(size_t size)
{
	return mal_pvalloc(size);
}

size_t bmalloc_usable_size(const void *p)
{
	return mal_usable_size(p);
}

/* ------------------------------------------------------------------ */
/* statistics                                                          */
/* ------------------------------------------------------------------ */

void bmalloc_get_stats(struct bmalloc_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!mal_init())
		return;
	all_take();
	bkm_get_stats(heap, &st->heap);
	st->refills = __atomic_load_n(&nr_refills, __ATOMIC_RELAXED);
	st->flushes = __atomic_load_n(&nr_flushes, __ATOMIC_RELAXED);
	st->thread_exits = nr_exits;
	st->nr_threads = nr_threads;
	all_drop();
}

void bmalloc_print_stats(int fd)
{
	struct bmalloc_stats st;
	if (!mal_init())
		return;
	bmalloc_get_stats(&st);
	all_take();
	size_t n = buddy_fmt(stats_buf, sizeof(stats_buf),
			     "buddymalloc: allocs %llu frees %llu live_allocs %zu held_bytes %zu "
			     "footprint_bytes %zu peak_footprint_bytes %zu released_bytes %llu "
			     "refills %llu flushes %llu thread_exits %llu nr_threads %zu\n",
			     (unsigned long long)st.heap.allocs, (unsigned long long)st.heap.frees,
			     st.heap.live_allocs, st.heap.held_bytes, st.heap.footprint_bytes,
			     st.heap.peak_footprint_bytes,
			     (unsigned long long)st.heap.released_bytes,
			     (unsigned long long)st.refills, (unsigned long long)st.flushes,
			     (unsigned long long)st.thread_exits, st.nr_threads);
	/* The statistics line and buddyinfo take a few hundred bytes, the slabinfo
	 * lines at most 128 each: MAL_STATS_BUF holds them all. */
	n += buddy_buddyinfo(bkm_zone(heap), stats_buf + n, sizeof(stats_buf) - n);
	n += bkm_slabinfo(heap, stats_buf + n, sizeof(stats_buf) - n);
	n = n < sizeof(stats_buf) ? n : sizeof(stats_buf) - 1;
	write_all(fd, stats_buf, n);
	all_drop();
}

/* At exit: BUDDY_MALLOC_STATS_FILE (appended to; O_APPEND keeps processes' reports whole), else stderr. */
__attribute__((destructor)) static void mal_exit_report(void)
{
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE) || !opt_stats)
		return;
	const char *path = getenv("BUDDY_MALLOC_STATS_FILE");
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : stats_fd;
	if (fd < 0)
		return; /* the file cannot be opened, or stderr was closed at the first call */
	bmalloc_print_stats(fd);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* the C names (libbuddymalloc only)                                   */
/* ------------------------------------------------------------------ */

#ifdef BMALLOC_EXPORT
/*
 * Each C name is its bmalloc_ function under a second name, not a copy of
 * it: one copy of every path keeps the library's resident text small
 * (text pages are mapped in 64 KiB windows, so every 4 KiB counts).
 */
#define EXPORT_AS(f) __attribute__((alias(#f), visibility("default")))

void *malloc(size_t size) EXPORT_AS(bmalloc_malloc);
void free(void *p) EXPORT_AS(bmalloc_free);
void *calloc(size_t n, size_t size) EXPORT_AS(bmalloc_calloc);
void *realloc(void *p, size_t size) EXPORT_AS(bmalloc_realloc);
void *reallocarray(void *p, size_t n, size_t size) EXPORT_AS(bmalloc_reallocarray);
void *aligned_alloc(size_t align, size_t size) EXPORT_AS(bmalloc_aligned_alloc);
int posix_memalign(void **out, size_t align, size_t size) EXPORT_AS(bmalloc_posix_memalign);
void *memalign(size_t align, size_t size) EXPORT_AS(bmalloc_memalign);
void *valloc(size_t size) EXPORT_AS(bmalloc_valloc);
void *pvalloc(size_t size) EXPORT_AS(bmalloc_pvalloc);
size_t malloc_usable_size(void *p) EXPORT_AS(bmalloc_usable_size);
#endif
