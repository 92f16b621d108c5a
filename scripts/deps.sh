#!/bin/sh
# Make sure the tools and libraries `make check` needs are present.
# As root with apt-get, install what is missing; otherwise say exactly what to install.
set -u
missing=""
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need_cmd cmake cmake
need_cmd gcc gcc
need_cmd clang clang
need_cmd make make
need_cmd pkg-config pkg-config
need_cmd valgrind valgrind
# make coverage and make lint (CI runs both)
need_cmd gcovr gcovr
need_cmd clang-tidy clang-tidy
need_cmd cppcheck cppcheck
pkg-config --exists cmocka 2>/dev/null || missing="$missing libcmocka-dev"
# clang's sanitizer runtimes ship in libclang-rt-*-dev on newer Debian releases.
if command -v clang >/dev/null 2>&1; then
  # (libFuzzer, for the fuzz harnesses, ships in the same runtime package)
  if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
       clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1; then
    v=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
    missing="$missing libclang-rt-${v:-14}-dev"
  fi
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
    echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
  exit 0
fi
echo "deps: missing:$missing" >&2
echo "deps: install them with:  sudo apt-get install$missing" >&2
exit 1
