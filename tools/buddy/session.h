/* SPDX-License-Identifier: MIT */
/*
 * session.h - the state of one `buddy` session and the entry points shared
 * by the command loop, the script runner and the tests.
 *
 * A session owns one fresh arena under one allocator: the page allocator
 * core (pages mode, memory and metadata obtained here and handed to the
 * core) or a byte heap behind struct balloc (heap and bestfit modes). Every
 * live allocation has a handle #N a person can type; the handle table maps
 * it to an offset from the arena start and a size. Commands are parsed into
 * a struct cmd by a pure function (parse.c) and executed here, so the
 * command language can be tested and fuzzed without an arena.
 */
#ifndef BUDDY_TOOL_SESSION_H
#define BUDDY_TOOL_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buddy/alloc.h"
#include "buddy/heap.h"
#include "buddy/kmalloc.h"
#include "buddy/page.h"

/* BUDDY_VERSION, the project version, comes from the build (tools/CMakeLists.txt). */

/* Longest command line accepted, in bytes. */
#define CMD_LINE_MAX 1024
/* Longest file name `save` accepts. */
#define CMD_PATH_MAX 512

enum cmd_mode {
	MODE_PAGES,   /* the page allocator core */
	MODE_HEAP,    /* the buddy byte heap, through balloc */
	MODE_BESTFIT, /* the best-fit heap, through balloc */
	MODE_KMALLOC  /* the kmalloc heap on slab caches, through balloc and bkm_ */
};

enum cmd_colour { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

/* Options fixed for the life of a session (reset keeps them). */
struct cmd_opts {
	enum cmd_mode mode;  /* which allocator */
	size_t arena_bytes;    /* arena size in bytes */
	size_t page_size;      /* pages mode: bytes per page */
	unsigned max_order;    /* pages mode: largest order, or BUDDY_MAX_ORDER_AUTO */
	int colour;            /* 1: emit ANSI colours (auto already resolved) */
	unsigned width;        /* terminal columns the map may use */
};

enum cmd_kind {
	CMD_NONE,      /* blank line or comment */
	CMD_ALLOC,     /* alloc ORDER */
	CMD_PAGES,     /* pages N */
	CMD_MALLOC,    /* malloc BYTES */
	CMD_CALLOC,    /* calloc N SIZE */
	CMD_REALLOC,   /* realloc #ID BYTES */
	CMD_FREE,      /* free #ID | free OFFSET */
	CMD_MAP,       /* map */
	CMD_LISTS,     /* lists */
	CMD_BUDDYINFO, /* buddyinfo */
	CMD_STATS,     /* stats */
	CMD_FRAG,      /* frag [ORDER] */
	CMD_CHECK,     /* check */
	CMD_HANDLES,   /* handles */
	CMD_SLABINFO,  /* slabinfo */
	CMD_SAVE,      /* save FILE.svg */
	CMD_RESET,     /* reset */
	CMD_HELP,      /* help [COMMAND] */
	CMD_QUIT,      /* quit */
	CMD_COUNT
};

/* One parsed command; which fields are valid depends on kind. */
struct cmd {
	enum cmd_kind kind;
	unsigned long long num[2]; /* numeric arguments, in order */
	int nnum;                  /* how many of num[] were given */
	unsigned long handle;      /* #ID argument (free, realloc), when has_handle */
	int has_handle;            /* free: 1 by handle, 0 by offset in num[0] */
	char text[CMD_PATH_MAX]; /* save: file name; help: topic ("" for none) */
};

/*
 * Parse one line. Returns 0 and fills *cmd (kind CMD_NONE for a blank line
 * or comment), or -1 with a one-line message (no "error:" prefix, no
 * newline) in err. Pure: no state, no output.
 */
int cmd_parse_line(const char *line, struct cmd *cmd, char *err, size_t errlen);

/* A size with an optional K, M or G suffix: 0, -1 not a number, -2 too large. */
int cmd_parse_size(const char *w, unsigned long long *out);
/* Print the command list, or the usage of one command. */
void cmd_help_print(FILE *out, const char *topic);

/* Name of a command, e.g. "alloc". */
const char *cmd_name(enum cmd_kind kind);
/* The command named `name`, or CMD_NONE. */
enum cmd_kind cmd_lookup(const char *name);

/* A live allocation. */
struct handle {
	unsigned long id; /* the N of #N; never reused within a session */
	void *ptr;        /* address returned by the allocator */
	size_t off;       /* bytes from the arena start */
	size_t bytes;     /* bytes held (pages mode: pages * page size) */
	size_t asked;     /* bytes asked for (malloc/calloc/realloc), else == bytes */
};

/* Split and merge events collected during one command (pages and kmalloc modes). */
#define SESSION_MAX_EVENTS 96
/* The kmalloc heap's other events during one command (slabs, runs, ...). */
#define SESSION_MAX_KEVENTS 32

struct cmd_session {
	struct cmd_opts opt;       /* options, fixed */
	/* pages mode */
	void *arena;                 /* page-aligned arena memory, opt.arena_bytes */
	void *meta;                  /* metadata buffer for the core */
	size_t meta_bytes;           /* its size */
	struct buddy_zone zone;      /* the core's zone */
	/* heap modes */
	struct balloc heap;          /* the byte allocator; heap.ops NULL when none */
	struct bheap *bheap;         /* heap mode: the buddy heap behind `heap`, for what only
				      * it has (the Robson bound, its zone); else NULL */
	/* kmalloc mode */
	struct bkm_heap *km;         /* the heap behind `heap` */
	uintptr_t km_base;           /* its arena's first byte (page 0) */
	size_t km_page;              /* its zone page size */
	struct bkm_event kevents[SESSION_MAX_KEVENTS]; /* slab, run, huge events */
	size_t nkevents;             /* events stored */
	/* handles */
	struct handle *handles;      /* live allocations, sorted by id */
	size_t nhandles;             /* entries in use */
	size_t handles_cap;          /* entries allocated */
	unsigned long next_id;       /* id of the next allocation */
	size_t asked_bytes;          /* bytes asked for by the live handles */
	size_t peak_asked_bytes;     /* largest asked_bytes since the arena was made */
	/* event log of the current command */
	struct buddy_event events[SESSION_MAX_EVENTS];
	size_t nevents;              /* events stored */
	size_t events_lost;          /* events beyond the buffer */
	int quit;                    /* set by `quit` */
	/* where commands come from, for error messages */
	const char *src_name;        /* script name, or NULL when interactive */
	unsigned long lineno;        /* line number in src_name */
};

/* Create the session's arena. Returns 0, or -1 with a message in err. */
int cmd_session_init(struct cmd_session *s, const struct cmd_opts *opt, char *err, size_t errlen);
void cmd_session_fini(struct cmd_session *s);

/*
 * Parse and run one line. Output goes to out, a one-line error (prefixed
 * "error: ") to err. Returns 0 on success (including blank lines), 1 when
 * the command failed, 2 after `quit`.
 */
int cmd_session_exec_line(struct cmd_session *s, const char *line, FILE *out, FILE *err);

/* Run a parsed command; on failure writes the message (no prefix) to msg. */
int cmd_session_exec(struct cmd_session *s, const struct cmd *cmd, FILE *out,
		       char *msg, size_t msglen);

/* Handle table (session.c). */
struct handle *session_handle_find(struct cmd_session *s, unsigned long id);
struct handle *session_handle_at(struct cmd_session *s, size_t off);
struct handle *session_handle_add(struct cmd_session *s, void *ptr, size_t off, size_t bytes,
				  size_t asked);
void session_handle_remove(struct cmd_session *s, struct handle *h);
/* A realloc: h now holds `asked` bytes asked for (the totals follow). */
void session_handle_asked(struct cmd_session *s, struct handle *h, size_t asked);
/* The live allocation a free or realloc names; NULL with the reason in msg. */
struct handle *session_target(struct cmd_session *s, const struct cmd *c, char *msg, size_t n);

/* Command groups. Each returns 0, or -1 with a message in msg. */
int cmd_pages_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_pages_free(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_pages_realloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_heap_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_heap_free(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_heap_realloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_kmalloc_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_kmalloc_free(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);
int cmd_kmalloc_realloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg,
			size_t n);
int cmd_info(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n);

/* Where a split narration goes: the allocation's first page after it, the block's end and order. */
struct cmd_taken {
	size_t kept_end;  /* first page after the allocation */
	size_t block_end; /* first page after the block it came from */
	unsigned order;   /* that block's order */
};

/* The split and merge events of the command, told as chains, each line starting with ind
 * (cmd_pages.c); "page 3" or "pages 3-5". */
void cmd_splits_print(const struct cmd_session *s, FILE *out, const struct cmd_taken *t,
		      const char *ind);
size_t cmd_merges_print(const struct cmd_session *s, FILE *out, size_t a, size_t np,
			const char *ind);
void cmd_range_print(FILE *out, size_t first, size_t npages);

/* Human-readable sizes: "4 KiB", "1.5 MiB", "100 B". */
void fmt_size(char *buf, size_t len, size_t bytes);
/* Name of the session's allocator ("buddy pages", ...). */
const char *session_mode_name(const struct cmd_session *s);

/* --- the picture of the arena, shared by the terminal map and the SVG --- */

/* One stretch of the arena in the picture, in units (pages or heap granules). */
struct vblock {
	size_t start;          /* first unit */
	size_t len;            /* units */
	int allocated;         /* 1 allocated, 0 free */
	int order;             /* buddy order, or -1 */
	unsigned long handle;  /* allocated: handle id, 0 if none */
	const char *label;     /* kmalloc mode, a slab: its cache's name, else NULL */
	unsigned inuse, objs;  /* a slab: objects in use, objects */
};

struct vpicture {
	struct vblock *blocks; /* in address order, covering [0, units) */
	size_t nblocks;
	size_t units;          /* units in the arena */
	size_t unit_bytes;     /* bytes per unit */
	const char *unit_name; /* "page" or "granule" */
	int byte_pos;          /* positions are shown as byte offsets (the heaps), not units */
	int max_order;         /* largest buddy order, or -1 without orders */
	size_t nr_free[BUDDY_NR_ORDERS + 1]; /* free blocks per order (index max+1: no order) */
	size_t free_units;     /* units in free blocks */
};

/*
 * Where unit u is, as the session's commands show positions: a page number
 * ("12"), or a heap's byte offset ("0x1c0"). Returns the length.
 */
int vpicture_pos(const struct vpicture *p, size_t u, char *buf, size_t n);

/* Build the picture of the arena; -1 with a message when out of memory. */
int vpicture_build(struct cmd_session *s, struct vpicture *p, char *msg, size_t n);
void vpicture_free(struct vpicture *p);

/* map.c */
void map_draw(const struct cmd_session *s, const struct vpicture *p, FILE *out);
/* svg.c: 0, or -1 with a message */
int svg_save(const struct cmd_session *s, const struct vpicture *p, const char *path,
	     char *msg, size_t n);

/* Colour of handle id in the shared palette: index 0..PALETTE_SIZE-1. */
#define PALETTE_SIZE 12
unsigned palette_index(unsigned long id);

#endif
