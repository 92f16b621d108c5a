#!/bin/sh
# SPDX-License-Identifier: MIT
# Make sure what a make target needs is installed.
#
#   scripts/deps.sh [run|check]
#
# run    what `make run` (and `make build`, `make install`) needs: cmake, a C
#        compiler, make, pkg-config, and libedit for the command's line editing
#        and history (optional: without it the command reads plain lines).
# check  (the default) all of that plus what `make check`, `make lint` and
#        `make coverage` need.
# As root with apt-get, install what is missing; otherwise say exactly what to
# install. A missing optional package is reported but is not an error.
# The Rust tools (check only) come from rustup, not apt: a missing one is
# named, with how to install it.
set -u
level=${1:-check}
case $level in
  run|check) ;;
  *) echo "usage: scripts/deps.sh [run|check]" >&2; exit 2 ;;
esac
missing="" optional="" rust_missing=""
# Exit with $1, unless Rust tools are missing: those apt-get cannot install.
finish() {
  if [ -n "$rust_missing" ]; then
    echo "deps: Rust tools missing (not on PATH or in ~/.cargo/bin): ${rust_missing# }" >&2
    echo "deps: install Rust >= 1.84 with rustup (https://rustup.rs) and" \
      "'rustup component add clippy rustfmt'" >&2
    exit 1
  fi
  exit "$1"
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need_pc() { pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"; }

need_cmd cmake cmake
need_cmd cc gcc
need_cmd make make
need_cmd pkg-config pkg-config
# Line editing: arrow keys, history. CMake looks for it with pkg-config.
pkg-config --exists libedit 2>/dev/null || optional="$optional libedit-dev"

if [ "$level" = check ]; then
  need_cmd gcc gcc
  need_cmd clang clang
  need_cmd valgrind valgrind
  need_cmd wasm-ld lld  # the web page: the page core compiled to wasm32
  # make coverage and make lint (CI runs both)
  need_cmd gcovr gcovr
  need_cmd clang-tidy clang-tidy
  need_cmd cppcheck cppcheck
  # the manual pages' test formats them
  need_cmd groff groff-base
  need_pc cmocka libcmocka-dev
  # clang's sanitizer runtimes ship in libclang-rt-*-dev on newer Debian releases.
  if command -v clang >/dev/null 2>&1; then
    # (libFuzzer, for the fuzz harnesses, ships in the same runtime package)
    # (and so does ThreadSanitizer's, for make check-tsan)
    if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
         clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1 ||
       ! echo 'int main(void){return 0;}' | clang -x c -fsanitize=thread -o /dev/null - >/dev/null 2>&1; then
      v=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
      missing="$missing libclang-rt-${v:-14}-dev"
    fi
  fi
  # The interactive test checks line editing, so make check needs libedit.
  missing="$missing$optional" optional=""
  # The Rust port (rust/) needs cargo, clippy and rustfmt (Rust >= 1.84, from
  # rustup: Debian's packaged Rust is too old), on PATH or in ~/.cargo/bin.
  cargo_bin=$(command -v cargo 2>/dev/null || echo "$HOME/.cargo/bin/cargo")
  if [ ! -x "$cargo_bin" ]; then
    rust_missing="cargo"
  else
    for tool in cargo-clippy rustfmt; do
      command -v "$tool" >/dev/null 2>&1 || [ -x "$(dirname "$cargo_bin")/$tool" ] ||
        rust_missing="$rust_missing $tool"
    done
  fi
fi
# The web page's tests use Node.js and headless Chromium; without them they
# skip, saying so, so these are installed when possible but never required.
if [ "$level" = check ]; then
  web=""
  command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || web="$web nodejs"
  chromium_found() {
    [ -n "${BUDDY_CHROMIUM:-}" ] && return 0
    for c in chromium chromium-browser google-chrome google-chrome-stable; do
      command -v "$c" >/dev/null 2>&1 && return 0
    done
    return 1
  }
  chromium_found || web="$web chromium"
  if [ -n "$web" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "deps: installing, for the web page's tests:$web"
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $web; } >/dev/null 2>&1 ||
        echo "deps: could not install$web; the web page's tests will skip" >&2
    else
      echo "deps: without$web the web page's tests skip (sudo apt-get install$web)" >&2
    fi
  fi
fi
# gcc is both the compiler package and, on Debian, what provides cc.
missing=$(echo "$missing" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')
missing=${missing% }
[ -n "$missing" ] && missing=" $missing"
[ -z "$missing$optional" ] && finish 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing:$missing$optional"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp) || exit 1
  if { apt-get update -qq && apt-get install -y -qq $missing $optional; } >"$log" 2>&1; then
    rm -f "$log"
    finish 0
  fi
  cat "$log" >&2
  rm -f "$log"
  echo "deps: apt-get install failed for:$missing$optional" >&2
  [ -z "$missing" ] && finish 0
  exit 1
fi
if [ -n "$optional" ]; then
  echo "deps: the buddy command will have no line editing or history without:$optional" >&2
  echo "deps: install it with:  sudo apt-get install$optional" >&2
fi
[ -z "$missing" ] && finish 0
echo "deps: missing:$missing" >&2
echo "deps: install them with:  sudo apt-get install$missing" >&2
exit 1
