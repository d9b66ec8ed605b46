//! The parent side of the start sequence. Each kernel resource is held by a guard as soon as it
//! exists, so an error at any step unwinds everything made before it (the child's mounts live in
//! its own mount namespace and vanish with it).

use super::child::{self, ChildSpec};
use super::error::{path_err, step_err, LaunchError, Result, StepFailure};
use super::network::{self, BridgeGuard, VethGuard};
use super::state::StateDirGuard;
use super::sync::{Channel, Enforced, Msg, SyncError};
use super::{apparmor, idmap, inject, spawn};
use crate::cgroup::{self, CgroupGuard, CreateOptions};
use crate::plan::model::RootfsPlan;
use crate::plan::model::{BridgePlan, LevelPlan};
use crate::spec::model::{HookKind, NetworkMode};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::path::PathBuf;

/// How to start.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// State directory (`-P`).
    pub state_dir: PathBuf,
    /// Refuse to start without AppArmor.
    pub require_apparmor: bool,
    /// Where the plan's cgroup path is rooted (`Own` on a host, see [`crate::cgroup::Base`]).
    pub cgroup: CreateOptions,
    /// The bridge the container's veth attaches to, created here when missing.
    pub bridge: Option<BridgePlan>,
    /// For a nesting host: the plan its `lxnest init-nested` reads.
    pub nested_json: Option<String>,
    /// Send the container's stdio (and ours) to `<statedir>/<name>/console.log`, stdin from
    /// /dev/null: for a detached monitor that outlives the terminal.
    pub console_log: bool,
    /// A foreground container's stdio (`launch::fgstdio`); `None`: our own descriptors 0-2.
    pub stdio: Option<std::sync::Arc<super::fgstdio::ChildStdio>>,
    /// An OCI bundle's extras (`launch::extras`); with an exec gate the start returns before
    /// the init execs.
    pub extras: Option<std::sync::Arc<super::extras::Extras>>,
}

/// The container's init, killed and reaped on drop unless released.
#[derive(Debug)]
pub struct ChildGuard {
    pid: Option<Pid>,
}

impl ChildGuard {
    /// A guard that owns nothing (after the init was reaped elsewhere).
    pub fn released() -> ChildGuard {
        ChildGuard { pid: None }
    }

    /// The pid.
    pub fn pid(&self) -> Pid {
        self.pid.unwrap_or(Pid::from_raw(0))
    }

    /// Hands the pid over to the caller (who now must reap it).
    pub fn release(mut self) -> Pid {
        self.pid.take().unwrap_or(Pid::from_raw(0))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// A started container: its guards and what it enforces. Dropping it kills the container and
/// removes everything (the foreground `run` and the monitor rely on that).
#[derive(Debug)]
pub struct Started {
    /// What the child enforced.
    pub enforced: Enforced,
    /// AppArmor outcome seen from the parent.
    pub apparmor: String,
    /// What an unprivileged start got for cgroups (`None`: the plan's cgroup, as planned).
    pub cgroup_note: Option<String>,
    // Field order is drop order: the init dies first, then its network, cgroup and state go.
    /// The init.
    pub child: ChildGuard,
    /// The loaded AppArmor profile, unloaded after the init is gone.
    pub apparmor_profile: Option<crate::apparmor::Installed>,
    /// The veth, if any.
    pub veth: Option<VethGuard>,
    /// The bridge, if this start created it.
    pub bridge: Option<BridgeGuard>,
    /// The cgroup.
    pub cgroup: CgroupGuard,
    /// The state directory.
    pub state: StateDirGuard,
    /// The plan, when it has stop or post-stop hooks to run at teardown.
    pub hook_plan: Option<LevelPlan>,
    /// Host-side mounts of loop images, unmounted once the init is gone.
    pub loops: super::loopmount::LoopMounts,
    /// The encrypted root's key, last to go: locked once nothing of the container is left.
    pub crypt: Option<(crate::crypt::Opened, crate::plan::model::EncryptPlan)>,
}

/// Starts `plan`: see docs/launch.md for the order and the reason for each step's position.
pub fn start(plan: &LevelPlan, opts: &StartOptions) -> Result<Started> {
    let c = plan.path.as_str();

    // State directory first: it is the lock that makes a second start of the same name fail
    // before anything else is touched, and it holds the rootfs mount point.
    inject::check(c, "state")?;
    let state = StateDirGuard::create(&opts.state_dir, &plan.name)?;
    super::private::restrict_state_dir(state.path(), plan).map_err(path_err(
        c,
        "state",
        state.path(),
    ))?;
    if opts.console_log {
        let log = state.path().join("console.log");
        redirect_stdio(&log).map_err(path_err(c, "state", &log))?;
    }

    // pre-start hooks on the host before anything else is set up, as in LXC; they may fill
    // the shared mount directory.
    super::hooks::run(plan, HookKind::PreStart, state.path(), None)
        .map_err(step_err(c, "pre-start"))?;

    // An encrypted root is unlocked before anything touches it; if a later step fails the guard
    // is dropped with everything else and the key leaves the kernel again.
    let crypt = match &plan.encrypt {
        Some(e) => {
            let interactive = !matches!(e.key, crate::spec::model::KeySource::File(_));
            if opts.console_log && interactive {
                return Err(step_err(c, "crypt")(StepFailure::refused(
                    "a detached start cannot ask for a passphrase or read stdin: use `key: file:/PATH`, or start it in the foreground (-F, run, execute)",
                )).into());
            }
            Some((
                crate::crypt::unlock_for_start(e).map_err(step_err(c, "crypt"))?,
                e.clone(),
            ))
        }
        None => None,
    };

    // A tarball rootfs is unpacked on the host side, where owners can be shifted into the
    // container's id range, before the child needs it; a second start reuses the tree.
    let tar_tree = crate::rootfs::tar_tree(&opts.state_dir, &plan.path);
    if let RootfsPlan::Tar(tarball) = &plan.rootfs {
        if let Some(note) =
            super::tarroot::unpack(plan, &tar_tree, tarball).map_err(step_err(c, "rootfs"))?
        {
            tracing::warn!("{c}: {note}");
        }
    }
    let unprivileged = !nix::unistd::geteuid().is_root();
    if let Some(m) = plan
        .idmap
        .as_ref()
        .filter(|m| unprivileged && idmap::single_id(&m.uid))
    {
        tracing::warn!(
            "{c}: single-id map (only uid {} is mapped): {}; for a full range give the user subordinate ids in /etc/subuid and /etc/subgid and install the setuid newuidmap/newgidmap (Debian: uidmap)",
            m.uid.first().map(|l| l.outside).unwrap_or_default(),
            crate::plan::idmap::SINGLE_LOSES
        );
    }

    // AppArmor profile before clone: it must be in the kernel before the child asks for it.
    let prepared = if unprivileged {
        unprivileged_apparmor(opts.require_apparmor)
    } else {
        apparmor::prepare(plan, opts.require_apparmor)
    };
    let (apparmor_guard, apparmor_label, apparmor_note) = match prepared {
        Ok(apparmor::Outcome::Loaded(g)) => {
            let label = g.onexec().map(str::to_string);
            let note = match &label {
                Some(l) => format!("label {l}"),
                None => "confined by the parent's label (no own profile at this depth)".into(),
            };
            (Some(g), label, note)
        }
        Ok(apparmor::Outcome::Unavailable(why)) => {
            log_apparmor_once(&why);
            (
                None,
                None,
                format!("unavailable: {why} (profile planned, not loaded)"),
            )
        }
        Err(e) => return Err(step_err(c, "apparmor")(e).into()),
    };

    // cgroup before clone, so the child can be placed in it before it runs any of its own
    // steps and every process it ever forks is accounted and limited.
    inject::check(c, "cgroup")?;
    let layout = cgroup::detect().map_err(step_err(c, "cgroup"))?;
    let (cg, cgroup_note) = if unprivileged {
        let u = cgroup::user::create(&layout, &plan.cgroup).map_err(step_err(c, "cgroup"))?;
        (u.guard, Some(u.note))
    } else {
        match cgroup::create_with(&layout, &plan.cgroup, &opts.cgroup) {
            Ok(cg) => (cg, None),
            // A nested launcher in a container that got no cgroup of its own (an unprivileged
            // user's nesting host) is in the same place as that user: a delegated subtree or none.
            Err(e) if super::defaults::in_user_namespace() && e.is_permission_denied() => {
                let u =
                    cgroup::user::create(&layout, &plan.cgroup).map_err(step_err(c, "cgroup"))?;
                (u.guard, Some(u.note))
            }
            Err(e) => return Err(step_err(c, "cgroup")(e).into()),
        }
    };
    // The v1 devices controller only takes writes from the initial user namespace; a nested
    // launcher's children stay under the allowlist its own parent wrote. An unprivileged user
    // has neither that nor the BPF device programs of cgroup2: its container can only open the
    // device nodes lxnest binds in, and only as far as the user may.
    if !unprivileged && !super::defaults::in_user_namespace() {
        apply_devices(&cg, plan).map_err(step_err(c, "cgroup"))?;
    }

    // The bridge exists before the veth that plugs into it.
    let bridge = match (&opts.bridge, plan.network.mode) {
        (Some(b), NetworkMode::Bridge) => {
            Some(network::ensure_bridge(b).map_err(step_err(c, "network"))?)
        }
        _ => None,
    };

    // Loop images are mounted here, on the host side (a user namespace may not mount a block
    // device), under the state directory; the child bind-mounts them into place.
    let (loop_plan, loops) =
        super::loopmount::prepare(plan, state.path()).map_err(step_err(c, "mounts"))?;

    inject::check(c, "spawn")?;
    let (mut parent_end, child_end) = Channel::pair().map_err(step_err(c, "spawn"))?;
    let spec = ChildSpec {
        plan: &loop_plan,
        root: state.path().join("rootfs"),
        nested_json: opts.nested_json.clone(),
        lxnest_binary: lxnest_binary(),
        apparmor_label,
        apparmor_note: apparmor_note.clone(),
        tar_tree: matches!(plan.rootfs, RootfsPlan::Tar(_)).then_some(tar_tree),
        stdio: opts.stdio.clone(),
        extras: opts.extras.clone(),
    };
    let mut child_end = Some(child_end);
    // The child runs the rest of the start sequence: only from a single-threaded process.
    super::error::single_threaded(c, "spawn")?;
    let pid = spawn::spawn(
        plan,
        Box::new(|| match child_end.as_mut() {
            Some(ch) => child::run(&spec, ch),
            None => 1,
        }),
    )
    .map_err(step_err(c, "spawn"))?;
    let child = ChildGuard { pid: Some(pid) };
    // Our copy of the child's end must go, or we would never see end-of-file at its exec.
    drop(child_end.take());

    let gated = opts.extras.as_ref().is_some_and(|x| x.exec_gate.is_some());
    let result = parent_steps(plan, &cg, &mut parent_end, pid, state.path(), gated);
    let (enforced, veth) = match result {
        Ok(v) => v,
        Err(e) => {
            // Kill the child first; the other guards then drop in reverse order of creation
            // (bridge, cgroup, AppArmor profile, state directory).
            drop(child);
            return Err(e);
        }
    };
    Ok(Started {
        enforced,
        apparmor: apparmor_note,
        cgroup_note,
        child,
        apparmor_profile: apparmor_guard,
        hook_plan: [HookKind::Stop, HookKind::PostStop]
            .iter()
            .any(|k| !plan.hooks.get(*k).is_empty())
            .then(|| plan.clone()),
        crypt,
        loops,
        veth,
        bridge,
        cgroup: cg,
        state,
    })
}

fn parent_steps(
    plan: &LevelPlan,
    cg: &CgroupGuard,
    ch: &mut Channel,
    pid: Pid,
    state_dir: &std::path::Path,
    gated: bool,
) -> Result<(Enforced, Option<VethGuard>)> {
    let c = plan.path.as_str();
    // Id maps first: until they exist the child's root is "nobody" and it can do nothing that
    // needs its capabilities in the new user namespace; it waits for our Continue.
    inject::check(c, "idmap")?;
    if let Some(map) = &plan.idmap {
        idmap::write_maps(pid, map).map_err(|e| {
            step_err(c, "idmap")(crate::launch::defaults::explain_map_error(map, e))
        })?;
    }
    // Into the cgroup before the child runs anything, and before it unshares its cgroup
    // namespace (that cgroup becomes its root). Delegation hands the subtree to its root.
    inject::check(c, "cgroup-attach")?;
    cg.add_task(pid.as_raw())
        .map_err(step_err(c, "cgroup-attach"))?;
    if plan.cgroup.delegate {
        let uid = plan
            .idmap
            .as_ref()
            .and_then(|m| idmap::outside_of(&m.uid, 0))
            .unwrap_or(0);
        let gid = plan
            .idmap
            .as_ref()
            .and_then(|m| idmap::outside_of(&m.gid, 0))
            .unwrap_or(0);
        cg.delegate(uid, gid)
            .map_err(step_err(c, "cgroup-attach"))?;
    }
    send(ch, c, "idmap")?;
    expect(ch, c, "cgroupns", |m| matches!(m, Msg::NamespacesReady))?;
    // Network from the parent side: the veth's inside end moves into the child's namespace.
    inject::check(c, "network")?;
    let veth = match plan.network.mode {
        NetworkMode::Bridge => {
            network::setup_veth(&plan.network, pid).map_err(step_err(c, "network"))?
        }
        NetworkMode::UserNic => {
            let host_end =
                super::usernic::create(plan, pid, state_dir).map_err(step_err(c, "network"))?;
            tracing::info!("{c}: lxc-user-nic made {host_end} on the host side");
            None
        }
        _ => None,
    };

    // The init leaf only now: cgroup v2 forbids processes in a node that delegates controllers,
    // and the child had to unshare its cgroup namespace while still at the container's root.
    inject::check(c, "cgroup-leaf")?;
    if plan.cgroup.init_leaf.is_some() {
        cg.move_to_leaf(pid.as_raw())
            .map_err(step_err(c, "cgroup-leaf"))?;
    }
    send(ch, c, "cgroup-leaf")?;
    let enforced = match ch.recv() {
        Ok(Msg::Enforced(e)) => e,
        Ok(Msg::Failed { step, message }) => {
            return Err(LaunchError::Child {
                container: c.into(),
                step,
                message,
            })
        }
        Ok(other) => {
            return Err(
                step_err(c, "exec")(StepFailure::refused(format!("unexpected {other:?}"))).into(),
            )
        }
        Err(e) => {
            return Err(
                step_err(c, "exec")(StepFailure::doing("the child died before exec")(
                    std::io::Error::other(e),
                ))
                .into(),
            )
        }
    };
    // A gated init waits for `lxnest-oci start` before its exec: there is no exec to see yet.
    if gated {
        return Ok((enforced, veth));
    }
    match ch.recv() {
        Err(SyncError::Closed) => Ok((enforced, veth)),
        Ok(Msg::Failed { step, message }) => Err(LaunchError::Child {
            container: c.into(),
            step,
            message,
        }),
        Ok(other) => {
            Err(step_err(c, "exec")(StepFailure::refused(format!("unexpected {other:?}"))).into())
        }
        Err(e) => Err(step_err(c, "exec")(e).into()),
    }
}

/// The lxnest executable a built-in rootfs exposes at /usr/local/bin/lxnest: the running
/// executable when it is lxnest (the command line), else `lxnest` on PATH. A program embedding
/// the library (the Python module) is not lxnest: binding it there would be wrong, and where
/// lxnest is not installed the container gets none.
fn lxnest_binary() -> Option<PathBuf> {
    super::helper::installed()
}

fn send(ch: &mut Channel, c: &str, step: &'static str) -> Result<()> {
    Ok(ch.send(&Msg::Continue).map_err(step_err(c, step))?)
}

fn expect(ch: &mut Channel, c: &str, step: &'static str, ok: impl Fn(&Msg) -> bool) -> Result<()> {
    match ch.recv() {
        Ok(m) if ok(&m) => Ok(()),
        Ok(Msg::Failed { step, message }) => Err(LaunchError::Child {
            container: c.into(),
            step,
            message,
        }),
        Ok(other) => {
            Err(step_err(c, step)(StepFailure::refused(format!("unexpected {other:?}"))).into())
        }
        Err(e) => Err(step_err(c, step)(e).into()),
    }
}

/// AppArmor for an unprivileged user: loading a profile needs CAP_MAC_ADMIN in the initial user
/// namespace, so the container keeps the user's own confinement.
fn unprivileged_apparmor(require: bool) -> Result<apparmor::Outcome, StepFailure> {
    if require {
        return Err(StepFailure::refused("--require-apparmor: loading AppArmor profiles needs root; start it as root, or drop the option"));
    }
    Ok(apparmor::Outcome::Unavailable(
        "started by an unprivileged user, who cannot load profiles; the container keeps your own AppArmor label".into(),
    ))
}

fn log_apparmor_once(why: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing::info!("{why}: AppArmor profiles are planned but not loaded"));
}

/// Points stdin at /dev/null and stdout/stderr at the capped console log (`launch::console`).
fn redirect_stdio(log: &std::path::Path) -> std::io::Result<()> {
    super::console::redirect(log)
}

/// The v1 devices allowlist. The cgroup layer removes the fresh init leaf before `devices.deny a`
/// and the kernel refuses that write until the removed child is offline, which on a busy machine
/// can take longer than the layer's own retry: try the whole step a few more times.
fn apply_devices(cg: &CgroupGuard, plan: &LevelPlan) -> crate::cgroup::Result<()> {
    let mut tries = 0;
    loop {
        match cgroup::apply_devices(cg, &plan.devices) {
            Ok(_) => return Ok(()),
            Err(crate::cgroup::CgroupError::Io { source, .. })
                if source.raw_os_error() == Some(libc::EINVAL) && tries < 5 =>
            {
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
