#!/bin/sh
# SPDX-License-Identifier: MIT
# What README.md tells a new user to do with the installed library works, from
# the README's own lines: `make install PREFIX=...`, then its C example built
# with its pkg-config command line and with its CMakeLists.txt, each run
# without LD_LIBRARY_PATH and printing what the README says it prints.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "install consumer: $*" >&2; exit 1; }
readme=$src/README.md

# The README's pieces: the C example (first ```c block after "## Using the
# page allocator"), the output it "prints" (the indented block after that
# word), the pkg-config command line, and the ```cmake block.
mkdir -p "$work/pc" "$work/cm"
awk '/^## Using the page allocator/ { s = 1 } s && /^```c$/ { inb = 1; next }
     inb && /^```$/ { exit } inb' "$readme" >"$work/pc/prog.c"
awk '/^## Using the page allocator/ { s = 1 } s && /^prints$/ { p = 1; next }
     p && /^    / { sub(/^    /, ""); print; seen = 1; next } p && seen { exit }' \
  "$readme" >"$work/expected"
pcline=$(grep -E '^    cc prog\.c \$\(pkg-config ' "$readme" | head -n 1 | sed 's/^    //')
awk '/^```cmake$/ { inb = 1; next } inb && /^```$/ { exit } inb' "$readme" >"$work/cm/CMakeLists.txt"
[ -s "$work/pc/prog.c" ] || fail "no C example in README.md"
[ -s "$work/expected" ] || fail "no 'prints' block after the C example in README.md"
[ -n "$pcline" ] || fail "no 'cc prog.c \$(pkg-config ...' line in README.md"
grep -q 'target_link_libraries(prog buddy::buddy)' "$work/cm/CMakeLists.txt" ||
  fail "the README's CMake block does not link buddy::buddy"
cp "$work/pc/prog.c" "$work/cm/"

# make install PREFIX=... installs there (and DESTDIR stages it elsewhere).
prefix=$work/prefix
make -s -C "$src" install BUILD="$build" PREFIX="$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "make install PREFIX=$prefix failed"; }
libdir=$prefix/lib
for f in "$libdir/libbuddy.so.0" "$libdir/libbuddy.a" "$prefix/include/buddy/page.h" \
    "$libdir/pkgconfig/buddy.pc" "$libdir/cmake/buddy/buddyConfig.cmake" "$prefix/bin/buddy" \
    "$prefix/libexec/buddy/buddy-run-native" "$prefix/share/man/man1/buddy.1" \
    "$prefix/share/man/man3/buddy_page.3" "$prefix/share/doc/buddy/LICENSE"; do
  [ -e "$f" ] || fail "make install PREFIX=$prefix did not install $f"
done
grep -qx '.so man3/buddy_page.3' "$prefix/share/man/man3/buddy_alloc_pages.3" ||
  fail "man buddy_alloc_pages does not lead to buddy_page(3)"
# (The staged installs run cmake --install directly: make install would first
# check the whole build again, which costs seconds on a busy machine.)
DESTDIR="$work/stage" cmake --install "$build" --prefix /opt/buddy >"$work/stage.log" 2>&1 ||
  { cat "$work/stage.log" >&2; fail "install with DESTDIR failed"; }
[ -e "$work/stage/opt/buddy/lib/libbuddy.so.0" ] || fail "DESTDIR did not stage the library"
grep -qx 'prefix=/opt/buddy' "$work/stage/opt/buddy/lib/pkgconfig/buddy.pc" ||
  fail "a staged buddy.pc names another prefix than /opt/buddy"
grep -q 'rpath' "$work/stage/opt/buddy/lib/pkgconfig/buddy.pc" ||
  fail "buddy.pc for a private prefix gives no run-time path"
# A libdir the dynamic loader searches (as /usr/local/lib is, through
# ld.so.conf) needs no rpath (ldconfig runs instead, but not with DESTDIR).
BUDDY_LOADER_DIRS=/opt/buddy/lib DESTDIR="$work/stage2" cmake --install "$build" --prefix /opt/buddy \
  >"$work/stage2.log" 2>&1 ||
  { cat "$work/stage2.log" >&2; fail "install into a loader directory failed"; }
! grep -q 'rpath' "$work/stage2/opt/buddy/lib/pkgconfig/buddy.pc" ||
  fail "buddy.pc gives a run-time path for a directory the loader searches"

# The C example warns about nothing.
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -fsyntax-only "$work/pc/prog.c" ||
  fail "the README's C example does not compile cleanly"

# pkg-config, exactly the README's line, then run with no LD_LIBRARY_PATH.
(cd "$work/pc" && unset LD_LIBRARY_PATH && export PKG_CONFIG_PATH="$libdir/pkgconfig" &&
  eval "$pcline" && ./prog >out) || fail "'$pcline' failed to build or run"
diff -u "$work/expected" "$work/pc/out" || fail "the pkg-config build prints other than README.md says"
ldd "$work/pc/prog" | grep -q "libbuddy.so.0 => $libdir/" ||
  fail "the pkg-config build does not use the installed shared library"

# CMake, the README's CMakeLists.txt.
(unset LD_LIBRARY_PATH &&
  cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cm.log" 2>&1 &&
  cmake --build "$work/cm/build" >>"$work/cm.log" 2>&1 && cd "$work/cm" && ./build/prog >out) ||
  { cat "$work/cm.log" >&2; fail "the README's CMakeLists.txt failed to build or run"; }
diff -u "$work/expected" "$work/cm/out" || fail "the CMake build prints other than README.md says"
ldd "$work/cm/build/prog" | grep -q "libbuddy.so.0 => $libdir/" ||
  fail "buddy::buddy is not the installed shared library"

# The shared library exports the public API only.
leaked=$(nm -D --defined-only "$libdir/libbuddy.so.0" | awk '{print $3}' |
  grep -vE '^(buddy_|bheap_|bfit_|balloc_|bslab_|bkm_|bmalloc_)' || true)
[ -z "$leaked" ] || fail "libbuddy.so exports internal names: $leaked"

# libbuddymalloc, where it is built: the README's LD_PRELOAD line and its pkg-config line.
if [ -e "$build/src/libbuddymalloc.so" ]; then
  for f in "$libdir/libbuddymalloc.so.0" "$libdir/libbuddymalloc.a" "$libdir/pkgconfig/buddymalloc.pc" \
      "$prefix/include/buddy/malloc.h"; do
    [ -e "$f" ] || fail "make install PREFIX=$prefix did not install $f"
  done
  preline=$(grep -E '^    LD_PRELOAD=/usr/local/lib/libbuddymalloc\.so ' "$readme" | head -n 1 | sed 's/^    //')
  [ -n "$preline" ] || fail "no 'LD_PRELOAD=/usr/local/lib/libbuddymalloc.so ...' line in README.md"
  (cd "$work" && eval "$(echo "$preline" | sed "s|/usr/local/lib|$libdir|") 2>stats" >/dev/null) ||
    fail "'$preline' failed"
  grep -q '^buddymalloc: allocs [1-9]' "$work/stats" || fail "'$preline' did not run on the library"
  mline=$(grep -E '^    cc myprog\.c \$\(pkg-config ' "$readme" | head -n 1 | sed 's/^    //')
  [ -n "$mline" ] || fail "no 'cc myprog.c \$(pkg-config ...' line in README.md"
  mkdir -p "$work/m"
  printf '#include <stdio.h>\n#include <stdlib.h>\n#include <malloc.h>\nint main(void) { char *p = malloc(100); printf("%%zu\\n", malloc_usable_size(p)); free(p); return 0; }\n' \
    >"$work/m/myprog.c"
  (cd "$work/m" && unset LD_LIBRARY_PATH && export PKG_CONFIG_PATH="$libdir/pkgconfig" &&
    eval "$mline" && ./myprog >out) || fail "'$mline' failed to build or run"
  [ "$(cat "$work/m/out")" = 112 ] || fail "a program linked with -lbuddymalloc does not use it"
fi

echo "install consumer: make install PREFIX/DESTDIR, the README's pkg-config line and CMakeLists.txt all build and run"
