/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - run a runner program in a child process and collect its
 * stdout (stderr passes through), and the default list of allocators the
 * runners offer. Shared by `buddy replay` and `buddy bench`.
 */
#ifndef BUDDY_RUNNER_SPAWN_H
#define BUDDY_RUNNER_SPAWN_H

#include <stddef.h>

/* Peers with a runner of their own; glibc lives in the native runner. */
extern const char *const spawn_peers[]; /* "jemalloc", "mimalloc", "tcmalloc", NULL */

/*
 * Path of the runner that serves allocator `alloc` ("buddy-run-native", or
 * "buddy-run-PEER" for a peer with its own runner), found in
 * $BUDDY_RUNNER_DIR if set, else next to the running program or in
 * ../libexec/buddy from it (installed). Returns 0, or -1 when it does
 * not exist (the peer was not installed at build time).
 */
int spawn_runner_path(const char *alloc, char *buf, size_t len);

/*
 * Run argv (argv[0] a path) with `prefix` (NULL-terminated, may be NULL)
 * put in front, e.g. a valgrind command. Returns the exit status (0 on
 * success, -1 if it could not run or died), with its stdout in *out
 * (malloc'd, NUL-terminated; free it).
 */
int spawn_capture(char *const *prefix, char *const *argv, char **out);

/*
 * The allocators a run compares when none are named, for `mode` ("replay"
 * or "bench", a line of the native runner's `list`): the project's own in
 * the runner's order, then glibc, then each peer whose runner is installed.
 * add(arg, name) is called for each; the names point into *buf (malloc'd,
 * free it; set even on failure). Returns 0, or -1 with a message on stderr
 * (prog: ...) when the native runner cannot be found or run.
 */
int spawn_default_allocs(const char *prog, const char *mode, char **buf,
			 void (*add)(void *arg, const char *name), void *arg);

/*
 * Whether every one of names[0..n) can run in `mode`: a name
 * spawn_default_allocs gives. Returns 0, or -1 after one line on stderr per
 * bad name: "prog: unknown allocator 'x' (valid: a, b, ...)", or for a
 * known peer whose runner was not built, that it is not installed.
 */
int spawn_check_allocs(const char *prog, const char *mode, const char *const *names, size_t n);

#endif /* BUDDY_RUNNER_SPAWN_H */
