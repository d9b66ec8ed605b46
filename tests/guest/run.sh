#!/usr/bin/env bash
# Guest stage: AppArmor enforcement tested for real. Boots Debian 12's stock kernel (AppArmor on)
# under qemu with software emulation, no network (-nic none), and runs tests/guest/checks.sh in
# it: lxnest loads the generated profiles, starts the juju-laptop stack (levels 1 and 2), and the
# checks read labels and AppArmor denials from the guest's root namespace. Everything comes from
# Debian packages (apt-get download + dpkg -x, cached under target/guest/); nothing is installed.
#
# Prints one line per check (PASS/FAIL/INFO) and exits non-zero on any FAIL, unless the guest
# printed `@@ DONE` (checks.sh finished with exit status 0), or unless every check listed in
# tests/guest/SPEC.expected reported PASS (judge.sh).
#
# Environment:
#   LXNEST_SKIP_GUEST=1      skip the stage (prints one SKIPPED line, exits 0); refused (exit 2)
#                            under CI=true
#   LXNEST_GUEST_WORK=DIR    work and cache directory (default: target/guest in the repository)
#   LXNEST_BIN=PATH          lxnest binary to test (default: `cargo build` and its debug binary)
#   LXNEST_GUEST_BREAK=RULE  remove this rule line from the level-1 profile before starting, to see
#                            the stage fail (default for the self-test: `pivot_root @{nested_rootfs}/,`)
#   LXNEST_GUEST_SELFTEST=0  leave out the self-test (the second start with a broken profile)
#   LXNEST_GUEST_CGROUP=unified  boot the guest with pure cgroup2 (default: hybrid, like the CI machines)
#   LXNEST_GUEST_SPEC=FILE   another spec from tests/guest/ (default juju-laptop.yaml)
#   LXNEST_GUEST_CHECKS=FILE run FILE in the guest instead of checks.sh (debugging)
#   LXNEST_GUEST_TIMEOUT=S   seconds the guest may run (default 480)
set -euo pipefail

if [ "${LXNEST_SKIP_GUEST:-0}" = 1 ]; then
  # The stage is the only test of AppArmor enforcement: CI may not leave it out.
  if [ "${CI:-}" = true ]; then
    echo "FAIL guest stage: LXNEST_SKIP_GUEST=1 is refused under CI=true (the stage is the only test of AppArmor enforcement; unset LXNEST_SKIP_GUEST)"
    exit 2
  fi
  echo "SKIPPED guest stage (LXNEST_SKIP_GUEST=1)"
  exit 0
fi

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$REPO/tests/guest"
# The checks this spec's run must pass, written down (judge.sh): no list, no stage.
SPEC_NAME=$(basename "${LXNEST_GUEST_SPEC:-juju-laptop.yaml}" .yaml)
EXPECTED="$HERE/$SPEC_NAME.expected"
if [ ! -r "$EXPECTED" ]; then
  echo "FAIL guest setup: no list of expected checks for $SPEC_NAME ($EXPECTED)"
  exit 1
fi
WORK=${LXNEST_GUEST_WORK:-$REPO/target/guest}
DEBS="$WORK/debs"
ROOT="$WORK/root"        # qemu and the kernel package, unpacked
INITRD_DIR="$WORK/initramfs"
SHARE="$WORK/share"      # the 9p share: lxnest, the checks, the specs
T0=$(date +%s.%N)
mkdir -p "$DEBS" "$ROOT" "$SHARE"

say() { echo "guest: $*" >&2; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
fail_setup() { echo "FAIL guest setup: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Debian packages: the kernel, qemu and the libraries qemu needs that the machine lacks.

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Downloads a package into $DEBS unless a .deb of it is there already.
fetch() {
  local p=$1
  compgen -G "$DEBS/${p}_*.deb" >/dev/null && return 0
  (cd "$DEBS" && apt-get download -q "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
    fail_setup "apt-get download $p"
}

apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$KPKG" ] || fail_setup "no kernel package behind linux-image-amd64"
fetch "$KPKG"
fetch qemu-system-x86
fetch qemu-system-common
fetch qemu-system-data
fetch seabios
# qemu-system-x86's library dependencies that are not installed here (the others are).
for dep in $(apt-cache depends qemu-system-x86 qemu-system-common | awk '/^  Depends: lib/ { print $2 }' | sort -u); do
  installed "$dep" || fetch "$dep"
done

STAMP="$ROOT/.unpacked"
if [ ! -e "$STAMP" ] || [ -n "$(find "$DEBS" -name '*.deb' -newer "$STAMP")" ]; then
  say "unpacking $(ls "$DEBS" | wc -l) packages"
  for d in "$DEBS"/*.deb; do dpkg -x "$d" "$ROOT"; done
  touch "$STAMP"
fi
QEMU="$ROOT/usr/bin/qemu-system-x86_64"
# The TCG accelerator is a loadable module of qemu-system-common.
export QEMU_MODULE_DIR="$ROOT/usr/lib/x86_64-linux-gnu/qemu"
export LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
# Libraries of the unpacked libraries (second-level dependencies) the machine also lacks.
for round in 1 2 3; do
  missing=$(ldd "$QEMU" | awk '/not found/ { print $1 }')
  [ -z "$missing" ] && break
  for lib in $missing; do
    pkg=$(apt-cache search --names-only "^$(echo "$lib" | sed 's/\.so\..*//; s/\.so$//; s/_/-/g')[0-9.-]*$" | awk '{ print $1; exit }')
    [ -n "$pkg" ] || fail_setup "no package found for $lib"
    fetch "$pkg" && dpkg -x "$DEBS"/"${pkg}"_*.deb "$ROOT"
  done
done
ldd "$QEMU" | grep -q 'not found' && fail_setup "qemu libraries missing: $(ldd "$QEMU" | grep 'not found' | tr -d '\t')"

KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -n1)
KERNEL="$ROOT/boot/vmlinuz-$KVER"
MODDIR="$ROOT/lib/modules/$KVER/kernel"
[ -f "$KERNEL" ] || fail_setup "no kernel in $KPKG"
grep -q '^CONFIG_SECURITY_APPARMOR=y' "$ROOT/boot/config-$KVER" || fail_setup "$KPKG has no AppArmor"

# ---------------------------------------------------------------------------------------------
# 2. The initramfs: busybox, apparmor_parser and the libraries they and lxnest need, the
#    modules (in dependency order) and the init script. Laid out as merged /usr, like Debian,
#    because lxnest's built-in container root binds the host's /usr.

LXNEST=${LXNEST_BIN:-}
if [ -z "$LXNEST" ]; then
  say "building lxnest"
  (cd "$REPO" && cargo build --quiet --bin lxnest) || fail_setup "cargo build"
  TARGET=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  LXNEST="$TARGET/debug/lxnest"
fi
[ -x "$LXNEST" ] || fail_setup "no lxnest binary at $LXNEST"
BUSYBOX=$(command -v busybox) || fail_setup "busybox (busybox-static) is not installed"
PARSER=$(command -v apparmor_parser || echo /sbin/apparmor_parser)
[ -x "$PARSER" ] || fail_setup "apparmor_parser (apparmor) is not installed"
IPROUTE=$(command -v ip) || fail_setup "ip (iproute2) is not installed"
NSENTER=$(command -v nsenter) || fail_setup "nsenter (util-linux) is not installed"

# Wanted modules; their dependencies come from each module's own `depends=` field.
WANT="crc32c_generic virtio_pci 9pnet_virtio 9p overlay veth bridge nf_tables nft_chain_nat nft_masq"
declare -A MODPATH=()
while IFS= read -r f; do
  m=$(basename "$f" .ko); MODPATH[${m//-/_}]=$f
done < <(find "$MODDIR" -name '*.ko')
ORDER=()
declare -A SEEN=()
add_module() {
  local m=${1//-/_} dep
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  [ -n "${MODPATH[$m]:-}" ] || return 0   # built into the kernel
  for dep in $(grep -a -o 'depends=[a-z0-9_,-]*' "${MODPATH[$m]}" | head -n1 | cut -d= -f2 | tr ',' ' '); do
    add_module "$dep"
  done
  ORDER+=("$m")
}
for m in $WANT; do add_module "$m"; done

build_initramfs() {
  rm -rf "$INITRD_DIR"
  mkdir -p "$INITRD_DIR"/{usr/bin,usr/sbin,usr/local/bin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/lib/modules,etc,proc,sys,dev,run,tmp,share,root,var}
  local d=$INITRD_DIR
  ln -s usr/bin "$d/bin"; ln -s usr/sbin "$d/sbin"; ln -s usr/lib "$d/lib"; ln -s usr/lib64 "$d/lib64"
  cp "$BUSYBOX" "$d/usr/bin/busybox"
  for app in $("$BUSYBOX" --list); do
    [ "$app" = busybox ] || ln -sf busybox "$d/usr/bin/$app"
  done
  cp "$PARSER" "$d/usr/sbin/apparmor_parser"
  # lxnest's launcher drives iproute2 and nsenter; busybox's ip cannot move a veth peer.
  cp "$IPROUTE" "$d/usr/sbin/ip"
  cp "$NSENTER" "$d/usr/sbin/nsenter"
  local lib
  for lib in $( { ldd "$PARSER"; ldd "$LXNEST"; ldd "$IPROUTE"; ldd "$NSENTER"; } | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }' | sort -u) \
             $(ls /usr/lib/x86_64-linux-gnu/libapparmor.so.1 2>/dev/null); do
    case "$lib" in
      */ld-linux-x86-64.so.2) cp -L "$lib" "$d/usr/lib64/" ;;
      *) cp -L "$lib" "$d/usr/lib/x86_64-linux-gnu/" ;;
    esac
  done
  # The parser's configuration and the abi/ and tunables/ files profiles include.
  mkdir -p "$d/etc/apparmor.d" "$d/etc/apparmor"
  cp -r /etc/apparmor.d/abi /etc/apparmor.d/tunables "$d/etc/apparmor.d/" 2>/dev/null || true
  # Debian's parser.conf pins the policy features to a file of the apparmor package.
  [ -f /etc/apparmor/parser.conf ] && cp /etc/apparmor/parser.conf "$d/etc/apparmor/"
  mkdir -p "$d/usr/share"
  [ -d /usr/share/apparmor-features ] && cp -r /usr/share/apparmor-features "$d/usr/share/"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$d/etc/passwd"
  printf 'root:x:0:\n' > "$d/etc/group"
  local m
  for m in "${ORDER[@]}"; do cp "${MODPATH[$m]}" "$d/usr/lib/modules/$m.ko"; done
  printf '%s\n' "${ORDER[@]}" > "$d/usr/lib/modules/order"
  cp "$HERE/init" "$d/init"
  chmod 755 "$d/init"
  (cd "$d" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) > "$WORK/initramfs.cpio"
}
build_initramfs

# The share: the binary under test, the checks and the specs (read-only in the guest).
rm -rf "$SHARE" && mkdir -p "$SHARE/nesting/examples" "$SHARE/tests/guest"
cp "$LXNEST" "$SHARE/lxnest"
cp "$REPO"/nesting/examples/*.yaml "$SHARE/nesting/examples/"
cp "$HERE"/checks.sh "$HERE"/*.yaml "$SHARE/tests/guest/"
# LXNEST_GUEST_CHECKS=FILE runs another script in place of checks.sh (for debugging the stage).
[ -n "${LXNEST_GUEST_CHECKS:-}" ] && cp "$LXNEST_GUEST_CHECKS" "$SHARE/tests/guest/checks.sh"
{
  echo "BREAK_RULE='${LXNEST_GUEST_BREAK:-}'"
  echo "SELFTEST='${LXNEST_GUEST_SELFTEST:-1}'"
  echo "SELFTEST_RULE='pivot_root @{nested_rootfs}/,'"
  echo "SPEC='/share/tests/guest/$(basename "${LXNEST_GUEST_SPEC:-juju-laptop.yaml}")'"
} > "$SHARE/tests/guest/env"
say "prepared in $(elapsed) s"

# ---------------------------------------------------------------------------------------------
# 3. Boot. TCG (software emulation), no network device at all, the share over virtio-9p, the
#    console on the serial port; the guest powers off when the checks are done.

LOG="$WORK/console.log"
TB=$(date +%s.%N)
set +e
timeout "${LXNEST_GUEST_TIMEOUT:-480}" "$QEMU" \
  -L "$ROOT/usr/share/qemu" -L "$ROOT/usr/share/seabios" \
  -accel tcg -cpu max -smp 2 -m 2048 \
  -nodefaults -no-user-config -display none -nic none -no-reboot \
  -serial stdio \
  -kernel "$KERNEL" -initrd "$WORK/initramfs.cpio" \
  -append "console=ttyS0 apparmor=1 security=apparmor quiet loglevel=4 panic=-1 rdinit=/init lxnest.cgroup=${LXNEST_GUEST_CGROUP:-hybrid}" \
  -virtfs "local,path=$SHARE,mount_tag=share,security_model=none,readonly=on" \
  </dev/null >"$LOG" 2>&1
QRC=$?
set -e
BOOT_S=$(awk -v a="$TB" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# The checks print `@@ PASS|FAIL|INFO text`; everything else on the console is the guest's log.
sed -n 's/\r$//; /^@@ DONE/d; s/^@@ //p' "$LOG"
echo "INFO guest: qemu exit $QRC, guest run ${BOOT_S} s, whole stage $(elapsed) s (console log: $LOG)"
if ! grep -q '^@@ DONE' "$LOG"; then
  echo "FAIL guest did not finish its checks (timeout, crash or a failed check; see $LOG)"
  tail -n 30 "$LOG" | sed 's/^/  | /'
fi
# The self-test's check is expected when it runs (as checks.sh decides it).
SELFTEST_ARG=
[ "${LXNEST_GUEST_SELFTEST:-1}" = 1 ] && [ -z "${LXNEST_GUEST_BREAK:-}" ] && SELFTEST_ARG=selftest
bash "$HERE/judge.sh" "$EXPECTED" "$LOG" $SELFTEST_ARG
