//! A nesting host's first process, `lxnest init-nested`: it reads the plan its parent wrote at
//! /run/lxnest/plan.json, starts its own children from that plan (no re-planning, so what was
//! checked is what runs), then acts as an init: reaps everything and, on SIGTERM, stops its
//! children before exiting.

use super::error::{path_err, step_err, Result};
use super::monitor::teardown;
use super::start::{start, StartOptions, Started};
use super::state;
use crate::cgroup::{Base, CreateOptions};
use crate::plan::model::{LevelPlan, Plan};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the outer launcher hands to a nesting host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// The nesting host's own path in `plan`.
    pub own_path: String,
    /// The whole plan (the host's descendants are in it).
    pub plan: Plan,
}

/// Path of the handoff inside the nesting host.
pub const HANDOFF_PATH: &str = "/run/lxnest/plan.json";

/// The handoff JSON for `host` (its own subtree of `plan`), when it has children.
pub fn handoff_for(plan: &Plan, host: &LevelPlan) -> Option<String> {
    plan.children(&host.path).next()?;
    serde_json::to_string(&Handoff {
        own_path: host.path.clone(),
        plan: subtree(plan, &host.path),
    })
    .ok()
}

/// The part of `plan` a nesting host may see: itself and its descendants, not its siblings or
/// ancestors (their addresses, ids and policies are none of its business).
pub fn subtree(plan: &Plan, path: &str) -> Plan {
    let prefix = format!("{path}/");
    let mut p = plan.clone();
    p.containers
        .retain(|c| c.path == path || c.path.starts_with(&prefix));
    p.host_bridge = None;
    // Other stacks' reservations are none of its business either.
    p.reserved.clear();
    p
}

/// A child's plan as its nesting host applies it: the cgroup path becomes relative to the host's
/// cgroup namespace root (the parent's own `cgroup.path` prefix is stripped).
pub fn localize(child: &LevelPlan, parent: &LevelPlan) -> LevelPlan {
    let mut c = child.clone();
    let prefix = format!("{}/", parent.cgroup.path.trim_end_matches('/'));
    if let Some(rest) = c.cgroup.path.strip_prefix(&prefix) {
        c.cgroup.path = rest.to_string();
    }
    c
}

/// Runs `init-nested`; returns the exit code.
pub fn init_nested(handoff_path: Option<PathBuf>) -> Result<i32> {
    // Block the signals we wait for before anything else: as PID 1 of its namespace, this
    // process would otherwise drop a SIGTERM that `stop` sends while children are starting
    // (the kernel discards signals an init has no handler for). Blocked, it stays pending for
    // the signalfd; the children clear the mask before they exec.
    if init_mask().thread_block().is_err() {
        return Ok(1);
    }
    let explicit = handoff_path.is_some();
    let path = handoff_path.unwrap_or_else(|| PathBuf::from(HANDOFF_PATH));
    if !explicit && !path.exists() {
        // A container that hosts nothing: lxnest is its minimal init.
        return Ok(reap_loop(Vec::new(), true));
    }
    let text = std::fs::read_to_string(&path).map_err(path_err("init-nested", "state", &path))?;
    let h: Handoff = serde_json::from_str(&text).map_err(step_err("init-nested", "state"))?;
    let me = h.plan.get(&h.own_path).cloned().ok_or_else(|| {
        step_err("init-nested", "state")(super::error::StepFailure::refused(format!(
            "{} not in plan",
            h.own_path
        )))
    })?;
    // NAT is a convenience for the children's outbound traffic; without it they still reach
    // each other and this host, so a failure is reported, not fatal. Kept until we exit.
    let _nat = me
        .network
        .own_bridge
        .as_ref()
        .filter(|b| b.nat)
        .and_then(|b| {
            super::network::enable_nat(b)
                .map_err(|e| eprintln!("lxnest init-nested: NAT for {}: {e}", b.name))
                .ok()
        });
    let mut started: Vec<Started> = Vec::new();
    for child in h.plan.children(&me.path) {
        let local = localize(child, &me);
        let opts = StartOptions {
            state_dir: PathBuf::from(state::DEFAULT_DIR),
            // When our launcher confined us and showed us the AppArmor filesystem to load our
            // children's profiles (load_policy), a child that cannot get its profile must not
            // start unconfined. (A launcher without AppArmor, or an unprivileged one, shows none.)
            require_apparmor: me.apparmor.flags.iter().any(|f| f == "load_policy")
                && std::path::Path::new("/sys/kernel/security/apparmor/features").is_dir(),
            // Our own processes sit in the init leaf when the plan made one; the children's
            // cgroups are its siblings, inside the delegated subtree.
            cgroup: CreateOptions {
                base: if me.cgroup.init_leaf.is_some() {
                    Base::OwnParent
                } else {
                    Base::Own
                },
            },
            bridge: me.network.own_bridge.clone(),
            nested_json: handoff_for(&h.plan, child),
            console_log: false,
            // Our own stdio, which is never the outer caller's terminal (launch::fgstdio).
            stdio: None,
            extras: None,
        };
        match start(&local, &opts) {
            Ok(s) => {
                // The nesting host is its children's monitor: record them where `ls` and
                // `attach` (from here or from the host, through /proc/PID/root) look.
                let me_pid = nix::unistd::getpid().as_raw();
                let st = super::monitor::state_of(&local, &s, me_pid);
                if let Err(e) = state::write(&opts.state_dir, &st) {
                    eprintln!("lxnest init-nested: state of {}: {e}", local.name);
                }
                started.push(s)
            }
            Err(e) => {
                eprintln!("lxnest init-nested: {e}");
                for s in started.drain(..).rev() {
                    teardown(s);
                }
                return Ok(1);
            }
        }
    }
    Ok(reap_loop(started, false))
}

/// Reaps every process (we are PID 1); exits when SIGTERM arrives (after stopping the children)
/// or, unless `idle`, when no child container is left, with the first non-zero exit code of a
/// child's init. An `idle` init (a container that hosts nothing) runs until SIGTERM.
/// The signals init-nested waits for.
fn init_mask() -> SigSet {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
        mask.add(s);
    }
    mask
}

fn reap_loop(mut started: Vec<Started>, idle: bool) -> i32 {
    let mut code = 0;
    let mask = init_mask();
    if mask.thread_block().is_err() {
        return 1;
    }
    let Ok(sfd) = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC) else {
        return 1;
    };
    loop {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) => {
                    if let Some(pid) = ws.pid() {
                        if let Some(i) = started.iter().position(|s| s.child.pid() == pid) {
                            if code == 0 {
                                code = super::monitor::exit_code(ws).unwrap_or(1);
                            }
                            let mut s = started.remove(i);
                            let _ = std::mem::replace(
                                &mut s.child,
                                super::start::ChildGuard::released(),
                            )
                            .release();
                            teardown(s);
                        }
                    }
                }
            }
        }
        if started.is_empty() && !idle {
            return code;
        }
        match sfd.read_signal() {
            Ok(Some(info)) if info.ssi_signo as i32 != libc::SIGCHLD => {
                for s in started.drain(..).rev() {
                    teardown(s);
                }
                return 0;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::defaults::level_plan;

    fn plan() -> Plan {
        let mut a = level_plan("a", vec!["x".into()], true).expect("ad hoc plan");
        a.cgroup.path = "lxnest/a".into();
        let mut kid = level_plan("k", vec!["x".into()], false).expect("ad hoc plan");
        kid.path = "a/k".into();
        kid.parent = Some("a".into());
        kid.cgroup.path = "lxnest/a/k".into();
        let b = level_plan("b", vec!["x".into()], true).expect("ad hoc plan");
        Plan {
            stack: "s".into(),
            source: "t".into(),
            base_level: 0,
            host_bridge: None,
            containers: vec![a, kid, b],
            warnings: Vec::new(),
            reserved: Vec::new(),
        }
    }

    #[test]
    fn handoff_holds_only_the_hosts_subtree_and_paths_are_localized() {
        let p = plan();
        let json = handoff_for(&p, &p.containers[0]).expect("a has a child");
        let h: Handoff = serde_json::from_str(&json).expect("parses");
        let paths: Vec<&str> = h.plan.containers.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["a", "a/k"]);
        assert!(
            handoff_for(&p, &p.containers[2]).is_none(),
            "b hosts nothing"
        );
        assert_eq!(
            localize(&p.containers[1], &p.containers[0]).cgroup.path,
            "k"
        );
    }
}
