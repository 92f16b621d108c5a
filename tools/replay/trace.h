/* SPDX-License-Identifier: MIT */
/*
 * trace.h - allocation traces read into one op array.
 *
 * Three input formats are understood, and all become the same sequence of
 * operations on numbered slots (a slot is one allocation from the moment it
 * is made until it is freed; a realloc keeps its slot):
 *   - the CS:APP malloc-lab `.rep` format, every header dialect;
 *   - the `Alloc(n),` / `Free(k),` format of the wee_alloc test traces;
 *   - raw `valgrind --trace-malloc=yes` logs, C++ new/delete included.
 * The parser validates as it goes (a free names a live block, numbers are
 * numbers), so the replay engine can trust the ops. Errors come back as
 * "FILE:LINE: message". The parser works on a buffer and never prints.
 */
#ifndef BUDDY_REPLAY_TRACE_H
#define BUDDY_REPLAY_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_NO_SLOT UINT32_MAX /* slot of free(NULL) */

enum trace_format {
	TRACE_AUTO = 0, /* decide from the extension, then from the content */
	TRACE_REP,      /* CS:APP malloc-lab .rep */
	TRACE_WEE,      /* wee_alloc Alloc(n), / Free(k), */
	TRACE_VLOG      /* valgrind --trace-malloc=yes log */
};

enum trace_op_kind {
	TRACE_ALLOC,   /* slot = malloc(size) */
	TRACE_FREE,    /* free(slot), or free(NULL) when slot is TRACE_NO_SLOT */
	TRACE_REALLOC  /* slot = realloc(slot, size); realloc(NULL, size) on a new slot */
};

struct trace_op {
	uint64_t size;     /* bytes asked for (ALLOC, REALLOC) */
	uint32_t slot;     /* 0..nslots-1, or TRACE_NO_SLOT */
	uint8_t kind;      /* enum trace_op_kind */
	uint8_t zero[3];   /* always 0 (named, so that saved traces hold no stray bytes) */
};

struct trace {
	struct trace_op *ops;     /* nops operations, in order */
	size_t nops;
	size_t cap;               /* allocated length of ops */
	size_t nslots;            /* distinct slots used */
	enum trace_format format; /* the format that was read */
	void *map;                /* mapping of a saved trace (ops point into it), or NULL */
	size_t map_len;
};

/* Name of a format ("rep", "wee", "vlog"); "auto" for TRACE_AUTO. */
const char *trace_format_name(enum trace_format f);

/* Format from a name as above; -1 if unknown. */
int trace_format_parse(const char *name);

/*
 * Guess the format of `name` / its first bytes: by extension (.rep,
 * .trace, .vlog/.log), else by the first non-blank line.
 */
enum trace_format trace_detect(const char *name, const char *buf, size_t len);

/*
 * Parse len bytes of buf (need not be NUL-terminated) in format fmt into
 * *out. name is used in error messages only. Returns 0, or -1 with a
 * "name:line: message" text in err (errlen bytes) and *out left empty.
 */
int trace_parse(const char *name, const char *buf, size_t len,
		enum trace_format fmt, struct trace *out, char *err, size_t errlen);

/* Read the file at path and parse it (as trace_parse); a saved trace is mapped. */
int trace_load(const char *path, enum trace_format fmt, struct trace *out,
	       char *err, size_t errlen);

/*
 * Save the op array in the project's own binary form (a header and the
 * raw ops), which trace_load maps instead of parsing: a runner that
 * measures an allocator then takes no memory from it for the trace.
 * Returns 0, or -1 with "path: message" in err.
 */
int trace_save(const struct trace *t, const char *path, char *err, size_t errlen);

/* Release the ops of a trace and clear it. */
void trace_free(struct trace *t);

#endif /* BUDDY_REPLAY_TRACE_H */
