/* SPDX-License-Identifier: MIT */
/*
 * malloc_model.h - the malloc-family model every byte-allocator harness
 * shares, written once against the common interface (struct balloc).
 *
 * The model keeps every live allocation with its size and fill byte:
 * contents must survive until freed (and realloc must keep the common
 * prefix), blocks never overlap (nor leave the allocator's buffer, when it
 * has one), usable_size covers the request, alignment holds (16 bytes
 * always, more when asked). The allocator's check runs after every
 * operation; misuse must reach on_error once, with the right kind, and
 * change nothing. Any disagreement aborts.
 *
 * Each operation is an opcode byte (mod 10) and its arguments:
 *
 *     0-1 malloc | 2 calloc (with overflowing products) | 3 realloc (grow,
 *     shrink, to 0, of NULL) | 4-5 free | 6 aligned_alloc (also with
 *     alignments that are not powers of two) | 7 bad pointer (inside a
 *     block, freed, never allocated) | 8 usable_size | 9 the harness's own
 *     operation (extra), or usable_size
 *
 * Damage mode (the harnesses fuzz_<heap>_damage): opcode bytes 0xe0 and up
 * write bytes as a program that misuses memory would: 1 to 16 bytes into a
 * block freed earlier (through a stale pointer, whatever the memory holds
 * now), or into the 16 bytes past the end of a live block. Bytes inside live
 * blocks (the program's own data) are left alone, and so is memory the
 * harness's writable() says is not the heap's to lose (unmapped, outside the
 * buffer). The oracle: the allocator reports BUDDY_ERR_CORRUPT, or every
 * live block keeps its contents and no two overlap; never a crash, and the
 * check (run after every damage operation, every 32nd other one and at
 * the end; FUZZ_DAMAGE_CHECK=N in the environment runs it every N-th
 * operation instead, =end only at the end) may report problems but must
 * return. After a report every call
 * must refuse, reporting again, and change nothing; the run then ends. An
 * allocator that reports damage once and stops only the part it found
 * damaged (reports_once: the kmalloc heap, whose slab caches and zone each
 * stop on their own) ends the input at the report instead. Without damage,
 * a corruption report is itself a failure.
 */
#ifndef BUDDY_FUZZ_MALLOC_MODEL_H
#define BUDDY_FUZZ_MALLOC_MODEL_H

#include <stddef.h>

#include "buddy/alloc.h"
#include "buddy/page.h"
#include "fuzz_input.h"

#define FM_LIVE_MAX 48          /* live allocations the model tracks */
#define FM_SIZE_MAX 40000u      /* largest request tried */
#define FM_FREED_MAX 16         /* freed blocks remembered for damage */
#define FM_DAMAGE_OP 0xe0u      /* damage mode: opcode bytes from here damage memory */

struct fm_live {
	unsigned char *p;  /* what the allocator returned */
	size_t size;       /* bytes asked for */
	size_t usable;     /* usable_size when it was handed out */
	unsigned char tag; /* every byte of [p, p+size) holds it */
};

/* A block the model freed: where a stale pointer would still write. */
struct fm_freed {
	unsigned char *p;
	size_t usable;
};

struct fm_model {
	/* --- set by the harness --- */
	struct balloc a;              /* the allocator, created with on_error = fm_on_error
				       * and error_arg = this model */
	const unsigned char *lo, *hi; /* the one buffer it works in, or NULL */
	int knows_requested;          /* its stats count requested bytes */
	size_t total_bytes;           /* held + free bytes always add up to this; 0: they vary */
	int double_may_be_invalid;    /* a freed block's memory may be gone (unmapped):
				       * a double free may be reported as invalid */
	void (*extra)(struct fm_model *m, struct fuzz_input *in); /* opcode 9, or NULL */
	void *ctx;                    /* for extra */
	int damage;                   /* damage mode (FM_DAMAGE_OP) */
	int reports_once;             /* damage mode: after a corruption report the allocator
				       * need not refuse every call; the input ends there */
	/* Whether [p, p + n) may be written by damage: the heap's memory, still
	 * there (not unmapped); NULL: never. */
	int (*writable)(const struct fm_model *m, const unsigned char *p, size_t n);
	/* --- the model --- */
	struct fm_live live[FM_LIVE_MAX];
	int nr_live;
	unsigned char next_tag;
	int misuse;                   /* on_error calls seen */
	int kind;                     /* kind of the last one */
	struct fm_freed freed[FM_FREED_MAX]; /* a ring of freed blocks */
	unsigned nr_freed;            /* blocks ever put in the ring */
	int damaged;                  /* damage has been written */
	int corrupted;                /* the allocator reported corruption */
	unsigned long damage_writes;  /* bytes written as damage */
	unsigned checks_skipped;      /* damage mode: operations since the last check */
};

/*
 * Whether a damage-mode harness (damage set) skips its input: at
 * BUDDY_DEBUG >= 2 the full check after every call traps on damage a call
 * meets without noticing (harmless to it) before the model can judge, so
 * damage mode runs in the other builds. Says so once, naming the harness.
 */
int fm_damage_skip(int damage, const char *name);

/* The allocator's on_error: counts the call (arg is the model). */
void fm_on_error(void *arg, int kind, const char *op, const void *ptr, const char *msg);

/*
 * A writable() for heaps over a page zone: [p, p + n) lies in one region of
 * z (the heap's memory, mapped; never a guard page, metadata or a mapping of
 * its own).
 */
int fm_zone_writable(const struct buddy_zone *z, const unsigned char *p, size_t n);

/* Abort, naming the allocator and what went wrong. */
void fm_die(const struct fm_model *m, const char *what);

/* A request size from the input: mostly small, sometimes up to FM_SIZE_MAX. */
size_t fm_size(struct fuzz_input *in);

/* Check and record an allocation of size bytes at p (NULL: a failure) aligned to align. */
void fm_live_add(struct fm_model *m, unsigned char *p, size_t size, size_t align);

/* posix_memalign's result (st, *out = p) for a request of size bytes at
 * align: EINVAL below sizeof(void *), *out untouched on failure, a block
 * recorded on success. */
void fm_posix_memalign_result(struct fm_model *m, int st, void *p, size_t align, size_t size);

/*
 * Map hooks for heaps that take memory from the system: fm_map fails the
 * next fm_map_fail calls (a harness sets it from the input, and to 0 for
 * each input), then maps anonymous memory; fm_unmap unmaps.
 */
extern int fm_map_fail;
void *fm_map(void *arg, size_t len);
void fm_unmap(void *arg, void *p, size_t len);

/* Run every operation of the input, verifying the model after each. */
void fm_run(struct fm_model *m, struct fuzz_input *in);

/* Free every live allocation (checking its contents), verify, destroy the allocator. */
void fm_finish(struct fm_model *m);

#endif /* BUDDY_FUZZ_MALLOC_MODEL_H */
