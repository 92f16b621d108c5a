/*
 * spawn.h - run a runner program in a child process and collect its
 * stdout (stderr passes through). Shared by buddy-replay and buddy-bench.
 */
#ifndef BUDDY_REPLAY_SPAWN_H
#define BUDDY_REPLAY_SPAWN_H

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

#endif /* BUDDY_REPLAY_SPAWN_H */
