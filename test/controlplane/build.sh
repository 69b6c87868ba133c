#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kubectl) from the Go
# module proxy into a version-keyed cache folder outside the repo. A second run with a matching stamp
# builds nothing. The staging-module replace list is generated from k8s.io/kubernetes' own go.mod.
#
# Env: ISOLATION_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/isolation-operator)
#      K8S_VERSION (default v1.37.2), ETCD_VERSION (default v3.7.3)
# Prints the bin directory on its last line.
#
# Pipes: under pipefail a reader that exits before its writer is done (`head`, `grep -q`) kills the writer with
# SIGPIPE and fails the build at random (exit 141), so output is captured into variables and parsed in bash; the
# one remaining pipe chain feeds readers that consume all their input. test/unit/shell-scripts.test.ts checks it.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
CACHE_ROOT=${ISOLATION_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/isolation-operator}
OUT="$CACHE_ROOT/controlplane/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}"
BIN="$OUT/bin"
STAMP="$OUT/stamp"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WANT="k8s=${K8S_VERSION} etcd=${ETCD_VERSION}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] \
  && [[ -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" && -x "$BIN/kubectl" && -x "$BIN/etcd" ]]; then
  echo "control plane up to date ($WANT)" >&2
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "error: Go (>= 1.26) is required to build the control plane" >&2; exit 1; }
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$BIN"
start=$(date +%s)

# Work on copies so the committed go.mod/go.sum stay untouched unless a version changes.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
staging="v0.${K8S_VERSION#v1.}"

build_k8s() {
  local d="$work/k8s"
  mkdir -p "$d"
  if [[ -f "$HERE/build/k8s/go.mod" ]] && grep -q "k8s.io/kubernetes ${K8S_VERSION}" "$HERE/build/k8s/go.mod"; then
    cp "$HERE/build/k8s/go.mod" "$HERE/build/k8s/go.sum" "$d/"
  else
    echo "generating wrapper module for k8s.io/kubernetes@${K8S_VERSION}" >&2
    (cd "$d" && go mod init isolation-operator.local/controlplane-k8s >/dev/null 2>&1 && go mod edit -go=1.26.0)
    local info gomod=""
    info=$(cd "$d" && go mod download -json "k8s.io/kubernetes@${K8S_VERSION}")
    [[ "$info" =~ \"GoMod\":\ \"([^\"]*)\" ]] && gomod=${BASH_REMATCH[1]}
    [[ -f "$gomod" ]] || { echo "error: could not download k8s.io/kubernetes@${K8S_VERSION}" >&2; exit 1; }
    # Every k8s.io requirement pinned at the v0.0.0 placeholder is a staging module: replace it.
    local json names
    json=$(go mod edit -json "$gomod")
    json=${json//[[:space:]]/}
    names=$(grep -o '"Path":"k8s.io/[^"]*","Version":"v0.0.0"' <<<"$json" | sed 's/"Path":"\([^"]*\)".*/\1/' | sort -u) || true
    [[ -n "$names" ]] || { echo "error: no staging modules found in $gomod" >&2; exit 1; }
    local args=()
    for n in $names; do args+=("-replace=$n=$n@$staging"); done
    (cd "$d" && go mod edit "${args[@]}")
    local count=0
    for _ in $names; do count=$((count + 1)); done
    echo "replaced $count staging modules with $staging" >&2
    (cd "$d" && GOFLAGS=-mod=mod go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@${K8S_VERSION}" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@${K8S_VERSION}" "k8s.io/kubernetes/cmd/kubectl@${K8S_VERSION}")
    cp "$d/go.mod" "$d/go.sum" "$HERE/build/k8s/"
  fi
  local date="2026-01-01T00:00:00Z" ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor}"
    ld+=" -X $p.gitCommit=${K8S_VERSION} -X $p.gitTreeState=clean -X $p.buildDate=${date}"
  done
  echo "building kube-apiserver, kube-controller-manager, kubectl ${K8S_VERSION}" >&2
  (cd "$d" && go build -trimpath -tags=selinux,notest -ldflags "$ld" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  local d="$work/etcd"
  mkdir -p "$d"
  if [[ -f "$HERE/build/etcd/go.mod" ]] && grep -q "go.etcd.io/etcd/server/v3 ${ETCD_VERSION}" "$HERE/build/etcd/go.mod"; then
    cp "$HERE/build/etcd/go.mod" "$HERE/build/etcd/go.sum" "$d/"
  else
    echo "generating wrapper module for etcd ${ETCD_VERSION}" >&2
    (cd "$d" && go mod init isolation-operator.local/controlplane-etcd >/dev/null 2>&1 && go mod edit -go=1.26.0)
    (cd "$d" && GOFLAGS=-mod=mod go get -tool "go.etcd.io/etcd/server/v3@${ETCD_VERSION}")
    cp "$d/go.mod" "$d/go.sum" "$HERE/build/etcd/"
  fi
  echo "building etcd ${ETCD_VERSION}" >&2
  (cd "$d" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}

build_etcd
build_k8s

"$BIN/kube-apiserver" --version >&2
etcd_version=$("$BIN/etcd" --version)
echo "${etcd_version%%$'\n'*}" >&2
echo "$WANT" > "$STAMP"
echo "control plane built in $(( $(date +%s) - start ))s into $BIN" >&2
echo "$BIN"
