/* SPDX-License-Identifier: MIT */
/*
 * bench.h - `buddy bench`: the micro-benchmarks W1-W3 on the project's
 * allocators and the peers, each in a process of its own (see
 * docs/replay-bench.md).
 */
#ifndef BUDDY_BENCH_H
#define BUDDY_BENCH_H

/* Entry point; argv[0] is the command name. Returns the exit status. */
int bench_main(int argc, char **argv);

#endif /* BUDDY_BENCH_H */
