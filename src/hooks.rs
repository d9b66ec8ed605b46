//! Hooks, as LXC runs them: each entry is a command line run through `/bin/sh -c`, with the
//! container name, `lxc` and the hook type appended as arguments (`HOOK NAME lxc pre-start`) and
//! LXC's environment (`LXC_NAME`, `LXC_CONFIG_FILE`, `LXC_ROOTFS_MOUNT`, `LXC_ROOTFS_PATH`,
//! `LXC_HOOK_TYPE`, `LXC_HOOK_SECTION`, `LXC_PID` once there is one). A hook that exits non-zero
//! fails its step: a failing pre-start hook aborts the start, which then cleans up.
//!
//! Where each type runs (see docs/hooks.md): `pre-start`, `stop` and `post-stop` on the host;
//! `pre-mount`, `mount` and `autodev` in the container's mount namespace before pivot_root;
//! `start` inside the container just before its first process.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use thiserror::Error;

/// What the hook's process does between fork and exec (confinement for hooks that run inside
/// the container: the container's seccomp filter). It must only make system calls.
pub type PreExec = Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>;

pub use crate::spec::hook::{HookKind, Hooks};

/// A hook failed.
#[derive(Debug, Error)]
pub enum HookError {
    /// It could not be started.
    #[error("container {container}: {kind} hook `{command}` could not run: {source}")]
    Spawn {
        /// Container.
        container: String,
        /// Hook type.
        kind: String,
        /// Command line.
        command: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A hook that runs on the host names a file of the container's tree, which the container
    /// controls: the host would run the container's code with the host's privileges.
    #[error("container {container}: {kind} hook `{command}` runs {path}, which is inside the container's tree; {kind} hooks run on the host and must be host files (see docs/hooks.md)")]
    InTree {
        /// Container.
        container: String,
        /// Hook type.
        kind: String,
        /// Command line.
        command: String,
        /// The file, resolved on the host.
        path: String,
    },
    /// It exited non-zero or was killed.
    #[error("container {container}: {kind} hook `{command}` failed ({status}){stderr}")]
    Failed {
        /// Container.
        container: String,
        /// Hook type.
        kind: String,
        /// Command line.
        command: String,
        /// Exit status.
        status: String,
        /// Its standard error, if any, indented.
        stderr: String,
    },
}

/// What a hook is told about the container.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    /// Container name (path for nested containers).
    pub name: String,
    /// The spec or LXC config the container came from.
    pub config_file: String,
    /// Where the rootfs is mounted while the container is set up (host view).
    pub rootfs_mount: PathBuf,
    /// The rootfs source (`dir:` path, unpacked tarball, or the built-in tree).
    pub rootfs_path: PathBuf,
    /// The container init's pid, once it exists.
    pub pid: Option<i32>,
    /// The per-container shared mount directory (OpenVZ style): what is mounted there appears
    /// under the container's root.
    pub mount_dir: Option<PathBuf>,
    /// Extra variables (the container's environment is not passed to host-side hooks).
    pub extra: BTreeMap<String, String>,
}

impl HookEnv {
    fn vars(&self, kind: HookKind) -> Vec<(String, String)> {
        let mut v = vec![
            ("LXC_NAME".to_string(), self.name.clone()),
            ("LXC_CONFIG_FILE".into(), self.config_file.clone()),
            (
                "LXC_ROOTFS_MOUNT".into(),
                self.rootfs_mount.display().to_string(),
            ),
            (
                "LXC_ROOTFS_PATH".into(),
                self.rootfs_path.display().to_string(),
            ),
            ("LXC_HOOK_TYPE".into(), kind.to_string()),
            ("LXC_HOOK_SECTION".into(), "lxc".into()),
            ("LXC_CGNS_AWARE".into(), "1".into()),
        ];
        if let Some(pid) = self.pid {
            v.push(("LXC_PID".into(), pid.to_string()));
        }
        if let Some(d) = &self.mount_dir {
            v.push(("LXNEST_MOUNT_DIR".into(), d.display().to_string()));
        }
        if kind == HookKind::Stop {
            v.push(("LXC_TARGET".into(), "stop".into()));
        }
        v.extend(self.extra.iter().map(|(k, x)| (k.clone(), x.clone())));
        v
    }
}

/// Run every hook of `kind` from `hooks` (the plan's), in order; stop at the first failure.
pub fn run(hooks: &Hooks, kind: HookKind, env: &HookEnv) -> Result<(), HookError> {
    run_with(hooks, kind, env, None)
}

/// [`run`], with `pre_exec` run in each hook's process just before its exec.
pub fn run_with(
    hooks: &Hooks,
    kind: HookKind,
    env: &HookEnv,
    pre_exec: Option<PreExec>,
) -> Result<(), HookError> {
    for command in hooks.get(kind) {
        run_one(command, kind, env, pre_exec.clone())?;
    }
    Ok(())
}

/// The shell text run for a hook. A one-line command gets `"$@"` appended, so NAME lxc TYPE
/// become its arguments as LXC gives them to hook scripts. A multi-line script, or a line ending
/// in `;`, `&` or `|`, is run as it is (the arguments are still `$1`..`$3`): appended, `"$@"` would
/// be a command of its own and run the container's name.
fn script(command: &str) -> String {
    let t = command.trim_end();
    if t.contains('\n') || t.ends_with([';', '&', '|']) {
        command.to_string()
    } else {
        format!("{t} \"$@\"")
    }
}

fn run_one(
    command: &str,
    kind: HookKind,
    env: &HookEnv,
    pre_exec: Option<PreExec>,
) -> Result<(), HookError> {
    let script = script(command);
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&script)
        .arg("lxnest-hook")
        .args([env.name.as_str(), "lxc", kind.as_str()])
        .envs(env.vars(kind))
        .stdin(std::process::Stdio::null());
    if let Some(f) = pre_exec {
        // SAFETY: the closure only makes system calls on memory prepared before the fork (a
        // compiled filter), which is what is allowed between fork and exec.
        unsafe {
            cmd.pre_exec(move || f());
        }
    }
    let out = cmd.output().map_err(|source| HookError::Spawn {
        container: env.name.clone(),
        kind: kind.to_string(),
        command: command.into(),
        source,
    })?;
    // A hook's own output is the user's: pass it on.
    use std::io::Write;
    let _ = std::io::stdout().write_all(&out.stdout);
    if out.status.success() {
        let _ = std::io::stderr().write_all(&out.stderr);
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let stderr = if text.trim().is_empty() {
        String::new()
    } else {
        format!("\n    {}", text.trim().replace('\n', "\n    "))
    };
    Err(HookError::Failed {
        container: env.name.clone(),
        kind: kind.to_string(),
        command: command.into(),
        status: out.status.to_string(),
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_trailing_separators_never_run_the_arguments() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let env = HookEnv {
            name: "web1".into(),
            ..Default::default()
        };
        for cmd in [
            format!("echo one > {o}\necho \"$1 $3\" >> {o}\n", o = out.display()),
            format!("echo one \"$1\" > {o};", o = out.display()),
            format!("echo one \"$1\" > {o} &", o = out.display()),
        ] {
            let _ = std::fs::remove_file(&out);
            run(&hooks(HookKind::Start, &[&cmd]), HookKind::Start, &env)
                .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
            // The background job of the `&` form may still be writing.
            for _ in 0..50 {
                if std::fs::read_to_string(&out).is_ok_and(|t| !t.is_empty()) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(text.starts_with("one"), "{cmd:?}: {text:?}");
        }
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, "one web1\n");
    }

    fn hooks(kind: HookKind, cmds: &[&str]) -> Hooks {
        Hooks(BTreeMap::from([(
            kind,
            cmds.iter().map(|s| s.to_string()).collect(),
        )]))
    }

    #[test]
    fn lxc_arguments_and_environment_reach_the_hook() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let env = HookEnv {
            name: "web1".into(),
            config_file: "/etc/web1.conf".into(),
            pid: Some(42),
            ..Default::default()
        };
        let cmd = format!("printf '%s|%s|%s|%s' \"$LXC_NAME\" \"$LXC_HOOK_TYPE\" \"$LXC_PID\" \"$LXC_CONFIG_FILE\" > {}; echo", out.display());
        run(
            &hooks(HookKind::PreStart, &[&cmd]),
            HookKind::PreStart,
            &env,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "web1|pre-start|42|/etc/web1.conf"
        );
        let args = d.path().join("args");
        let script = d.path().join("hook.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$@\" > {}\n", args.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        run(
            &hooks(HookKind::Stop, &[script.to_str().unwrap()]),
            HookKind::Stop,
            &env,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&args).unwrap(),
            "web1 lxc stop\n",
            "LXC's argument convention"
        );
    }

    #[test]
    fn a_failing_hook_stops_the_sequence_and_says_why() {
        let d = tempfile::tempdir().unwrap();
        let marker = d.path().join("second");
        let h = hooks(
            HookKind::PreStart,
            &[
                "echo no disk >&2; exit 3",
                &format!("touch {}", marker.display()),
            ],
        );
        let err = run(
            &h,
            HookKind::PreStart,
            &HookEnv {
                name: "c".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("pre-start hook")
                && msg.contains("exit status: 3")
                && msg.contains("no disk"),
            "{msg}"
        );
        assert!(!marker.exists(), "later hooks do not run");
    }

    #[test]
    fn other_types_are_not_run() {
        let h = hooks(HookKind::PostStop, &["exit 1"]);
        assert!(run(&h, HookKind::PreStart, &HookEnv::default()).is_ok());
    }

    /// OpenVZ's DNS settings become start hooks (`lxnest import-openvz`); the hook runs for real (through the same runner as
    /// every hook, with LXC's appended arguments), writing to a file of the test's instead of /etc/resolv.conf.
    #[test]
    fn dns_values_are_written_literally_never_run() {
        let d = tempfile::tempdir().unwrap();
        let marker = d.path().join("ran");
        let mut s = crate::openvz::parse::Settings::new();
        let conf = format!(
            "NAMESERVER=\"192.0.2.53 'x' $(touch {m})\"\nSEARCHDOMAIN=\"a$(touch {m})b `touch {m}` 'q' ;x\"\n",
            m = marker.display()
        );
        crate::openvz::parse::parse_into(&conf, "101.conf", "101", &mut s).unwrap();
        let (c, _) = crate::openvz::map::map("101", &s, "101.conf");
        let resolv = d.path().join("resolv.conf");
        let hooks: Vec<String> = c
            .hooks
            .get(HookKind::Start)
            .iter()
            .map(|h| h.replace("/etc/resolv.conf", &resolv.display().to_string()))
            .collect();
        assert_eq!(hooks.len(), 2);
        let map =
            crate::spec::model::Hooks(std::collections::BTreeMap::from([(HookKind::Start, hooks)]));
        let env = HookEnv {
            name: "web1".into(),
            ..Default::default()
        };
        run(&map, HookKind::Start, &env).unwrap();
        let text = std::fs::read_to_string(&resolv).unwrap();
        let want = format!(
            "nameserver 192.0.2.53\nnameserver 'x'\nnameserver $(touch\nnameserver {m})\nsearch a$(touch {m})b `touch {m}` 'q' ;x\n",
            m = marker.display()
        );
        assert_eq!(text, want);
        assert!(!marker.exists(), "a value was run as a command");
    }
}
