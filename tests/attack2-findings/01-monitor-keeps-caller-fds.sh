#!/bin/sh
# The detached monitor (forked by `lxnest start`, or by the `lxnest __monitor` helper of a
# threaded library caller) keeps every descriptor its caller left inheritable, for the
# container's whole life: here the caller's flock on a lock file stays held after `lxnest start`
# returned and the caller exited. Needs root. Prints VULNERABLE or SAFE.
set -u
BIN=${LXNEST_BIN:-/work/wt-attack/target/debug/lxnest}
D=$(mktemp -d /tmp/att2-f1-XXXX); chmod 755 "$D"
N=att2f1$$
cat > "$D/spec.yaml" <<Y
containers:
  - name: $N
    network: {mode: loopback}
    command: ["/bin/sh", "-c", "sleep 600"]
Y
# The caller: takes the lock on fd 9 and starts the container; then it exits.
sh -c "exec 9>>'$D/lock'; flock 9; exec '$BIN' start -P '$D/st' -f '$D/spec.yaml'" >"$D/out" 2>&1
if flock -n "$D/lock" true; then r=SAFE; else r=VULNERABLE; fi
M=$(pgrep -f "lxnest" | while read p; do ls -l /proc/$p/fd 2>/dev/null | grep -q "$D/lock" && echo $p; done | head -1)
[ -n "$M" ] && echo "process $M ($(tr '\0' ' ' </proc/$M/cmdline)) holds $D/lock"
"$BIN" destroy -P "$D/st" -n "$N" >/dev/null 2>&1
rm -rf "$D"
echo $r
