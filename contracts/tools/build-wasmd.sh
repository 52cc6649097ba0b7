#!/usr/bin/env bash
# Builds wasmd from its Go module into a cache outside the clone and prints the binary's path.
# Skipped when the cached binary is present and answers `version`.
#
# `go install github.com/CosmWasm/wasmd/cmd/wasmd@v…` refuses modules with `replace` directives,
# so the module is downloaded, copied somewhere writable and built there, as wasmd's own Makefile
# does. Go >= 1.25 fails on bytedance/sonic, so the toolchain is pinned (the module proxy serves it).
set -euo pipefail

WASMD_VERSION="${WASMD_VERSION:-v0.61.14}"
GO_TOOLCHAIN="${WASMD_GO_TOOLCHAIN:-go1.24.13}"
CACHE="${DATAPACT_CACHE:-$HOME/.cache/datapact}"
OUT="$CACHE/wasmd-$WASMD_VERSION"
BIN="$OUT/bin/wasmd"

log() { echo "build-wasmd: $*" >&2; }

if [[ -x "$BIN" ]] && LD_LIBRARY_PATH="$OUT/lib" "$BIN" version >/dev/null 2>&1; then
  log "wasmd $WASMD_VERSION present at $BIN"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is missing: install it (https://go.dev/dl or apt install golang) and re-run"; exit 1; }
command -v gcc >/dev/null || { log "a C compiler is missing (wasmd links libwasmvm with cgo): apt install build-essential"; exit 1; }

export GOTOOLCHAIN="$GO_TOOLCHAIN" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=1
log "downloading github.com/CosmWasm/wasmd@$WASMD_VERSION (toolchain $GO_TOOLCHAIN)"
dir=$(cd /tmp && go mod download -json "github.com/CosmWasm/wasmd@$WASMD_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n "$dir" && -d "$dir" ]] || { log "go mod download did not report a module directory"; exit 1; }

src="$OUT/src"
rm -rf "$src" && mkdir -p "$OUT/bin" "$OUT/lib"
cp -r "$dir" "$src" && chmod -R u+w "$src"
cd "$src"

commit="$(go mod download -json "github.com/CosmWasm/wasmd@$WASMD_VERSION" | sed -n 's/^[[:space:]]*"Hash": "\(.*\)",$/\1/p' | head -1)"
ldflags="-checklinkname=0 \
  -X github.com/cosmos/cosmos-sdk/version.Name=wasm \
  -X github.com/cosmos/cosmos-sdk/version.AppName=wasmd \
  -X github.com/cosmos/cosmos-sdk/version.Version=${WASMD_VERSION#v} \
  -X github.com/cosmos/cosmos-sdk/version.Commit=${commit:-unknown} \
  -X github.com/CosmWasm/wasmd/app.Bech32Prefix=wasm \
  -X github.com/cosmos/cosmos-sdk/version.BuildTags=netgo"
log "building (a few minutes cold; the Go build cache makes rebuilds fast)"
go build -tags netgo -ldflags "$ldflags" -o "$BIN.tmp" ./cmd/wasmd

# libwasmvm is found by rpath in the module cache; keep a copy beside the binary so a cleaned
# module cache does not break it (callers set LD_LIBRARY_PATH to $OUT/lib)
wasmvm_dir=$(go list -m -f '{{.Dir}}' github.com/CosmWasm/wasmvm/v3 2>/dev/null || true)
if [[ -n "$wasmvm_dir" && -f "$wasmvm_dir/internal/api/libwasmvm.x86_64.so" ]]; then
  cp "$wasmvm_dir/internal/api/libwasmvm.x86_64.so" "$OUT/lib/"
fi
mv "$BIN.tmp" "$BIN"
rm -rf "$src"
LD_LIBRARY_PATH="$OUT/lib" "$BIN" version >&2
log "built $BIN"
echo "$BIN"
