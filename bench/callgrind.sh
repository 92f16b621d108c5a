#!/bin/sh
# SPDX-License-Identifier: MIT
# callgrind.sh - instructions per alloc+free pair for every workload and
# allocator, counted by valgrind --tool=callgrind inside the timed loop
# only (bench_loop_*), at a reduced op count. Instruction counts do not
# drift the way time does on a small shared machine. The `loop` row is the
# harness alone (a do-nothing allocator); subtract it for the allocator's
# own cost.
#   bench/callgrind.sh [BUILD_DIR] [buddy bench options, e.g. --ops 100000]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind" >&2; exit 1; }
exec "$build/buddy" bench --callgrind "$@"
