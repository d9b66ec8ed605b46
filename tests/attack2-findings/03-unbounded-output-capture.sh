#!/bin/sh
# What a container writes to the capture pipes of attach_output / execute_output (Python's
# Container.attach / execute) is collected without a bound into the caller's memory: a container
# that prints a few GB takes the caller (a management daemon, say) down. Both the helper path
# (threads) and the in-process path collect everything. The caller here runs with a 1.5 GB
# address-space limit so that the host is not hurt. Needs root and the Python binding.
# Prints VULNERABLE or SAFE.
set -u
PY=${PY:-/tmp/threads-venv/bin/python}
BIN=${LXNEST_BIN:-/work/wt-attack/target/debug/lxnest}
D=$(mktemp -d /tmp/att2-f3-XXXX); chmod 755 "$D"
N=att2f3$$
cat > "$D/spec.yaml" <<Y
containers:
  - name: $N
    network: {mode: loopback}
    command: ["/bin/sleep", "300"]
Y
out=$( ulimit -v 1500000; LXNEST_BINARY="$BIN" "$PY" -c '
import lxnest, sys
d, n = sys.argv[1], sys.argv[2]
lxnest.start(d + "/spec.yaml", path=d + "/st")
c = lxnest.container(n, path=d + "/st")
try:
    r = c.attach(["head", "-c", "3G", "/dev/zero"])
    print("returned", len(r.stdout_bytes))
except MemoryError:
    print("MemoryError")
' "$D" "$N" 2>&1 | tail -3 )
echo "caller: $out"
"$BIN" destroy -P "$D/st" -n "$N" >/dev/null 2>&1
rm -rf "$D"
case "$out" in
  *"returned "*) n=${out##*returned }; if [ "$n" -ge 3000000000 ] 2>/dev/null; then echo VULNERABLE; else echo SAFE; fi ;;
  *) echo VULNERABLE ;;
esac
