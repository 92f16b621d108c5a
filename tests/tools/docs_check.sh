#!/bin/sh
# SPDX-License-Identifier: MIT
# The session in README.md and docs/buddy-command.md is real: run
# docs/session.txt in a scratch directory and compare its output with the
# block under "## A session" in each, and the SVG it saves with
# docs/session.svg.
#   docs_check.sh BUDDY SOURCE_DIR
set -u
buddy=$1 src=$2
case $buddy in /*) ;; *) buddy=$(pwd)/$buddy ;; esac
if [ "${BUDDY_UNDER_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  buddy="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $buddy"
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/docs" && cp "$src/docs/session.txt" "$tmp/docs/" || exit 1
(cd "$tmp" && NO_COLOR= $buddy --echo --color=never --width=80 docs/session.txt >out 2>&1) ||
  { echo "docs: the session failed" >&2; cat "$tmp/out" >&2; exit 1; }
for doc in README.md docs/buddy-command.md; do
  awk '/^## A session/ { s = 1 } s && /^```/ { if (inb) exit; inb = 1; next } inb' \
    "$src/$doc" >"$tmp/doc"
  if ! diff -u "$tmp/doc" "$tmp/out"; then
    echo "docs: $doc shows other output than the session gives" >&2
    exit 1
  fi
done
if ! cmp -s "$tmp/docs/session.svg" "$src/docs/session.svg"; then
  echo "docs: docs/session.svg differs from what the session saves" >&2
  exit 1
fi
echo "docs: ok"
