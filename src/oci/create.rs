//! `create`: reads the bundle, plans the container, starts it under lxnest's monitor with its
//! init held at the exec gate, writes the pid file (the monitor, which an engine's subreaper
//! reaps and whose exit code is the container's) and runs the createRuntime hooks.

use super::error::{OciRunError, Result};
use super::state::{self, Record};
use crate::launch::extras::Extras;
use crate::launch::fgstdio::ChildStdio;
use crate::launch::StartOptions;
use lxnest_core::oci::{Context, Translated};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `create`'s options.
#[derive(Debug, Clone)]
pub struct CreateArgs {
    /// `--root`.
    pub root: PathBuf,
    /// The container id.
    pub id: String,
    /// `--bundle` (default: the working directory).
    pub bundle: PathBuf,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
}

fn kernel() -> Option<(u32, u32)> {
    let u = nix::sys::utsname::uname().ok()?;
    let rel = u.release().to_string_lossy().into_owned();
    let mut it = rel.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Reads and translates `<bundle>/config.json`.
pub fn translate(bundle: &Path, name: &str) -> Result<Translated> {
    let bundle = std::fs::canonicalize(bundle).map_err(OciRunError::io(bundle))?;
    let file = bundle.join("config.json");
    let text = std::fs::read_to_string(&file).map_err(OciRunError::io(&file))?;
    let mode = crate::cgroup::detect()
        .map(|l| l.mode)
        .unwrap_or(crate::plan::host::CgroupMode::Hybrid);
    let ctx = Context {
        name: name.into(),
        bundle: bundle.display().to_string(),
        file: file.display().to_string(),
        depth: crate::launch::defaults::own_level() + 1,
        cgroup_mode: mode,
        kernel: kernel(),
    };
    Ok(lxnest_core::oci::parse(&text, &ctx)?)
}

fn stdio(t: &Translated, console: Option<&Path>) -> Result<Arc<ChildStdio>> {
    if t.process.terminal {
        let socket = console.ok_or_else(|| {
            OciRunError::Other("process.terminal is true: --console-socket is needed".into())
        })?;
        let slave = super::console::open(socket)?;
        return Ok(Arc::new(ChildStdio::new(
            super::console::triple(slave)?,
            true,
        )));
    }
    let dup = |fd: std::os::fd::BorrowedFd<'_>| -> Result<OwnedFd> {
        fd.try_clone_to_owned()
            .map_err(|e| OciRunError::Other(format!("dup stdio: {e}")))
    };
    let fds = [
        dup(std::io::stdin().as_fd())?,
        dup(std::io::stdout().as_fd())?,
        dup(std::io::stderr().as_fd())?,
    ];
    Ok(Arc::new(ChildStdio::new(fds, false)))
}

fn make_gate(path: &Path) -> Result<()> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| OciRunError::io(path)(e.into()))?;
    // Writable by the container's init whatever its uid (it reopens the FIFO through its own
    // descriptor: the 0700 directory above does not apply), readable by root only.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o622))
        .map_err(OciRunError::io(path))
}

/// Runs `create`.
pub fn create(a: &CreateArgs) -> Result<()> {
    let name = state::name_for(&a.id)?;
    state::ensure_root(&a.root)?;
    let dir = state::dir(&a.root, &a.id)?;
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(OciRunError::Exists(a.id.clone()))
        }
        Err(e) => return Err(OciRunError::io(&dir)(e)),
    }
    let r = create_in(a, &name);
    if r.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    r
}

fn create_in(a: &CreateArgs, name: &str) -> Result<()> {
    let t = translate(&a.bundle, name)?;
    let gate = state::gate(&a.root, &a.id)?;
    make_gate(&gate)?;
    let lxnest_dir = state::lxnest_dir(&a.root);
    let opts = StartOptions {
        state_dir: lxnest_dir.clone(),
        cgroup: crate::cgroup::CreateOptions {
            base: if t.cgroup_absolute {
                crate::cgroup::Base::MountRoot
            } else {
                crate::cgroup::Base::Own
            },
        },
        stdio: Some(stdio(&t, a.console_socket.as_deref())?),
        extras: Some(Arc::new(Extras {
            process: t.process.clone(),
            exec_gate: Some(gate),
        })),
        ..Default::default()
    };
    let grace = Duration::from_secs(10);
    crate::launch::monitor::start_detached_here(&t.plan, &opts, grace)?;
    let st = crate::launch::state::read(&lxnest_dir, name)?;
    let bundle = std::fs::canonicalize(&a.bundle).map_err(OciRunError::io(&a.bundle))?;
    let rootfs = match &t.plan.rootfs {
        crate::plan::model::RootfsPlan::Dir(d) => d.clone(),
        _ => String::new(),
    };
    let hooks = t.hooks.clone();
    let record = Record {
        id: a.id.clone(),
        name: name.into(),
        bundle: bundle.display().to_string(),
        rootfs,
        created: state::now_rfc3339(),
        annotations: t.annotations.clone(),
        pid: st.pid,
        pid_start: st.pid_start,
        monitor_pid: st.monitor_pid,
        poststart: hooks.poststart.clone(),
        poststop: hooks.poststop.clone(),
    };
    let done = state::write(&a.root, &record).and_then(|_| {
        let sj = state::state_json(&a.root, &record)?;
        super::hooks::run("prestart", &hooks.prestart, &sj)?;
        super::hooks::run("createRuntime", &hooks.create_runtime, &sj)?;
        match &a.pid_file {
            Some(p) => write_pid_file(p, st.monitor_pid),
            None => Ok(()),
        }
    });
    if done.is_err() {
        // The container exists and waits at its gate: take it down with everything.
        let _ = super::ops::force_stop(&a.root, &record);
    }
    done
}

/// Writes the pid file atomically (an engine may poll for it).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("lxnest-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(OciRunError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(OciRunError::io(path))
}
