#!/bin/sh
# SPDX-License-Identifier: MIT
# expect_report.sh PATTERN COMMAND...  - passes when COMMAND fails and its
# output (stdout and stderr) matches the extended regular expression
# PATTERN: a memory checker saw the error it was shown. A command that
# exits 0, or fails without the expected report, fails the test.
pattern=$1
shift
out=$("$@" 2>&1)
status=$?
if [ $status -ne 0 ] && printf '%s\n' "$out" | grep -Eq "$pattern"; then
  printf '%s\n' "$out" | grep -E "$pattern" | head -3
  exit 0
fi
printf '%s\n' "$out"
echo "expect_report: wanted a failing exit and output matching /$pattern/; got exit $status" >&2
exit 1
