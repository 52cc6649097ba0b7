#!/usr/bin/env bash
# Builds artifacts/<contract>.wasm and artifacts/checksums.txt the way the CosmWasm optimizer
# image does, without Docker: a reproducible release build, binaryen's wasm-opt (which also
# lowers the bulk-memory ops rustc >= 1.87 emits, which wasmd's VM rejects), cosmwasm-check,
# then sha256sum.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
wasm_opt="$root/contracts/tools/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  echo "wasm-opt missing: run 'npm ci --prefix contracts/tools' (make tools does it)" >&2
  exit 1
fi
command -v cosmwasm-check >/dev/null || {
  echo "cosmwasm-check missing: cargo install cosmwasm-check --version 3.0.10 --locked (make tools does it)" >&2
  exit 1
}
# paths never reach the bytes, so any checkout on any machine builds the same artifact
export RUSTFLAGS="-C link-arg=-s --remap-path-prefix=$root=/datapact --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$target=/target"
contracts=(${CONTRACTS:-registry consent agreements audit})
cargo build --release --lib --locked --target wasm32-unknown-unknown \
  $(printf -- '-p datapact-%s ' "${contracts[@]}")
out=${ARTIFACTS_DIR:-$root/artifacts}
mkdir -p "$out"
for c in "${contracts[@]}"; do
  "$wasm_opt" -Os --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --llvm-memory-copy-fill-lowering \
    "$target/wasm32-unknown-unknown/release/datapact_$c.wasm" -o "$out/datapact_$c.wasm"
done
files=()
for c in "${contracts[@]}"; do files+=("$out/datapact_$c.wasm"); done
cosmwasm-check "${files[@]}"
max=$((400 * 1024))
for f in "${files[@]}"; do
  size=$(stat -c %s "$f")
  if [ "$size" -gt "$max" ]; then
    echo "$f is $size bytes, over the 400 KiB budget (wasmd's limit is 800 KiB)" >&2
    exit 1
  fi
done
(cd "$out" && sha256sum datapact_*.wasm > checksums.txt)
cat "$out/checksums.txt"
