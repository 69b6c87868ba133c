#!/usr/bin/env bash
# Builds test/gitops-health (kstatus + Argo CD's Lua engine) from the Go module proxy into the cache folder, once
# per source version (the folder name is a hash of main.go, go.mod and go.sum). Prints the binary's path.
#
# Env: ISOLATION_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/isolation-operator)
# No pipes: a reader that exits early would kill its writer with SIGPIPE under pipefail.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${ISOLATION_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/isolation-operator}
sum=$(cat "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" | sha256sum)
OUT="$CACHE_ROOT/gitops-health/${sum:0:16}"
BIN="$OUT/gitops-health"

if [[ ! -x "$BIN" ]]; then
  command -v go >/dev/null || { echo "error: Go (>= 1.26) is required to build test/gitops-health" >&2; exit 1; }
  mkdir -p "$OUT"
  (cd "$HERE" && GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" .)
  mv "$BIN.tmp" "$BIN"
  echo "built $BIN" >&2
fi
echo "$BIN"
