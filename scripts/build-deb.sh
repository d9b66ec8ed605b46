#!/usr/bin/env bash
# Build lxnest's Debian package with one command, on Debian 12 with dpkg-dev and a Rust toolchain:
# runs debian/rules (a release build of the lxnest binary, --locked, so offline once cargo has
# its dependencies), staged and written below target/debian/. Prints the .deb's path on standard
# output; everything else goes to standard error. docs/packaging.md describes the package.
#
# Environment:
#   LXNEST_DEB_DIR   where the .deb goes (default target/debian)
#   LXNEST_COMMIT    the commit `lxnest --version` names, when building outside git (build.rs)
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in dpkg-gencontrol dpkg-shlibdeps dpkg-deb strip cargo; do
  command -v "$tool" >/dev/null || {
    echo "build-deb: $tool not found: apt-get install dpkg-dev binutils (cargo: rustup)" >&2
    exit 1
  }
done

# The package version is debian/changelog's and must be Cargo's version. The package is native
# (debian/ lives upstream, debian/source/format), so the version has no Debian revision; a
# revision (`-N`) is accepted for a rebuild and stripped for the comparison.
deb_version=$(dpkg-parsechangelog -S Version)
cargo_version=$(awk '/^\[/ { pkg = ($0 == "[package]") } pkg && /^version *=/ { gsub(/[" ]/, ""); sub(/version=/, ""); print; exit }' Cargo.toml)
if [ "${deb_version%-*}" != "$cargo_version" ]; then
  echo "build-deb: debian/changelog is at $deb_version but Cargo.toml's version is $cargo_version:" \
    "add a debian/changelog entry for $cargo_version" >&2
  exit 1
fi

out=${LXNEST_DEB_DIR:-target/debian}
stage="$out/stage"
mkdir -p "$stage"
deb="$out/lxnest_${deb_version}_$(dpkg --print-architecture).deb"
rm -f "$deb"
debian/rules binary STAGE="$stage/lxnest" DEB_OUT="$out" FILES="$stage/files" \
  SUBSTVARS="$stage/lxnest.substvars" >&2
test -f "$deb" || { echo "build-deb: debian/rules did not write $deb" >&2; exit 1; }
echo "$deb"
