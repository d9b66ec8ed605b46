//! The container side of the start sequence: everything the cloned child does between clone and
//! exec, in the order the kernel requires. Each step reports its failure to the parent through
//! the sync channel and the child exits; the parent then undoes its own steps.

use super::error::{step_err, LaunchError, Result, StepFailure};
use super::sync::{Channel, Enforced, Msg};
use super::{apparmor, caps, dev, hooks, idmap, inject, landlock, mounts, netif, pivot, proc};
use crate::plan::model::LevelPlan;
use crate::rootfs::{self, BuiltinInputs};
use crate::spec::model::{HookKind, NetworkMode};
use nix::mount::{mount, MsFlags};
use nix::sched::unshare;
use nix::unistd::{execve, sethostname, setresgid, setresuid, Gid, Uid};
use std::convert::Infallible;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// Default PATH of the first process when the plan sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where a nesting host finds its plan (inside the container).
pub const NESTED_PLAN: &str = "run/lxnest/plan.json";

/// What the child needs besides the plan.
#[derive(Debug, Clone)]
pub struct ChildSpec<'a> {
    /// The container.
    pub plan: &'a LevelPlan,
    /// Empty directory (in the parent's filesystem) where the new root is assembled.
    pub root: PathBuf,
    /// For a nesting host: the JSON its `lxnest init-nested` reads at [`NESTED_PLAN`].
    pub nested_json: Option<String>,
    /// The running lxnest binary, exposed inside the built-in root.
    pub lxnest_binary: Option<PathBuf>,
    /// AppArmor label to stack on exec, when the profile was loaded.
    pub apparmor_label: Option<String>,
    /// AppArmor outcome text for `info` when no label applies.
    pub apparmor_note: String,
    /// The unpacked tree of a tarball rootfs (chosen by the parent, which knows whose it is).
    pub tar_tree: Option<PathBuf>,
    /// A foreground container's stdio (src/launch/fgstdio.rs).
    pub stdio: Option<std::sync::Arc<super::fgstdio::ChildStdio>>,
    /// An OCI bundle's process settings and exec gate (src/launch/extras.rs); `None` for
    /// lxnest's own containers.
    pub extras: Option<std::sync::Arc<super::extras::Extras>>,
}

/// Runs the child side; returns only on failure (after telling the parent).
pub fn run(spec: &ChildSpec<'_>, ch: &mut Channel) -> isize {
    match steps(spec, ch) {
        Ok(never) => match never {},
        Err(e) => {
            let (step, message) = match &e {
                LaunchError::Step(e) => (e.step.to_string(), e.source.to_string()),
                LaunchError::Injected { step, .. } => (step.to_string(), "injected failure".into()),
                LaunchError::Rootfs { source, .. } => ("rootfs".into(), source.to_string()),
                other => ("child".into(), other.to_string()),
            };
            let _ = ch.send(&Msg::Failed { step, message });
            1
        }
    }
}

fn wait_continue(ch: &mut Channel, c: &str, step: &'static str) -> Result<()> {
    match ch.recv() {
        Ok(Msg::Continue) => Ok(()),
        Ok(other) => Err(step_err(c, step)(StepFailure::refused(format!(
            "unexpected {other:?} from the parent"
        )))
        .into()),
        Err(e) => Err(step_err(c, step)(e).into()),
    }
}

/// Marks every descriptor from 3 up close-on-exec (`close_range(2)` with CLOSE_RANGE_CLOEXEC).
fn close_on_exec_from_3() -> std::io::Result<()> {
    // SAFETY: close_range takes plain integers; with CLOSE_RANGE_CLOEXEC it only sets a flag on
    // our descriptors, so nothing we still use is closed before exec.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn resolve(cmd: &str, path_var: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        return Some(PathBuf::from(cmd));
    }
    path_var
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

fn cstrings<I: IntoIterator<Item = String>>(it: I) -> Option<Vec<CString>> {
    it.into_iter().map(|s| CString::new(s).ok()).collect()
}

/// The level marker `lxnest check` reads, and a nesting host's handoff plan.
fn write_run_files(spec: &ChildSpec<'_>, root: &Path) -> std::result::Result<(), StepFailure> {
    let plan = spec.plan;
    let level = plan
        .init
        .environment
        .get("LXNEST_LEVEL")
        .cloned()
        .unwrap_or_else(|| plan.depth.to_string());
    // Resolved inside the tree: a `dir:` or `tar:` root is the container's, and a symlink it
    // planted at run/, run/lxnest or the file itself must not steer this write.
    let tree = crate::inroot::create::open_root(root).map_err(StepFailure::at(root))?;
    let write = |path: &str, text: &str, mode: u32| {
        crate::inroot::create::write(&tree, Path::new(path), text, mode)
            .map_err(StepFailure::at(root.join(path.trim_start_matches('/'))))
    };
    write("/run/lxnest/level", &format!("{level}\n"), 0o644)?;
    if let Some(json) = &spec.nested_json {
        // The plan holds environments and hooks: for the nesting host's root only.
        write(&format!("/{NESTED_PLAN}"), json, 0o600)?;
    }
    Ok(())
}

fn steps(spec: &ChildSpec<'_>, ch: &mut Channel) -> Result<Infallible> {
    let plan = spec.plan;
    let c = plan.path.as_str();
    let root = spec.root.as_path();

    // A launcher that waits on signals (init-nested, a monitor) may have them blocked; the mask
    // survives exec, so clear it before anything else.
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
    // A session of our own, never the caller's terminal (src/launch/fgstdio.rs).
    super::fgstdio::adopt(spec.stdio.as_deref()).map_err(step_err(c, "stdio"))?;

    // Wait until the parent has written our id maps and put us in our cgroup: until then we
    // hold no capabilities that the kernel would honour.
    wait_continue(ch, c, "idmap")?;

    // Become root of the first user namespace (its ids exist now) before anything that creates
    // files: they must belong to the container's root. The saved uid stays the launcher's
    // until the init-leaf move below: cgroup v1 lets a non-initial-namespace writer (a nested
    // lxnest) move only tasks whose real or saved uid is its own.
    inject::check(c, "identity")?;
    // The tarball's tree sits behind a 0700 directory: open it while we still have the
    // launcher's uid (src/launch/private.rs).
    let held_tree =
        super::private::hold_tree(spec.tar_tree.as_deref()).map_err(step_err(c, "identity"))?;
    let extras = spec.extras.as_deref();
    let gate = super::extras::hold_gate(extras).map_err(step_err(c, "identity"))?;
    if let Some(map) = &plan.idmap {
        setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(step_err(c, "identity"))?;
        if !idmap::single_id(&map.gid) {
            nix::unistd::setgroups(&[]).map_err(step_err(c, "identity"))?;
        }
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(u32::MAX))
            .map_err(step_err(c, "identity"))?;
    }
    // A fresh session keyring (src/launch/keyring.rs): after the identity change, before hooks.
    super::keyring::join_fresh_session().map_err(step_err(c, "identity"))?;

    // Mount propagation private first: nothing we mount may leak back into the parent's
    // namespace, which also guarantees that a failed start leaves no mount behind.
    inject::check(c, "rootfs")?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(step_err(c, "rootfs"))?;
    let state_dir = root.parent().unwrap_or(root);
    hooks::run(plan, HookKind::PreMount, state_dir, None).map_err(step_err(c, "rootfs"))?;
    let inputs = BuiltinInputs {
        hostname: plan.init.hostname.clone(),
        lxnest_binary: spec.lxnest_binary.clone(),
        tar_tree: held_tree.as_ref().map(|h| h.proc_path()),
    };
    let prepared =
        rootfs::prepare(&plan.rootfs, root, &inputs).map_err(|source| LaunchError::Rootfs {
            container: c.into(),
            source,
        })?;
    // runtimes (issue 14): a nesting host's writable /etc and its runtime's configuration
    // (lxc-net, daemon.json, subuid ...), written inside the root; see rootfs::runtime_etc.
    rootfs::runtime_etc::prepare(root, plan, spec.nested_json.is_some()).map_err(|source| {
        LaunchError::Rootfs {
            container: c.into(),
            source,
        }
    })?;

    // The plan's mounts before /dev and /proc, so they cannot cover the masks set up next.
    inject::check(c, "mounts")?;
    mounts::apply_plan_mounts(root, &plan.mounts).map_err(step_err(c, "mounts"))?;
    hooks::bind_shared(state_dir, root).map_err(step_err(c, "mounts"))?;
    hooks::run(plan, HookKind::Mount, state_dir, None).map_err(step_err(c, "mounts"))?;

    // /dev before /proc: the /proc masks bind the container's own /dev/null.
    inject::check(c, "dev")?;
    dev::populate(root, &plan.devices).map_err(step_err(c, "dev"))?;
    hooks::run(plan, HookKind::Autodev, state_dir, None).map_err(step_err(c, "dev"))?;
    // /proc belongs to the pid namespace of whoever mounts it, ours since clone.
    inject::check(c, "proc")?;
    let nesting = plan.runtime.is_some() || spec.nested_json.is_some();
    proc::mount_proc(root, nesting).map_err(step_err(c, "proc"))?;
    if nesting {
        proc::mount_clean_proc(root).map_err(step_err(c, "proc"))?;
    }
    write_run_files(spec, root).map_err(step_err(c, "rootfs"))?;

    // Everything above becomes locked for the container's root (see `lock`): it enters an
    // inner user namespace and a copy of this mount namespace, then the namespaces it
    // administers. Without a user namespace (a privileged container) nothing can be locked
    // against a root that is the host's own, and only the late namespaces are made. A nesting
    // host that loads its children's AppArmor profiles stays in its first user namespace: the
    // kernel lets a task manage a policy namespace only from a user namespace at that
    // namespace's depth; its profile's deny rules guard the masks instead.
    let loads_policy =
        spec.apparmor_label.is_some() && plan.apparmor.flags.iter().any(|f| f == "load_policy");
    let locked = plan.idmap.is_some() && !loads_policy;
    inject::check(c, "lock")?;
    if let Some(map) = plan.idmap.as_ref().filter(|_| locked) {
        super::lock::enter_inner_userns(map, Path::new("/proc")).map_err(step_err(c, "lock"))?;
    }
    inject::check(c, "cgroupns")?;
    unshare(super::spawn::late_flags(locked)).map_err(step_err(c, "cgroupns"))?;

    // The parent now moves us into the init leaf (after the cgroup namespace exists, so that the
    // container's cgroup, not the leaf, is its root) and plugs the veth into the new network
    // namespace.
    ch.send(&Msg::NamespacesReady)
        .map_err(step_err(c, "cgroupns"))?;
    wait_continue(ch, c, "cgroup-leaf")?;
    if plan.idmap.is_some() {
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .map_err(step_err(c, "identity"))?;
    }

    inject::check(c, "hostname")?;
    sethostname(&plan.init.hostname).map_err(step_err(c, "hostname"))?;
    if let Some(x) = extras {
        super::extras::write_sysctls(&x.process).map_err(step_err(c, "sysctl"))?;
    }

    // What belongs to the late namespaces: sysfs shows the mounter's network namespace, mqueue
    // its IPC namespace, cgroupfs its cgroup namespace. Not locked, and need not be: each shows
    // only what the container's own namespaces own, and unmounting one uncovers an empty
    // directory of the locked tree below.
    inject::check(c, "sysfs")?;
    dev::mount_late(root).map_err(step_err(c, "dev"))?;
    proc::mount_sys(root).map_err(step_err(c, "sysfs"))?;
    if nesting {
        proc::mount_clean_sys(root, plan.idmap.is_some()).map_err(step_err(c, "sysfs"))?;
    }
    // A nesting host that loads its children's profiles needs the AppArmor filesystem, when
    // the launcher loaded its own profile (AppArmor in use).
    if loads_policy {
        apparmor::expose_policy_fs(root).map_err(step_err(c, "apparmor"))?;
    }

    // cgroupfs after /sys (it mounts below sys/fs/cgroup) and after unshare(CLONE_NEWCGROUP),
    // so the fresh cgroup mounts are rooted at the container's own cgroup.
    inject::check(c, "cgroupfs")?;
    crate::cgroup::premount::mount_cgroups(root, plan.cgroup.premount)
        .map_err(step_err(c, "cgroupfs"))?;

    // pivot_root after every mount (sources name the parent's paths) and before Landlock (a
    // Landlock domain forbids pivot_root and mount). A locked root cannot be pivoted into, so it
    // gets an unlocked bind of itself first (its submounts stay locked).
    if let Some(x) = extras {
        super::extras::mask_paths(root, &x.process).map_err(step_err(c, "masks"))?;
    }
    inject::check(c, "pivot")?;
    let read_only_root = prepared.read_only_root || extras.is_some_and(|x| x.process.readonly_root);
    pivot::pivot(root, read_only_root, locked).map_err(step_err(c, "pivot"))?;
    if let Some(x) = extras {
        super::extras::limits(&x.process).map_err(step_err(c, "rlimits"))?;
    }

    inject::check(c, "loopback")?;
    if plan.network.mode != NetworkMode::None {
        netif::set_up("lo").map_err(step_err(c, "loopback"))?;
    }
    // lxc-user-nic moved the veth in down; its address comes from the bridge's DHCP or inside.
    if plan.network.mode == NetworkMode::UserNic {
        netif::set_up(&plan.network.interface).map_err(step_err(c, "loopback"))?;
    }

    // Resolve the command while the filesystem is still fully visible to us.
    let env_path = plan
        .init
        .environment
        .get("PATH")
        .cloned()
        .unwrap_or_else(|| DEFAULT_PATH.into());
    let argv0 = plan
        .init
        .command
        .first()
        .ok_or_else(|| step_err(c, "exec")(StepFailure::refused("empty command")))?;
    let exe = resolve(argv0, &env_path).ok_or_else(|| {
        step_err(c, "exec")(StepFailure::refused(format!(
            "{argv0}: not found in {env_path}"
        )))
    })?;
    let exe = CString::new(exe.as_os_str().as_encoded_bytes()).map_err(step_err(c, "exec"))?;
    let argv = cstrings(plan.init.command.clone())
        .ok_or_else(|| step_err(c, "exec")(StepFailure::refused("NUL in argv")))?;
    let mut env = plan.init.environment.clone();
    env.entry("PATH".into()).or_insert(env_path);
    env.entry("HOME".into()).or_insert_with(|| "/root".into());
    env.entry("container".into())
        .or_insert_with(|| "lxnest".into());
    if let Ok(t) = std::env::var("TERM") {
        env.entry("TERM".into()).or_insert(t);
    }
    let envp = cstrings(env.into_iter().map(|(k, v)| format!("{k}={v}")))
        .ok_or_else(|| step_err(c, "exec")(StepFailure::refused("NUL in environment")))?;

    // Capabilities: shrink the bounding set now; the init gets exactly that set at exec. The
    // effective set keeps CAP_SYS_ADMIN until exec, which the seccomp step needs to install its
    // filter without NO_NEW_PRIVS (setuid programs inside keep working, as in LXC).
    inject::check(c, "caps")?;
    let keep = caps::plan_set(&plan.capabilities).map_err(step_err(c, "caps"))?;
    let kept = caps::restrict(&keep).map_err(step_err(c, "caps"))?;

    // AppArmor: the label applies at exec, so the launcher's own remaining steps are not
    // confined by the container's profile. Before Landlock, which would refuse the write to
    // this task's /proc attribute in a container without /proc among its writable paths.
    inject::check(c, "apparmor")?;
    let apparmor = match &spec.apparmor_label {
        Some(label) => {
            apparmor::change_onexec(label).map_err(step_err(c, "apparmor"))?;
            format!("label {label} on exec")
        }
        None => spec.apparmor_note.clone(),
    };

    // Landlock after pivot_root (paths are the container's) and before seccomp (its syscalls
    // could be filtered).
    inject::check(c, "landlock")?;
    let landlock = landlock::apply(&plan.landlock, false).map_err(step_err(c, "landlock"))?;

    // start hooks inside the container, confined like it except for seccomp (installed next,
    // on this process only, after the hook has exited).
    hooks::run(plan, HookKind::Start, Path::new("/"), None).map_err(step_err(c, "hooks"))?;

    // No descriptor of the launcher may reach the init (a netlink socket of the parent's
    // network namespace, a cgroup directory ...): everything above stdio closes at exec.
    inject::check(c, "fds")?;
    close_on_exec_from_3().map_err(step_err(c, "fds"))?;

    // seccomp last before exec, so that lxnest's own setup syscalls above are not filtered.
    inject::check(c, "seccomp")?;
    let prog = crate::seccomp::compile(&plan.seccomp.own).map_err(step_err(c, "seccomp"))?;
    let installed =
        crate::seccomp::install::install_report(&prog, crate::seccomp::NoNewPrivs::Auto)
            .map_err(step_err(c, "seccomp"))?;
    let enforced = Enforced {
        seccomp_filters: crate::seccomp::filter_count().unwrap_or(0),
        seccomp_insns: prog.len(),
        no_new_privs: installed.set_no_new_privs,
        landlock,
        apparmor,
        capabilities: kept,
    };
    // An OCI process's own user and directory come after seccomp (see extras::identity).
    if let Some(x) = extras {
        super::extras::identity(&x.process).map_err(step_err(c, "identity"))?;
    }
    ch.send(&Msg::Enforced(enforced))
        .map_err(step_err(c, "exec"))?;
    // `lxnest-oci create` returns here; `start` opens the gate.
    if let Some(g) = &gate {
        super::extras::wait_at_gate(g).map_err(step_err(c, "exec"))?;
    }

    inject::check(c, "exec")?;
    let err = match execve(&exe, &argv, &envp) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    Err(step_err(c, "exec")(StepFailure::doing(format!("execve {argv0}"))(err.into())).into())
}
