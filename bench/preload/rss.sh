#!/bin/sh
# SPDX-License-Identifier: MIT
# rss_return (1 GiB in small and large blocks, all freed, then a little more
# work) on glibc, jemalloc, mimalloc, tcmalloc and libbuddymalloc: the
# resident size at the peak, after the frees and after the further work.
# Usage: rss.sh RSS_RETURN LIBBUDDYMALLOC_SO
set -u
bin=$1
lib=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for a in glibc jemalloc mimalloc tcmalloc buddy; do
  case $a in
    glibc) p="" ;;
    jemalloc) p=$libdir/libjemalloc.so.2 ;;
    mimalloc) p=$libdir/libmimalloc.so.2 ;;
    tcmalloc) p=$libdir/libtcmalloc_minimal.so.4 ;;
    buddy) p=$lib ;;
  esac
  printf '%-9s %s\n' $a "$(LD_PRELOAD="$p" "$bin")"
done
