#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a build step with its output going to a log, as `make run` does: when
# the step succeeds nothing is left on the screen (on a terminal a status line
# shows while it works, then is erased); when it fails, the log is shown.
#
#   scripts/quiet.sh LOG MESSAGE COMMAND [ARG...]
set -u
log=$1 msg=$2
shift 2
mkdir -p "$(dirname "$log")" || exit 1
tty=0
[ -t 2 ] && tty=1
[ $tty = 1 ] && printf '%s' "$msg" >&2
"$@" >"$log" 2>&1
rc=$?
# Erase the status line: back to its start, blanks over it, back again.
[ $tty = 1 ] && printf '\r%*s\r' "${#msg}" '' >&2
[ $rc = 0 ] && exit 0
cat "$log" >&2
echo "$msg: failed (exit $rc); the output above is also in $log" >&2
exit $rc
