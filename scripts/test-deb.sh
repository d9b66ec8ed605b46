#!/usr/bin/env bash
# The Debian package as a user gets it (issue 21). Builds it (scripts/build-deb.sh), installs it
# with `dpkg -i` on this machine, then uses only what the package installed: from /, with a bare
# environment (no cargo, no target/ on PATH, no LXNEST_BINARY):
#   /usr/bin/lxnest --version (the version and this checkout's commit), `lxnest plan
#   builtin:juju-laptop`, `man lxnest-start`, bash completion of `lxnest st<TAB>` (after sourcing
#   the installed file, and through bash-completion's loader), zsh's and fish's completion
#   directories, and `lxnest demo` (starts the juju-laptop stack and removes it again);
# then `dpkg --purge lxnest`, and checks that no file of the package is left, that dpkg no longer
# knows it, and that the paths naming lxnest under /usr, /etc and /var/lib/dpkg are what they
# were before. First, the same install, use (without the demo) and purge in a clean Debian 12
# (mmdebstrap minbase with man-db and bash-completion, cached in target/rootfs-cache/; about
# 100 s the first time) entered with chroot, a machine without the repository, where the whole
# file list before the install and after the purge is compared. Run as root; refuses if an
# lxnest package is installed already (it would be replaced, then purged). Exit status non-zero
# on the first failure, with what failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (dpkg -i, lxnest demo)"
# Bash completing `lxnest st<TAB>` once the completion is defined: prints `complete -p`, then the
# sorted words offered on the last line.
complete_st='
  complete -p lxnest
  fn=$(complete -p lxnest | sed -n "s/.*-F \([^ ]*\).*/\1/p")
  COMP_WORDS=(lxnest st); COMP_CWORD=1; COMP_LINE="lxnest st"; COMP_POINT=9
  "$fn" lxnest st lxnest
  printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "'
if dpkg-query -W -f='${Status}' lxnest 2>/dev/null | grep -q 'ok installed'; then
  fail "an lxnest package is installed already; dpkg --purge lxnest first"
fi

# LXNEST_DEB: a package built before (by scripts/build-deb.sh) instead of building it here.
deb=$(realpath "${LXNEST_DEB:-$(scripts/build-deb.sh)}")
echo "test-deb: built $deb"
# Debian's own checks of a package: errors and warnings fail (debian/lintian-overrides says why
# the one override is there).
lintian --fail-on error,warning "$deb" >&2 \
  || fail "lintian: $deb"
echo "test-deb: lintian has no error or warning"
work=$(mktemp -d /tmp/lxnest-deb-test.XXXXXX)
installed=0
cleanup() {
  if [ "$installed" = 1 ]; then dpkg --purge lxnest >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A clean Debian 12 for the package test, cached by the package list and the apt sources.
clean_rootfs() {
  local cache sources key out tmp
  cache=${LXNEST_ROOTFS_CACHE:-$repo/target/rootfs-cache}
  mkdir -p "$cache"
  for sources in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list ""; do
    [ -s "$sources" ] && break
  done
  [ -n "$sources" ] || fail "no apt sources on this machine for mmdebstrap"
  key=$( (echo "minbase man-db bash-completion"; cat "$sources") | sha256sum | cut -c1-16)
  out=$cache/pkgtest-debian12-$key.tar
  (
    flock 9
    if [ ! -s "$out" ]; then
      tmp=$cache/.pkgtest-partial-$$.tar
      echo "test-deb: building a clean Debian 12 for the package ($out)" >&2
      mmdebstrap --quiet --variant=minbase --include=man-db,bash-completion bookworm "$tmp" \
        "$sources" >&2 || { rm -f "$tmp"; exit 1; }
      mv "$tmp" "$out"
      find "$cache" -maxdepth 1 -name 'pkgtest-debian12-*.tar' ! -name "$(basename "$out")" -delete
    fi
  ) 9>"$cache/.pkgtest.lock" || fail "mmdebstrap of the clean rootfs"
  echo "$out"
}

# The whole file list of the clean system, without what any first dpkg run or man-db trigger
# makes for itself (dpkg's log, man-db's cache tags and index): those are the system's.
root_files() {
  (cd "$1" && find . -xdev | grep -v -e '^\./var/log/dpkg\.log$' \
    -e '^\./var/cache/man/.*CACHEDIR\.TAG$' -e '^\./var/cache/man/\(.*/\)\?index\.db$' \
    | LC_ALL=C sort)
}

echo "test-deb: in a clean Debian 12 (chroot)"
root="$work/clean"
mkdir "$root"
tar -C "$root" -xf "$(clean_rootfs)"
in_clean() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }
root_files "$root" > "$work/clean-before"
cp "$deb" "$root/tmp/lxnest.deb"
in_clean dpkg -i /tmp/lxnest.deb >/dev/null || fail "dpkg -i in the clean rootfs"
rm "$root/tmp/lxnest.deb"
in_clean lxnest --version >/dev/null || fail "lxnest --version in the clean rootfs"
in_clean lxnest plan builtin:juju-laptop --host-fixture laptop | grep -q 'juju-host/unit-1' \
  || fail "lxnest plan builtin:juju-laptop in the clean rootfs"
# At 80 columns man-db also keeps a formatted copy in /var/cache/man/cat1: the purge must take it.
in_clean sh -c 'MANWIDTH=80 man -P cat lxnest-start' | grep -q -- '--nested' \
  || fail "man lxnest-start in the clean rootfs"
[ -e "$root/var/cache/man/cat1/lxnest-start.1.gz" ] \
  || fail "man-db kept no formatted page (the purge check below relies on one)"
got=$(in_clean bash --norc -c "source /usr/share/bash-completion/bash_completion
  _completion_loader lxnest; $complete_st") || fail "bash completion in the clean rootfs"
[ "$(tail -1 <<<"$got")" = "start stop " ] || fail "lxnest st<TAB> in the clean rootfs: $got"
in_clean dpkg --purge lxnest >/dev/null || fail "dpkg --purge in the clean rootfs"
root_files "$root" > "$work/clean-after"
diff -u "$work/clean-before" "$work/clean-after" >&2 || fail "the clean rootfs differs after the purge"
rm -rf "$root"
echo "test-deb: clean rootfs: installed, used, purged; its file list is as before"

# Every path the package holds, and which of them exist before (/usr, /usr/share/man ... do).
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/\?$' \
  | LC_ALL=C sort > "$work/package-paths"
while read -r p; do [ -e "$p" ] && echo "$p"; done < "$work/package-paths" > "$work/existed" || true
lxnest_paths() {
  find /usr /etc /var/lib/dpkg -xdev -iname '*lxnest*' 2>/dev/null | LC_ALL=C sort
}
lxnest_paths > "$work/before"

echo "test-deb: dpkg -i"
dpkg -i "$deb" >/dev/null
installed=1

# A bare environment from /: the installed binary, nothing of the checkout.
in_root() { (cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"); }

[ "$(in_root sh -c 'command -v lxnest')" = /usr/bin/lxnest ] || fail "lxnest on PATH is not /usr/bin/lxnest"
version=$(in_root lxnest --version)
want_commit=unknown
if top=$(git -C "$repo" rev-parse --show-toplevel 2>/dev/null) && [ "$(realpath "$top")" = "$repo" ]; then
  want_commit=$(git -C "$repo" rev-parse --short=12 HEAD)
fi
want_commit=${LXNEST_COMMIT:-$want_commit}
case "$version" in
  "lxnest "*" (commit $want_commit)") echo "test-deb: $version" ;;
  *) fail "--version says '$version', expected commit $want_commit" ;;
esac

plan=$(in_root lxnest plan builtin:juju-laptop) || fail "lxnest plan builtin:juju-laptop"
grep -q 'juju-host/unit-1' <<<"$plan" || fail "the plan lacks juju-host/unit-1: $plan"
echo "test-deb: plan builtin:juju-laptop from / works (policy and examples are built in)"

page=$(in_root sh -c 'MANWIDTH=100 man -P cat lxnest-start') || fail "man lxnest-start"
grep -q -- '--nested' <<<"$page" || fail "man lxnest-start lacks --nested: $page"
[ "$(in_root man -w lxnest-start)" = /usr/share/man/man1/lxnest-start.1.gz ] || fail "man -w lxnest-start"
echo "test-deb: man lxnest-start renders"

# Bash: the installed file sourced by hand, then loaded on demand by bash-completion, as an
# interactive shell does on the first <TAB>.
got=$(in_root bash --norc -c "source /usr/share/bash-completion/completions/lxnest; $complete_st") \
  || fail "bash completion from the sourced file"
[ "$(tail -1 <<<"$got")" = "start stop " ] || fail "lxnest st<TAB> in bash offered: $got"
got=$(in_root bash --norc -c "source /usr/share/bash-completion/bash_completion
  _completion_loader lxnest; $complete_st") || fail "bash-completion's loader"
[ "$(tail -1 <<<"$got")" = "start stop " ] || fail "bash-completion's loader: $got"
echo "test-deb: bash completes lxnest st<TAB> to start, stop"
# -D: no dump file. (compinit replaces its dump file: `-d /dev/null` deleted the host's /dev/null.)
got=$(in_root env HOME="$work/zsh" zsh -fc 'autoload -U compinit; compinit -D -u; print -r -- $_comps[lxnest]')
[ "$got" = _lxnest ] || fail "zsh does not find _lxnest in its fpath: '$got'"
# Not --no-config: that also skips fish's own share/config.fish, which sets the completion path.
got=$(in_root env XDG_CONFIG_HOME="$work/xdg" XDG_DATA_HOME="$work/xdg" fish -c 'complete -C"lxnest st"' \
  | cut -f1 | LC_ALL=C sort | tr '\n' ' ')
[ "$got" = "start stop " ] || fail "fish completes lxnest st to '$got'"
echo "test-deb: zsh and fish load the installed completions"

# The demo, as root, with its own state directory (it starts containers and removes them).
demo_dir=/run/lxnest-demo-deb.$$
in_root lxnest demo -P "$demo_dir" > "$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; fail "lxnest demo"; }
grep -q 'no bridge, veth, cgroup or state file of the demo is left' "$work/demo.log" \
  || { cat "$work/demo.log" >&2; fail "the demo did not report a clean stop"; }
echo "test-deb: lxnest demo from the package passed"

echo "test-deb: dpkg --purge"
dpkg --purge lxnest >/dev/null
installed=0
if dpkg-query -W lxnest >/dev/null 2>&1; then fail "dpkg still knows lxnest after --purge"; fi
left=$(LC_ALL=C comm -23 "$work/package-paths" "$work/existed" | while read -r p; do
  [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done || true)
[ -z "$left" ] || fail "left after purge: $left"
lxnest_paths > "$work/after"
diff -u "$work/before" "$work/after" >&2 || fail "paths naming lxnest differ after purge"
echo "test-deb: purged; no file of the package is left"
# The shells above run with this machine's /dev: it must still be the device.
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
