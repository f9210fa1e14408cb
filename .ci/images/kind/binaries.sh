#!/usr/bin/env bash
# binaries.sh - the static binaries a registry-free kind node needs, built from Go modules (the
# module proxy) and Debian's gcc: kind, Kubernetes (k8s.io/kubernetes with its staging modules
# taken from the proxy), etcd, CoreDNS, pause, crictl, containerd, runc, CNI plugins,
# local-path-provisioner. Versions: versions.env beside this script.
#
# Usage: binaries.sh OUT_DIR [step ...]
#   steps: kind k8s images etcd coredns pause crictl containerd cni runc lpp verify (default: all)
# Idempotent: a binary that exists in OUT_DIR is skipped. Sources and logs go to $KIND_SRC
# (default OUT_DIR/../src) and OUT_DIR/../logs (a log per build with its wall time, times.tsv).
# .ci/images/build runs it once per content hash of this script and versions.env.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 OUT_DIR [step ...]" >&2; exit 2; }
mkdir -p "$1"
BIN=$(cd "$1" && pwd); shift
LOGS=$(dirname "$BIN")/logs
SRC=${KIND_SRC:-$(dirname "$BIN")/src}
mkdir -p "$BIN" "$LOGS" "$SRC"

export PATH=/usr/local/go/bin:$PATH
export GOWORK=off GOOS=linux GOARCH=amd64
export GOFLAGS=-buildvcs=false
NICE=${NICE:-nice -n 10}

# shellcheck source=versions.env
. "$HERE/versions.env"
K8S_STAGING_VERSION=v0.${K8S_VERSION#v1.}     # the staging modules are published as v0.34.N

K8S_BINARIES=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# timed NAME CMD... : run CMD, log to $LOGS/NAME.log, record wall time
timed() {
  local name=$1; shift
  local logf=$LOGS/$name.log rc=0 s e
  s=$(date +%s)
  { echo "+ $*"; echo "# start $(date -u +%FT%TZ)"; } >"$logf"
  "$@" >>"$logf" 2>&1 || rc=$?
  e=$(( $(date +%s) - s ))
  echo "# rc=$rc wall=${e}s" >>"$logf"
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$rc" "$e" >>"$LOGS/times.tsv"
  log "$name: rc=$rc wall=${e}s"
  return $rc
}

have() { [[ -x $BIN/$1 ]] && { log "skip $1 (exists)"; return 0; }; return 1; }

# ---------------------------------------------------------------- 1. kind
step_kind() {
  have kind && return 0
  timed kind env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath \
    -ldflags='-buildid= -w' "sigs.k8s.io/kind@$KIND_VERSION"
}

# ---------------------------------------------------------------- 2. kubernetes
k8s_prepare() {
  local dir=$SRC/kubernetes-$K8S_VERSION
  if [[ ! -f $dir/.prepared ]]; then
    local mod
    # NB: steps run under `step || ...`, where set -e is off, hence the explicit `|| return 1`
    mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    [[ -n $mod ]] || return 1
    rm -rf "$dir"; cp -r "$mod" "$dir" && chmod -R u+w "$dir" || return 1
    # staging/ is not in the module zip; go.work points at it; vendor/ only holds OWNERS
    rm -f "$dir/go.work" "$dir/go.work.sum"; rm -rf "$dir/vendor"
    # k8s.io/X => ./staging/src/k8s.io/X   becomes   k8s.io/X => k8s.io/X v0.34.N
    sed -i -E "s#^(\s*)(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+\$#\1\2 => \2 $K8S_STAGING_VERSION#" "$dir/go.mod"
    ! grep -q '=> ./staging' "$dir/go.mod" || return 1
    # resolve once (adds go.sum lines for the published staging modules)
    (cd "$dir" && go list -mod=mod -deps "${K8S_BINARIES[@]/#/./cmd/}" >/dev/null) || return 1
    touch "$dir/.prepared"
  fi
  echo "$dir"
}

step_k8s() {
  local missing=() b
  for b in "${K8S_BINARIES[@]}"; do [[ -x $BIN/$b ]] || missing+=("$b"); done
  [[ ${#missing[@]} -eq 0 ]] && { log "skip kubernetes (all exist)"; return 0; }
  local dir; dir=$(k8s_prepare) || return 1
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  # buildDate = commit time of the tag as served by the proxy (reproducible)
  local bdate; bdate=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null; \
    sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info")
  bdate=${bdate:-1970-01-01T00:00:00Z}
  local ld="" p kv
  for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=$bdate \
              gitCommit=${K8S_GIT_COMMIT:-}; do
      ld+=" -X $p.$kv"
    done
  done
  # upstream (hack/lib/golang.sh): -trimpath, -ldflags "all=<version> -s -w", tags selinux,notest,grpcnotrace
  local rc=0 s; s=$(date +%s)
  for b in "${missing[@]}"; do
    (cd "$dir" && timed "$b" env CGO_ENABLED=0 $NICE go build -mod=mod -trimpath \
        -tags selinux,notest,grpcnotrace -ldflags "all=$ld -s -w" -o "$BIN/$b" "./cmd/$b") || rc=1
  done
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "k8s-total(${#missing[@]})" "$rc" "$(( $(date +%s)-s ))" >>"$LOGS/times.tsv"
  return $rc
}

# ---------------------------------------------------------------- 3. images kubeadm expects
step_images() {
  "$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" | tee "$LOGS/kubeadm-images.txt"
  # the pinned versions above must match what this kubeadm expects
  local want
  for want in "etcd:${ETCD_VERSION#v}-0" "coredns:$COREDNS_VERSION" "pause:$PAUSE_VERSION"; do
    grep -q "/$want\$" "$LOGS/kubeadm-images.txt" || { log "MISMATCH: kubeadm does not expect $want"; return 1; }
  done
}

# ---------------------------------------------------------------- 4. etcd (+etcdctl)
# go.etcd.io/etcd/{v3,server/v3,etcdctl/v3} all carry "replace => ../api" directives, so
# `go install` refuses them; build the two 3-line mains from a module of our own instead.
step_etcd() {
  [[ -x $BIN/etcd && -x $BIN/etcdctl ]] && { log "skip etcd/etcdctl (exist)"; return 0; }
  local dir=$SRC/etcd-$ETCD_VERSION
  if [[ ! -f $dir/.prepared ]]; then
    rm -rf "$dir"; mkdir -p "$dir/cmd/etcd" "$dir/cmd/etcdctl"
    printf '%s\n' 'package main' '' 'import (' '	"os"' '' '	"go.etcd.io/etcd/server/v3/etcdmain"' ')' '' \
      'func main() { etcdmain.Main(os.Args) }' >"$dir/cmd/etcd/main.go"
    printf '%s\n' 'package main' '' 'import "go.etcd.io/etcd/etcdctl/v3/ctlv3"' '' \
      'func main() { ctlv3.MustStart() }' >"$dir/cmd/etcdctl/main.go"
    ( cd "$dir" && go mod init petlab.local/etcd \
      && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" \
      && go mod edit -go=1.24 && go mod tidy ) >"$LOGS/etcd-prepare.log" 2>&1 || return 1
    touch "$dir/.prepared"
  fi
  # upstream scripts/build_lib.sh: CGO_ENABLED=0, -trimpath, -ldflags "-X go.etcd.io/etcd/api/v3/version.GitSHA=<sha>"
  local b rc=0
  for b in etcd etcdctl; do
    [[ -x $BIN/$b ]] && continue
    (cd "$dir" && timed "$b" env CGO_ENABLED=0 $NICE go build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_GIT_SHA" -o "$BIN/$b" "./cmd/$b") || rc=1
  done
  return $rc
}

# ---------------------------------------------------------------- 5. coredns
step_coredns() {
  have coredns && return 0
  # upstream Makefile: CGO_ENABLED=0 go build -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=..."
  timed coredns env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_GIT_COMMIT" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
}

# ---------------------------------------------------------------- 6. pause (C, static glibc)
step_pause() {
  have pause && return 0
  local c
  c=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')/build/pause/linux/pause.c
  # upstream build/pause/Makefile: CFLAGS = -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV); then strip
  timed pause bash -c "gcc -Os -Wall -Werror -static -DVERSION=v$PAUSE_VERSION-k8s-$K8S_VERSION -o '$BIN/pause' '$c' && strip '$BIN/pause'"
}

# ---------------------------------------------------------------- 7. crictl
step_crictl() {
  have crictl && return 0
  # upstream Makefile: CGO_ENABLED=0, GOFLAGS=-trimpath, -X sigs.k8s.io/cri-tools/pkg/version.Version=<ver without v>
  timed crictl env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION#v}" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
}

# ---------------------------------------------------------------- 8. containerd v2
# kind's base image builds with BUILDTAGS="no_aufs no_zfs no_btrfs no_devmapper" (+ Makefile's
# urfave_cli_no_docs); the shim additionally gets no_grpc and is always CGO_ENABLED=0 upstream.
CONTAINERD_TAGS="no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs"
step_containerd() {
  local P=github.com/containerd/containerd/v2
  local ld="-s -w -X $P/version.Version=$CONTAINERD_VERSION -X $P/version.Package=$P -X $P/version.Revision=${CONTAINERD_REVISION:-}"
  local rc=0
  if ! have containerd; then
    timed containerd env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath -tags "$CONTAINERD_TAGS" \
      -ldflags "$ld" "$P/cmd/containerd@$CONTAINERD_VERSION" || rc=1
  fi
  if ! have ctr; then
    timed ctr env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath -tags "$CONTAINERD_TAGS" \
      -ldflags "$ld" "$P/cmd/ctr@$CONTAINERD_VERSION" || rc=1
  fi
  if ! have containerd-shim-runc-v2; then
    timed containerd-shim-runc-v2 env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath -tags "$CONTAINERD_TAGS no_grpc" \
      -ldflags "$ld" "$P/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" || rc=1
  fi
  return $rc
}

# ---------------------------------------------------------------- 9a. CNI plugins (optional)
# pure Go, CGO_ENABLED=0; kind's base image ships host-local loopback ptp portmap (we add bridge)
CNI_PLUGINS=(ipam/host-local main/loopback main/ptp main/bridge meta/portmap)
step_cni() {
  mkdir -p "$BIN/cni"
  local p n rc=0
  for p in "${CNI_PLUGINS[@]}"; do
    n=${p#*/}
    [[ -x $BIN/cni/$n ]] && { log "skip cni/$n (exists)"; continue; }
    timed "cni-$n" env CGO_ENABLED=0 GOBIN="$BIN/cni" $NICE go install -trimpath \
      -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
      "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION" || rc=1
  done
  return $rc
}

# ---------------------------------------------------------------- 9b. runc (optional, needs cgo)
# runc needs cgo (libcontainer/nsenter is C) and libseccomp. libseccomp-dev is NOT installed on
# the host: its .deb is fetched with `apt-get download` and unpacked into $SRC/sysroot, then runc
# is linked as a static PIE like upstream `make static` (tags seccomp urfave_cli_no_docs netgo osusergo).
RUNC_GIT_COMMIT=${RUNC_GIT_COMMIT:-}
step_runc() {
  have runc && return 0
  local sysroot=$SRC/sysroot
  if [[ ! -f $sysroot/usr/lib/x86_64-linux-gnu/libseccomp.a ]]; then
    mkdir -p "$SRC/debs" "$sysroot"
    (cd "$SRC/debs" && apt-get download libseccomp-dev) || return 1
    dpkg-deb -x "$(ls "$SRC"/debs/libseccomp-dev_*.deb | tail -1)" "$sysroot" || return 1
  fi
  local dir; dir=$(go mod download -json "github.com/opencontainers/runc@$RUNC_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  (cd "$dir" && timed runc env CGO_ENABLED=1 \
     PKG_CONFIG_PATH="$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$sysroot" \
     GOFLAGS="$GOFLAGS -modcacherw" $NICE go build -trimpath -buildmode=pie \
     -tags "seccomp urfave_cli_no_docs netgo osusergo" \
     -ldflags "-s -w -X main.gitCommit=$RUNC_GIT_COMMIT -linkmode external -extldflags -static-pie" \
     -o "$BIN/runc" .)
}

# ---------------------------------------------------------------- 10. local-path-provisioner (optional)
step_lpp() {
  have local-path-provisioner && return 0
  # upstream scripts/build: CGO_ENABLED=0 go build -ldflags "-X main.VERSION=$VERSION -extldflags -static -s -w"
  timed local-path-provisioner env CGO_ENABLED=0 GOBIN="$BIN" $NICE go install -trimpath \
    -ldflags "-s -w -X main.VERSION=$LPP_VERSION" "github.com/rancher/local-path-provisioner@$LPP_VERSION"
}

# ---------------------------------------------------------------- verify
step_verify() {
  local out=$LOGS/versions.txt b
  : >"$out"
  for b in "$BIN"/* "$BIN"/cni/*; do
    [[ -f $b ]] || continue
    local n; n=${b#$BIN/}
    local v
    case $n in
      kind) v=$("$b" version) ;;
      kubeadm) v=$("$b" version -o short) ;;
      kubectl) v=$("$b" version --client 2>&1 | head -1) ;;
      kubelet|kube-*) v=$("$b" --version 2>&1 | tail -1) ;;
      etcd) v=$("$b" --version | head -2 | tr '\n' ' ') ;;
      etcdctl) v=$("$b" version | head -1) ;;
      coredns) v=$("$b" -version | tr '\n' ' ') ;;
      pause) v=$("$b" -v 2>&1) ;;
      crictl) v=$("$b" --version) ;;
      containerd|ctr) v=$("$b" --version) ;;
      containerd-shim-runc-v2) v=$("$b" -v | tr '\n' ' ') ;;
      runc) v=$("$b" --version | tr '\n' ' ') ;;
      local-path-provisioner) v=$("$b" --version 2>&1 | head -1) ;;
      cni/*) v=$(env -i "$b" </dev/null 2>&1 | head -1) ;;
      *) v="?" ;;
    esac
    printf '%-26s %10s  %s\n' "$n" "$(stat -c %s "$b")" "$v" | tee -a "$out"
  done
}

# ---------------------------------------------------------------- main
main() {
  local steps=("$@") failed=()
  [[ ${#steps[@]} -eq 0 ]] && steps=(kind k8s images etcd coredns pause crictl containerd cni runc lpp verify)
  for s in "${steps[@]}"; do
    log "=== step $s"
    "step_$s" || { failed+=("$s"); log "step $s FAILED (see $LOGS)"; }
  done
  ls -l "$BIN"
  [[ ${#failed[@]} -eq 0 ]] || { log "failed steps: ${failed[*]}"; return 1; }
}
main "$@"; exit $?
