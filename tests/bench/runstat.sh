#!/bin/sh
# SPDX-License-Identifier: MIT
# preload_runstat (bench/preload/runstat.c), the timer of bench/preload/programs.sh:
# what it writes, the exit statuses it passes on, its errors, RUNSTAT_PRELOAD.
# Usage: runstat.sh RUNSTAT
set -u
rs=$1
d=$(mktemp -d "${TMPDIR:-/tmp}/runstat-test.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT INT TERM
fail() { echo "runstat test: $*"; exit 1; }

# no command: usage on stderr, status 2, nothing written
"$rs" "$d/out" 2>"$d/err"; st=$?
[ $st -eq 2 ] || fail "no command: status $st, want 2"
grep -q '^usage: runstat OUTFILE COMMAND' "$d/err" || fail "no command: no usage line"
[ ! -e "$d/out" ] || fail "no command: wrote $d/out"

# the command's status comes back; four numbers, the wall time at least the sleep
"$rs" "$d/out" sh -c 'sleep 0.2; exit 3'; st=$?
[ $st -eq 3 ] || fail "exit 3: status $st"
awk 'NF != 4 || $1 < 0.2 || $1 > 30 || $2 <= 0 || $3 < 0 || $4 < 0 { bad = 1 }
     END { exit bad || NR != 1 }' "$d/out" || fail "exit 3: bad line '$(cat "$d/out")'"

# a signal: 128 + its number, as the shell reports it
"$rs" "$d/out" sh -c 'kill -TERM $$'; st=$?
[ $st -eq 143 ] || fail "SIGTERM: status $st, want 143"

# a command that cannot start: 127 and its name on stderr
"$rs" "$d/out" "$d/no-such-program" 2>"$d/err"; st=$?
[ $st -eq 127 ] || fail "missing command: status $st, want 127"
grep -q 'no-such-program' "$d/err" || fail "missing command: not named on stderr"

# an output file it cannot write: 127, the command still ran
"$rs" "$d/no-dir/out" sh -c 'touch "$0"' "$d/ran" 2>"$d/err"; st=$?
[ $st -eq 127 ] || fail "unwritable output: status $st, want 127"
[ -e "$d/ran" ] || fail "unwritable output: the command did not run"

# RUNSTAT_PRELOAD becomes the command's LD_PRELOAD; empty, none
RUNSTAT_PRELOAD=/nonexistent/lib.so "$rs" "$d/out" sh -c 'echo "$LD_PRELOAD"' >"$d/env" 2>/dev/null
[ "$(cat "$d/env")" = /nonexistent/lib.so ] || fail "RUNSTAT_PRELOAD: child saw '$(cat "$d/env")'"
RUNSTAT_PRELOAD= LD_PRELOAD=/nonexistent/lib.so "$rs" "$d/out" sh -c 'echo "${LD_PRELOAD-unset}"' \
  >"$d/env" 2>/dev/null
[ "$(cat "$d/env")" = unset ] || fail "empty RUNSTAT_PRELOAD: child saw '$(cat "$d/env")'"
echo "runstat test: all cases passed"
