#!/usr/bin/env bash
# The product without the embedded testbed: `cargo build --no-default-features` must succeed
# and its normal dependency tree must hold none of the crates only the simulator needs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --no-default-features --bin cryptomeria-bff
tree=$(cargo tree --locked -e normal --no-default-features --prefix none)
for crate in cryptomeria-testbed brush-parser bip39; do
  if grep -q "^$crate v" <<<"$tree"; then
    echo "product-only build depends on $crate" >&2
    exit 1
  fi
done
bin=target/debug/cryptomeria-bff
for sub in demo testbed bench; do
  if "$bin" "$sub" --help >/dev/null 2>&1; then
    echo "product-only binary still has the '$sub' subcommand" >&2
    exit 1
  fi
done
"$bin" serve --help >/dev/null
"$bin" ctl --help >/dev/null
echo "product-only build: serve and ctl, no testbed crates"
