/* SPDX-License-Identifier: MIT */
/*
 * fuzz_input.h - reading a fuzz input as a stream of argument bytes.
 * Past the end every read gives 0, so any input decodes to some valid
 * operation stream and short inputs stay meaningful.
 */
#ifndef BUDDY_FUZZ_INPUT_H
#define BUDDY_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_RECLAIM(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#if !defined(FUZZ_RECLAIM) && defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define FUZZ_RECLAIM(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#if !defined(FUZZ_RECLAIM) && defined(BUDDY_ANNOTATE_VALGRIND)
/* A library that tells memcheck about its blocks: the same for a freed block's bytes. */
#include <valgrind/memcheck.h>
#define FUZZ_RECLAIM(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#ifndef FUZZ_RECLAIM
#define FUZZ_RECLAIM(p, n) ((void)(p), (void)(n))
#endif

struct fuzz_input {
	const uint8_t *data; /* bytes not yet read */
	size_t left;         /* how many */
};

static inline int fuzz_empty(const struct fuzz_input *in)
{
	return in->left == 0;
}

static inline unsigned fuzz_byte(struct fuzz_input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->data++;
}

/* Two bytes, little-endian: 0..65535. */
static inline unsigned fuzz_u16(struct fuzz_input *in)
{
	unsigned lo = fuzz_byte(in);
	return lo | (fuzz_byte(in) << 8);
}

/*
 * Take back a static buffer an allocator worked in during the last input:
 * under AddressSanitizer (or memcheck, with the library's annotations) the
 * allocator may have left parts of it marked inaccessible.
 */
static inline void fuzz_reclaim(void *p, size_t n)
{
	FUZZ_RECLAIM(p, n);
}

/* An index below n (n > 0), from one byte. */
static inline int fuzz_pick(struct fuzz_input *in, int n)
{
	return (int)(fuzz_byte(in) % (unsigned)n);
}

#endif /* BUDDY_FUZZ_INPUT_H */
