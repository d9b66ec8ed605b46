#!/usr/bin/env bash
# The Python package as a wheel (issue 21): `pip wheel ./python` builds it (maturin through pip's
# PEP 517 backend, which pip fetches from PyPI; the Rust toolchain is needed here, at build time),
# then the wheel is installed into a fresh virtual environment by a process whose environment
# has no cargo, rustc or rustup (PATH=/usr/bin:/bin, HOME elsewhere), imported from outside the
# source tree, and used: a plan of builtin:juju-laptop against the built-in laptop host.
#
# Environment:
#   CARGO_TARGET_DIR     cargo's target dir (default: the workspace's target/, shared with the
#                        other builds)
#   MATURIN_PEP517_ARGS  extra maturin build arguments (default none: a release wheel, as shipped;
#                        scripts/test-all.sh passes --profile dev to reuse python/run-tests.sh's
#                        build)
# Exit status non-zero on the first failure, with what failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
fail() { echo "test-wheel: FAIL: $*" >&2; exit 1; }

work="$(mktemp -d /tmp/lxnest-wheel.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

echo "==> wheel: pip wheel ./python"
python3 -m venv "$work/build"
(cd "$repo" && "$work/build/bin/python" -m pip wheel --quiet --disable-pip-version-check \
  --no-deps -w "$work/wheels" ./python)
wheels=("$work"/wheels/lxnest-*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || fail "expected one lxnest wheel, got: ${wheels[*]}"
wheel=${wheels[0]}
echo "built $(basename "$wheel")"
# One wheel for every CPython from 3.9 (abi3), holding the native module, the stub and py.typed.
case "$(basename "$wheel")" in *-cp39-abi3-*linux*_x86_64.whl) ;; *) fail "not an abi3 Linux wheel: $wheel" ;; esac
python3 - "$wheel" <<'PY' || fail "the wheel lacks a file"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for want in ("lxnest/__init__.py", "lxnest/_native.pyi", "lxnest/py.typed"):
    assert want in names, f"{want} not in {names}"
assert any(n.startswith("lxnest/_native") and n.endswith(".so") for n in names), names
PY

echo "==> wheel: install and use without a Rust toolchain"
mkdir -p "$work/home" "$work/run"
bare() { (cd "$work/run" && env -i PATH=/usr/bin:/bin HOME="$work/home" LC_ALL=C.UTF-8 "$@"); }
for tool in cargo rustc rustup; do
  if bare sh -c "command -v $tool" >/dev/null; then fail "$tool is reachable in the bare environment"; fi
done
bare /usr/bin/python3 -m venv "$work/target"
bare "$work/target/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$wheel"
bare "$work/target/bin/python" - <<'PY' || fail "import lxnest and plan builtin:juju-laptop"
import lxnest, os
# Imported from the installed wheel, not from a source tree.
assert "site-packages" in lxnest.__file__, lxnest.__file__
plan = lxnest.plan("builtin:juju-laptop", host="laptop")
paths = [level.path for level in plan.levels]
assert paths == ["juju-host", "juju-host/unit-1", "juju-host/unit-2", "juju-host/unit-3"], paths
assert plan.level("juju-host/unit-1").seccomp_decision("kexec_load").startswith("errno")
print("planned", ", ".join(paths), "from", os.path.dirname(lxnest.__file__))
PY
echo "test-wheel: ok: $(basename "$wheel") installs and works without a Rust toolchain"
