#!/bin/sh
# SPDX-License-Identifier: MIT
# The real programs of the process malloc's tests (tests/preload/workloads.sh)
# timed on each allocator in one run: glibc, jemalloc, mimalloc and tcmalloc
# (their Debian libraries through LD_PRELOAD) and libbuddymalloc. For each
# program and allocator: the median of RUNS runs (default 3) of the wall time
# and of the peak resident size of the program's largest process (GNU time's
# %M, or RUNSTAT's, which reads the same at microsecond resolution), and the
# ratios to glibc, with the ratio of CPU time (user + system,
# which the machine's load disturbs less than the wall time); the runs of one
# program alternate allocators, so that a change in the load touches them
# alike. Then the geometric means of the ratios, and the load average.
# Usage: programs.sh LIBBUDDYMALLOC_SO [RUNS [RUNSTAT]]
set -u
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tests/preload/workloads.sh"
if [ -n "${3:-}" ]; then
  [ -x "$3" ] || { echo "programs: $3 is not an executable (make bench-preload builds it)"; exit 1; }
  runstat=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
  timer() { out=$1; shift; RUNSTAT_PRELOAD="$LD_PRELOAD" LD_PRELOAD= "$runstat" "$out" "$@"; }
else
  gnutime=/usr/bin/time
  [ -x $gnutime ] || { echo "programs: needs GNU time (apt-get install time), or RUNSTAT"; exit 1; }
  timer() { out=$1; shift; $gnutime -f '%e %M %U %S' -o "$out" "$@"; }
fi
. "$here/peers.sh"
for a in $allocs; do
  p=$(preload_of $a)
  [ -z "$p" ] || [ -f "$p" ] || { echo "programs: $a: $p is missing (apt-get install libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev)"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/buddy-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
make_inputs "$work"

# one NAME ALLOC: wall seconds and peak KiB of one run, on stdout.
one() {
  d="$work/run.$1.$2"
  rm -rf "$d" && mkdir -p "$d"
  (cd "$d" && LD_PRELOAD="$(preload_of $2)" timer "$d.time" \
    sh -c ". '$here/../../tests/preload/workloads.sh'; inputs='$work'; ${1%3}_work" >/dev/null 2>&1)
  cat "$d.time" | tail -n 1
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-8s' program
for a in $allocs; do printf ' %17s' "$a s/MiB"; done
printf '   buddy/glibc time    cpu    rss\n'
geo_time=0 geo_cpu=0 n=0
for name in $PRELOAD_PROGRAMS; do
  have $name || { echo "$name: skipped, $(program_of $name) is not installed"; continue; }
  : >"$work/$name.res"
  r=0
  while [ $r -lt "$runs" ]; do
    for a in $allocs; do
      echo "$a $(one $name $a)" >>"$work/$name.res"
    done
    r=$((r + 1))
  done
  printf '%-8s' $name
  for a in $allocs; do
    t=$(awk -v a=$a '$1 == a { print $2 }' "$work/$name.res" | median)
    m=$(awk -v a=$a '$1 == a { print $3 }' "$work/$name.res" | median)
    c=$(awk -v a=$a '$1 == a { print $4 + $5 }' "$work/$name.res" | median)
    eval "t_$a=$t m_$a=$m c_$a=$c"
    printf ' %9.3f %7.1f' "$t" "$(echo "$m" | awk '{ printf "%.1f", $1 / 1024 }')"
  done
  rt=$(awk -v b="$t_buddy" -v g="$t_glibc" 'BEGIN { printf "%.3f", b / g }')
  rm=$(awk -v b="$m_buddy" -v g="$m_glibc" 'BEGIN { printf "%.3f", b / g }')
  rc=$(awk -v b="$c_buddy" -v g="$c_glibc" 'BEGIN { printf "%.3f", (b + 0.005) / (g + 0.005) }')
  printf '   %8sx %6sx %6sx\n' "$rt" "$rc" "$rm"
  geo_time=$(awk -v s="$geo_time" -v r="$rt" 'BEGIN { print s + log(r) }')
  geo_cpu=$(awk -v s="$geo_cpu" -v r="$rc" 'BEGIN { print s + log(r) }')
  n=$((n + 1))
done
[ $n -gt 0 ] && awk -v s="$geo_time" -v c="$geo_cpu" -v n=$n \
  'BEGIN { printf "geometric mean of the ratios (buddy/glibc) over %d programs: wall time %.3fx, CPU time %.3fx\n", n, exp(s / n), exp(c / n) }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
