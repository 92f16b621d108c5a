#!/bin/sh
# SPDX-License-Identifier: MIT
# The command line: every option error, --help, --version, a script that is
# missing, and stdin as a script. Compares against cli.out in the same way
# as the golden sessions (BUDDY_UPDATE_GOLDEN=1 rewrites it).
#   cli.sh BUDDY DIR
set -u
buddy=$1 dir=$2
case $buddy in /*) ;; *) buddy=$(pwd)/$buddy ;; esac
if [ "${BUDDY_UNDER_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  buddy="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $buddy"
fi
cd "$dir" || exit 1
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
try() {
  echo "\$ buddy $*" >>"$out"
  NO_COLOR= COLUMNS= $buddy "$@" </dev/null >>"$out" 2>&1
  echo "exit status: $?" >>"$out"
}
try --allocator slab
try --arena 12Q
try --arena 0
try --arena 99999999999999999999999
try --arena 17G
try --arena 5000
try --arena 1G --page-size 16
try --page-size 100
try --page-size 8
try --max-order 32
try --max-order x
try --width 10
try --color sometimes
try --allocator heap --max-order 3
try --allocator heap --arena 5K
try --allocator heap --arena 2K
try --allocator heap --arena 4000
try --allocator heap --arena 8K
try --allocator bestfit --arena 100
try .
try --allocator kmalloc --arena 100K
try --allocator kmalloc --arena 32K
try --allocator kmalloc --page-size 4K
try --bogus
try -z
try --arena
try -s
try one.txt two.txt
try no-such-script.txt
try --version
try --help
try replay
try replay --format nope x.rep
try bench --workload W9
try record
printf '%s\n' '$ printf "alloc 0\nfree #1\nbogus\n" | buddy --width 80' >>"$out"
printf 'alloc 0\nfree #1\nbogus\n' | NO_COLOR= $buddy --width 80 >>"$out" 2>&1
echo "exit status: $?" >>"$out"
printf '%s\n' '$ printf "alloc 0\nstats\n" | buddy --arena 1M --page-size 64K --max-order 2' >>"$out"
printf 'alloc 0\nstats\n' | $buddy --arena 1M --page-size 64K --max-order 2 >>"$out" 2>&1
echo "exit status: $?" >>"$out"
# A NUL byte would cut its line short: the line is refused, not run in part.
printf '%s\n' '$ printf "alloc 0\nfree #1\0garbage\nalloc 1\n" | buddy' >>"$out"
printf 'alloc 0\nfree #1\0garbage\nalloc 1\n' | NO_COLOR= $buddy --width 80 >>"$out" 2>&1
echo "exit status: $?" >>"$out"
# Orders 10 and up are drawn as letters, and the legend says so.
printf '%s\n' '$ printf "alloc 0\nmap\n" | buddy --arena 32K --page-size 16 --width 80' >>"$out"
printf 'alloc 0\nmap\n' | NO_COLOR= $buddy --arena 32K --page-size 16 --width 80 >>"$out" 2>&1
echo "exit status: $?" >>"$out"
if [ "${BUDDY_UPDATE_GOLDEN:-0}" = 1 ]; then
  cp "$out" cli.out
  echo "updated $dir/cli.out"
  exit 0
fi
if ! diff -u cli.out "$out"; then
  echo "cli: output differs from $dir/cli.out (see the diff above)" >&2
  exit 1
fi
echo "cli: ok"
