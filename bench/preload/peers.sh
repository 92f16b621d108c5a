# SPDX-License-Identifier: MIT
# The allocators the preload benchmarks compare, sourced by programs.sh,
# threads.sh and rss.sh (which set $lib to libbuddymalloc.so first): their
# names in table order, and preload_of NAME, the library LD_PRELOAD takes for
# one (empty for glibc; the peers are their Debian libraries).
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
allocs="glibc jemalloc mimalloc tcmalloc buddy"
preload_of() {
  case $1 in
    glibc) echo "" ;;
    jemalloc) echo "$libdir/libjemalloc.so.2" ;;
    mimalloc) echo "$libdir/libmimalloc.so.2" ;;
    tcmalloc) echo "$libdir/libtcmalloc_minimal.so.4" ;;
    buddy) echo "$lib" ;;
  esac
}
