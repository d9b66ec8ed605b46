#!/usr/bin/env bash
# Run every test lxnest has, as root, on a Debian 12 machine with a Rust toolchain: installs the
# Debian packages the tests need, then unit tests, root integration tests, the AppArmor parser
# checks, formatting and lints. Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, and why:
#   apparmor          apparmor_parser compiles every generated profile (-QT -K)
#   lxc               LXC's own parser checks generated configs; real configs/seccomp files to load;
#                     lxc-user-nic for the unprivileged user-nic test
#   crun              start-latency comparison in the benchmarks
#   busybox-static    small rootfs for LXC and unprivileged tests
#   uidmap            newuidmap/newgidmap for unprivileged containers
#   procps            pkill, to clean up after the unprivileged test users
#   nftables          `nft list ruleset` to verify NAT rules made through netlink
#   iproute2          `ip` to verify (never to configure) links and routes in tests
#   libseccomp-dev    filter-size comparison and the differential test (tests/seccomp_libseccomp_diff.rs
#                     links -lseccomp) against libseccomp
#   e2fsprogs         ext4 images with the encrypt feature
#   lxc-templates     the distro configs (common.conf, debian.common.conf) and the busybox template
#                     the LXC tests load and run
#   mmdebstrap        builds the Debian 12 rootfs of the real-runtime tests (build-debian-rootfs.sh)
#   util-linux        nsenter, to start a test stack inside the network namespace the test made
#   dnsmasq-base      lxc-net's DHCP for LXC inside a nesting host on the built-in rootfs (and the demo)
#   golang-github-docker-docker-dev   moby's profiles/seccomp/default.json (data only, no daemon)
#                     for tests/seccomp_oci_profiles.rs
#   golang-github-containers-common   /usr/share/containers/seccomp.json (data only), same test
#   systemd           `init: systemd` boots the host's systemd on the built-in rootfs
#                     (tests/runtime_init_root.rs); minimal images and containers lack it
#   passwd            useradd/userdel: a user made after lxnest reserved root's subordinate range
#                     (tests/registry_root.rs); setpriv (util-linux) sends signals as a user's
#                     subordinate uid there
#   dpkg-dev          dpkg-gencontrol, dpkg-shlibdeps, dpkg-parsechangelog: scripts/build-deb.sh
#   binutils          strip, for the packaged binary (debian/rules)
#   man-db groff-base `man -l` renders the generated pages (tests/cli_manual.rs), `man lxnest-start`
#                     from the installed package (scripts/test-deb.sh)
#   bash-completion   its loader finds the installed completion on `lxnest <TAB>` (test-deb.sh)
#   zsh fish          the generated completions parse (tests/cli_manual.rs) and load from Debian's
#                     completion directories (test-deb.sh)
#   python3-venv      fresh virtual environments for the Python tests and the wheel test
#   lintian           Debian's checks of the built package (scripts/test-deb.sh)
#   git               build.rs names the commit in --version (tests/build_commit.rs makes repositories)
#   golang-github-opencontainers-specs-dev   the OCI runtime-spec JSON schema (data only) that
#                     tests/export.rs checks exported SeccompProfiles against
#   python3-jsonschema python3-yaml   run that schema check and read the exported YAML
#                     (tests/export_validate.py, with /usr/bin/python3)
# (docker.io, podman and lxd are NOT installed on the host: the tests run them inside a nesting
# host on the Debian rootfs, where they cannot start daemons or change the host's network.)
PACKAGES=(apparmor lxc lxc-templates crun busybox-static uidmap procps nftables iproute2 libseccomp-dev e2fsprogs gcc
  golang-github-docker-docker-dev golang-github-containers-common mmdebstrap util-linux dnsmasq-base
  systemd passwd dpkg-dev binutils man-db groff-base bash-completion zsh fish python3-venv git
  lintian golang-github-opencontainers-specs-dev python3-jsonschema python3-yaml
  # scripts/bench-start.sh: hyperfine times the starts; libc6-dev links its static getpid program.
  hyperfine libc6-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export CARGO_TERM_COLOR=never
step() { echo; echo "==> $*"; }

# What the host holds before any test runs (links, routes, nft rule sets, cgroups, mounts,
# lxnest-* users, /run/lxnest and /var/lib/lxnest), compared with the state after the last step.
HOST_BEFORE=$(mktemp /tmp/lxnest-host-before.XXXXXX)
trap 'rm -f "$HOST_BEFORE"' EXIT
bash scripts/check-host-clean.sh snapshot "$HOST_BEFORE"

# The "juju machine" of tests/runtimes_*root*.rs: Debian 12 with systemd, LXC, Docker, Podman and
# LXD, from this machine's apt sources. Cached under target/rootfs-cache/ by a hash of the script
# and the sources: about 75 s and 660 MiB the first time, nothing after.
step "Debian 12 rootfs for the real-runtime tests"
LXNEST_DEBIAN_ROOTFS=$(scripts/build-debian-rootfs.sh)
export LXNEST_DEBIAN_ROOTFS
echo "$LXNEST_DEBIAN_ROOTFS"

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "tests (unit, integration, root)"
cargo test --workspace 2>&1 | tee /tmp/lxnest-test.log

# Eight targets, 20 s each: about three minutes (docs/fuzzing.md).
step "fuzzing (scripts/fuzz.sh 20)"
bash scripts/fuzz.sh 20

step "python bindings (pip install ./python, pytest)"
bash python/run-tests.sh

# The package as a user gets it: built with scripts/build-deb.sh (a release build, --locked),
# dpkg -i'd on this machine, used from / (version, plan, man page, completions, `lxnest demo`),
# then purged, checking nothing of it is left (docs/packaging.md).
step "Debian package (scripts/test-deb.sh)"
bash scripts/test-deb.sh

# `pip wheel ./python`, installed into a fresh venv from an environment without cargo or rustc,
# imported and used. A dev-profile wheel, as python/run-tests.sh builds: it reuses that build
# (what is tested is that the wheel installs and runs without Rust, the same for any profile).
step "Python wheel without a Rust toolchain (python/test-wheel.sh)"
MATURIN_PEP517_ARGS="--profile dev" bash python/test-wheel.sh

# AppArmor enforced for real: Debian 12's stock kernel under qemu (tests/guest/run.sh; about two
# minutes, most of it the guest under software emulation; the first run also downloads ~95 MB of
# Debian packages into target/guest). LXNEST_SKIP_GUEST=1 leaves it out (run.sh prints SKIPPED),
# except under CI=true, where run.sh refuses it. The stage passes only if every check listed in
# tests/guest/juju-laptop.expected reported PASS and checks.sh exited 0.
step "AppArmor in a qemu guest"
bash tests/guest/run.sh

# Every test cleans up after itself, also when it fails: anything left on the host fails here.
step "host left as the tests found it (scripts/check-host-clean.sh)"
bash scripts/check-host-clean.sh compare "$HOST_BEFORE"
