#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Static analysis of every project source: clang-tidy (checks in .clang-tidy)
# and cppcheck (suppressions in .cppcheck-suppressions, each justified).
#
#   scripts/lint.sh BUILD_DIR
#
# BUILD_DIR must hold compile_commands.json from a configured build with the
# tests on, so tests/ and fuzz/ are analysed with their real flags. Sources
# under src/ tools/ tests/ bench/ fuzz/ are checked. Exit status 1 on any
# finding.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
db="$build/compile_commands.json"
jobs=${JOBS:-2}
if [ ! -f "$db" ]; then
  echo "lint.sh: $db missing; configure the build first (make build)" >&2
  exit 2
fi
for tool in clang-tidy cppcheck; do
  command -v $tool >/dev/null || { echo "lint.sh: $tool not installed (apt-get install $tool)" >&2; exit 2; }
done
root=$(pwd)
files=$(python3 - "$db" "$root" <<'PY'
import json, os, sys
db, root = sys.argv[1], sys.argv[2]
seen = set()
for e in json.load(open(db)):
    f = os.path.realpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, root)
    if rel.split(os.sep)[0] in ("src", "tools", "tests", "bench", "fuzz") and rel not in seen:
        seen.add(rel)
        print(rel)
PY
)
n=$(echo "$files" | wc -l)
status=0

echo "lint: clang-tidy on $n files"
tidy=$(echo "$files" | xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet 2>/dev/null)
# (a here-string, not a pipe: grep -q stops reading early, and under
# pipefail the writer's SIGPIPE would turn a match into a failure)
if grep -qE "(warning|error):" <<<"$tidy"; then
  echo "$tidy"
  status=1
fi

echo "lint: cppcheck on $n files"
# --project: each file with its own defines and include paths, as built.
if ! cppcheck --project="$db" --std=c11 --enable=warning,style,performance,portability \
     --inline-suppr --suppressions-list=.cppcheck-suppressions --error-exitcode=1 \
     --quiet -j "$jobs" --template='{file}:{line}: {severity}: {message} [{id}]'; then
  status=1
fi
# The web page's WebAssembly API is built by a custom command (not in the
# compile database): analysed here with the flags web/build.cmake uses.
wasm_flags="--target=wasm32 -std=c11 -ffreestanding -Iinclude -Isrc"
echo "lint: clang-tidy and cppcheck on" web/wasm/*.c "(wasm32)"
for f in web/wasm/*.c; do
  out=$(clang-tidy --quiet "$f" -- $wasm_flags 2>/dev/null)
  if grep -qE "(warning|error):" <<<"$out"; then
    echo "$out"
    status=1
  fi
  if ! cppcheck --std=c11 --enable=warning,style,performance,portability --inline-suppr \
       --suppressions-list=.cppcheck-suppressions --error-exitcode=1 --quiet -Iinclude -Isrc \
       --template='{file}:{line}: {severity}: {message} [{id}]' "$f"; then
    status=1
  fi
done
if [ $status -eq 0 ]; then
  echo "lint: clean"
else
  echo "lint: findings above" >&2
fi
exit $status
