#!/usr/bin/env bash
# Fuzz every parser lxnest reads outside input with (spec YAML with includes, LXC config, LXC
# seccomp text, OCI seccomp JSON, OpenVZ config, AppArmor audit records, root filesystem tarballs)
# for SECONDS each (default 20), on stable Rust: see docs/fuzzing.md. Exit status 1 if any target
# crashed, hung (5 s per input) or grew past 1 GiB; the input is saved under fuzz/artifacts/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
cargo build --quiet -p lxnest-fuzz
bin=target/debug/lxnest-fuzz
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <("$bin" list)
fi
failed=0
for t in "${targets[@]}"; do
  "$bin" run "$t" "$seconds" || failed=1
done
exit "$failed"
