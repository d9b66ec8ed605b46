#!/bin/sh
# The guest stage's checks, run by the guest's init from the read-only 9p share. Every result is
# one console line `@@ PASS|FAIL|INFO text` (run.sh collects them). Runs as the guest's root, in
# the root AppArmor namespace: labels and denials are read from there.
#
# Phase A starts the juju-laptop stack from the generated plan and checks labels, the policy
# namespace, level 2, and the AppArmor part of the escape battery at both levels. Phase B (the
# self-test) removes one nesting rule from the level-1 profile and checks that the nested start
# is then denied, i.e. that phase A would fail.
S=/share
. $S/tests/guest/env
L=$S/lxnest
SPEC=${SPEC:-$S/tests/guest/juju-laptop.yaml}
W=/run/guest
AAFS=/sys/kernel/security/apparmor
mkdir -p $W
pass() { echo "@@ PASS $*"; }
fail() { echo "@@ FAIL $*"; }
info() { echo "@@ INFO $*"; }
check() { # check CONDITION-STATUS TEXT
  if [ "$1" = 0 ]; then pass "$2"; else fail "$2"; fi
}
# Audit records reach the console through printk, which rate-limits them by default.
echo 10000 > /proc/sys/kernel/printk_ratelimit_burst
echo 0 > /proc/sys/kernel/printk_ratelimit

# Every lxnest command runs under `timeout`: a launcher that hangs (a teardown whose signals
# AppArmor denies, say) must show up as a FAIL line, not as a stage that never ends.
# Uptime in tenths of a second (busybox sh has integer arithmetic only).
now() { awk '{ printf "%d", $1 * 10 }' /proc/uptime; }

# --- AppArmor in this kernel -------------------------------------------------------------------
[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && [ -d $AAFS/features ]
check $? "apparmor: enabled, securityfs at $AAFS ($(uname -r))"
[ -e $AAFS/features/domain/stack ] && [ -e $AAFS/features/namespaces/profile ] && [ -e $AAFS/features/mount/mask ]
check $? "apparmor: stacking, policy namespaces and mount mediation available"

# --- The plan ----------------------------------------------------------------------------------
T=$(now)
if ! $L plan $SPEC --output json > $W/plan.json 2> $W/plan.err; then
  fail "plan $SPEC: $(head -n 3 $W/plan.err)"
  return 0 2>/dev/null || exit 0
fi
info "plan took $(( $(now) - T ))00 ms"

# `path label` per container, from the pretty JSON (containers' keys at 6 spaces, apparmor's at 8).
plan_labels() { # plan.json
  awk '
    /^      "path": / { p = $2; gsub(/[",]/, "", p) }
    /^      "apparmor": \{/ { inaa = 1 }
    inaa && /^        "label": / { l = $2; gsub(/[",]/, "", l); print p, l; inaa = 0 }
  ' "$1"
}
plan_labels $W/plan.json > $W/labels
[ -s $W/labels ]
check $? "plan: $(wc -l < $W/labels) containers with a planned AppArmor label"

# Removes one rule line from the level-1 (first) profile text in a plan (JSON-escaped match).
break_rule() { # in out rule
  esc=$(printf '%s' "$3" | sed 's/[.*^$|[]/\\&/g; s/"/\\\\"/g')
  sed "s|  $esc\\\\n||" "$1" > "$2"
  ! cmp -s "$1" "$2"
}

# Every process whose environment says it is container PATH (its init and what that execs).
pids_of() {
  for e in /proc/[0-9]*/environ; do
    tr '\0' '\n' < "$e" 2>/dev/null | grep -qx "LXNEST_CONTAINER=$1" && { p=${e#/proc/}; echo "${p%/environ}"; }
  done
}
label_of() { # pid -> label as the root namespace reads it, without the mode
  { cat /proc/$1/attr/apparmor/current 2>/dev/null || cat /proc/$1/attr/current; } | sed 's/ ([a-z]*)$//'
}
# Waits up to $2 seconds for a process of container $1.
wait_for() {
  end=$(( $(now) + $2 * 10 ))
  while [ "$(now)" -lt $end ]; do
    [ -n "$(pids_of "$1")" ] && return 0
    sleep 0.5
  done
  return 1
}
denials() { dmesg | grep 'apparmor="DENIED"'; }

# The policy namespaces the planned labels stack onto (`a//&:ns:b`) must exist before a
# container execs into its label, or the kernel answers ENOENT. Creating a level-1 container's
# namespace is lxnest's job; where it has not, this says so (a FAIL) and creates it, so that the
# rest of the stage still runs.
NS_REPORTED=
ensure_namespaces() {
  for ns in $(awk '{ print $2 }' $W/labels | sed -n 's/.*\/\/&:\([^:]*\):.*/\1/p' | sort -u); do
    d=$AAFS/policy/namespaces/$ns
    [ -d $d ] && continue
    case " $NS_REPORTED " in *" $ns "*) ;; *)
      fail "lxnest did not create policy namespace $ns, which the planned label stacks onto (the stage creates it to go on)"
      NS_REPORTED="$NS_REPORTED $ns" ;;
    esac
    mkdir $d
  done
}

start_stack() { # plan.json -> starts juju-host with --nested
  ensure_namespaces
  timeout 120 $L start --nested --require-apparmor $1 > $W/start.out 2>&1
}
stop_stack() {
  timeout 30 $L stop -n juju-host -t 5 > /dev/null 2>&1
  timeout 30 $L destroy -n juju-host > /dev/null 2>&1
}

# --- The AppArmor part of the escape battery -----------------------------------------------------
# probe name, then what its audit line holds: operation and name.
AA_PROBES="mount_bind_root:mount:/mnt/
mount_over_proc:mount:/proc/
write_sysrq:open:/proc/sysrq-trigger
write_proc_sys_kernel:open:/proc/sys/kernel/domainname
write_sys_kernel:open:/sys/kernel/uevent_helper"

# judge LEVEL-TEXT PROFILE RESULTS-FILE AUDIT-FILE [PROBES THE PLAN ALLOWS]
judge() {
  echo "$AA_PROBES" | while IFS=: read -r probe op name; do
    res=$(awk -v p="$probe" '$1 == p { print $2 }' "$3")
    line=$(grep "operation=\"$op\"" "$4" | grep "profile=\"$2\"" | grep "name=\"$name\"" | head -n 1)
    case " $5 " in *" $probe "*)
      info "escape $1 $probe: $res (the plan allows it: a nesting host binds inside its own mount namespace)"
      continue ;;
    esac
    if [ "$res" = ok ]; then
      fail "escape $1 $probe: the attempt worked"
    elif [ -z "$res" ]; then
      fail "escape $1 $probe: no result"
    elif [ -n "$line" ]; then
      pass "escape $1 $probe: $res, denied by AppArmor profile $2: ${line#*audit(}"
      echo "$line" >> $W/audit-examples
    else
      fail "escape $1 $probe: $res, but no AppArmor denial by $2 (denied earlier by another layer, or not mediated)"
    fi
  done
}

# Level 1: a one-shot container with juju-host's plan (profile, namespace, nesting flags), run
# before the stack because it would take juju-host's veth name.
dmesg -c > /dev/null
timeout 120 $L run --spec $W/plan.json -n probe-l1 --require-apparmor -- lxnest __probe all > $W/probe-l1 2>&1
if grep -q 'step apparmor.*No such file' $W/probe-l1; then
  info "level-1 probe: $(tr '\t\n' '= ' < $W/probe-l1)"
  ensure_namespaces
  timeout 120 $L run --spec $W/plan.json -n probe-l1 --require-apparmor -- lxnest __probe all > $W/probe-l1 2>&1
fi
info "level-1 probe: $(tr '\t\n' '= ' < $W/probe-l1)"
denials > $W/audit-l1
sed 's/^.*audit(/@@ INFO   audit(/' $W/audit-l1 | head -n 20
judge "level 1" lxnest-juju-host $W/probe-l1 $W/audit-l1 "mount_bind_root"

# --- Phase A: the stack as planned ---------------------------------------------------------------
PLAN=$W/plan.json
if [ -n "$BREAK_RULE" ]; then
  if break_rule $W/plan.json $W/plan-broken.json "$BREAK_RULE"; then
    info "LXNEST_GUEST_BREAK: removed '$BREAK_RULE' from the level-1 profile"
    PLAN=$W/plan-broken.json
  else
    fail "LXNEST_GUEST_BREAK: rule '$BREAK_RULE' is not in the level-1 profile"
  fi
fi
dmesg -c > /dev/null
T=$(now)
start_stack $PLAN
rc=$?
check $rc "start --nested juju-laptop: $(tr '\n' ' ' < $W/start.out)"
[ $rc = 0 ] && patience=30 || patience=3

LEVEL2_SEEN=
# Level 1 and level 2 processes, each with its planned label as read from the root namespace.
while read -r path label; do
  case $path in */*) [ -z "$(pids_of "${path%%/*}")" ] && patience=3 ;; esac
  if wait_for "$path" $patience; then
    pid=$(pids_of "$path" | head -n 1)
    case $path in */*) LEVEL2_SEEN=yes ;; esac
    got=$(label_of $pid)
    [ "$got" = "$label" ]
    check $? "label $path (pid $pid): '$got', planned '$label'"
  else
    fail "label $path: no process of the container within $patience s"
  fi
done < $W/labels
info "stack up after $(( $(now) - T ))00 ms"
info "ls: $($L ls 2>&1 | tr '\n' ';')"
info "juju-host console: $(tail -n 15 /run/lxnest/juju-host/console.log 2>&1 | tr '\n' ';')"

# The profiles are where the plan put them: level 1 in the root namespace, level 2 in the
# policy namespace the nesting host loaded them into (from inside its container).
grep -q '^lxnest-juju-host (enforce)$' $AAFS/profiles
check $? "profile lxnest-juju-host loaded in the root namespace (enforce)"
ns=$AAFS/policy/namespaces/lxnest-juju-host
n=$(cat $ns/profiles/*/name 2>/dev/null | grep -c '^lxnest-juju-host\.unit-')
[ "$n" = 3 ]
check $? "policy namespace lxnest-juju-host holds the 3 level-2 profiles (found $n)"

# Level 2: unit-1's command ran the probes when it started; its output is in juju-host's console.
con=/run/lxnest/juju-host/console.log
sed -n 's/^probe unit-1 //p' $con > $W/probe-l2
info "level-2 probe: $(tr '\t\n' '= ' < $W/probe-l2)"
dmesg > $W/dmesg-a
grep 'apparmor="DENIED"' $W/dmesg-a > $W/audit-l2
judge "level 2" lxnest-juju-host.unit-1 $W/probe-l2 $W/audit-l2

# explain-audit names the container and profile of a real denial.
ex=$(head -n 1 $W/audit-examples 2>/dev/null)
if [ -n "$ex" ]; then
  out=$($L explain-audit $SPEC "$ex" 2>&1)
  echo "$out" | grep -q 'container:' && echo "$out" | grep -q 'profile:'
  check $? "explain-audit on a guest denial: $(echo "$out" | tr '\n' ';' | cut -c1-300)"
fi

stop_stack
sleep 1
[ -z "$(pids_of juju-host)" ]
check $? "stop: no process of juju-host left"

# --- Phase B: self-test, a nesting rule removed ---------------------------------------------------
if [ "$SELFTEST" = 1 ] && [ -n "$BREAK_RULE" ]; then
  info "self-test: left out (LXNEST_GUEST_BREAK is set)"
elif [ "$SELFTEST" = 1 ] && [ -z "$LEVEL2_SEEN" ]; then
  info "self-test: left out, it needs level 2 to start with the planned profile first"
elif [ "$SELFTEST" = 1 ]; then
  if break_rule $W/plan.json $W/plan-broken.json "$SELFTEST_RULE"; then
    dmesg -c > /dev/null
    start_stack $W/plan-broken.json
    wait_for juju-host 20
    wait_for juju-host/unit-1 20 && up=yes || up=no
    line=$(denials | grep 'operation="pivotroot"' | grep 'profile="lxnest-juju-host"' | head -n 1)
    [ $up = no ] && [ -n "$line" ]
    check $? "self-test: without '$SELFTEST_RULE' the nested start is denied, so the stage fails (level 2 up: $up; ${line#*audit(})"
    stop_stack
  else
    fail "self-test: rule '$SELFTEST_RULE' is not in the level-1 profile"
  fi
fi
dmesg > $W/dmesg-all
info "denials in the last phase: $(grep -c 'apparmor="DENIED"' $W/dmesg-all)"
grep 'apparmor="DENIED"' $W/dmesg-all | head -n 20 | sed 's/^.*audit(/@@ INFO   audit(/'

