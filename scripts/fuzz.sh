#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every libFuzzer harness built in a fuzz build directory for a set time.
#
#   scripts/fuzz.sh [--build DIR] [--seconds N | --total N] [--max-len N]
#                   [--keep | --temp] [NAME...]
#
# --seconds N  seconds per harness (default 60); --total N splits N seconds
#              evenly over the harnesses (at least 3 each).
# --max-len N  longest input tried (default 1024)
# --keep       grow a corpus kept in fuzz-out/corpus/<name>/ (not in the repo);
# --temp       put new units in a temporary directory, removed afterwards.
# The seed corpus fuzz/corpus/<name>/ and fuzz/regressions/<name>/ are read,
# never written. Crash inputs go to fuzz-out/artifacts/<name>/. Executions
# per harness are printed and appended to fuzz-out/executions.log.
# Exit status 1 if any harness found a crash.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-fuzz seconds=60 total="" maxlen=1024 mode=keep names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --total) total=$2; shift 2 ;;
    --max-len) maxlen=$2; shift 2 ;;
    --keep) mode=keep; shift ;;
    --temp) mode=temp; shift ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for bin in "$build"/fuzz/fuzz_*; do
    [ -x "$bin" ] && names+=("$(basename "$bin" | sed 's/^fuzz_//')")
  done
fi
if [ ${#names[@]} -eq 0 ]; then
  echo "fuzz.sh: no harnesses in $build/fuzz (build with -DBUDDY_FUZZ=ON)" >&2
  exit 2
fi
if [ -n "$total" ]; then
  seconds=$(( total / ${#names[@]} ))
  [ "$seconds" -lt 3 ] && seconds=3
fi

mkdir -p fuzz-out
failed=0
summary=""
for name in "${names[@]}"; do
  bin="$build/fuzz/fuzz_$name"
  if [ "$mode" = keep ]; then
    corpus="fuzz-out/corpus/$name"; mkdir -p "$corpus"
  else
    corpus=$(mktemp -d)
  fi
  artifacts="fuzz-out/artifacts/$name/"; mkdir -p "$artifacts"
  seeds=("fuzz/corpus/$name")
  [ -d "fuzz/regressions/$name" ] && seeds+=("fuzz/regressions/$name")
  log=$(mktemp)
  "$bin" -max_total_time="$seconds" -max_len="$maxlen" -timeout=10 -rss_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz.sh: $name FOUND A PROBLEM (exit $rc); input saved in $artifacts" >&2
    grep -E "ERROR|SUMMARY|^fuzz_|buddy_check|Test unit written" "$log" | head -20 >&2
  fi
  line=$(printf '%-10s %5ss %10s executions' "$name" "$seconds" "${execs:-?}")
  [ $rc -ne 0 ] && line="$line  CRASH"
  summary+="$line"$'\n'
  echo "$(date -u +%FT%TZ) $name ${seconds}s ${execs:-0} rc=$rc" >>fuzz-out/executions.log
  rm -f "$log"
  [ "$mode" = temp ] && rm -rf "$corpus"
done
printf 'fuzz summary:\n%s' "$summary"
exit $failed
