//! Everything the attaching processes need, gathered on the host before the fork: the target
//! and its pidfd, the cgroup files, the namespaces, the compiled seccomp filters of every level,
//! the Landlock rulesets, the init's capabilities, label and environment, and argv/envp.

use super::cgroup::{self, CgroupJoin};
use super::error::{step_err, AttachError, Result};
use super::options::AttachOptions;
use super::target::{self, Target};
use super::{caps, env, landlock, ns, status};
use crate::seccomp::bpf::sock_filter;
use ::landlock::RulesetCreated;
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// Where the attached process's stdio goes.
#[derive(Debug)]
pub enum StdioPlan {
    /// The caller's own stdin/stdout/stderr (pipes, files).
    Inherit,
    /// A new pseudo-terminal allocated on the host; the caller keeps the master and relays.
    Pty {
        /// The side the attached process gets.
        slave: OwnedFd,
    },
    /// Pipes the caller reads (capturing variant); stdin is /dev/null.
    Capture {
        /// /dev/null.
        null: OwnedFd,
        /// stdout's write end.
        out: OwnedFd,
        /// stderr's write end.
        err: OwnedFd,
    },
}

/// The prepared attach.
pub struct Prepared {
    /// The container, every level down to it.
    pub target: Target,
    /// Its path, for messages.
    pub name: String,
    /// Namespaces to join.
    pub ns: ns::NsJoin,
    /// cgroup.procs files to join (and `attach` leaves removed when this drops).
    pub cgroup: CgroupJoin,
    /// One compiled filter per level, outermost first.
    pub seccomp: Vec<Vec<sock_filter>>,
    /// Landlock rulesets, outermost first.
    pub landlock: Vec<RulesetCreated>,
    /// Bounding set of the attached process.
    pub bounding: u64,
    /// Inheritable set.
    pub inheritable: u64,
    /// Highest capability number of the kernel.
    pub last_cap: u8,
    /// Whether the init has NO_NEW_PRIVS.
    pub no_new_privs: bool,
    /// AppArmor label for exec, when the kernel has AppArmor and the init is confined.
    pub apparmor: Option<String>,
    /// argv.
    pub argv: Vec<CString>,
    /// envp.
    pub envp: Vec<CString>,
    /// PATH of the attached environment.
    pub path_var: String,
    /// Working directory in the container.
    pub cwd: CString,
    /// uid in the container.
    pub uid: u32,
    /// gid in the container.
    pub gid: u32,
    /// stdio.
    pub stdio: StdioPlan,
}

impl Prepared {
    /// argv[0] as text.
    pub fn argv0(&self) -> String {
        self.argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The label of `pid` without its mode suffix, when the kernel has AppArmor and it is confined.
fn apparmor_label(pid: i32) -> Option<String> {
    if !crate::apparmor::kernel::status().enabled {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/attr/apparmor/current"))
        .or_else(|_| std::fs::read_to_string(format!("/proc/{pid}/attr/current")))
        .ok()?;
    let label = text
        .trim()
        .trim_end_matches(')')
        .rsplit_once(" (")
        .map_or(text.trim(), |(l, _)| l)
        .to_string();
    (label != "unconfined" && !label.is_empty()).then_some(label)
}

/// The shell of `uid` in the container's /etc/passwd when it exists there, else `/bin/sh` (as
/// lxc-attach picks it).
fn login_shell(pid: i32, uid: u32) -> String {
    let passwd =
        super::inroot::read_in(pid, std::path::Path::new("/etc/passwd")).unwrap_or_default();
    let shell = shell_of(&passwd, uid);
    let exists = |p: &str| {
        super::inroot::root_of(pid)
            .and_then(|r| super::inroot::open_in_root(&r, std::path::Path::new(p), libc::O_PATH))
            .is_ok()
    };
    match shell {
        Some(s) if exists(&s) => s,
        _ => "/bin/sh".into(),
    }
}

/// The shell field of `uid`'s line in a passwd text.
pub fn shell_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() == 7 && f[2].parse() == Ok(uid) && f[6].starts_with('/')).then(|| f[6].to_string())
    })
}

fn cstrings(v: Vec<String>, name: &str) -> Result<Vec<CString>> {
    v.into_iter()
        .map(|s| {
            CString::new(s).map_err(|_| {
                AttachError::Usage(format!("{name}: a NUL byte in an argument or variable"))
            })
        })
        .collect()
}

/// Gathers everything for `opts`; `stdio` says where the command's stdio goes.
pub fn prepare(opts: &AttachOptions, stdio: StdioPlan) -> Result<Prepared> {
    let target = target::resolve(&opts.state_dir, &opts.name)?;
    let name = target.name();
    let own = target.own().clone();
    let pid = own.host_pid;

    // Pin the init with a pidfd, then make sure it is still the process the state names: from
    // here on a recycled pid cannot redirect the join.
    let pidfd = target::pidfd_open(pid).map_err(|e| AttachError::NotRunning {
        name: name.clone(),
        pid: own.state.pid,
        why: format!("is gone ({e})"),
    })?;
    target::check_alive(&own.state, pid, &name)?;
    let init = status::read(pid).map_err(step_err(&name, "status"))?;

    // One filter per level, outermost first, exactly as each level's launcher installed them.
    let mut seccomp = Vec::new();
    for level in &target.levels {
        seccomp.push(
            crate::seccomp::compile(&level.state.plan.seccomp.own)
                .map_err(step_err(&name, "seccomp"))?,
        );
    }
    let mine = crate::seccomp::filter_count().unwrap_or(0);
    let total = mine + seccomp.len() as u32;
    if total < init.seccomp_filters {
        return Err(AttachError::Weaker {
            name,
            message: format!(
                "its init has {} seccomp filters, the attached process would have {total} ({mine} of ours and {} from the plan)",
                init.seccomp_filters,
                seccomp.len()
            ),
        });
    }
    let landlock = landlock::prepare(&target.levels).map_err(step_err(&name, "landlock"))?;

    let init_env = std::fs::read(format!("/proc/{pid}/environ"))
        .map(|b| env::parse_environ(&b))
        .unwrap_or_else(|_| own.state.plan.init.environment.clone());
    let envv = env::build(&init_env, std::env::vars(), &opts.env);
    let path_var = envv
        .iter()
        .find_map(|e| e.strip_prefix("PATH=").map(String::from))
        .unwrap_or_else(|| crate::launch::child::DEFAULT_PATH.into());
    let command = if opts.command.is_empty() {
        vec![login_shell(pid, opts.uid.unwrap_or(0))]
    } else {
        opts.command.clone()
    };
    let argv = cstrings(command, &name)?;
    let envp = cstrings(envv, &name)?;
    let cwd = CString::new(opts.cwd.clone().unwrap_or_else(|| "/".into()))
        .map_err(|_| AttachError::Usage("--cwd: a NUL byte".into()))?;

    let ns = ns::prepare(pid, pidfd).map_err(step_err(&name, "setns"))?;
    // Last: it may create an `attach` leaf, which the returned value removes again on drop.
    let cgroup = cgroup::prepare(&own).map_err(step_err(&name, "cgroup"))?;
    Ok(Prepared {
        name,
        ns,
        cgroup,
        seccomp,
        landlock,
        bounding: init.attach_bounding(),
        inheritable: init.cap_inh,
        last_cap: caps::last_cap(),
        no_new_privs: init.no_new_privs,
        apparmor: apparmor_label(pid),
        argv,
        envp,
        path_var,
        cwd,
        uid: opts.uid.unwrap_or(0),
        gid: opts.gid.unwrap_or(0),
        stdio,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_from_passwd() {
        let p = "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/zsh\nbad:x:7\n";
        assert_eq!(shell_of(p, 0).as_deref(), Some("/bin/bash"));
        assert_eq!(shell_of(p, 1000).as_deref(), Some("/bin/zsh"));
        assert_eq!(shell_of(p, 7), None);
        assert_eq!(shell_of(p, 5), None);
    }
}
