#!/bin/sh
# SPDX-License-Identifier: MIT
# The library's symbols (docs/conventions.md, "Names"):
# - every global symbol libbuddy.a defines carries a project prefix (buddy_,
#   bheap_, bfit_, balloc_, or a newer layer's b-prefix), so a program that
#   links the static library cannot collide with it;
# - libbuddy.so exports exactly the functions its public headers declare:
#   the internal functions shared between source files stay hidden.
# Usage: symbols_check.sh NM LIBBUDDY_A LIBBUDDY_SO SOURCE_DIR
set -u
nm=$1 static=$2 shared=$3 src=$4
bad=0
fail() { echo "symbols: $*" >&2; bad=1; }
prefixes='^(buddy_|bheap_|bfit_|balloc_|bslab_|bkm_|bmalloc_)'

# Defined globals of the archive: "address type name" lines whose type is upper case.
globals=$("$nm" -g --defined-only "$static" | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' | sort -u)
[ -n "$globals" ] || fail "no global symbols found in $static"
for s in $(echo "$globals" | grep -vE "$prefixes"); do
  fail "libbuddy.a defines the global symbol '$s' without a project prefix"
done

# The functions libbuddy's public headers declare: prototypes that start at
# column 0 (rust.h belongs to libbrust.a, the Rust port's library).
headers=$(ls "$src"/include/buddy/*.h | grep -v '/rust\.h$')
# (static inline functions are the caller's code, not the library's), and
# the variables they declare extern (buddy/thread.h's thread-local one).
public=$( { grep -hE '^[A-Za-z_][A-Za-z0-9_ *]*[ *][a-z][a-z0-9_]*\(' $headers |
  grep -vE '^(typedef|static)' | sed -E 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]([a-z][a-z0-9_]*)\(.*/\1/'
  grep -hE '^extern .*[ *][a-z][a-z0-9_]*;$' $headers | sed -E 's/.*[ *]([a-z][a-z0-9_]*);$/\1/'; } |
  sort -u)
exported=$("$nm" -D --defined-only "$shared" | awk 'NF == 3 && $2 ~ /[TDBR]/ { print $3 }' | sort -u)
for s in $(echo "$exported" | grep -vxF "$public"); do
  fail "libbuddy.so exports '$s', which no public header declares"
done
for s in $(echo "$public" | grep -vxF "$exported"); do
  fail "libbuddy.so does not export '$s', which a public header declares"
done

[ $bad = 0 ] && echo "symbols: $(echo "$globals" | wc -l) prefixed globals; the shared library exports the $(echo "$public" | wc -l) public functions"
exit $bad
