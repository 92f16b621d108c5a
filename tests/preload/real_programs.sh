#!/bin/sh
# SPDX-License-Identifier: MIT
# Real programs on libbuddymalloc through LD_PRELOAD print exactly what they
# print on the system's malloc: python3 (PYTHONMALLOC=malloc, so its objects
# use malloc) on dicts, strings, json, re and sorting; gcc compiling and
# running a C program; git init, add, commit, log, gc and fsck in a fresh
# repository; perl; sort on a large file; xz -T2 compressing and
# decompressing; tar with gzip. A program that is not installed is skipped,
# saying so. Each result is compared with the same command without the
# library; the library's own allocation count shows it was used.
# Usage: real_programs.sh LIBBUDDYMALLOC_SO
set -u
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$lib" ] || { echo "real_programs: no library at $1"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/buddy-real.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
fails=0 ran=0 skipped=""

. "$(dirname "$0")/workloads.sh"

# run NAME WORKLOAD: WORKLOAD (a shell function of workloads.sh) writes its
# output to stdout in a directory of its own; run once plain and once
# preloaded, and compare.
run() {
  name=$1
  shift
  for mode in plain buddy; do
    d="$work/$name.$mode"
    mkdir -p "$d"
    if [ $mode = buddy ]; then
      (cd "$d" && LD_PRELOAD="$lib" BUDDY_MALLOC_STATS_FILE="$d.stats" "$@") >"$d.out" 2>"$d.err"
    else
      (cd "$d" && "$@") >"$d.out" 2>"$d.err"
    fi
    echo "exit $?" >>"$d.out"
  done
  if ! cmp -s "$work/$name.plain.out" "$work/$name.buddy.out"; then
    echo "real_programs: $name: the output differs under libbuddymalloc:"
    diff "$work/$name.plain.out" "$work/$name.buddy.out" | head -20
    head -5 "$work/$name.buddy.err"
    fails=$((fails + 1))
  elif ! grep -q '^buddymalloc: allocs [1-9]' "$work/$name.buddy.stats" 2>/dev/null; then
    echo "real_programs: $name: no statistics from libbuddymalloc: was it loaded?"
    head -5 "$work/$name.buddy.err"
    fails=$((fails + 1))
  else
    echo "real_programs: $name: same output ($(wc -l <"$work/$name.plain.out") lines)" \
      "on the system malloc and on libbuddymalloc" \
      "($(grep -c '^buddymalloc: allocs' "$work/$name.buddy.stats") processes on it)"
    ran=$((ran + 1))
  fi
}

skip() {
  echo "real_programs: $1: skipped, $2 is not installed"
  skipped="$skipped $1"
}

# A quarter of the benchmark's text file (3.1 MB: xz -T2 still makes three
# 1 MiB blocks, on two threads): the workloads allocate alike, in less than
# half the time (xz on the full file was two thirds of it).
make_inputs "$work" 100000
for name in $PRELOAD_PROGRAMS; do
  if have $name; then
    run $name ${name%3}_work
  else
    skip $name "$(program_of $name)"
  fi
done

echo "real_programs: $ran same, $fails different${skipped:+, skipped:$skipped}"
[ $fails = 0 ]
