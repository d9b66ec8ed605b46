#!/usr/bin/env bash
# Benchmark (not a test): plan + start of N (default 50) single-container stacks at once, as root,
# in a network namespace this script makes (their host bridges and veths live there). Reports how
# long the starts took and the share of it spent waiting for and holding the allocation registry's
# lock (docs/registry.md), from the figures each start logs (LXNEST_LOG=lxnest::registry=debug).
# Stops everything and deletes the namespace at the end, on failure too.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
PROFILE=${PROFILE:-debug}
if [ "$PROFILE" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
LXNEST=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/$PROFILE/lxnest
work=$(mktemp -d /tmp/lxnest-bench-registry.XXXXXX)
chmod 755 "$work"
ns="lxnb$$"
ip netns add "$ns"
cleanup() {
  for i in $(seq 1 "$N"); do
    if [ -d "$work/state/rb$$c$i" ]; then
      "$LXNEST" stop -t 2 -n "rb$$c$i" -P "$work/state" >/dev/null 2>&1 &
    fi
  done
  wait
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for i in $(seq 1 "$N"); do
  printf 'name: rb%ss%s\ncontainers:\n  - name: rb%sc%s\n    command: ["/bin/sleep", "1000"]\n' "$$" "$i" "$$" "$i" > "$work/s$i.yaml"
done

t0=$(date +%s%N)
for i in $(seq 1 "$N"); do
  (
    s=$(date +%s%N)
    LXNEST_LOG=lxnest::registry=debug nsenter --net=/run/netns/"$ns" \
      "$LXNEST" start -P "$work/state" "$work/s$i.yaml" >"$work/out$i" 2>"$work/log$i" || echo "start $i failed" >>"$work/failed"
    echo $(( ($(date +%s%N) - s) / 1000 )) >"$work/wall$i"
  ) &
done
wait
t1=$(date +%s%N)
if [ -f "$work/failed" ]; then cat "$work/failed"; cat "$work"/log* | grep -v 'registry lock' | head -20; exit 1; fi

python3 - "$work" "$N" $(( (t1 - t0) / 1000 )) <<'PY'
import re, sys, pathlib, statistics
w, n, batch = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
wall, waited, held, recorded = [], [], [], []
for i in range(1, n + 1):
    wall.append(int((w / f"wall{i}").read_text()))
    log = (w / f"log{i}").read_text()
    for m in re.finditer(r"registry lock: waited (\d+) us, held (\d+) us", log):
        waited.append(int(m.group(1))); held.append(int(m.group(2)))
    recorded += [int(m.group(1)) for m in re.finditer(r"recorded (\d+) us after the lock was taken", log)]
ms = lambda us: f"{us / 1000:.0f} ms"
print(f"{n} stacks planned and started at once: batch {ms(batch)}; per start median {ms(statistics.median(wall))}, max {ms(max(wall))}")
print(f"lock acquisitions: {len(held)} (start, and release at stop is not measured here)")
print(f"lock held per start: median {ms(statistics.median(held))} (plan + record + start until the init runs)")
print(f"  of which reading the host, planning and recording: median {ms(statistics.median(recorded))}; the rest is the start itself until the init runs")
print(f"waiting for the lock per start: median {ms(statistics.median(waited))}")
print(f"share of the starts' total time spent waiting for the lock: {100 * sum(waited) / sum(wall):.0f}%")
print(f"share of the starts' total time holding the lock: {100 * sum(held) / sum(wall):.0f}%")
print(f"share of the batch's wall time during which the lock was held: {100 * sum(held) / batch:.0f}%")
PY
# Every start got its own host bridge subnet: no duplicate route in the namespace.
dups=$(ip -n "$ns" -4 route | awk '{print $1}' | sort | uniq -d)
[ -z "$dups" ] || { echo "duplicate routes: $dups"; exit 1; }
echo "routes in the namespace: $(ip -n "$ns" -4 route | wc -l), none twice"
