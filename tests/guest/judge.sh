#!/usr/bin/env bash
# Judges a guest console log against the list of checks the stage must pass:
#   judge.sh EXPECTED CONSOLE-LOG [selftest]
# Passes (exit 0) only if the log ends its checks with `@@ DONE` (init prints it only when
# checks.sh exited 0), holds no `@@ FAIL` line, and every glob in EXPECTED matches a `@@ PASS`
# line. `selftest` as the third argument also expects the `selftest:` lines. Prints what is
# missing, one FAIL line each. Kept apart from run.sh so that tests/guest_judge.rs can run it on
# recorded output without booting the guest.
set -uo pipefail
expected=$1 log=$2 selftest=${3:-}
[ -r "$expected" ] || { echo "FAIL guest: no list of expected checks ($expected)"; exit 1; }
[ -r "$log" ] || { echo "FAIL guest: no console log ($log)"; exit 1; }

mapfile -t passed < <(sed -n 's/\r$//; s/^@@ PASS //p' "$log")
bad=0
if ! grep -qx '@@ DONE' <(sed 's/\r$//' "$log"); then
  echo "FAIL guest: no '@@ DONE': checks.sh did not finish with exit status 0 (timeout, crash or a failed check; see $log)"
  bad=1
fi
nfail=$(grep -c '^@@ FAIL' "$log")
if [ "$nfail" -gt 0 ]; then
  echo "FAIL guest: $nfail check(s) reported FAIL"
  bad=1
fi
n=0
while IFS= read -r pat; do
  case "$pat" in ''|'#'*) continue ;; esac
  if [ "${pat#selftest:}" != "$pat" ]; then
    [ "$selftest" = selftest ] || continue
    pat=${pat#selftest:}
  fi
  n=$((n + 1))
  found=
  for p in "${passed[@]}"; do
    # shellcheck disable=SC2053  # the expected line is a glob on purpose
    if [[ $p == $pat ]]; then found=1; break; fi
  done
  if [ -z "$found" ]; then
    echo "FAIL guest: expected check did not PASS: $pat"
    bad=1
  fi
done < "$expected"
if [ "$n" = 0 ]; then
  echo "FAIL guest: $expected lists no checks"
  bad=1
fi
[ "$bad" = 0 ] && echo "PASS guest: all $n expected checks passed (${#passed[@]} PASS lines), checks.sh finished"
exit "$bad"
