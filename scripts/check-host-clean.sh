#!/usr/bin/env bash
# The host as the tests found it: a snapshot of what lxnest and its tests may create on the host,
# taken before the tests and compared after them. Any difference fails (exit 1) and is listed,
# `+` for something left behind, `-` for something of the host's that is gone.
#
#   check-host-clean.sh snapshot FILE   write the snapshot
#   check-host-clean.sh compare FILE    take another and compare it with FILE
#
# What it covers: network links, addresses, routes (v4, v6), network namespaces and nftables rule
# sets (counters left out); cgroup directories below any `lxnest` cgroup or named lxnest* in every
# mounted hierarchy; mounts (point and type); users and groups named lxnest*, their /etc/subuid,
# /etc/subgid lines and /etc/lxc/lxc-usernet; files under /run/lxnest and /var/lib/lxnest.
# Read-only: `ip` and `nft` only list. LXNEST_CLEAN_SECTIONS="link cgroup ..." limits the sections
# (the self-test in tests/host_clean_root.rs uses it; CI takes them all).
set -uo pipefail
ALL="link addr route netns nft cgroup mount user file"
SECTIONS=${LXNEST_CLEAN_SECTIONS:-$ALL}

section() { # NAME: each line of stdin prefixed with the section name, sorted
  sed "s|^|$1 |" | LC_ALL=C sort -u
}

snapshot() {
  local s
  for s in $SECTIONS; do
    case $s in
      link) ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | section link ;;
      addr) ip -o addr show | awk '{ print $2, $4 }' | section addr ;;
      route) { ip route show table all; ip -6 route show table all | grep -v expires; } | section route ;;
      netns) ip netns list 2>/dev/null | awk '{ print $1 }' | section netns ;;
      nft)
        if command -v nft >/dev/null; then
          nft list ruleset 2>&1 | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/; s/^[[:space:]]+//' | section nft
        else
          echo "nft missing (Debian package nftables)" | section nft
        fi ;;
      cgroup)
        # Below an `lxnest` cgroup (lxnest's own), or named lxnest* (the tests' own); the bare
        # `lxnest` parent lxnest leaves under a hierarchy's cgroup holds nothing by itself.
        # LXC's own per-container cgroups (the LXC and seccomp tests run lxc-execute) as well.
        find /sys/fs/cgroup -mindepth 1 -type d \( -path '*/lxnest/*' -o -name 'lxnest?*' -o -name 'lxc.payload.*' -o -name 'lxc.monitor.*' \) 2>/dev/null | section cgroup ;;
      # iproute2 makes /run/netns a mount point of its own at the first `ip netns add`, and
      # keeps it: the namespaces mounted below it are what counts.
      mount) awk '$5 != "/run/netns" { print $5, $(NF - 2) }' /proc/self/mountinfo | section mount ;;
      user)
        {
          getent passwd | cut -d: -f1 | grep '^lxnest' | sed 's/^/passwd /'
          getent group | cut -d: -f1 | grep '^lxnest' | sed 's/^/group /'
          grep -H '^lxnest' /etc/subuid /etc/subgid 2>/dev/null
          [ -r /etc/lxc/lxc-usernet ] && sed 's|^|lxc-usernet |' /etc/lxc/lxc-usernet
        } | section user ;;
      file)
        # lxnest's name registry stays, empty, by design: its entries count, not the file.
        {
          find /run/lxnest /var/lib/lxnest -mindepth 1 2>/dev/null | grep -v '^/run/lxnest/\.registry\(/lock\|/registry\.json\)\?$'
          reg=/run/lxnest/.registry/registry.json
          if [ -e $reg ] && [ "$(tr -d ' \n\t' < $reg)" != '{"entries":[]}' ]; then
            echo "$reg entries: $(tr -d '\n' < $reg | tr -s ' ')"
          fi
        } | section file ;;
      *) echo "check-host-clean: unknown section $s (known: $ALL)" >&2; exit 2 ;;
    esac
  done
}

case "${1:-}" in
  snapshot)
    [ -n "${2:-}" ] || { echo "usage: $0 snapshot FILE" >&2; exit 2; }
    snapshot > "$2"
    echo "host snapshot: $(wc -l < "$2") lines in $2 (sections: $SECTIONS)" ;;
  compare)
    [ -r "${2:-}" ] || { echo "check-host-clean: no snapshot to compare with (${2:-}): take one with '$0 snapshot FILE' before the tests" >&2; exit 2; }
    after=$(mktemp)
    snapshot > "$after"
    changes=$(diff "$2" "$after" | sed -n 's/^> /+ /p; s/^< /- /p')
    rm -f "$after"
    if [ -n "$changes" ]; then
      echo "FAIL the host is not as the tests found it (+ left behind, - gone):"
      echo "$changes" | sed 's/^/  /'
      exit 1
    fi
    echo "PASS the host is as the tests found it (sections: $SECTIONS)" ;;
  *) echo "usage: $0 snapshot|compare FILE" >&2; exit 2 ;;
esac
