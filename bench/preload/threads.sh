#!/bin/sh
# SPDX-License-Identifier: MIT
# threads_bench (mixed small and medium mallocs and frees, one block in eight
# freed by another thread) at 1 and 2 threads on glibc, jemalloc, mimalloc,
# tcmalloc and libbuddymalloc in one run, alternating allocators; the median
# of RUNS runs (default 5: single 1-thread runs differ by up to 1.5x even on
# a quiet machine) of OPS operations per thread (default 8000000) of the
# operations per second, each allocator's 2-thread over 1-thread ratio, and
# libbuddymalloc's over glibc's.
# Usage: threads.sh THREADS_BENCH LIBBUDDYMALLOC_SO [RUNS] [OPS]
set -u
bin=$1
lib=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
runs=${3:-5} ops=${4:-8000000}
. "$(cd "$(dirname "$0")" && pwd)/peers.sh"
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM
r=0
while [ $r -lt "$runs" ]; do
  for t in 1 2; do
    for a in $allocs; do
      echo "$a $t $(LD_PRELOAD="$(preload_of $a)" "$bin" $t "$ops")" >>"$res"
    done
  done
  r=$((r + 1))
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-9s %14s %14s %9s\n' allocator "1 thread op/s" "2 threads op/s" "2t/1t"
for a in $allocs; do
  o1=$(awk -v a=$a '$1 == a && $2 == 1 { print $3 }' "$res" | median)
  o2=$(awk -v a=$a '$1 == a && $2 == 2 { print $3 }' "$res" | median)
  eval "o1_$a=$o1 o2_$a=$o2"
  printf '%-9s %14.0f %14.0f %8.2fx\n' $a "$o1" "$o2" "$(awk -v x="$o2" -v y="$o1" 'BEGIN { print x / y }')"
done
awk -v b1="$o1_buddy" -v g1="$o1_glibc" -v b2="$o2_buddy" -v g2="$o2_glibc" \
  'BEGIN { printf "buddy/glibc throughput: %.2fx at 1 thread, %.2fx at 2 threads\n", b1 / g1, b2 / g2 }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
