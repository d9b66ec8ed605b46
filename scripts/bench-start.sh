#!/usr/bin/env bash
# Benchmark (not a test): /bin/true in a fresh container with lxnest, crun and lxc-execute in the
# same run, each with a user namespace, mount/pid/ipc/uts/net namespaces and the SAME seccomp policy
# (lxnest's generated filter for a plain container, as OCI JSON for crun and LXC text for LXC);
# plus lxnest's start time at level 2 against level 1. Prints ratios, not absolute times.
# Needs root, hyperfine, crun, lxc and busybox-static (scripts/test-all.sh installs them).
#
# crun refuses this machine's hybrid cgroup layout ("drop all controllers from cgroupv2"), so the
# whole comparison runs in a private mount namespace where the cgroup2 mount is detached: every
# runtime then sees the same v1-only layout. LXC maps ids with newuidmap whenever it is on PATH and
# then insists that root own ranges in /etc/subuid; its PATH hides newuidmap so it writes the maps
# itself, as lxnest and crun do.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
cargo build --release --quiet
LXNEST=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/lxnest
work=$(mktemp -d /tmp/lxnest-bench.XXXXXX)
chmod 755 "$work"  # the containers' mapped root must traverse it
cleanup() {
  for h in /sys/fs/cgroup/*/lxc.pivot; do rmdir "$h" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A busybox rootfs owned by the mapped root (100000), shared by crun and LXC.
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
ln -s busybox "$work/rootfs/bin/true"; ln -s busybox "$work/rootfs/bin/sh"
chown -R 100000:100000 "$work/rootfs"

# The seccomp policy lxnest gives a plain container, in both foreign formats.
printf 'name: bench\ncontainers:\n  - name: c\n' > "$work/spec.yaml"
"$LXNEST" generate "$work/spec.yaml" -o "$work/gen" --host-fixture laptop >/dev/null

# crun: OCI bundle with a user namespace mapped like lxnest's, and the seccomp policy.
mkdir -p "$work/crun" && ( cd "$work/crun" && crun spec )
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
c = json.load(open(f"{w}/crun/config.json"))
c["root"] = {"path": f"{w}/rootfs", "readonly": True}
c["process"].update(args=["/bin/true"], terminal=False)
ns = c["linux"]["namespaces"]
if not any(n["type"] == "user" for n in ns):
    ns.append({"type": "user"})
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["linux"]["seccomp"] = json.load(open(f"{w}/gen/c/seccomp.oci.json"))
json.dump(c, open(f"{w}/crun/config.json", "w"))
PY

# LXC: the same rootfs, mapping and policy.
mkdir -p "$work/lxc/b"
cat > "$work/lxc/b/config" <<CONF
lxc.uts.name = b
lxc.rootfs.path = dir:$work/rootfs
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.net.0.type = empty
lxc.mount.auto = proc:mixed sys:mixed
lxc.seccomp.profile = $work/gen/c/seccomp.lxc
lxc.log.level = ERROR
CONF

# The unprivileged path (docs/unprivileged.md) as the user nobody, who has no subordinate ids: a
# single-id map, no cgroups; against the floor of the same namespaces made by unshare(1).
mkdir -p "$work/ustate" && chown nobody "$work/ustate"
AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=$work/ustate LXNEST_LOG=error"

cat > "$work/run.sh" <<RUN
set -e
umount -l /sys/fs/cgroup/unified
hyperfine --show-output -N --warmup 3 --runs $RUNS --export-json $work/result.json \
  -n lxnest "$LXNEST run -P $work/state -- /bin/true" \
  -n crun "crun --root $work/crun-state run --bundle $work/crun bench" \
  -n lxc-execute "env PATH=/usr/sbin:/sbin /usr/bin/lxc-execute -P $work/lxc -n b -- /bin/true" \
  -n lxnest-level2 "$LXNEST run -P $work/state --nested -- lxnest run -- /bin/true" \
  -n lxnest-level1-nesting-host "$LXNEST run -P $work/state --nested -- /bin/true" \
  -n lxnest-unprivileged "$AS_NOBODY $LXNEST run -P $work/ustate -- /bin/true" \
  -n unshare-unprivileged "$AS_NOBODY unshare -Urmpfn --mount-proc /bin/true"
RUN
unshare -m --propagation private bash "$work/run.sh" >"$work/hyperfine.log" 2>&1 || { cat "$work/hyperfine.log"; exit 1; }

python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def med(n): return r[n]["median"]
base = med("lxnest")
print(f"start latency of /bin/true, median of {len(r['lxnest']['times'])} runs each, same run, same seccomp policy")
for n in ["crun", "lxc-execute"]:
    print(f"  {n:<12} / lxnest  = {med(n) / base:5.2f}x")
print(f"  lxnest level 2 / level 1 (both in a nesting host) = {med('lxnest-level2') / med('lxnest-level1-nesting-host'):5.2f}x")
print(f"  lxnest nesting host / plain container             = {med('lxnest-level1-nesting-host') / base:5.2f}x")
print(f"  lxnest as an unprivileged user / as root          = {med('lxnest-unprivileged') / base:5.2f}x")
print(f"  unshare -Urmpfn as that user / lxnest as that user = {med('unshare-unprivileged') / med('lxnest-unprivileged'):5.2f}x")
PY
