#!/usr/bin/env bash
# build.sh - build a kind node image (kindest/node:vX.Y.Z) and every image it preloads, with no
# container registry: everything comes from locally built static binaries (binaries.sh), Debian
# packages and kind's own module source. Versions: versions.env beside this script.
#
# Usage: build.sh BIN_DIR [step ...]
#   BIN_DIR   directory holding the binaries (binaries.sh's OUT_DIR):
#             kind kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler
#             kube-proxy etcd etcdctl coredns pause local-path-provisioner containerd ctr
#             containerd-shim-runc-v2 runc crictl cni/{host-local,loopback,ptp,portmap}
#   steps     os base images node   (default: all four, in that order)
#     os      debootstrap Debian trixie minbase -> kind-local/debian:trixie-slim (kind's own base distro)
#     base    kind's images/base Dockerfile (stage "base" + stage "build", taken from the kind module,
#             --chmod dropped, COPY --from=<git-clone stages> rewritten to our binaries) -> kind-local/base
#     images  the images kubeadm and kind's manifests name, under exactly those names (see README.md)
#     node    kind's buildImage, replayed: build container, binaries to /usr/bin, /kind/version,
#             /kind/manifests/*.yaml from kind's const_*.go, ctr import of every image, docker commit
#
# Idempotent: every image gets a label kind-local.hash (sha256 of its inputs); a step whose
# image already carries the same hash is skipped. FORCE=1 rebuilds everything.
# Every step prints its wall time in seconds; logs go to $WORK/logs/.
# Needs: a Docker engine (no BuildKit/buildx needed: the legacy builder is used), go (to read
# kind's constants), debootstrap (host tooling, for step "os").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 && -d $1 ]] || { echo "usage: $0 BIN_DIR [os base images node]" >&2; exit 2; }
BIN=$(cd "$1" && pwd); shift
WORK=${KIND_WORK:-${PETLAB_CACHE:-/var/cache/petlab}/build/kind}
LOGS=$WORK/logs
mkdir -p "$WORK" "$LOGS"

export PATH=/usr/local/go/bin:$PATH
export DOCKER_BUILDKIT=0          # engine 20.10 without buildx here: legacy builder
export GOWORK=off GOFLAGS=-mod=mod

# shellcheck source=versions.env
. "$HERE/versions.env"
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

OS_IMAGE=kind-local/debian:$DEBIAN_SUITE-slim
IPT_IMAGE=kind-local/debian-iptables:$DEBIAN_SUITE
BASE_IMAGE=kind-local/base:$KIND_VERSION
NODE_IMAGE=kindest/node:$K8S_VERSION

BUILD_CONTAINER=
cleanup() { [[ -z $BUILD_CONTAINER ]] || docker rm -f -v "$BUILD_CONTAINER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ helpers
image_hash() { docker image inspect --format '{{ index .Config.Labels "kind-local.hash" }}' "$1" 2>/dev/null || true; }
REPLACED=()   # ids of our images whose tag a rebuild moves away (removed at the end if then untagged)
up_to_date() { # IMAGE HASH
  local have; have=$(image_hash "$1")
  [[ -z ${FORCE:-} && $have == "$2" ]] && return 0
  [[ -z $have ]] || REPLACED+=("$(docker image inspect --format '{{.Id}}' "$1")")
  return 1
}
# hash of stdin + the named files (content), 16 hex
hash_inputs() { { cat; for f in "$@"; do sha256sum <"$f"; done; } | sha256sum | cut -c1-16; }
image_id() { docker image inspect --format '{{.Id}}' "$1"; }

KIND_MOD=${KIND_MOD:-}
kind_module() {
  if [[ -z $KIND_MOD ]]; then
    KIND_MOD=$(go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    [[ -d $KIND_MOD/images/base ]] || die "kind module $KIND_VERSION not found"
  fi
  echo "$KIND_MOD"
}

# kind's string constants, evaluated from its Go source (kindconst/main.go)
kind_const() { # NAME FILE...
  local mod; mod=$(kind_module)
  local files=() f
  for f in "${@:2}"; do files+=("$mod/pkg/build/nodeimage/$f"); done
  (cd "$HERE/kindconst" && go run main.go "$1" "${files[@]}")
}

# import a root filesystem directory as a one-layer image (for FROM-scratch images)
import_rootfs() { # DIR IMAGE HASH [--change ...]
  local dir=$1 img=$2 h=$3; shift 3
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . |
    docker import --change "LABEL kind-local.hash=$h" "$@" - "$img" >/dev/null
}

# ------------------------------------------------------------------ step: os
step_os() {
  local h; h=$(printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" minbase | hash_inputs /etc/ssl/certs/ca-certificates.crt)
  if up_to_date "$OS_IMAGE" "$h"; then log "  $OS_IMAGE up to date"; return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
  local root=$WORK/rootfs-$DEBIAN_SUITE
  rm -rf "$root"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$LOGS/debootstrap.log" 2>&1 ||
    { tail -20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
  # TLS-intercepting proxy: trust the host's CA bundle inside (apt over https, etc.)
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main
EOF
  # like the official debian:*-slim images: no recommends, no lists/caches
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/99norecommends"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
  import_rootfs "$root" "$OS_IMAGE" "$h" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]'
  rm -rf "$root"
}

# ------------------------------------------------------------------ step: base
# kind's images/base/Dockerfile, stages "base" and "build" (+ the final squash), with:
#  - COPY --chmod=... dropped (the legacy builder has no --chmod): the context files get the
#    modes kind's --chmod would give them (scripts 0755, everything else 0644)
#  - COPY --from=build-<x> of kind's git-clone+make stages -> COPY of our prebuilt binaries
#  - the go-build/build-* stages and the COPY lines of _LICENSES and containerd-fuse-overlayfs removed
make_base_dockerfile() { # KIND_DOCKERFILE > Dockerfile
  awk '
    /^FROM --platform=\$BUILDPLATFORM/ { skip = 1 }
    /^FROM base AS build$/ { skip = 0 }
    !skip { print }
  ' "$1" | sed -E \
    -e 's#^COPY --chmod=[0-7]+ #COPY #' \
    -e 's#^COPY --from=build-containerd /containerd/bin/#COPY bin/#' \
    -e 's#^COPY --from=build-runc /runc/runc #COPY bin/runc #' \
    -e 's#^COPY --from=build-crictl /cri-tools/build/crictl #COPY bin/crictl #' \
    -e 's#^COPY --from=build-cni /cni-plugins/bin/#COPY bin/cni/#' \
    -e '/_LICENSES/d' -e '/^COPY .*fuse-overlayfs/d'
}

step_base() {
  local mod; mod=$(kind_module)
  local ctx=$WORK/base-ctx
  rm -rf "$ctx"; mkdir -p "$ctx/bin/cni"
  cp -r "$mod/images/base/files" "$ctx/files"
  chmod -R u+w "$ctx/files"
  find "$ctx/files" -type d -exec chmod 0755 {} +
  find "$ctx/files" -type f -exec chmod 0644 {} +
  chmod 0755 "$ctx"/files/usr/local/bin/* "$ctx"/files/kind/bin/*
  make_base_dockerfile "$mod/images/base/Dockerfile" >"$ctx/Dockerfile"
  if grep -nE -- '--chmod|--from=build-|--platform' "$ctx/Dockerfile"; then die "kind's Dockerfile changed: lines above not rewritten"; fi
  local b
  for b in containerd ctr containerd-shim-runc-v2 runc crictl; do cp "$BIN/$b" "$ctx/bin/"; done
  for b in host-local loopback ptp portmap; do cp "$BIN/cni/$b" "$ctx/bin/cni/"; done
  local h; h=$( (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; find files -printf '%m %p\n' | LC_ALL=C sort; image_id "$OS_IMAGE") | hash_inputs)
  if up_to_date "$BASE_IMAGE" "$h"; then log "  $BASE_IMAGE up to date"; rm -rf "$ctx"; return 0; fi
  echo "LABEL kind-local.hash=$h" >>"$ctx/Dockerfile"
  cp "$ctx/Dockerfile" "$LOGS/base.Dockerfile"
  # --network host: apt inside the build (kind's clean-install) reaches the mirror like the host
  docker build --network host --build-arg "BASE_IMAGE=$OS_IMAGE" -t "$BASE_IMAGE" "$ctx" >"$LOGS/base-build.log" 2>&1 ||
    { tail -30 "$LOGS/base-build.log" >&2; die "base image build failed (see $LOGS/base-build.log)"; }
  rm -rf "$ctx"
}

# ------------------------------------------------------------------ step: images
# the names the node must hold, computed from kubeadm, kind's containerd config and kind's consts
declare -A IMG=()
resolve_image_names() {
  local list; list=$("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION")
  echo "$list" >"$LOGS/kubeadm-images.txt"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns pause; do
    IMG[$c]=$(grep -E "/$c:|/coredns/$c:" <<<"$list" | head -1)
    [[ -n ${IMG[$c]} ]] || die "kubeadm lists no $c image"
  done
  local mod; mod=$(kind_module)
  IMG[sandbox]=$(sed -nE 's/^\s*sandbox_image\s*=\s*"([^"]+)".*/\1/p' "$mod/images/base/files/etc/containerd/config.toml")
  [[ -n ${IMG[sandbox]} ]] || die "no sandbox_image in kind's containerd config"
  IMG[kindnetd]=$(kind_const kindnetdImage const_cni.go)
  IMG[lpp]=$(kind_const storageProvisionerImage const_storage.go)
  IMG[lpp-helper]=$(kind_const storageHelperImage const_storage.go)
}

# docker's own short form of a reference (docker.io/kindest/x:t -> kindest/x:t) for tagging
docker_ref() { local r=${1#docker.io/}; echo "${r#library/}"; }

# FROM-scratch image with static binaries at the given paths
scratch_image() { # NAME IMAGE ENTRYPOINT_JSON BIN:PATH...
  local name=$1 img=$2 ep=$3; shift 3
  local root=$WORK/rootfs-$name spec files=()
  for spec in "$@"; do files+=("$BIN/${spec%%:*}"); done
  local h; h=$(printf '%s\n' scratch "$ep" "$@" | hash_inputs "${files[@]}")
  if up_to_date "$img" "$h"; then log "  $img up to date"; return 0; fi
  rm -rf "$root"; mkdir -p "$root/tmp"; chmod 1777 "$root/tmp"
  for spec in "$@"; do
    install -D -m 0755 "$BIN/${spec%%:*}" "$root${spec#*:}"
  done
  local changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  [[ -n $ep ]] && changes+=(--change "ENTRYPOINT $ep")
  import_rootfs "$root" "$(docker_ref "$img")" "$h" "${changes[@]}"
  rm -rf "$root"
  log "  built $img"
}

# image from a Dockerfile in this folder
dockerfile_image() { # IMAGE DOCKERFILE CONTEXT [build-arg...]
  local img=$1 df=$2 ctx=$3; shift 3
  local h; h=$( (printf '%s\n' "$@"; (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)) | hash_inputs "$df")
  if up_to_date "$img" "$h"; then log "  $img up to date"; return 0; fi
  local a args=()
  for a in "$@"; do args+=(--build-arg "$a"); done
  docker build --network host -f "$df" "${args[@]}" --label "kind-local.hash=$h" -t "$(docker_ref "$img")" "$ctx" \
    >"$LOGS/build-${img//[\/:]/_}.log" 2>&1 || { tail -20 "$LOGS/build-${img//[\/:]/_}.log" >&2; die "build of $img failed"; }
  log "  built $img"
}

step_images() {
  resolve_image_names
  local c
  for c in "${!IMG[@]}"; do log "  $c -> ${IMG[$c]}"; done
  # the kubernetes version of the binaries must be the one kubeadm lists images for
  local v; v=$("$BIN/kubeadm" version -o short)
  [[ $v == "$K8S_VERSION" ]] || die "kubeadm in $BIN is $v, expected $K8S_VERSION"

  local ctx=$WORK/images-ctx
  rm -rf "$ctx"; mkdir -p "$ctx"
  # shared Debian + iptables base (kube-proxy, kindnetd): iptables-wrapper picks legacy/nft
  cp "$HERE/iptables-wrapper" "$ctx/"
  dockerfile_image "$IPT_IMAGE" "$HERE/Dockerfile.iptables" "$ctx" "BASE=$OS_IMAGE"
  rm -rf "$ctx"; mkdir -p "$ctx"

  # control plane: upstream puts them at /usr/local/bin (kubeadm's manifests call them by name)
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    scratch_image "$c" "${IMG[$c]}" "" "$c:/usr/local/bin/$c"
  done
  scratch_image etcd "${IMG[etcd]}" "" etcd:/usr/local/bin/etcd etcdctl:/usr/local/bin/etcdctl
  scratch_image coredns "${IMG[coredns]}" '["/coredns"]' coredns:/coredns
  scratch_image pause "${IMG[pause]}" '["/pause"]' pause:/pause
  if [[ ${IMG[sandbox]} != "${IMG[pause]}" ]]; then
    docker tag "$(docker_ref "${IMG[pause]}")" "$(docker_ref "${IMG[sandbox]}")"
    log "  tagged ${IMG[sandbox]} (kind's containerd sandbox_image) = ${IMG[pause]}"
  fi
  scratch_image local-path-provisioner "${IMG[lpp]}" '["/usr/local/bin/local-path-provisioner"]' \
    local-path-provisioner:/usr/local/bin/local-path-provisioner

  # kube-proxy: the binary on Debian + iptables (upstream: distroless-iptables)
  cp "$BIN/kube-proxy" "$ctx/"
  dockerfile_image "${IMG[kube-proxy]}" "$HERE/Dockerfile.kube-proxy" "$ctx" "BASE=$IPT_IMAGE" "IPT_HASH=$(image_id "$IPT_IMAGE")"
  rm -rf "$ctx"; mkdir -p "$ctx"
  # kindnetd stand-in (shell script, see kindnetd.sh)
  cp "$HERE/kindnetd.sh" "$ctx/"
  dockerfile_image "${IMG[kindnetd]}" "$HERE/Dockerfile.kindnetd" "$ctx" "BASE=$IPT_IMAGE" "IPT_HASH=$(image_id "$IPT_IMAGE")"
  rm -rf "$ctx"; mkdir -p "$ctx"
  # local-path helper: needs only /bin/sh, mkdir, rm -> the Debian minbase
  # shellcheck disable=SC2016  # a Dockerfile, not shell
  printf 'ARG BASE\nFROM $BASE\n' >"$ctx/Dockerfile"
  dockerfile_image "${IMG[lpp-helper]}" "$ctx/Dockerfile" "$ctx" "BASE=$OS_IMAGE" "OS_HASH=$(image_id "$OS_IMAGE")"
  rm -rf "$ctx"
}

# ------------------------------------------------------------------ step: node
NODE_BINARIES=(kubeadm kubelet kubectl)   # what kind's kube.Bits installs to /usr/bin (BinaryPaths)
step_node() {
  resolve_image_names
  local v; v=$("$BIN/kubeadm" version -o short)
  [[ $v == "$K8S_VERSION" ]] || die "kubeadm in $BIN is $v, expected $K8S_VERSION"
  local cni storage
  # kind's manifests, taken from its source; the image names inside are the ones we built
  cni=$(kind_const defaultCNIManifest const_cni.go)
  storage=$(kind_const defaultStorageManifest const_storage.go)
  local images=("${IMG[kube-apiserver]}" "${IMG[kube-controller-manager]}" "${IMG[kube-scheduler]}"
    "${IMG[kube-proxy]}" "${IMG[etcd]}" "${IMG[coredns]}" "${IMG[pause]}" "${IMG[sandbox]}"
    "${IMG[kindnetd]}" "${IMG[lpp]}" "${IMG[lpp-helper]}")
  local i ids=()
  for i in "${images[@]}"; do ids+=("$i=$(image_id "$(docker_ref "$i")")") || die "missing image $i (run step images)"; done
  local bins=() b
  for b in "${NODE_BINARIES[@]}"; do bins+=("$BIN/$b"); done
  local h; h=$( (echo "$K8S_VERSION"; printf '%s\n' "${ids[@]}"; image_id "$BASE_IMAGE"; echo "$cni"; echo "$storage"; declare -f step_node) | hash_inputs "${bins[@]}")
  if up_to_date "$NODE_IMAGE" "$h"; then log "  $NODE_IMAGE up to date"; return 0; fi

  local cid
  cid="kind-build-local-$(date +%s)-$$"
  # exactly kind's build container (createBuildContainer): sleep forever, seccomp unconfined
  docker run -d --entrypoint=sleep --name="$cid" --security-opt seccomp=unconfined "$BASE_IMAGE" infinity >/dev/null
  BUILD_CONTAINER=$cid
  local x="docker exec $cid"
  for b in "${NODE_BINARIES[@]}"; do
    docker cp "$BIN/$b" "$cid:/usr/bin/$b"
    $x chmod +x "/usr/bin/$b"; $x chown root:root "/usr/bin/$b"
  done
  # createFile(): mkdir -p + write
  $x mkdir -p /kind/manifests
  printf '%s' "$K8S_VERSION" | docker exec -i "$cid" cp /dev/stdin /kind/version
  printf '%s' "$cni" | docker exec -i "$cid" cp /dev/stdin /kind/manifests/default-cni.yaml
  printf '%s' "$storage" | docker exec -i "$cid" cp /dev/stdin /kind/manifests/default-storage.yaml
  # containerd in the build container, as kind's containerdImporter does
  $x bash -c "nohup containerd > /dev/null 2>&1 &"
  $x bash -c 'for i in {0..9}; do [ -S /run/containerd/containerd.sock ] && break; sleep 1; done; ctr info >/dev/null' 2>>"$LOGS/node-import.log"
  # docker save -> ctr import (kind's LoadCommand), one archive per image
  for i in "${images[@]}"; do
    docker save "$(docker_ref "$i")" | docker exec -i "$cid" ctr --namespace=k8s.io images import \
      --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >>"$LOGS/node-import.log" 2>&1 ||
      die "ctr import of $i failed (see $LOGS/node-import.log)"
  done
  $x ctr --namespace=k8s.io images list -q 2>>"$LOGS/node-import.log" | sort >"$LOGS/node-images.txt"
  for i in "${images[@]}"; do
    grep -qxF "$i" "$LOGS/node-images.txt" || die "image $i not in the node's containerd after import"
  done
  # (kind just pkills and commits; we wait for it to exit. The build container's PID 1 is
  # `sleep`, which does not reap, so an exited containerd stays a zombie: that counts as exited.)
  $x pkill containerd
  # shellcheck disable=SC2016  # expanded in the container
  $x bash -c 'for i in {0..19}; do
      p=$(pgrep -x containerd) || exit 0
      grep -q "^State:\s*Z" "/proc/$p/status" && exit 0
      sleep 1
    done; echo "containerd did not stop" >&2; exit 1'
  docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' \
    --change "LABEL kind-local.hash=$h" \
    "$cid" "$NODE_IMAGE" >/dev/null
  docker rm -f -v "$cid" >/dev/null; BUILD_CONTAINER=
  log "  $NODE_IMAGE: $(grep -vcE '^(sha256:|import-)' "$LOGS/node-images.txt") image names in its containerd (list: $LOGS/node-images.txt)"
}

# ------------------------------------------------------------------ main
main() {
  local steps=("$@") s t0 total0
  [[ ${#steps[@]} -gt 0 ]] || steps=(os base images node)
  for s in "${steps[@]}"; do declare -F "step_$s" >/dev/null || die "unknown step $s"; done
  log "bin=$BIN kind=$KIND_VERSION k8s=$K8S_VERSION node=$NODE_IMAGE work=$WORK"
  total0=$(date +%s)
  for s in "${steps[@]}"; do
    t0=$(date +%s)
    log "=== step $s"
    "step_$s"
    log "=== step $s done in $(( $(date +%s) - t0 ))s"
  done
  # drop the previous versions of the images rebuilt now, if nothing tags them any more
  local id gone=0
  for id in "${REPLACED[@]}"; do
    [[ -z $(docker image inspect --format '{{join .RepoTags ""}}' "$id" 2>/dev/null) ]] || continue
    docker rmi "$id" >/dev/null 2>&1 && gone=$((gone + 1))
  done
  [[ $gone -eq 0 ]] || log "removed $gone superseded image(s) of ours"
  log "all done in $(( $(date +%s) - total0 ))s: $NODE_IMAGE"
}
main "$@"
