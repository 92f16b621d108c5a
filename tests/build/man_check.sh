#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual is complete and well formed:
# - every public header include/buddy/X.h has its page docs/man/buddy_X.3, and
#   every function the header declares is named in the page's NAME line, shown
#   in its SYNOPSIS and described (a `.BR name ()` entry); each page says the
#   errors and the thread safety;
# - buddy(1) lists every option that `buddy --help` and the --help of replay,
#   bench and record print, and every command of the session's `help`;
# - groff formats every page without a warning;
# - README's "API at a glance" table names every function of page.h.
# Usage: man_check.sh BUDDY SOURCE_DIR
set -u
buddy=$1 src=$2
man=$src/docs/man
bad=0
fail() { echo "man: $*" >&2; bad=1; }
command -v groff >/dev/null 2>&1 || { echo "man: needs groff (apt-get install groff-base)" >&2; exit 1; }

# The functions a header declares: prototypes that start at column 0.
functions() {
  grep -E '^[A-Za-z_][A-Za-z0-9_ *]*[ *][a-z][a-z0-9_]*\(' "$1" | grep -v '^typedef' |
    sed -E 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]([a-z][a-z0-9_]*)\(.*/\1/' | sort -u
}
# The NAME section's text, joined into one line.
name_line() { awk '/^\.SH NAME/ { s = 1; next } /^\.SH/ { s = 0 } s' "$1" | tr '\n' ' '; }
synopsis() { awk '/^\.SH SYNOPSIS/ { s = 1; next } /^\.SH/ { s = 0 } s' "$1"; }

for h in "$src"/include/buddy/*.h; do
  base=$(basename "$h" .h)
  page=$man/buddy_$base.3
  if [ ! -f "$page" ]; then
    fail "include/buddy/$base.h has no manual page docs/man/buddy_$base.3"
    continue
  fi
  names=$(name_line "$page")
  for f in $(functions "$h"); do
    echo "$names" | grep -qw -- "$f" || fail "buddy_$base.3: NAME does not list $f"
    synopsis "$page" | grep -q -- "$f(" || fail "buddy_$base.3: SYNOPSIS does not show $f"
    grep -qE "^\.BR $f \(\)" "$page" || fail "buddy_$base.3: no '.BR $f ()' entry describes $f"
  done
  for sec in 'RETURN VALUE' 'THREAD SAFETY'; do
    grep -q "^\.SH $sec" "$page" || fail "buddy_$base.3: no $sec section"
  done
done

# buddy(1) against the program's own help.
page=$man/buddy.1
# Option lines are indented and start with a dash; the description follows
# after two blanks.
opts=$( { "$buddy" --help; "$buddy" replay --help; "$buddy" bench --help; "$buddy" record --help; } 2>&1 |
  grep -E '^ +-' | sed -E 's/^ +//; s/  .*//' | grep -oE -- '--[a-z][a-z-]*' | sort -u)
[ -n "$opts" ] || fail "no options found in buddy --help"
for o in $opts; do
  pat=$(echo "$o" | sed 's/-/\\\\-/g')
  grep -q -- "$pat" "$page" || fail "buddy.1 does not describe the option $o"
done
cmds=$(printf 'help\n' | "$buddy" 2>&1 | awk '/^  [a-z]/ { print $1 }' | sort -u)
[ -n "$cmds" ] || fail "no commands found in the session's help"
for c in $cmds; do
  grep -qE "^\.(B|BI|BR) \"?$c( |\"|$)" "$page" || fail "buddy.1 does not describe the command '$c'"
done

for p in "$man"/*.[0-9]; do
  w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
  [ -z "$w" ] || fail "$(basename "$p"): groff warns: $w"
done

table=$(awk '/^### API at a glance/ { s = 1; next } /^#/ { s = 0 } s' "$src/README.md")
for f in $(functions "$src/include/buddy/page.h"); do
  echo "$table" | grep -q -- "$f" || fail "README's API table does not name $f"
done

[ $bad = 0 ] && echo "man: every header has its page, every function and option is described"
exit $bad
