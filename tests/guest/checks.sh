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
rm -f $W/failed
pass() { echo "@@ PASS $*"; }
# A FAIL also leaves a mark (fail() runs in pipeline subshells too): checks.sh exits 1 if any
# check failed, and init prints `@@ DONE` only after an exit status of 0.
fail() { echo "@@ FAIL $*"; : > $W/failed; }
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
  exit 1
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

# Every process whose environment holds VAR=VALUE.
pids_with() {
  for e in /proc/[0-9]*/environ; do
    tr '\0' '\n' < "$e" 2>/dev/null | grep -qx "$1" && { p=${e#/proc/}; echo "${p%/environ}"; }
  done
}
# Every process whose environment says it is container PATH (its init and what that execs).
pids_of() { pids_with "LXNEST_CONTAINER=$1"; }
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

start_stack() { # plan.json -> starts juju-host with --nested
  timeout 120 $L start --nested --require-apparmor $1 > $W/start.out 2>&1
}
stop_stack() {
  timeout 30 $L stop -n juju-host -t 5 > /dev/null 2>&1
  timeout 30 $L destroy -n juju-host > /dev/null 2>&1
}
# The policy namespaces the planned labels stack onto (`a//&:ns:b`).
planned_namespaces() {
  awk '{ print $2 }' $W/labels | sed -n 's/.*\/\/&:\([^:]*\):.*/\1/p' | sort -u
}

# --- The AppArmor part of the escape battery -----------------------------------------------------
# `lxnest __probe apparmor` in the container. The attempts AppArmor decides (the kernel asks it
# before anything else: mount, umount and remount go to the LSM first): probe, then what its
# audit line holds, operation and name.
AA_PROBES="unmask_proc_sys:umount:/proc/sys/
unmask_sysrq:umount:/proc/sysrq-trigger
remount_sys_rw:mount:/sys/
mount_bind_root:mount:/mnt/
mount_over_proc:mount:/proc/"
# The writes to kernel-wide knobs. In the container the kernel's own checks come first (the
# knobs belong to the host's root, unmapped in the container's user namespace: EACCES; lxnest's
# read-only masks: EROFS) and AppArmor is asked only if they pass, so here they must fail, and
# an AppArmor record is reported when there is one. That the profiles themselves deny them is
# checked under the planned labels without those layers (profile_writes below).
WRITE_PROBES="write_sysrq:open:/proc/sysrq-trigger
write_proc_sys_kernel:open:/proc/sys/kernel/panic
write_sys_kernel:open:/sys/kernel/rcu_expedited"

# judge LEVEL-TEXT PROFILE RESULTS-FILE AUDIT-FILE [PROBES THE PLAN ALLOWS] [EARLIER LAYER] [mounts]
# EARLIER LAYER: a layer the kernel runs before AppArmor for the mount family at this level (a
# seccomp filter runs at syscall entry, before any LSM hook): an EPERM without an AppArmor
# record is then that layer's refusal, and AppArmor's own answer is checked under the label.
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
    elif [ "$res" = EINVAL ] && [ "${probe#unmask_}" != "$probe" ] && [ "$7" != mounts ]; then
      pass "escape $1 $probe: EINVAL: lxnest's masks are locked mounts, which the kernel refuses to unmount before it asks AppArmor (AppArmor's own answer: 'profile $1' below)"
    elif [ -n "$6" ] && [ "$res" = EPERM ]; then
      pass "escape $1 $probe: EPERM from $6, which the kernel runs before AppArmor (AppArmor's own answer: 'profile $1' below)"
    else
      fail "escape $1 $probe: $res, but no AppArmor denial by $2 (denied earlier by another layer, or not mediated)"
    fi
  done
  [ "$7" = mounts ] && return 0
  echo "$WRITE_PROBES" | while IFS=: read -r probe op name; do
    res=$(awk -v p="$probe" '$1 == p { print $2 }' "$3")
    line=$(grep "operation=\"$op\"" "$4" | grep "profile=\"$2\"" | grep "name=\"$name\"" | head -n 1)
    case "$res" in
      ok) fail "escape $1 $probe: the write worked" ;;
      "") fail "escape $1 $probe: no result" ;;
      absent) info "escape $1 $probe: $name does not exist in this kernel" ;;
      *) if [ -n "$line" ]; then
           pass "escape $1 $probe: $res, denied by AppArmor profile $2: ${line#*audit(}"
         else
           pass "escape $1 $probe: $res from the kernel's own check before AppArmor is asked"
         fi ;;
    esac
  done
}

# profile_writes LEVEL-TEXT LABEL PROFILE: the write probes run from the guest's root (no user
# namespace, no masks, so nothing but AppArmor stands in the way) under the planned label; each
# must be denied with an audit record naming PROFILE. Harmless if one went through: sysrq 'h'
# prints help, the others write back the current value.
profile_writes() {
  dmesg -c > /dev/null
  : > $W/pw.out
  for probe in $(echo "$WRITE_PROBES" | cut -d: -f1); do
    sh -c "echo -n 'exec $2' > /proc/self/attr/exec && exec $L __probe $probe" >> $W/pw.out 2>&1
  done
  dmesg > $W/pw.audit
  echo "$WRITE_PROBES" | while IFS=: read -r probe op name; do
    res=$(awk -v p="$probe" '$1 == p { print $2 }' $W/pw.out)
    line=$(grep 'apparmor="DENIED"' $W/pw.audit | grep "operation=\"$op\"" | grep "profile=\"$3\"" | grep "name=\"$name\"" | head -n 1)
    if [ "$res" = absent ]; then
      info "profile $1 $probe: $name does not exist in this kernel"
    elif [ "$res" != ok ] && [ -n "$line" ]; then
      pass "profile $1 $probe (guest root under '$2'): $res, denied by $3: ${line#*audit(}"
      echo "$line" >> $W/audit-examples
    else
      fail "profile $1 $probe (guest root under '$2'): ${res:-no result}, $([ -n "$line" ] && echo "with" || echo "without") a denial by $3 ($(tr '\t\n' '= ' < $W/pw.out | cut -c1-200))"
    fi
  done
}

# profile_mounts LEVEL-TEXT LABEL PROFILE [PROBES THE PLAN ALLOWS]: the mount family from the
# guest's root under the planned label, in a private mount namespace where /proc/sys and
# /proc/sysrq-trigger are masked read-only as lxnest masks them in a container, so that no seccomp
# filter or missing capability comes before AppArmor. Each attempt must be denied by PROFILE
# with an audit record (what the plan allows is reported, and stays in the private namespace).
profile_mounts() {
  dmesg -c > /dev/null
  mkdir -p /mnt
  unshare -m --propagation private sh -c "
    for m in /proc/sys /proc/sysrq-trigger; do mount --bind \$m \$m && mount -o remount,bind,ro \$m; done
    echo -n 'exec $2' > /proc/self/attr/exec && exec $L __probe apparmor" > $W/pm.out 2>&1
  dmesg | grep 'apparmor="DENIED"' > $W/pm.audit
  judge "$1 (guest root under '$2')" "$3" $W/pm.out $W/pm.audit "$4" "" mounts
}

# Level 1: a one-shot container with juju-host's plan (profile, namespace, nesting flags), run
# before the stack because it would take juju-host's veth name.
dmesg -c > /dev/null
timeout 120 $L run --spec $W/plan.json -n probe-l1 --require-apparmor -- lxnest __probe apparmor > $W/probe-l1 2>&1
info "level-1 probe: $(tr '\t\n' '= ' < $W/probe-l1)"
denials > $W/audit-l1
sed 's/^.*audit(/@@ INFO   audit(/' $W/audit-l1 | head -n 20
judge "level 1" lxnest-juju-host $W/probe-l1 $W/audit-l1 "mount_bind_root"
# A container without a spec (`lxnest run -- CMD`) is planned like a one-container spec
# (plan::adhoc): its profile is loaded and its command runs under the planned label, read from
# the root namespace (inside, the container's own policy namespace shows it as `unconfined`).
timeout 60 $L run -n adhoc-l1 --require-apparmor -- sleep 30 > $W/adhoc 2>&1 &
ADHOC=$!
if wait_for adhoc-l1 20; then
  got=$(label_of $(pids_of adhoc-l1 | head -n 1))
  [ "$got" = "lxnest-adhoc-l1//&:lxnest-adhoc-l1:unconfined" ]
  check $? "run without a spec: the command runs under its planned label: '$got'"
  kill $(pids_of adhoc-l1) 2>/dev/null
else
  fail "run without a spec: no process of the container within 20 s: $(head -c 160 $W/adhoc | tr '\n' ' ')"
fi
wait $ADHOC
left=$(grep -c '^lxnest-' $AAFS/profiles; ls $AAFS/policy/namespaces | grep -c '^lxnest-')
[ "$(echo $left)" = "0 0" ]
check $? "run: no lxnest profile or policy namespace left after the one-shot container (profiles, namespaces: $(echo $left))"

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
[ $rc = 0 ] && patience=60 || patience=3

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
# policy namespace the nesting host loaded them into (from inside its container). The stage
# never creates a namespace itself: lxnest must have made it before juju-host's exec.
for ns in $(planned_namespaces); do
  [ -d $AAFS/policy/namespaces/$ns ]
  check $? "policy namespace $ns, which the planned labels stack onto, created by lxnest"
done
grep -q '^lxnest-juju-host (enforce)$' $AAFS/profiles
check $? "profile lxnest-juju-host loaded in the root namespace (enforce)"
ns=$AAFS/policy/namespaces/lxnest-juju-host
n=$(cat $ns/profiles/*/name 2>/dev/null | grep -c '^lxnest-juju-host\.unit-')
[ "$n" = 3 ]
check $? "policy namespace lxnest-juju-host holds the 3 level-2 profiles (found $n)"

# `lxnest attach` confines what it runs exactly like the container's init: the same label.
while read -r path label; do
  case $path in */*/*) continue ;; esac
  timeout 60 $L attach -T -n "$path" -v "LXNEST_GUEST_ATTACH=$path" -- sleep 20 > $W/attach.out 2>&1 &
  end=$(( $(now) + 300 ))
  while [ -z "$(pids_with "LXNEST_GUEST_ATTACH=$path")" ] && [ "$(now)" -lt $end ]; do sleep 0.5; done
  pid=$(pids_with "LXNEST_GUEST_ATTACH=$path" | head -n 1)
  got=$([ -n "$pid" ] && label_of $pid)
  [ -n "$pid" ] && [ "$got" = "$label" ]
  check $? "attach $path (pid ${pid:-none}): '$got', planned '$label' $(tr '\n' ' ' < $W/attach.out | cut -c1-200)"
done < $W/labels

# Level 2: unit-1's command ran the probes when it started; its output is in juju-host's console.
con=/run/lxnest/juju-host/console.log
sed -n 's/^probe unit-1 //p' $con > $W/probe-l2
info "level-2 probe: $(tr '\t\n' '= ' < $W/probe-l2)"
dmesg > $W/dmesg-a
grep 'apparmor="DENIED"' $W/dmesg-a > $W/audit-l2
judge "level 2" lxnest-juju-host.unit-1 $W/probe-l2 $W/audit-l2 "" "the level's seccomp filter (mount, umount2 errno EPERM)"

# The profiles' own write rules, under the planned labels (level 2's needs its profile loaded
# in the namespace, so this runs while the stack is up).
while read -r path label; do
  case $path in
    */*/*) ;;
    */*) [ "$path" = juju-host/unit-1 ] || continue
         profile_writes "level 2" "$label" lxnest-juju-host.unit-1
         profile_mounts "level 2" "$label" lxnest-juju-host.unit-1 ;;
    *) profile_writes "level 1" "$label" lxnest-juju-host
       profile_mounts "level 1" "$label" lxnest-juju-host "mount_bind_root" ;;
  esac
done < $W/labels

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
left=$(grep -c '^lxnest-' $AAFS/profiles; ls $AAFS/policy/namespaces | grep -c '^lxnest-')
[ "$(echo $left)" = "0 0" ]
check $? "stop: no lxnest profile or policy namespace left (profiles, namespaces: $(echo $left))"

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
# The exit status init judges `@@ DONE` by: 0 only if every check that ran passed (run.sh also
# requires each check of tests/guest/<spec>.expected to have passed).
[ ! -e $W/failed ]
