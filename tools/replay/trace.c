/* SPDX-License-Identifier: MIT */
/*
 * trace.c - readers for the three trace formats (see trace.h).
 *
 * Every reader walks the buffer line by line (LF or CRLF), turns each line
 * into at most one op and keeps a map from the trace's own names for blocks
 * (.rep ids, valgrind's pid+address, wee_alloc sequence numbers) to slots.
 * A name is live from its allocation to its free; a free of a name that is
 * not live is an error, except the cases the formats define (.rep `f -1`
 * is free(NULL), `r` of an id that is not live is realloc(NULL)).
 * Cost: O(bytes) time, O(live blocks + ops) memory.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

/* --- Map from a block's name (two 64-bit words) to its slot --- */

struct idmap_entry {
	uint64_t a, b; /* the name */
	uint32_t slot; /* its slot */
	uint8_t used;  /* 1 if the entry holds a name */
};

struct idmap {
	struct idmap_entry *tab; /* open addressing, linear probing */
	size_t mask;             /* table length - 1 (a power of two), or 0 when empty */
	size_t count;            /* entries in use */
};

static size_t idmap_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
	return (size_t)(h ^ (h >> 29));
}

static struct idmap_entry *idmap_find(struct idmap *m, uint64_t a, uint64_t b)
{
	if (m->count == 0)
		return NULL;
	for (size_t i = idmap_hash(a, b) & m->mask;; i = (i + 1) & m->mask) {
		struct idmap_entry *e = &m->tab[i];
		if (!e->used)
			return NULL;
		if (e->a == a && e->b == b)
			return e;
	}
}

static int idmap_grow(struct idmap *m)
{
	size_t n = m->mask ? (m->mask + 1) * 2 : 1024;
	struct idmap_entry *tab = calloc(n, sizeof(*tab));
	if (!tab)
		return -1;
	for (size_t i = 0; m->mask && i <= m->mask; i++) {
		struct idmap_entry *e = &m->tab[i];
		if (!e->used)
			continue;
		size_t j = idmap_hash(e->a, e->b) & (n - 1);
		while (tab[j].used)
			j = (j + 1) & (n - 1);
		tab[j] = *e;
	}
	free(m->tab);
	m->tab = tab;
	m->mask = n - 1;
	return 0;
}

/* Add a name that is not in the map. */
static int idmap_put(struct idmap *m, uint64_t a, uint64_t b, uint32_t slot)
{
	if ((m->count + 1) * 2 > (m->mask ? m->mask + 1 : 0) && idmap_grow(m) < 0)
		return -1;
	size_t i = idmap_hash(a, b) & m->mask;
	while (m->tab[i].used)
		i = (i + 1) & m->mask;
	m->tab[i] = (struct idmap_entry){ a, b, slot, 1 };
	m->count++;
	return 0;
}

/* Remove an entry found by idmap_find (backward-shift deletion). */
static void idmap_remove(struct idmap *m, const struct idmap_entry *e)
{
	size_t i = (size_t)(e - m->tab);
	for (size_t j = (i + 1) & m->mask; m->tab[j].used; j = (j + 1) & m->mask) {
		size_t home = idmap_hash(m->tab[j].a, m->tab[j].b) & m->mask;
		/* Move j into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->tab[i] = m->tab[j];
			i = j;
		}
	}
	m->tab[i].used = 0;
	m->count--;
}

/* --- Parser state and small scanners --- */

struct parser {
	const char *name;   /* file name for messages */
	const char *cur;    /* start of the next line */
	const char *end;    /* end of the buffer */
	const char *ls, *le; /* current line [ls, le), without its line ending */
	const char *pos;    /* scan position within the current line */
	size_t line;        /* 1-based number of the current line */
	struct trace *t;    /* output */
	struct idmap map;   /* live names -> slots */
	char *err;          /* message buffer */
	size_t errlen;
	uint64_t (*forks)[2]; /* valgrind logs: (pid, parent pid) of each process that says it */
	size_t nforks, forks_cap;
};

static int parser_fail(struct parser *ps, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen)
		snprintf(ps->err, ps->errlen, "%s:%zu: %s", ps->name, ps->line, msg);
	return -1;
}

/* Advance to the next line; 0 at the end of the buffer. */
static int line_next(struct parser *ps)
{
	if (ps->cur >= ps->end)
		return 0;
	const char *nl = memchr(ps->cur, '\n', (size_t)(ps->end - ps->cur));
	ps->ls = ps->cur;
	ps->le = nl ? nl : ps->end;
	ps->cur = nl ? nl + 1 : ps->end;
	if (ps->le > ps->ls && ps->le[-1] == '\r')
		ps->le--;
	ps->pos = ps->ls;
	ps->line++;
	return 1;
}

static void scan_space(struct parser *ps)
{
	while (ps->pos < ps->le && (*ps->pos == ' ' || *ps->pos == '\t'))
		ps->pos++;
}

static int scan_at_end(struct parser *ps)
{
	scan_space(ps);
	return ps->pos >= ps->le;
}

static int scan_char(struct parser *ps, char c)
{
	if (ps->pos < ps->le && *ps->pos == c) {
		ps->pos++;
		return 1;
	}
	return 0;
}

static int scan_prefix(struct parser *ps, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(ps->le - ps->pos) >= n && memcmp(ps->pos, s, n) == 0) {
		ps->pos += n;
		return 1;
	}
	return 0;
}

/* Unsigned number in base 10 or 16 (base 16 wants the 0x prefix). */
static int scan_number(struct parser *ps, int base, uint64_t *v)
{
	const char *p = ps->pos;
	uint64_t x = 0;
	if (base == 16 && !(p + 1 < ps->le && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')))
		return 0;
	if (base == 16)
		p += 2;
	const char *digits = p;
	for (; p < ps->le; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return 0;
		x = x * (uint64_t)base + (uint64_t)d;
	}
	if (p == digits)
		return 0;
	ps->pos = p;
	*v = x;
	return 1;
}

static int op_push(struct parser *ps, enum trace_op_kind kind, uint32_t slot, uint64_t size)
{
	struct trace *t = ps->t;
	if (t->nops == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct trace_op *ops = realloc(t->ops, cap * sizeof(*ops));
		if (!ops)
			return parser_fail(ps, "out of memory");
		t->ops = ops;
		t->cap = cap;
	}
	t->ops[t->nops++] = (struct trace_op){ .size = size, .slot = slot, .kind = (uint8_t)kind };
	return 0;
}

/* A new slot for name (a, b), which must not be live. */
static int slot_open(struct parser *ps, uint64_t a, uint64_t b, uint32_t *slot)
{
	if (ps->t->nslots >= TRACE_NO_SLOT)
		return parser_fail(ps, "too many allocations");
	*slot = (uint32_t)ps->t->nslots++;
	if (idmap_put(&ps->map, a, b, *slot) < 0)
		return parser_fail(ps, "out of memory");
	return 0;
}

/* Record an allocation of size bytes under name (a, b). */
static int name_alloc(struct parser *ps, uint64_t a, uint64_t b, uint64_t size,
		      enum trace_op_kind kind)
{
	uint32_t slot = 0;
	if (slot_open(ps, a, b, &slot) < 0)
		return -1;
	return op_push(ps, kind, slot, size);
}

/* Record the free of the live name (a, b); what names the block in messages. */
static int name_free(struct parser *ps, uint64_t a, uint64_t b, const char *what)
{
	struct idmap_entry *e = idmap_find(&ps->map, a, b);
	if (!e)
		return parser_fail(ps, "free of %s, which is not allocated", what);
	uint32_t slot = e->slot;
	idmap_remove(&ps->map, e);
	return op_push(ps, TRACE_FREE, slot, 0);
}

/* --- CS:APP malloc-lab .rep ---
 *
 * A header of numbers (four in every dialect we know: suggested heap size
 * or weight, num_ids, num_ops, weight or flag or peak; written on one line
 * or one per line; three are accepted too), then one op per line:
 * `a id bytes`, `r id bytes`, `f id`. `f -1` is free(NULL); `r` of an id
 * that is not live is realloc(NULL); ids may be reused once freed. The
 * header counts are informational: the ops are what is replayed.
 */

static int rep_id(struct parser *ps, uint64_t *id, int allow_minus_one)
{
	scan_space(ps);
	if (scan_char(ps, '-')) {
		uint64_t v;
		if (allow_minus_one && scan_number(ps, 10, &v) && v == 1) {
			*id = UINT64_MAX;
			return 0;
		}
		return parser_fail(ps, "negative block id");
	}
	if (!scan_number(ps, 10, id))
		return parser_fail(ps, "expected a block id");
	return 0;
}

static int rep_op(struct parser *ps)
{
	char c = *ps->pos++;
	uint64_t id = 0, size = 0;
	if (c != 'a' && c != 'r' && c != 'f')
		return parser_fail(ps, "unknown operation '%c'", c);
	if (ps->pos < ps->le && *ps->pos != ' ' && *ps->pos != '\t')
		return parser_fail(ps, "unknown operation '%.*s'", (int)(ps->le - ps->ls), ps->ls);
	if (rep_id(ps, &id, c == 'f') < 0)
		return -1;
	if (c != 'f') {
		scan_space(ps);
		if (!scan_number(ps, 10, &size))
			return parser_fail(ps, "expected a size in bytes");
	}
	if (!scan_at_end(ps))
		return parser_fail(ps, "unexpected text after the operation");
	if (c == 'f' && id == UINT64_MAX)
		return op_push(ps, TRACE_FREE, TRACE_NO_SLOT, 0);
	struct idmap_entry *e = idmap_find(&ps->map, id, 0);
	if (c == 'a' && e)
		return parser_fail(ps, "allocation of id %llu, which is already allocated",
				   (unsigned long long)id);
	if (c == 'a')
		return name_alloc(ps, id, 0, size, TRACE_ALLOC);
	if (c == 'r' && !e)
		return name_alloc(ps, id, 0, size, TRACE_REALLOC);
	if (c == 'r')
		return op_push(ps, TRACE_REALLOC, e->slot, size);
	char what[48];
	snprintf(what, sizeof(what), "id %llu", (unsigned long long)id);
	return name_free(ps, id, 0, what);
}

/* Header numbers on the current line; *count counts them across lines. */
static int rep_header_line(struct parser *ps, int *count)
{
	while (!scan_at_end(ps)) {
		uint64_t v;
		if (scan_char(ps, '-') && !scan_number(ps, 10, &v))
			return parser_fail(ps, "bad header number");
		if (!scan_number(ps, 10, &v))
			return parser_fail(ps, "bad header: expected numbers");
		if (++*count > 4)
			return parser_fail(ps, "header has more than 4 numbers");
	}
	return 0;
}

static int rep_parse(struct parser *ps)
{
	int header = 0, in_ops = 0;
	while (line_next(ps)) {
		if (scan_at_end(ps) || *ps->pos == '#')
			continue;
		char c = *ps->pos;
		if (!in_ops && ((c >= '0' && c <= '9') || c == '-')) {
			if (rep_header_line(ps, &header) < 0)
				return -1;
			continue;
		}
		if (!in_ops && header != 0 && header < 3)
			return parser_fail(ps, "header has %d numbers, expected 4", header);
		in_ops = 1;
		if (rep_op(ps) < 0)
			return -1;
	}
	if (!in_ops && header != 0 && header < 3)
		return parser_fail(ps, "header has %d numbers, expected 4", header);
	return 0;
}

/* --- wee_alloc: `Alloc(bytes),` and `Free(k),` with k the k-th Alloc --- */

static int wee_op(struct parser *ps, uint64_t *nallocs)
{
	int is_alloc = scan_prefix(ps, "Alloc(");
	uint64_t v;
	if (!is_alloc && !scan_prefix(ps, "Free("))
		return parser_fail(ps, "expected Alloc(n) or Free(k)");
	scan_space(ps);
	if (!scan_number(ps, 10, &v))
		return parser_fail(ps, "expected a number");
	scan_space(ps);
	if (!scan_char(ps, ')'))
		return parser_fail(ps, "expected ')'");
	scan_char(ps, ',');
	if (!scan_at_end(ps))
		return parser_fail(ps, "unexpected text after the operation");
	if (is_alloc)
		return name_alloc(ps, (*nallocs)++, 0, v, TRACE_ALLOC);
	char what[48];
	snprintf(what, sizeof(what), "allocation %llu", (unsigned long long)v);
	return name_free(ps, v, 0, what);
}

static int wee_parse(struct parser *ps)
{
	uint64_t nallocs = 0;
	while (line_next(ps)) {
		if (scan_at_end(ps))
			continue;
		if (wee_op(ps, &nallocs) < 0)
			return -1;
	}
	return 0;
}

/* --- valgrind --trace-malloc=yes logs ---
 *
 * Lines of interest look like `--PID-- name(args) = 0xADDR` (allocations),
 * `--PID-- name(0xADDR)` (frees), `--PID-- realloc(0xOLD,n) = 0xNEW`, and a
 * realloc of NULL prints its inner call: `realloc(0x0,n)malloc(n) = 0x...`.
 * Arguments may carry labels (`memalign(al 16, size 100)`). Blocks are named
 * by (pid, address). Other lines (valgrind's own messages) are skipped.
 */

#define VLOG_MAX_ARGS 4

struct vlog_call {
	char name[40];                  /* function name */
	uint64_t arg[VLOG_MAX_ARGS];    /* argument values */
	char label[VLOG_MAX_ARGS][8];   /* argument labels ("size", "al"), or "" */
	int nargs;
};

static int scan_ident(struct parser *ps, char *out, size_t outlen)
{
	size_t n = 0;
	while (ps->pos < ps->le && (*ps->pos == '_' || (*ps->pos >= 'a' && *ps->pos <= 'z') ||
				    (*ps->pos >= 'A' && *ps->pos <= 'Z') ||
				    (n > 0 && *ps->pos >= '0' && *ps->pos <= '9'))) {
		if (n + 1 < outlen)
			out[n] = *ps->pos;
		n++;
		ps->pos++;
	}
	out[n < outlen ? n : outlen - 1] = '\0';
	return n > 0;
}

static int scan_value(struct parser *ps, uint64_t *v)
{
	return scan_number(ps, 16, v) || scan_number(ps, 10, v);
}

/* The argument list after `name(`, through the `)`. */
static int vlog_args(struct parser *ps, struct vlog_call *c)
{
	c->nargs = 0;
	scan_space(ps);
	if (scan_char(ps, ')'))
		return 0;
	for (;;) {
		if (c->nargs == VLOG_MAX_ARGS)
			return parser_fail(ps, "too many arguments to %s", c->name);
		char *label = c->label[c->nargs];
		scan_space(ps);
		const char *save = ps->pos;
		if (!scan_ident(ps, label, sizeof(c->label[0])) || !scan_char(ps, ' ')) {
			ps->pos = save;
			label[0] = '\0';
		}
		scan_space(ps);
		if (!scan_value(ps, &c->arg[c->nargs++]))
			return parser_fail(ps, "bad argument to %s", c->name);
		scan_space(ps);
		if (scan_char(ps, ')'))
			return 0;
		if (!scan_char(ps, ','))
			return parser_fail(ps, "expected ',' or ')' in a call to %s", c->name);
	}
}

/* `name(args)` at the scan position; 0 if there is no call here. */
static int vlog_call_scan(struct parser *ps, struct vlog_call *c, int *found)
{
	const char *save = ps->pos;
	*found = 0;
	if (!scan_ident(ps, c->name, sizeof(c->name)) || !scan_char(ps, '(')) {
		ps->pos = save;
		return 0;
	}
	*found = 1;
	return vlog_args(ps, c);
}

/* ` = VALUE` after a call; -1 with an error when missing. */
static int vlog_result(struct parser *ps, const struct vlog_call *c, uint64_t *v)
{
	scan_space(ps);
	if (!scan_char(ps, '='))
		return parser_fail(ps, "missing result of %s", c->name);
	scan_space(ps);
	if (scan_prefix(ps, "(nil)")) {
		*v = 0;
		return 0;
	}
	if (!scan_value(ps, v))
		return parser_fail(ps, "bad result of %s", c->name);
	return 0;
}

static int name_is(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* The argument labelled `label`, else argument `index`; -1 when absent. */
static int vlog_arg(const struct vlog_call *c, const char *label, int index, uint64_t *v)
{
	for (int i = 0; i < c->nargs; i++)
		if (strcmp(c->label[i], label) == 0) {
			*v = c->arg[i];
			return 0;
		}
	if (index >= c->nargs)
		return -1;
	*v = c->arg[index];
	return 0;
}

/* The functions valgrind's --trace-malloc prints, by how their size is given. */
static const char *const by_size[] = { "malloc", "valloc", "pvalloc", "__builtin_new",
				       "__builtin_vec_new", NULL };
static const char *const by_align[] = { "memalign", "posix_memalign", "aligned_alloc", NULL };
static const char *const frees[] = { "free", "cfree", "__builtin_delete",
				     "__builtin_vec_delete", NULL };

/* Whether name is an allocation function of a valgrind log (C++ new and delete included). */
static int vlog_known(const char *n)
{
	return name_is(n, by_size) || name_is(n, by_align) || name_is(n, frees) ||
	       strcmp(n, "calloc") == 0 || strcmp(n, "realloc") == 0 || strncmp(n, "_Znw", 4) == 0 ||
	       strncmp(n, "_Zna", 4) == 0 || strncmp(n, "_Zdl", 4) == 0 || strncmp(n, "_Zda", 4) == 0;
}

/* Bytes a call allocates: 1 and *size, 0 for a free, -1 unknown function. */
static int vlog_alloc_size(struct parser *ps, const struct vlog_call *c, uint64_t *size)
{
	const char *n = c->name;
	int rc = 1;
	if (name_is(n, by_size) || strncmp(n, "_Znw", 4) == 0 || strncmp(n, "_Zna", 4) == 0)
		rc = vlog_arg(c, "size", 0, size) < 0 ? -2 : 1;
	else if (name_is(n, by_align))
		rc = vlog_arg(c, "size", 1, size) < 0 ? -2 : 1;
	else if (strcmp(n, "calloc") == 0) {
		if (c->nargs != 2)
			return parser_fail(ps, "calloc needs two arguments") - 1;
		if (c->arg[1] && c->arg[0] > UINT64_MAX / c->arg[1])
			return parser_fail(ps, "calloc size overflows") - 1;
		*size = c->arg[0] * c->arg[1];
	} else if (name_is(n, frees) || strncmp(n, "_Zdl", 4) == 0 || strncmp(n, "_Zda", 4) == 0)
		rc = c->nargs >= 1 ? 0 : -2;
	else
		return parser_fail(ps, "unknown allocation function '%s'", n) - 1;
	if (rc == -2)
		return parser_fail(ps, "missing argument to %s", n) - 1;
	return rc;
}

/* The parent of pid, from its "==PID== Parent PID: N" line; 0 if unknown. */
static uint64_t vlog_parent(const struct parser *ps, uint64_t pid)
{
	for (size_t i = ps->nforks; i-- > 0;)
		if (ps->forks[i][0] == pid)
			return ps->forks[i][1];
	return 0;
}

/*
 * Whether pid may free memory it never allocated: a process forked from
 * another one in the same log inherits its parent's blocks (a copy of
 * each), and frees them as its own. Such frees are dropped, and a realloc
 * of one becomes a fresh allocation; in every other process they stay errors.
 */
static int vlog_inherits(const struct parser *ps, uint64_t pid)
{
	uint64_t parent = vlog_parent(ps, pid);
	for (size_t i = 0; parent && i < ps->nforks; i++)
		if (ps->forks[i][0] == parent)
			return 1;
	return 0;
}

/* "==PID== Parent PID: N" at the scan position: remember it. */
static int vlog_parent_line(struct parser *ps, uint64_t pid)
{
	uint64_t parent;
	scan_space(ps);
	if (!scan_prefix(ps, "Parent PID:"))
		return 0;
	scan_space(ps);
	if (!scan_number(ps, 10, &parent))
		return 0;
	if (ps->nforks == ps->forks_cap) {
		size_t cap = ps->forks_cap ? 2 * ps->forks_cap : 16;
		uint64_t(*nf)[2] = realloc(ps->forks, cap * sizeof(*nf));
		if (!nf)
			return parser_fail(ps, "out of memory");
		ps->forks = nf;
		ps->forks_cap = cap;
	}
	ps->forks[ps->nforks][0] = pid;
	ps->forks[ps->nforks++][1] = parent;
	return 0;
}

static int vlog_free(struct parser *ps, uint64_t pid, uint64_t addr)
{
	char what[48];
	if (addr == 0)
		return op_push(ps, TRACE_FREE, TRACE_NO_SLOT, 0);
	if (!idmap_find(&ps->map, pid, addr) && vlog_inherits(ps, pid))
		return 0;
	snprintf(what, sizeof(what), "0x%llx", (unsigned long long)addr);
	return name_free(ps, pid, addr, what);
}

static int vlog_new_block(struct parser *ps, uint64_t pid, uint64_t addr, uint64_t size,
			  enum trace_op_kind kind)
{
	if (addr == 0)
		return 0; /* the program got NULL: nothing to replay */
	if (idmap_find(&ps->map, pid, addr))
		return parser_fail(ps, "allocation returned 0x%llx, which is already allocated",
				   (unsigned long long)addr);
	return name_alloc(ps, pid, addr, size, kind);
}

/* A plain call (not realloc): allocation or free. kind is for allocations. */
static int vlog_plain(struct parser *ps, uint64_t pid, const struct vlog_call *c,
		      enum trace_op_kind kind)
{
	uint64_t size = 0, addr;
	int rc = vlog_alloc_size(ps, c, &size);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return vlog_free(ps, pid, c->arg[0]);
	if (vlog_result(ps, c, &addr) < 0)
		return -1;
	return vlog_new_block(ps, pid, addr, size, kind);
}

static int vlog_realloc(struct parser *ps, uint64_t pid, const struct vlog_call *c)
{
	struct vlog_call inner;
	int found;
	uint64_t addr;
	if (c->nargs != 2)
		return parser_fail(ps, "realloc needs two arguments");
	if (vlog_call_scan(ps, &inner, &found) < 0)
		return -1;
	if (found) { /* realloc(NULL, n) printing its malloc, or realloc(p, 0) its free */
		if (vlog_plain(ps, pid, &inner, TRACE_REALLOC) < 0)
			return -1;
		scan_space(ps);
		if (ps->pos < ps->le && *ps->pos == '=')
			return vlog_result(ps, c, &addr);
		return 0;
	}
	if (vlog_result(ps, c, &addr) < 0)
		return -1;
	if (c->arg[0] == 0)
		return vlog_new_block(ps, pid, addr, c->arg[1], TRACE_REALLOC);
	struct idmap_entry *e = idmap_find(&ps->map, pid, c->arg[0]);
	if (!e && vlog_inherits(ps, pid)) /* a block from before the fork: a fresh one here */
		return addr ? vlog_new_block(ps, pid, addr, c->arg[1], TRACE_REALLOC) : 0;
	if (!e)
		return parser_fail(ps, "realloc of 0x%llx, which is not allocated",
				   (unsigned long long)c->arg[0]);
	if (addr == 0 && c->arg[1] == 0)
		return vlog_free(ps, pid, c->arg[0]); /* realloc(p, 0) freed p */
	if (addr == 0)
		return 0; /* failed: p is untouched */
	uint32_t slot = e->slot;
	idmap_remove(&ps->map, e);
	if (idmap_find(&ps->map, pid, addr))
		return parser_fail(ps, "realloc returned 0x%llx, which is already allocated",
				   (unsigned long long)addr);
	if (idmap_put(&ps->map, pid, addr, slot) < 0)
		return parser_fail(ps, "out of memory");
	return op_push(ps, TRACE_REALLOC, slot, c->arg[1]);
}

/*
 * One line: 1 when it is valgrind's (a "--PID--" line, with or without a
 * call, or an "==PID==" message), 0 for any other text, -1 on an error.
 */
static int vlog_line(struct parser *ps)
{
	uint64_t pid;
	struct vlog_call c;
	int found;
	if (scan_prefix(ps, "==") && scan_number(ps, 10, &pid) && scan_prefix(ps, "=="))
		return 1; /* valgrind's own messages */
	ps->pos = ps->ls;
	if (!scan_prefix(ps, "--") || !scan_number(ps, 10, &pid) || !scan_prefix(ps, "--"))
		return 0;
	scan_space(ps);
	if (vlog_call_scan(ps, &c, &found) < 0)
		return -1;
	if (!found && vlog_known(c.name))
		return parser_fail(ps, "%s without its arguments: the line is cut short", c.name);
	if (!found)
		return 1; /* some other --PID-- message */
	int rc = strcmp(c.name, "realloc") == 0 ? vlog_realloc(ps, pid, &c)
						: vlog_plain(ps, pid, &c, TRACE_ALLOC);
	if (rc < 0)
		return -1;
	if (!scan_at_end(ps))
		return parser_fail(ps, "unexpected text after the call");
	return 1;
}

/*
 * A log may hold the program's own output between valgrind's lines, but a
 * file with text and not one line of valgrind's is no valgrind log.
 */
static int vlog_parse(struct parser *ps)
{
	size_t text = 0, valgrind = 0;
	const char *start = ps->cur;
	uint64_t pid;
	/* First every process's parent, wherever its line is (logs of several
	 * processes come one after the other, not always parents first). */
	while (line_next(ps))
		if (scan_prefix(ps, "==") && scan_number(ps, 10, &pid) && scan_prefix(ps, "==") &&
		    vlog_parent_line(ps, pid) < 0)
			return -1;
	ps->cur = start;
	ps->line = 0;
	while (line_next(ps)) {
		int rc = vlog_line(ps);
		if (rc < 0)
			return -1;
		valgrind += (size_t)rc;
		text += ps->le > ps->ls;
	}
	if (text && !valgrind) {
		if (ps->errlen)
			snprintf(ps->err, ps->errlen, "%s: not a valgrind log: no line starts with "
				 "--PID-- or ==PID== (record one with valgrind --trace-malloc=yes)",
				 ps->name);
		return -1;
	}
	return 0;
}

/* --- Entry points --- */

const char *trace_format_name(enum trace_format f)
{
	switch (f) {
	case TRACE_REP: return "rep";
	case TRACE_WEE: return "wee";
	case TRACE_VLOG: return "vlog";
	default: return "auto";
	}
}

int trace_format_parse(const char *name)
{
	static const char *const names[] = { "auto", "rep", "wee", "vlog" };
	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static int name_has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);
	return n > e && strcmp(name + n - e, ext) == 0;
}

enum trace_format trace_detect(const char *name, const char *buf, size_t len)
{
	if (name && name_has_ext(name, ".rep"))
		return TRACE_REP;
	if (name && name_has_ext(name, ".trace"))
		return TRACE_WEE;
	if (name && (name_has_ext(name, ".vlog") || name_has_ext(name, ".log")))
		return TRACE_VLOG;
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && (buf[i] == '=' || buf[i] == '-') && i + 1 < len && buf[i + 1] == buf[i])
		return TRACE_VLOG;
	if (i < len && (buf[i] == 'A' || buf[i] == 'F'))
		return TRACE_WEE;
	return TRACE_REP;
}

int trace_parse(const char *name, const char *buf, size_t len,
		enum trace_format fmt, struct trace *out, char *err, size_t errlen)
{
	struct parser ps = { .name = name ? name : "<trace>", .cur = buf, .end = buf + len,
			     .t = out, .err = err, .errlen = errlen };
	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (fmt == TRACE_AUTO)
		fmt = trace_detect(name, buf, len);
	out->format = fmt;
	int rc = fmt == TRACE_REP ? rep_parse(&ps) : fmt == TRACE_WEE ? wee_parse(&ps)
		: fmt == TRACE_VLOG ? vlog_parse(&ps) : parser_fail(&ps, "unknown format");
	free(ps.map.tab);
	free(ps.forks);
	if (rc < 0)
		trace_free(out);
	return rc;
}

/* --- Saved traces: "BUDDYOPS", then nops, nslots (uint64), then the ops --- */

#define TRACE_MAGIC "BUDDYOPS"
#define TRACE_HEADER 24 /* magic + nops + nslots */

int trace_save(const struct trace *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	uint64_t hdr[2] = { t->nops, t->nslots };
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int bad = fwrite(TRACE_MAGIC, 8, 1, f) != 1 || fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
		  (t->nops && fwrite(t->ops, sizeof(*t->ops), t->nops, f) != t->nops);
	bad |= fclose(f) != 0;
	if (bad)
		snprintf(err, errlen, "%s: write error", path);
	return bad ? -1 : 0;
}

/* Map a saved trace; 1 if the file is not one, 0 mapped, -1 error. */
static int trace_map(const char *path, struct trace *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char magic[8];
	uint64_t hdr[2];
	if (fd < 0 || fstat(fd, &st) < 0 || pread(fd, magic, 8, 0) != 8 ||
	    memcmp(magic, TRACE_MAGIC, 8) != 0 || pread(fd, hdr, sizeof(hdr), 8) != sizeof(hdr)) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (hdr[0] > ((uint64_t)st.st_size - TRACE_HEADER) / sizeof(struct trace_op) ||
	    (uint64_t)st.st_size != TRACE_HEADER + hdr[0] * sizeof(struct trace_op)) {
		close(fd);
		snprintf(err, errlen, "%s: truncated saved trace", path);
		return -1;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	out->map = m;
	out->map_len = (size_t)st.st_size;
	out->ops = (struct trace_op *)((char *)m + TRACE_HEADER);
	out->nops = out->cap = (size_t)hdr[0];
	out->nslots = (size_t)hdr[1];
	out->format = TRACE_AUTO;
	for (size_t i = 0; i < out->nops; i++) { /* a damaged file must not crash a replay */
		const struct trace_op *o = &out->ops[i];
		if (o->kind > TRACE_REALLOC || (o->slot >= out->nslots &&
						!(o->slot == TRACE_NO_SLOT && o->kind == TRACE_FREE))) {
			snprintf(err, errlen, "%s: bad op %zu in saved trace", path, i);
			trace_free(out);
			return -1;
		}
	}
	return 0;
}

int trace_load(const char *path, enum trace_format fmt, struct trace *out,
	       char *err, size_t errlen)
{
	struct stat sb;
	memset(out, 0, sizeof(*out));
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
		return -1;
	}
	int m = trace_map(path, out, err, errlen);
	if (m <= 0)
		return m;
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	memset(out, 0, sizeof(*out));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int bad = 0;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				bad = 1;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int e = ferror(f) ? errno : 0;
	bad |= ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: %s", path, e ? strerror(e) : "out of memory");
		free(buf);
		return -1;
	}
	int rc = trace_parse(path, buf, len, fmt, out, err, errlen);
	free(buf);
	return rc;
}

void trace_free(struct trace *t)
{
	if (t->map)
		munmap(t->map, t->map_len);
	else
		free(t->ops);
	memset(t, 0, sizeof(*t));
}
