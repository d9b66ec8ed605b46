#!/usr/bin/env bash
# The mutation run (issue 22 point 6, docs/testing.md "Mutation testing"): cargo-mutants changes
# one expression at a time in the code below and runs the unit tests against each change; a change
# the tests still pass is "missed". Unit tests only: the root tests need root and minutes each.
#
#   scripts/mutants.sh                      # src/seccomp, src/plan and src/launch
#   MUTANTS_FILES='src/seccomp/** src/plan/**' scripts/mutants.sh
#   scripts/mutants.sh --shard 0/8 --sharding round-robin    # one of 8 machines
#   scripts/mutants.sh --in-place           # in a checkout kept for this (edits files, no copy)
#   MUTANTS_TESTS='launch_root hooks_root' MUTANTS_FILES='src/launch/**' scripts/mutants.sh --in-place
#                                           # the launcher, judged by root tests too (as root)
#
# Extra arguments go to cargo-mutants. The report is mutants.out/ (outcomes.json, caught.txt,
# missed.txt, ...) in the tree, or where -o DIR says.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-mutants >/dev/null 2>&1; then
    echo "mutants.sh: cargo-mutants is not installed; run: cargo install --locked cargo-mutants" >&2
    exit 2
fi

# Globs stay literal: cargo-mutants matches them itself.
set -f
files=()
for f in ${MUTANTS_FILES:-crates/lxnest-core/src/seccomp/** crates/lxnest-core/src/plan/** src/seccomp/** src/launch/**}; do
    files+=(-f "$f")
done
# --jobs 1 and nice: the runner is a shared 2-core machine, one build at a time is all it takes.
# --shuffle: a run stopped early is still a sample spread over every file, not the first file only.
# --copy-target: the scratch copy starts from the compiled dependencies instead of building them
# again. --in-place has no copy and runs one mutant at a time anyway (it refuses both options).
opts=(--shuffle)
case " $* " in
*" --in-place "*) ;;
*) opts+=(--jobs 1 --copy-target true) ;;
esac
# --cargo-arg=--lib on every cargo call: cargo-mutants builds with `cargo test --no-run`, which
# without it compiles all ~60 integration test binaries per mutant although only the unit tests
# run. No debug info for lxnest itself: the link of the test binary is most of an incremental
# build.
# MUTANTS_TESTS: integration test binaries (tests/NAME.rs) that run beside the unit tests; the
# launcher's code is reached only by the root tests.
for t in ${MUTANTS_TESTS:-}; do
    opts+=(--cargo-arg=--test="$t")
done
opts+=(--cargo-arg=--lib --cargo-arg=--config=profile.dev.package.lxnest.debug=0
    --cargo-arg=--config=profile.dev.package.lxnest-core.debug=0)
exec nice -n 19 cargo mutants "${opts[@]}" "${files[@]}" "$@"
