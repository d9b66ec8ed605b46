#!/usr/bin/env bash
# Python bindings: create a fresh virtual environment, `pip install ./python` (maturin builds the
# native module through pip's PEP 517 backend; pip fetches maturin and pytest from PyPI), then
# run python/tests with pytest. Run as root: the `root` tests start real containers.
#
# Exit status: pytest's when it fails, 1 when pytest collected no test (its exit 5), non-zero
# when the build fails. Environment:
#   CARGO_TARGET_DIR     cargo's target dir (default: the workspace's target/, shared with cargo test)
#   MATURIN_PEP517_ARGS  extra maturin build arguments (default: --profile dev, so the lxnest crate
#                        built by `cargo test` is reused instead of a release build from scratch)
#   PYTEST_ARGS          extra pytest arguments
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
venv="$work/venv"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export MATURIN_PEP517_ARGS="${MATURIN_PEP517_ARGS:---profile dev}"

echo "==> python: venv and pip install ./python"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here[test]"

echo "==> python: the stub matches the module; examples and tests type-check"
(cd "$work" && "$venv/bin/python" -m mypy.stubtest lxnest._native)
"$venv/bin/python" -m mypy --strict --cache-dir "$work/mypy-cache" "$repo/examples/yngwie_update.py" "$here/tests"

echo "==> python: pytest"
# From the venv's directory, so the source tree's lxnest/ (which has no native module) cannot
# shadow the installed package.
cd "$work"
set +e
# shellcheck disable=SC2086
"$venv/bin/python" -m pytest -p no:cacheprovider -ra ${PYTEST_ARGS:-} "$here/tests"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "python: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
