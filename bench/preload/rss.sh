#!/bin/sh
# SPDX-License-Identifier: MIT
# rss_return (1 GiB in small and large blocks, all freed, then a little more
# work) on glibc, jemalloc, mimalloc, tcmalloc and libbuddymalloc: the
# resident size at the peak, after the frees and after the further work.
# Usage: rss.sh RSS_RETURN LIBBUDDYMALLOC_SO
set -u
bin=$1
lib=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
. "$(cd "$(dirname "$0")" && pwd)/peers.sh"
for a in $allocs; do
  p=$(preload_of $a)
  printf '%-9s %s\n' $a "$(LD_PRELOAD="$p" "$bin")"
done
