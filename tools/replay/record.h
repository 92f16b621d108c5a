/* SPDX-License-Identifier: MIT */
/*
 * record.h - `buddy record`: run a program under valgrind --trace-malloc=yes,
 * following its children, and write a trace for `buddy replay`
 * (see docs/replay-bench.md).
 */
#ifndef BUDDY_RECORD_H
#define BUDDY_RECORD_H

/* Entry point; argv[0] is the command name. Returns the exit status. */
int record_main(int argc, char **argv);

#endif /* BUDDY_RECORD_H */
