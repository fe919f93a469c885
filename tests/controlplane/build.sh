#!/usr/bin/env bash
# Builds a real Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd) from
# the published Go modules, the way controller-runtime's envtest uses one: no kubelet.
#
# Output: $GWSYNC_CONTROL_PLANE_DIR, by default
#   ${XDG_CACHE_HOME:-~/.cache}/gwsync/control-plane/<k8s>-etcd<etcd>/
# A no-op when the three binaries are already there.
#
# Why wrapper modules: `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.34.x` fails, since
# that module requires every staging module at v0.0.0 and replaces it with a ./staging path.
# A module of our own requires k8s.io/kubernetes and replaces each staging module with its
# published v0.34.x; the list is read from upstream's go.mod, so a version bump needs no edit.
# etcd gets a module of its own so that its dependencies cannot move Kubernetes' pins.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.4}
staging_version=v0.${K8S_VERSION#v1.}
out=${GWSYNC_CONTROL_PLANE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gwsync/control-plane/${K8S_VERSION}-etcd${ETCD_VERSION}}

if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ]; then
  echo "control plane $K8S_VERSION (etcd $ETCD_VERSION) is built: $out"
  exit 0
fi
command -v go >/dev/null || { echo "control plane: 'go' is not on PATH; install Go >= 1.24 to build it" >&2; exit 1; }

start=$(date +%s)
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/gwsync-control-plane.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

echo "control plane: building Kubernetes $K8S_VERSION and etcd $ETCD_VERSION into $out (once; cached)"

# --- Kubernetes -------------------------------------------------------------------------------
mkdir -p "$work/kube"
upstream_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
{
  echo "module gwsync.invalid/controlplane/kube"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#\t\1 => \1 '"$staging_version"'#p' "$upstream_mod"
  echo ")"
} > "$work/kube/go.mod"
(
  cd "$work/kube"
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  go build -trimpath -ldflags "$ldflags" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
)

# --- etcd -------------------------------------------------------------------------------------
mkdir -p "$work/etcd"
{
  echo "module gwsync.invalid/controlplane/etcd"
  echo
  echo "go 1.24.0"
  echo
  echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
} > "$work/etcd/go.mod"
(
  cd "$work/etcd"
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
)

"$out/kube-apiserver" --version
"$out/etcd" --version | head -n 1
echo "control plane: built in $(( $(date +%s) - start )) s; sizes:"
du -h "$out"/kube-apiserver "$out"/kube-controller-manager "$out"/etcd
