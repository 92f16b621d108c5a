#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one scripted `buddy` session and compare its output with a golden file.
#   run_golden.sh BUDDY GOLDEN_DIR NAME [OPTIONS...]
# Runs `BUDDY --color=never --width=80 --echo OPTIONS NAME.txt` inside
# GOLDEN_DIR (so error lines name the script as NAME.txt), with stdout and
# stderr together and the exit status appended, and diffs that against
# NAME.out. BUDDY_UPDATE_GOLDEN=1 rewrites NAME.out instead. Under the
# valgrind build (BUDDY_UNDER_VALGRIND=1) the program itself runs under
# memcheck too.
set -u
buddy=$1 dir=$2 name=$3
shift 3
case $buddy in /*) ;; *) buddy=$(pwd)/$buddy ;; esac
run=""
if [ "${BUDDY_UNDER_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  run="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
cd "$dir" || exit 1
NO_COLOR= COLUMNS= $run "$buddy" --color=never --width=80 --echo "$@" "$name.txt" >"$out" 2>&1
echo "exit status: $?" >>"$out"
if [ "${BUDDY_UPDATE_GOLDEN:-0}" = 1 ]; then
  cp "$out" "$name.out"
  echo "updated $dir/$name.out"
  exit 0
fi
if ! diff -u "$name.out" "$out"; then
  echo "golden: $name: output differs from $dir/$name.out (see the diff above)" >&2
  exit 1
fi
echo "golden: $name: ok"
