#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) system rootfs tarball from Debian's own packages with mmdebstrap:
# the "juju machine" the real-runtime tests (tests/runtimes_root.rs) start as a nesting host with
# `rootfs: tar:PATH`. It carries systemd, LXC, Docker, Podman and LXD as Debian ships them.
#
# The packages come from THIS machine's apt sources (the sources file is handed to mmdebstrap as
# its mirror argument), so no mirror is named here. The tarball is cached under
# target/rootfs-cache/ (or $LXNEST_ROOTFS_CACHE), keyed by a hash of this script and the sources
# file: it is rebuilt only when one of them changes. Concurrent callers wait on a lock and reuse
# the first one's result. Prints the tarball's path on stdout; progress goes to stderr.
#
# Usage: scripts/build-debian-rootfs.sh [--print-packages]
set -euo pipefail

# What a nested runtime needs inside the nesting host, and why:
#   systemd systemd-sysv dbus   init: systemd boots the machine like a distro does
#   lxc lxc-templates rsync     LXC as distros configure it; the templates (busybox, download) and
#                               the distro configs (common.conf, debian.common.conf) live in
#                               lxc-templates; rsync is what lxc-copy and several templates use
#   busybox-static              lxc-create -t busybox copies the nesting host's busybox
#   dnsmasq-base                lxc-net's DHCP and DNS on lxcbr0
#   iptables nftables           lxc-net's and docker's NAT (iptables is the nft backend on bookworm)
#   iproute2 iputils-ping       `ip` and `ping` for the tests' checks inside the nesting host
#   uidmap                      newuidmap/newgidmap for unprivileged LXC and rootless podman
#   docker.io runc tini         Docker with its default runtime
#   podman crun conmon          Podman (crun is bookworm podman's default OCI runtime)
#   containernetworking-plugins   podman's bridge network (CNI) on bookworm
#   fuse-overlayfs slirp4netns  podman's storage and rootless network
#   lxd lxd-client              LXD 5.0 as bookworm ships it (see docs/runtimes-testing.md)
#   procps kmod ca-certificates ps/pgrep for checks; modprobe that lxc-net and docker call
PACKAGES=(
  systemd systemd-sysv dbus
  lxc lxc-templates rsync busybox-static dnsmasq-base
  iptables nftables iproute2 iputils-ping uidmap
  docker.io runc tini
  podman crun conmon containernetworking-plugins fuse-overlayfs slirp4netns
  lxd lxd-client
  procps kmod ca-certificates
)

if [ "${1:-}" = "--print-packages" ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
sources=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -s "$f" ]; then
    sources=$f
    break
  fi
done
if [ -z "$sources" ]; then
  echo "build-debian-rootfs: no apt sources on this machine (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list); configure apt first" >&2
  exit 1
fi
command -v mmdebstrap >/dev/null || {
  echo "build-debian-rootfs: mmdebstrap is missing: apt-get install mmdebstrap" >&2
  exit 1
}

cache=${LXNEST_ROOTFS_CACHE:-$PWD/target/rootfs-cache}
mkdir -p "$cache"
key=$(cat "$self" "$sources" | sha256sum | cut -c1-16)
out=$cache/debian12-$key.tar

# One build at a time; a waiter finds the finished tarball and returns it.
exec 9>"$cache/.lock"
flock 9
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

include=$(IFS=,; echo "${PACKAGES[*]}")
# The name ends in .tar: mmdebstrap picks its output format from it.
tmp=$cache/.partial-$$.tar
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "build-debian-rootfs: building $out (mmdebstrap, minbase + ${#PACKAGES[@]} packages)" >&2
# The customize hooks run in the finished tree: an empty machine-id (systemd writes one per boot)
# and no /etc/hostname (it would override the name lxnest plans for the container).
mmdebstrap --variant=minbase --include="$include" \
  --customize-hook='echo -n > "$1/etc/machine-id"' \
  --customize-hook='rm -f "$1/etc/hostname"' \
  bookworm "$tmp" "$sources" >&2
mv "$tmp" "$out"
trap - EXIT
# Older builds of other keys are stale: keep only this one.
find "$cache" -maxdepth 1 -name 'debian12-*.tar' ! -name "$(basename "$out")" -delete
echo "build-debian-rootfs: done in $(($(date +%s) - start)) s, $(du -m "$out" | cut -f1) MiB" >&2
echo "$out"
