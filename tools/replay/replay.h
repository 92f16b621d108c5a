/* SPDX-License-Identifier: MIT */
/*
 * replay.h - `buddy replay`: replay allocation traces on each allocator
 * and report speed, memory use and correctness (see docs/replay-bench.md).
 */
#ifndef BUDDY_REPLAY_H
#define BUDDY_REPLAY_H

/* Entry point; argv[0] is the command name. Returns the exit status. */
int replay_main(int argc, char **argv);

#endif /* BUDDY_REPLAY_H */
