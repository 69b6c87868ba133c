#!/usr/bin/env bash
# Builds the peer controller of the side-by-side benchmark, the Hierarchical Namespace Controller's manager
# (sigs.k8s.io/hierarchical-namespaces, cmd/manager), from the Go module proxy into a version-keyed cache folder
# outside the repo, with its CRDs and ClusterRole next to it. A second run with a matching stamp builds nothing.
#
# The module zip from the proxy has no usable vendor/ tree, so the build resolves HNC's own go.mod/go.sum through
# the proxy (-mod=mod): the dependency versions are exactly the ones HNC pinned, checked against its go.sum.
#
# Env: ISOLATION_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/isolation-operator)
#      HNC_VERSION (default v1.1.0)
# Prints the peer directory (with bin/manager and config/) on its last line.
set -euo pipefail

HNC_VERSION=${HNC_VERSION:-v1.1.0}
MODULE=sigs.k8s.io/hierarchical-namespaces
CACHE_ROOT=${ISOLATION_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/isolation-operator}
OUT="$CACHE_ROOT/peer/hnc-${HNC_VERSION}"
STAMP="$OUT/stamp"
WANT="hnc=${HNC_VERSION}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$OUT/bin/manager" && -d "$OUT/config/crd" ]]; then
  echo "HNC up to date ($WANT)" >&2
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "error: Go is required to build HNC" >&2; exit 1; }
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

info=$(cd "$work" && go mod download -json "${MODULE}@${HNC_VERSION}")
dir=""
[[ "$info" =~ \"Dir\":\ \"([^\"]*)\" ]] && dir=${BASH_REMATCH[1]}
[[ -d "$dir" ]] || { echo "error: could not download ${MODULE}@${HNC_VERSION}: $info" >&2; exit 1; }

cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
rm -rf "$work/src/vendor"
echo "building HNC manager ${HNC_VERSION}" >&2
mkdir -p "$OUT/bin"
(cd "$work/src" && go build -trimpath -ldflags "-s -w" -o "$OUT/bin/manager" ./cmd/manager)
rm -rf "$OUT/config"
mkdir -p "$OUT/config"
cp -r "$work/src/config/crd" "$work/src/config/rbac" "$work/src/config/manager" "$OUT/config/"
echo "$WANT" > "$STAMP"
echo "HNC built in $(( $(date +%s) - start ))s into $OUT" >&2
echo "$OUT"
