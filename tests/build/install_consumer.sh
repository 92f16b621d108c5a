#!/bin/sh
# Install the library into a scratch prefix, then build a small program
# against it twice: with pkg-config, and with CMake's find_package(buddy).
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib* | head -n 1)

# pkg-config consumer, linked statically so it runs without LD_LIBRARY_PATH.
PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --exists buddy
cflags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags buddy)
cc -std=c11 -Wall -Wextra -Werror $cflags "$src/tests/build/consumer.c" "$libdir/libbuddy.a" -o "$work/by-pkgconfig"
"$work/by-pkgconfig" > "$work/out1"
grep -q "zone   Normal" "$work/out1"

# CMake package consumer.
mkdir -p "$work/proj"
cp "$src/tests/build/consumer.c" "$work/proj/"
cat > "$work/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(buddy REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE buddy::buddy_static)
CM
cmake -S "$work/proj" -B "$work/proj/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/proj/build" >/dev/null
"$work/proj/build/consumer" > "$work/out2"
cmp "$work/out1" "$work/out2"
# The shared library exports the public API only.
so=$(ls "$libdir"/libbuddy.so.* | head -n 1)
leaked=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -vE '^(buddy_|bheap_|bfit_|balloc_)' || true)
if [ -n "$leaked" ]; then
  echo "libbuddy.so exports internal names: $leaked" >&2
  exit 1
fi

echo "install consumer: pkg-config and find_package(buddy) both build and run"
