/* SPDX-License-Identifier: MIT */
/*
 * heap_rust.h - the Rust port's byte heap (brust_heap_*, libbrust.a) behind
 * the common allocator interface, so that `buddy replay -a rust` runs a
 * trace on it beside the C heaps. Built only when the build has the Rust
 * port (BUDDY_RUNNER_RUST).
 */
#ifndef BUDDY_TOOLS_HEAP_RUST_H
#define BUDDY_TOOLS_HEAP_RUST_H

#include "buddy/alloc.h"

/*
 * A Rust heap over one mapped buffer of opt->arena_bytes (default 64 MiB):
 * 0, or an errno value. Misuse (a free the heap refuses) prints
 * "rust: free(): <problem> at <ptr>" and aborts, as the C heaps do.
 */
int replay_rust_heap_create(const struct balloc_options *opt, struct balloc *out);

#endif /* BUDDY_TOOLS_HEAP_RUST_H */
