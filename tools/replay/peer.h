/* SPDX-License-Identifier: MIT */
/*
 * peer.h - the process's own malloc as a struct balloc, for runners that
 * measure a peer allocator (glibc, jemalloc, mimalloc, tcmalloc). Each
 * runner executable is linked against one peer, which then is the process
 * malloc; footprint comes from that peer's own statistics interface.
 */
#ifndef BUDDY_REPLAY_PEER_H
#define BUDDY_REPLAY_PEER_H

#include "buddy/alloc.h"

/* Name of the peer this runner was built for ("glibc", "jemalloc", ...). */
const char *peer_name(void);

/*
 * The process malloc as an allocator. Its footprint is what the peer
 * reports for the whole process, so a runner takes nothing from malloc
 * for itself (traces and the engine's arrays are mapped).
 */
void peer_balloc(struct balloc *out);

#endif /* BUDDY_REPLAY_PEER_H */
