#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run` is quiet and builds only what it launches: in a built tree it
# prints exactly what the program prints, and the only build step it would
# take is the buddy command's target (which brings the runners it starts).
# Usage: make_run.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
fail() { echo "make run: $*" >&2; exit 1; }
want=$("$build/buddy" --version 2>&1) || fail "$build/buddy --version failed"
got=$(cd "$src" && make run BUILD="$build" ARGS=--version 2>&1) ||
  fail "make run ARGS=--version failed: $got"
if [ "$got" != "$want" ]; then
  printf 'make run printed:\n%s\ninstead of only:\n%s\n' "$got" "$want" >&2
  exit 1
fi
steps=$(cd "$src" && make -n run BUILD="$build" | grep -- '--build') || fail "no build step in make -n run"
echo "$steps" | grep -q -- '--target buddy$' && [ "$(echo "$steps" | wc -l)" = 1 ] ||
  fail "make run builds more than the buddy target: $steps"
echo "make run: quiet, and builds only the buddy target"
