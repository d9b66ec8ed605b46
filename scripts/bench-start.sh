#!/usr/bin/env bash
# Benchmark (not a test): /bin/true in a fresh container with lxnest, crun and lxc-execute in the
# same run, each with a user namespace, mount/pid/ipc/uts/net namespaces and the SAME seccomp policy
# (lxnest's generated filter for a plain container, as OCI JSON for crun and LXC text for LXC);
# lxnest's start time at level 2 against level 1; the unprivileged start against unshare(1);
# `lxnest attach` against `lxc-attach`; the RSS of a container's monitor against LXC's; and the
# cost of getpid(2) under the seccomp filters of a level-1 and a level-2 container against the
# host. Prints each figure's median beside the ratios and writes them, with the machine's load,
# to target/bench/start.json (docs/performance.md reads it; the README table is made from it).
# Needs root, hyperfine, gcc with libc6-dev, crun, lxc and busybox-static (scripts/test-all.sh
# installs them). RUNS=N sets the runs per command (default 30).
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

# getpid(2) in a loop: a static program that prints the median CPU nanoseconds per call over 9
# rounds of 2,000,000 calls. Run on the host, in a plain level-1 container (lxnest's filter with the
# no-nesting denials, Landlock) and in a plain level-2 container inside a nesting host (both
# levels' filters stacked); each the middle of 3 runs.
mkdir -p "$work/bench"
cat > "$work/getpid.c" <<'C'
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
/* argv[1] "allow": first install a one-instruction filter that allows everything, the least any
 * seccomp filter costs (the kernel's entry work for a task with a filter, not the program). */
int main(int argc, char **argv) {
	enum { ROUNDS = 9, CALLS = 2000000 };
	double ns[ROUNDS];
	if (argc > 1 && !strcmp(argv[1], "allow")) {
		struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
		struct sock_fprog prog = { .len = 1, .filter = allow };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		struct timespec a, b;
		/* The thread's CPU time, user and kernel: on a shared machine the wall time of a round
		 * includes whatever else ran while this thread waited for a CPU. */
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		for (int i = 0; i < CALLS; i++) syscall(SYS_getpid);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		ns[r] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / CALLS;
	}
	qsort(ns, ROUNDS, sizeof ns[0], cmp);
	printf("%.2f\n", ns[ROUNDS / 2]);
	return 0;
}
C
# A root of its own per level (a static program needs nothing else; each level's root leaves
# run/lxnest behind, owned by its mapped root), the level-2 one bound into the nesting host at
# /opt/bench; run/ and tmp/ writable for whichever root the level maps.
for r in root root2; do
  mkdir -p "$work/bench/$r/"{bin,proc,sys,dev,tmp,etc,run}
  chmod 1777 "$work/bench/$r/run" "$work/bench/$r/tmp"
done
cc -O2 -static -o "$work/bench/root/getpid" "$work/getpid.c"
cp "$work/bench/root/getpid" "$work/bench/root2/getpid"
tag=$$
cat > "$work/bench/host.yaml" <<Y
name: bench-h$tag
containers:
  - name: bench-h$tag
    runtime: lxnest
    network: {mode: loopback}
    mounts:
      - {source: $work/bench, target: /opt/bench}
Y
chmod -R a+rX "$work/bench"

# attach: a running lxnest container and a running LXC container (same rootfs style as above),
# both idle in sleep; `lxnest attach` and `lxc-attach` run /bin/true in them.
ln -s busybox "$work/rootfs/bin/sleep"
cp -r "$work/lxc/b" "$work/lxc/a"
sed -i 's/^lxc.uts.name = b/lxc.uts.name = a/' "$work/lxc/a/config"
echo "lxc.init.cmd = /bin/sleep 100000" >> "$work/lxc/a/config"
cat > "$work/attach.yaml" <<Y
name: bench-a$tag
containers:
  - name: bench-a$tag
    network: {mode: loopback}
    command: [/bin/sleep, "100000"]
Y

read -r load1 load5 load15 _ < /proc/loadavg
echo "load average before: $load1 $load5 $load15"
cat > "$work/run.sh" <<RUN
set -e
umount -l /sys/fs/cgroup/unified
# Host, level 1 and level 2 in turn, three times; each figure the middle of its three.
for _ in 1 2 3; do
  echo "host \$($work/bench/root/getpid 2>>$work/getpid.err)"
  echo "allow \$($work/bench/root/getpid allow 2>>$work/getpid.err)"
  echo "level1 \$($LXNEST run -P $work/state --rootfs dir:$work/bench/root -- /getpid 2>>$work/getpid.err)"
  echo "level2 \$($LXNEST run -P $work/state --spec $work/bench/host.yaml -- lxnest run --rootfs dir:/opt/bench/root2 -- /getpid 2>>$work/getpid.err)"
done > $work/getpid.raw
for w in host allow level1 level2; do
  echo "getpid \$w \$(awk -v w=\$w '\$1 == w && NF == 2 {print \$2}' $work/getpid.raw | sort -n | sed -n 2p)"
done > $work/getpid.txt
$LXNEST start -P $work/state -f $work/attach.yaml
env PATH=/usr/sbin:/sbin /usr/bin/lxc-start -P $work/lxc -n a -d
stopall() {
  $LXNEST stop -P $work/state -n bench-a$tag -t 1 >/dev/null 2>&1 || true
  env PATH=/usr/sbin:/sbin /usr/bin/lxc-stop -P $work/lxc -n a -k >/dev/null 2>&1 || true
}
trap stopall EXIT
python3 $work/rss.py $work/state/bench-a$tag/state.json $work/lxc a > $work/rss.txt
hyperfine --show-output -N --warmup 3 --runs $RUNS --export-json $work/result.json \
  -n lxnest "$LXNEST run -P $work/state -- /bin/true" \
  -n crun "crun --root $work/crun-state run --bundle $work/crun bench" \
  -n lxc-execute "env PATH=/usr/sbin:/sbin /usr/bin/lxc-execute -P $work/lxc -n b -- /bin/true" \
  -n lxnest-level2 "$LXNEST run -P $work/state --nested -- lxnest run -- /bin/true" \
  -n lxnest-level1-nesting-host "$LXNEST run -P $work/state --nested -- /bin/true" \
  -n lxnest-unprivileged "$AS_NOBODY $LXNEST run -P $work/ustate -- /bin/true" \
  -n unshare-unprivileged "$AS_NOBODY unshare -Urmpfn --mount-proc /bin/true" \
  -n lxnest-attach "$LXNEST attach -P $work/state -n bench-a$tag --no-pty -- /bin/true" \
  -n lxc-attach "env PATH=/usr/sbin:/sbin /usr/bin/lxc-attach -P $work/lxc -n a -- /bin/true"
RUN

# Resident memory of lxnest's monitor (the pid state.json records) and of LXC's
# "[lxc monitor] DIR NAME" process, each running one idle container; PSS splits shared pages.
cat > "$work/rss.py" <<'PY'
import json, os, sys
def mem(pid):
    out = {}
    for f, keys in (("status", ("VmRSS",)), ("smaps_rollup", ("Pss",))):
        try:
            for line in open(f"/proc/{pid}/{f}"):
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
        except OSError:
            pass
    return out
st = json.load(open(sys.argv[1]))
mon = st.get("monitor_pid") or st.get("monitor")
lxc = None
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmd.startswith("[lxc monitor]") and cmd.split()[2:4] == [sys.argv[2], sys.argv[3]]:
            lxc = int(p)
m, l = mem(mon), mem(lxc)
print(f"rss lxnest {m.get('VmRSS', 0)} {m.get('Pss', 0)}")
print(f"rss lxc {l.get('VmRSS', 0)} {l.get('Pss', 0)}")
PY
out_dir=$(dirname "$LXNEST")/../bench
mkdir -p "$out_dir"
# What each tool printed stays beside the JSON (the work directory goes at exit).
keep() { cp "$work"/{hyperfine.log,getpid.raw,getpid.txt,getpid.err,rss.txt,result.json} "$out_dir/" 2>/dev/null || true; }
unshare -m --propagation private bash "$work/run.sh" >"$work/hyperfine.log" 2>&1 || { keep; cat "$work/hyperfine.log"; exit 1; }
keep
read -r load1b load5b load15b _ < /proc/loadavg

python3 - "$work" "$out_dir/start.json" "$load1 $load5 $load15" "$load1b $load5b $load15b" <<'PY'
import json, platform, statistics, sys, time
work, out, before, after = sys.argv[1:5]
r = {x["command"]: x for x in json.load(open(f"{work}/result.json"))["results"]}
med = lambda n: statistics.median(r[n]["times"])
ms = lambda n: med(n) * 1e3
extra = {}
for line in open(f"{work}/getpid.txt").read().splitlines() + open(f"{work}/rss.txt").read().splitlines():
    k, what, *v = line.split()
    # A run that failed printed no figure (its error is in getpid.err): NaN, and the row says so.
    extra[f"{k} {what}"] = [float(x) for x in v] or [float("nan"), float("nan")]
l2_extra = med("lxnest-level2") - med("lxnest-level1-nesting-host")
rows = [
    # (figure, value, target, holds?)
    ("lxnest / crun start", ms("lxnest") / ms("crun"), "<= 0.8", ms("lxnest") / ms("crun") <= 0.8),
    ("lxnest / lxc-execute start", ms("lxnest") / ms("lxc-execute"), "", None),
    ("lxnest unprivileged / unshare -Urmpfn (same user)", ms("lxnest-unprivileged") / ms("unshare-unprivileged"), "<= 2", ms("lxnest-unprivileged") / ms("unshare-unprivileged") <= 2),
    ("level-2 extra (level2 - nesting host) / level-1 start", l2_extra / med("lxnest"), "<= 1.1", l2_extra / med("lxnest") <= 1.1),
    ("lxnest attach / lxc-attach", ms("lxnest-attach") / ms("lxc-attach"), "<= 0.8", ms("lxnest-attach") / ms("lxc-attach") <= 0.8),
    ("monitor RSS lxnest / LXC", extra["rss lxnest"][0] / max(extra["rss lxc"][0], 1), "<= 0.5", extra["rss lxnest"][0] / max(extra["rss lxc"][0], 1) <= 0.5),
    ("getpid under level-1 filters / host", extra["getpid level1"][0] / extra["getpid host"][0], "", None),
    ("getpid under level-1 + level-2 filters / host", extra["getpid level2"][0] / extra["getpid host"][0], "<= 1.05", extra["getpid level2"][0] / extra["getpid host"][0] <= 1.05),
    ("getpid under one allow-all filter / host (any filter's floor)", extra["getpid allow"][0] / extra["getpid host"][0], "", None),
    ("getpid under level-1 + level-2 filters / one allow-all filter", extra["getpid level2"][0] / extra["getpid allow"][0], "", None),
]
res = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "kernel": platform.release(),
    "runs": len(r["lxnest"]["times"]),
    "loadavg_before": before, "loadavg_after": after,
    "median_ms": {n: round(ms(n), 2) for n in r},
    "min_ms": {n: round(min(r[n]["times"]) * 1e3, 2) for n in r},
    "max_ms": {n: round(max(r[n]["times"]) * 1e3, 2) for n in r},
    "getpid_ns": {k.split()[1]: v[0] for k, v in extra.items() if k.startswith("getpid")},
    "monitor_kib": {k.split()[1]: {"rss": v[0], "pss": v[1]} for k, v in extra.items() if k.startswith("rss")},
    "ratios": [{"figure": f, "value": round(v, 3), "target": t, "met": m} for f, v, t, m in rows],
}
json.dump(res, open(out, "w"), indent=1)
print(f"median of {res['runs']} runs each, same run; load average {before} before, {after} after")
print("| command | median ms | min | max |\n|---|---|---|---|")
for n in r:
    print(f"| {n} | {res['median_ms'][n]:.1f} | {res['min_ms'][n]:.1f} | {res['max_ms'][n]:.1f} |")
g = res["getpid_ns"]
print(f"| getpid CPU ns/call: host, one allow-all filter, level 1, level 2 | {g['host']:.1f}, {g['allow']:.1f}, {g['level1']:.1f}, {g['level2']:.1f} | | |")
k = res["monitor_kib"]
print(f"| monitor RSS (PSS) KiB: lxnest, LXC | {k['lxnest']['rss']:.0f} ({k['lxnest']['pss']:.0f}), {k['lxc']['rss']:.0f} ({k['lxc']['pss']:.0f}) | | |")
print("\n| figure | ratio | target | met |\n|---|---|---|---|")
for x in res["ratios"]:
    met = "" if x["met"] is None else ("yes" if x["met"] else "no")
    print(f"| {x['figure']} | {x['value']:.2f} | {x['target']} | {met} |")
print(f"\nwritten: {out}")
PY
