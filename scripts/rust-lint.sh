#!/bin/sh
# SPDX-License-Identifier: MIT
# rustfmt, clippy and rustdoc over the Rust port, failing on any finding.
#   scripts/rust-lint.sh CARGO MANIFEST   (CARGO_TARGET_DIR from the environment)
set -eu
cargo=$1
manifest=$2
dir=$(dirname "$cargo")
for tool in rustfmt cargo-clippy; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$dir/$tool" ]; then
    echo "rust-lint: $tool not found next to $cargo or on PATH: rustup component add ${tool#cargo-}" >&2
    exit 1
  fi
done
export PATH="$dir:$PATH"
"$cargo" fmt --manifest-path "$manifest" --all -- --check
"$cargo" clippy --offline --locked --manifest-path "$manifest" --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" "$cargo" doc --offline --locked --manifest-path "$manifest" --workspace --no-deps
