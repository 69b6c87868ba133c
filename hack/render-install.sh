#!/usr/bin/env bash
# Renders the release bundle: config/default (CRD, RBAC, the Deployment, its NetworkPolicy, the admission
# policies) as one YAML file, with the operator image set from IMG and, when given, pinned by IMG_DIGEST
# (`name:tag@sha256:...`, what the kubelet pulls is then the digest). Install it with
# `kubectl apply --server-side -f install.yaml`.
#
# Env: IMG (required, e.g. registry.example.com/isolation-operator:v0.1.0), IMG_DIGEST (optional, sha256:<hex>),
#      KUBECTL (a kubectl with kustomize), OUT (default dist/install.yaml), VERSION (for the header).
# No pipes: a reader that exits early would kill its writer with SIGPIPE under pipefail.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${IMG:?set IMG to the image reference, e.g. registry.example.com/isolation-operator:v0.1.0}"
KUBECTL=${KUBECTL:-kubectl}
OUT=${OUT:-$REPO/dist/install.yaml}
DIGEST=${IMG_DIGEST:-}
if [[ -n "$DIGEST" && ! "$DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "error: IMG_DIGEST must look like sha256:<64 hex digits>, got '$DIGEST'" >&2
  exit 1
fi

# Split name and tag: the tag is after the last ':' of the last path component (a registry port is not a tag).
name=$IMG tag=""
last=${IMG##*/}
if [[ "$last" == *:* ]]; then
  tag=${last##*:}
  name=${IMG%:*}
fi

# A throw-away overlay inside the repository, so the base is a relative path as kustomize wants.
mkdir -p "$REPO/dist"
overlay=$(mktemp -d "$REPO/dist/.overlay.XXXXXX")
trap 'rm -rf "$overlay"' EXIT
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [../../config/default]"
  echo "images:"
  echo "  - name: isolation-operator"
  echo "    newName: $name"
  if [[ -n "$tag" && -n "$DIGEST" ]]; then
    echo "    newTag: \"$tag@$DIGEST\""
  elif [[ -n "$DIGEST" ]]; then
    echo "    digest: \"$DIGEST\""
  elif [[ -n "$tag" ]]; then
    echo "    newTag: \"$tag\""
  fi
} >"$overlay/kustomization.yaml"

rendered=$("$KUBECTL" kustomize "$overlay")
mkdir -p "$(dirname "$OUT")"
{
  echo "# isolation-operator ${VERSION:-} install bundle: kubectl apply --server-side -f install.yaml"
  echo "# image: $IMG${DIGEST:+@$DIGEST}"
  echo "# rendered from config/default by hack/render-install.sh (make dist)"
  echo "$rendered"
} >"$OUT"
echo "wrote $OUT" >&2
