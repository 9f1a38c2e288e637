#!/usr/bin/env bash
# Build and run the connector's container image with rootful podman on a machine without a
# Docker engine or a reachable container registry (see docs/container.md).
#
#   podman_image.sh all      tools + conf + base + wheels + build (idempotent)
#   podman_image.sh tools    apt-get install podman runc debootstrap (skipped when present)
#   podman_image.sh conf     write containers.conf / storage.conf under the scratch folder
#   podman_image.sh base     debootstrap a bookworm rootfs with Python 3.11 (cached as a tar),
#                            import it, and build the stand-in for Airbyte's python-connector-base
#                            (python-connector-base.Containerfile) under the base image's plain tag
#   podman_image.sh wheels   host-prepared wheels of the runtime dependencies (cached)
#   podman_image.sh build    podman build of the project Dockerfile, offline from the wheels
#   podman_image.sh env      print KEY=VALUE lines for running podman with this setup
#   podman_image.sh podman … run podman with this setup (e.g. `podman run --rm -i IMAGE spec`)
#   podman_image.sh clean    remove images, containers and podman storage; keep the cache
#   podman_image.sh purge    clean + delete the cache (base rootfs tar, wheels)
#
# Everything lives under $SOURCE_EXPORTS_SCRATCH (default: <repo>/.scratch/container, which is
# gitignored). Must run as root (rootful podman). The build context's .dockerignore keeps the
# scratch folder out of the image.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SCRATCH="${SOURCE_EXPORTS_SCRATCH:-$REPO/.scratch/container}"
CACHE="$SCRATCH/cache"
CONF_DIR="$SCRATCH/conf"
GRAPHROOT="$SCRATCH/storage"
# runroot holds unix sockets: keep its path short (sun_path is limited to 108 bytes).
RUN_ID="$(printf '%s' "$SCRATCH" | sha1sum | cut -c1-10)"
RUNROOT="/run/sxp-$RUN_ID"
WHEELS="$CACHE/wheels"
BASE_TAR="$CACHE/bookworm-python3.11-rootfs.tar"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The Dockerfile's default BASE_IMAGE without its @sha256 digest (a digest cannot be satisfied
# without the registry): the local stand-in is built under this name.
BASE_IMAGE="${BASE_IMAGE:-$(sed -n 's/^ARG BASE_IMAGE=\([^@]*\).*/\1/p' "$REPO/Dockerfile")}"
ROOTFS_IMAGE="localhost/sxp-rootfs:bookworm"
IMAGE="${IMAGE:-airbyte/source-exports:dev}"

export CONTAINERS_CONF="$CONF_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$CONF_DIR/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$CONF_DIR/registries.conf"

log() { printf '[podman_image] %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        log "must run as root (rootful podman)"; exit 2
    fi
}

cmd_tools() {
    need_root
    if command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null; then
        log "podman, runc and debootstrap already installed"; return 0
    fi
    log "installing podman runc debootstrap with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # Wait for a dpkg lock held by another apt run instead of failing at once.
    apt-get -o DPkg::Lock::Timeout=300 update -q
    apt-get -o DPkg::Lock::Timeout=300 install -y -q podman runc debootstrap
}

cmd_conf() {
    mkdir -p "$CONF_DIR" "$GRAPHROOT" "$RUNROOT"
    local nofile nproc
    nofile="$(ulimit -Hn)"
    nproc="$(ulimit -Hu)"
    [ "$nofile" = unlimited ] && nofile=1048576
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
    cat >"$CONF_DIR/containers.conf.tmp" <<CONF
# Written by integration_tests/container/podman_image.sh — podman for tests only.
[containers]
# The machine cannot grant podman's default ulimits: containers would fail with EPERM.
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "host"
log_driver = "k8s-file"

[engine]
# crun rejects this machine's hybrid cgroup layout.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUNROOT/libpod"
volume_path = "$GRAPHROOT/volumes"
CONF
    cat >"$CONF_DIR/storage.conf.tmp" <<CONF
# Written by integration_tests/container/podman_image.sh — podman for tests only.
[storage]
driver = "overlay"
graphroot = "$GRAPHROOT"
runroot = "$RUNROOT"
CONF
    # No registry is reachable here: never search or pull anywhere.
    cat >"$CONF_DIR/registries.conf.tmp" <<CONF
unqualified-search-registries = []
CONF
    for f in containers.conf storage.conf registries.conf; do
        mv "$CONF_DIR/$f.tmp" "$CONF_DIR/$f"
    done
}

p() { podman "$@"; }

cmd_base() {
    need_root
    cmd_conf
    if p image exists "$BASE_IMAGE"; then
        log "base image $BASE_IMAGE present"; return 0
    fi
    if [ ! -s "$BASE_TAR" ]; then
        local rootfs="$CACHE/rootfs.tmp"
        mkdir -p "$CACHE"
        rm -rf "$rootfs"
        log "debootstrap bookworm minbase with python3.11 into $rootfs"
        local t0=$SECONDS
        debootstrap --variant=minbase \
            --include=python3,python3-venv,python-is-python3,ca-certificates,passwd \
            bookworm "$rootfs" "$DEBIAN_MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
                tail -30 "$CACHE/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
        # Slim it: package caches, lists, docs, man pages, locales.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
            "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
        find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
        # Debian's mirror for apt inside derived images; no host files are copied in.
        printf 'deb %s bookworm main\n' "$DEBIAN_MIRROR" >"$rootfs/etc/apt/sources.list"
        tar --numeric-owner -C "$rootfs" -cf "$BASE_TAR.tmp" .
        mv "$BASE_TAR.tmp" "$BASE_TAR"
        rm -rf "$rootfs"
        log "base rootfs cached in $BASE_TAR ($((SECONDS - t0)) s)"
    fi
    if ! p image exists "$ROOTFS_IMAGE"; then
        log "importing $BASE_TAR as $ROOTFS_IMAGE"
        p import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["python3"]' \
            "$BASE_TAR" "$ROOTFS_IMAGE" >/dev/null
    fi
    log "building the stand-in base image $BASE_IMAGE"
    p build --network host --pull=never --build-arg "ROOTFS=$ROOTFS_IMAGE" \
        -t "$BASE_IMAGE" -f "$HERE/python-connector-base.Containerfile" "$HERE" >/dev/null
}

cmd_wheels() {
    # Wheels of the runtime dependencies (plus the build backend that `pip install .` needs),
    # made on the host with the same Python minor version (3.11) as the base image.
    local stamp_now
    stamp_now="$(cat "$REPO/setup.py" "$REPO/pyproject.toml" 2>/dev/null | sha256sum | cut -c1-16)-$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ -f "$WHEELS/.stamp" ] && [ "$(cat "$WHEELS/.stamp")" = "$stamp_now" ]; then
        log "wheels up to date in $WHEELS"; return 0
    fi
    local pyver
    pyver="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ "$pyver" != 3.11 ]; then
        log "host python3 is $pyver; wheels must match the image's Python 3.11"; exit 1
    fi
    rm -rf "$WHEELS.tmp"; mkdir -p "$WHEELS.tmp"
    log "pip wheel of the runtime dependencies into $WHEELS"
    local build
    build="$(mktemp -d)"
    # Copy only what `pip install .` needs so the host's build/ and egg-info stay untouched.
    cp "$REPO/setup.py" "$build/"
    [ -f "$REPO/pyproject.toml" ] && cp "$REPO/pyproject.toml" "$build/"
    cp -r "$REPO/source_exports" "$build/"
    python3 -m pip wheel -q --wheel-dir "$WHEELS.tmp" "$build" "setuptools>=68" wheel \
        2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
    rm -rf "$build"
    rm -f "$WHEELS.tmp"/source_exports-*.whl
    echo "$stamp_now" >"$WHEELS.tmp/.stamp"
    rm -rf "$WHEELS"; mv "$WHEELS.tmp" "$WHEELS"
    log "$(find "$WHEELS" -name '*.whl' | wc -l) wheels, $(du -sh "$WHEELS" | cut -f1)"
}

cmd_build() {
    need_root
    cmd_conf
    p image exists "$BASE_IMAGE" || cmd_base
    [ -f "$WHEELS/.stamp" ] || cmd_wheels
    log "podman build -t $IMAGE (offline, wheels from $WHEELS)"
    p build --network host --pull=never \
        -v "$WHEELS:/wheels:ro" \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --build-arg "PIP_INSTALL_ARGS=--no-index --find-links /wheels" \
        -t "$IMAGE" -f "$REPO/Dockerfile" "$REPO"
    # Drop the untagged build-stage image.
    p image prune -f >/dev/null
}

cmd_env() {
    printf 'CONTAINERS_CONF=%s\nCONTAINERS_STORAGE_CONF=%s\nCONTAINERS_REGISTRIES_CONF=%s\n' \
        "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_REGISTRIES_CONF"
    printf 'SCRATCH=%s\nGRAPHROOT=%s\nRUNROOT=%s\nIMAGE=%s\nBASE_IMAGE=%s\nWHEELS=%s\n' \
        "$SCRATCH" "$GRAPHROOT" "$RUNROOT" "$IMAGE" "$BASE_IMAGE" "$WHEELS"
}

cmd_clean() {
    need_root
    if command -v podman >/dev/null && [ -f "$CONTAINERS_STORAGE_CONF" ]; then
        log "removing containers, images and storage"
        p rm -a -f >/dev/null 2>&1 || true
        p rmi -a -f >/dev/null 2>&1 || true
        p system reset -f >/dev/null 2>&1 || true
    fi
    # Anything still mounted under the storage (should be nothing after reset).
    if [ -d "$GRAPHROOT" ]; then
        grep -F " $GRAPHROOT" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done
    fi
    rm -rf "$GRAPHROOT" "$RUNROOT" "$CONF_DIR" "$CACHE/rootfs.tmp"
    # Report (never kill blindly) podman helpers still tied to this storage.
    local left
    left="$(pgrep -a -f -- "$RUNROOT" || true)"
    [ -n "$left" ] && log "WARNING: processes still using $RUNROOT: $left"
    return 0
}

cmd_purge() {
    cmd_clean
    rm -rf "$SCRATCH"
}

case "${1:-}" in
    tools) cmd_tools ;;
    conf) cmd_conf ;;
    base) cmd_tools; cmd_base ;;
    wheels) cmd_wheels ;;
    build) cmd_build ;;
    all) cmd_tools; cmd_conf; cmd_base; cmd_wheels; cmd_build ;;
    env) cmd_env ;;
    podman) shift; cmd_conf; p "$@" ;;
    clean) cmd_clean ;;
    purge) cmd_purge ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
