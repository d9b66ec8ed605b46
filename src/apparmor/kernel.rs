//! The kernel side: what AppArmor this kernel has, loading and removing profiles (in a policy
//! namespace when asked), and changing the label a process gets at its next exec.
//!
//! Loading compiles with `apparmor_parser` (the only complete compiler of the policy language);
//! label changes and profile removal go through libapparmor, opened at run time by
//! [`apparmor_sys::load`], so lxnest runs where neither is installed and reports why.

use super::error::AppArmorError;
use std::ffi::{CStr, CString};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const ENABLED_PARAM: &str = "/sys/module/apparmor/parameters/enabled";
const SECURITYFS: &str = "/sys/kernel/security/apparmor";

/// What AppArmor this kernel offers, read from sysfs and securityfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// AppArmor is built in and enabled (`/sys/module/apparmor/parameters/enabled` is `Y`).
    pub enabled: bool,
    /// The AppArmor filesystem, when securityfs is mounted and shows it.
    pub securityfs: Option<PathBuf>,
    /// Label stacking (`features/domain/stack`, domain version 1.2 or later, as LXC checks).
    pub stacking: bool,
    /// Policy namespaces (`features/namespaces/profile`).
    pub namespaces: bool,
    /// Mount rules are enforced (`features/mount/mask`); without it they are ignored.
    pub mount_mediation: bool,
    /// The label of the calling process, when the kernel reports one.
    pub current_label: Option<String>,
    /// libapparmor.so.1 could be loaded.
    pub library: bool,
    /// Why AppArmor cannot be used, when it cannot.
    pub reason: Option<String>,
}

/// Reads the AppArmor status of the running kernel.
pub fn status() -> Status {
    let mut st = status_from(Path::new(ENABLED_PARAM), Path::new(SECURITYFS));
    st.current_label = read_current_label();
    st.library = library().is_ok();
    st
}

/// [`status`] from explicit paths (the sysfs parameter and the AppArmor securityfs directory).
fn status_from(enabled_param: &Path, securityfs: &Path) -> Status {
    let enabled = std::fs::read_to_string(enabled_param).map(|s| s.trim() == "Y");
    let fs = securityfs
        .join("features")
        .is_dir()
        .then(|| securityfs.to_path_buf());
    let feature = |rel: &str| {
        fs.as_ref()
            .and_then(|f| std::fs::read_to_string(f.join("features").join(rel)).ok())
    };
    let yes = |rel: &str| feature(rel).is_some_and(|v| v.trim() == "yes");
    let version_ok = feature("domain/version")
        .and_then(|v| {
            let (maj, min) = v.trim().split_once('.')?;
            Some((maj.parse::<u32>().ok()?, min.parse::<u32>().ok()?))
        })
        .is_some_and(|(maj, min)| maj > 1 || (maj == 1 && min >= 2));
    let mount_mediation = fs
        .as_ref()
        .is_some_and(|f| f.join("features/mount/mask").exists());
    let reason = match (&enabled, &fs) {
        (Err(e), _) if e.kind() == io::ErrorKind::NotFound => Some(format!(
            "{ENABLED_PARAM} is absent: AppArmor is not built into this kernel"
        )),
        (Err(e), _) => Some(format!("cannot read {ENABLED_PARAM}: {e}")),
        (Ok(false), _) => Some(
            "AppArmor is built in but disabled (boot with apparmor=1 security=apparmor)".into(),
        ),
        (Ok(true), None) => Some(format!(
            "{} is not available (securityfs not mounted?)",
            securityfs.display()
        )),
        (Ok(true), Some(_)) => None,
    };
    Status {
        enabled: matches!(enabled, Ok(true)),
        stacking: yes("domain/stack") && version_ok,
        namespaces: yes("namespaces/profile"),
        mount_mediation,
        securityfs: fs,
        current_label: None,
        library: false,
        reason,
    }
}

/// The calling process's label from procfs (`attr/apparmor/current`, else the legacy `attr/current`).
fn read_current_label() -> Option<String> {
    [
        "/proc/thread-self/attr/apparmor/current",
        "/proc/thread-self/attr/current",
    ]
    .iter()
    .find_map(|p| {
        let s = std::fs::read_to_string(p).ok()?;
        let s = s.trim_end_matches(['\n', '\0']).trim();
        (!s.is_empty()).then(|| s.to_string())
    })
}

/// Whether the AppArmor module is enabled (`/sys/module/apparmor/parameters/enabled` is `Y`),
/// whether or not securityfs is mounted where the caller looks.
pub fn module_enabled() -> bool {
    std::fs::read_to_string(ENABLED_PARAM).is_ok_and(|v| v.trim() == "Y")
}

/// The status if AppArmor can be used, else [`AppArmorError::NotEnabled`].
fn require_enabled() -> Result<Status, AppArmorError> {
    let st = status();
    match (&st.reason, st.enabled) {
        (None, true) => Ok(st),
        (reason, _) => Err(AppArmorError::NotEnabled {
            reason: reason.clone().unwrap_or_else(|| "unknown".into()),
        }),
    }
}

fn library() -> Result<&'static apparmor_sys::LibAppArmor, AppArmorError> {
    static LIB: OnceLock<Result<apparmor_sys::LibAppArmor, String>> = OnceLock::new();
    LIB.get_or_init(|| apparmor_sys::load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppArmorError::Library(e.clone()))
}

/// Whether libapparmor itself says AppArmor is enabled (`aa_is_enabled`).
pub fn library_says_enabled() -> Result<bool, AppArmorError> {
    let lib = library()?;
    // SAFETY: aa_is_enabled takes no arguments; it reads sysfs/securityfs and sets errno.
    Ok(unsafe { lib.aa_is_enabled() } == 1)
}

fn cstring(arg: &str, call: &'static str) -> Result<CString, AppArmorError> {
    CString::new(arg).map_err(|_| AppArmorError::Call {
        call,
        arg: arg.to_string(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "contains a NUL byte"),
    })
}

/// Writes `COMMAND LABEL` to the calling thread's own `exec` attribute, as one write.
///
/// Through `/proc/thread-self`, which the kernel resolves to the caller whatever pid namespace
/// the procfs belongs to: libapparmor builds `/proc/<tid>/...` from the thread id, which in a
/// nested container's first process can name another task (the kernel then answers EACCES).
/// Only the module parameter is checked first, not securityfs: this runs in a container's
/// mount namespace, where securityfs is not mounted but the read-only sysfs shows the parameter.
fn write_exec_attr(call: &'static str, command: &str, label: &str) -> Result<(), AppArmorError> {
    if !module_enabled() {
        return Err(AppArmorError::NotEnabled {
            reason: format!("{ENABLED_PARAM} is not Y: AppArmor is not enabled in this kernel"),
        });
    }
    let err = |source: io::Error| AppArmorError::Call {
        call,
        arg: label.to_string(),
        source,
    };
    if label.contains(['\0', '\n']) {
        return Err(err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "contains a NUL byte or a newline",
        )));
    }
    // The LSM-specific file (5.x and later, where several LSMs have attributes), else the
    // shared one of older kernels.
    let mut tried = Vec::new();
    let mut file = None;
    for p in [
        "/proc/thread-self/attr/apparmor/exec",
        "/proc/thread-self/attr/exec",
    ] {
        match std::fs::OpenOptions::new().write(true).open(p) {
            Ok(f) => {
                file = Some(f);
                break;
            }
            Err(e) => tried.push(format!("open {p}: {e}")),
        }
    }
    let file = file.ok_or_else(|| err(io::Error::other(tried.join("; "))))?;
    // The kernel takes the command from exactly one write.
    let text = format!("{command} {label}");
    let n = (&file).write(text.as_bytes()).map_err(err)?;
    if n != text.len() {
        return Err(err(io::Error::new(io::ErrorKind::WriteZero, "short write")));
    }
    Ok(())
}

/// Makes the next `execve` of the calling thread switch to `label` (for a level-1 container:
/// its stacked label `lxnest-X//&:lxnest-X:`). Call it in the child right before exec.
pub fn change_onexec(label: &str) -> Result<(), AppArmorError> {
    write_exec_attr("change_onexec", "exec", label)
}

/// Makes the next `execve` of the calling thread stack `label` onto its current label.
pub fn stack_onexec(label: &str) -> Result<(), AppArmorError> {
    write_exec_attr("stack_onexec", "stack", label)
}

/// The calling task's label and mode, through libapparmor (`aa_getcon`).
pub fn current_label() -> Result<(String, Option<String>), AppArmorError> {
    require_enabled()?;
    let lib = library()?;
    let mut label: *mut std::os::raw::c_char = std::ptr::null_mut();
    let mut mode: *mut std::os::raw::c_char = std::ptr::null_mut();
    // SAFETY: both out-pointers are valid; on success libapparmor stores one malloc'd buffer
    // in `label`, with `mode` pointing into the same buffer (or NULL).
    let rc = unsafe { lib.aa_getcon(&mut label, &mut mode) };
    if rc < 0 || label.is_null() {
        return Err(AppArmorError::Call {
            call: "aa_getcon",
            arg: String::new(),
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: on success both are NUL-terminated strings inside the buffer we free just after.
    let out = unsafe {
        let l = CStr::from_ptr(label).to_string_lossy().into_owned();
        let m = (!mode.is_null()).then(|| CStr::from_ptr(mode).to_string_lossy().into_owned());
        libc::free(label.cast());
        (l, m)
    };
    Ok(out)
}

/// Creates policy namespace `ns` below the caller's view (idempotent).
pub fn create_namespace(ns: &str) -> Result<(), AppArmorError> {
    let st = require_enabled()?;
    check_ns(ns)?;
    if !st.namespaces {
        return Err(AppArmorError::NotEnabled {
            reason: "this kernel has no AppArmor policy namespaces".into(),
        });
    }
    let fs = st.securityfs.unwrap_or_else(|| PathBuf::from(SECURITYFS));
    let path = fs.join("policy/namespaces").join(ns);
    match std::fs::create_dir(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(AppArmorError::Io {
            op: "create policy namespace",
            path,
            source,
        }),
    }
}

/// Removes policy namespace `ns` and every profile in it.
pub fn remove_namespace(ns: &str) -> Result<(), AppArmorError> {
    let st = require_enabled()?;
    check_ns(ns)?;
    let fs = st.securityfs.unwrap_or_else(|| PathBuf::from(SECURITYFS));
    let path = fs.join("policy/namespaces").join(ns);
    match std::fs::remove_dir(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AppArmorError::Io {
            op: "remove policy namespace",
            path,
            source,
        }),
    }
}

fn check_ns(ns: &str) -> Result<(), AppArmorError> {
    let ok = !ns.is_empty()
        && ns.len() <= 255
        && ns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AppArmorError::InvalidName {
            what: "namespace",
            value: ns.to_string(),
            reason: "only letters, digits, '.', '_' and '-'",
        })
    }
}

/// Compiles `profile_text` with `apparmor_parser` and loads it, replacing a loaded profile of
/// the same name, into `namespace` (created if missing) or the caller's own namespace.
/// Namespaces are relative to the caller's view: a level-1 lxnest passes `None` for its
/// children, whose namespace it sees as its root.
pub fn load(namespace: Option<&str>, profile_text: &str) -> Result<(), AppArmorError> {
    require_enabled()?;
    let mut args: Vec<String> = vec!["--replace".into(), "--skip-cache".into(), "--quiet".into()];
    if let Some(ns) = namespace {
        create_namespace(ns)?;
        args.push("--namespace".into());
        args.push(ns.into());
    }
    run_parser(&args, profile_text)
}

fn run_parser(args: &[String], text: &str) -> Result<(), AppArmorError> {
    let profile = profile_name(text).unwrap_or_else(|| "<unnamed>".into());
    let mut child = Command::new("apparmor_parser")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                AppArmorError::ParserMissing(e)
            } else {
                io_err("run apparmor_parser", e)
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A parser that exits early closes the pipe; its stderr then says why.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| io_err("wait for apparmor_parser", e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(AppArmorError::Parser {
        profile,
        args: args.join(" "),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

fn io_err(op: &'static str, source: io::Error) -> AppArmorError {
    AppArmorError::Io {
        op,
        path: PathBuf::from("apparmor_parser"),
        source,
    }
}

/// The name after `profile` in a rendered profile.
fn profile_name(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("profile ")?
            .split_whitespace()
            .next()
            .map(String::from)
    })
}

/// Removes profile `name` from `namespace` (or the caller's own namespace) through
/// libapparmor's kernel interface.
pub fn unload(namespace: Option<&str>, name: &str) -> Result<(), AppArmorError> {
    require_enabled()?;
    let lib = library()?;
    let fqname = match namespace {
        Some(ns) => {
            check_ns(ns)?;
            format!(":{ns}:{name}")
        }
        None => name.to_string(),
    };
    let c = cstring(&fqname, "aa_kernel_interface_remove_policy")?;
    let mut ki: *mut apparmor_sys::aa_kernel_interface = std::ptr::null_mut();
    // SAFETY: `ki` is a valid out-pointer; NULL features and NULL apparmorfs ask libapparmor
    // to read the kernel's features and find securityfs itself.
    let rc =
        unsafe { lib.aa_kernel_interface_new(&mut ki, std::ptr::null_mut(), std::ptr::null()) };
    if rc < 0 || ki.is_null() {
        return Err(AppArmorError::Call {
            call: "aa_kernel_interface_new",
            arg: fqname,
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: `ki` is the live interface created above and `c` a valid string; the interface
    // is released exactly once right after, whatever the result.
    let (rc, err) = unsafe {
        let rc = lib.aa_kernel_interface_remove_policy(ki, c.as_ptr());
        let err = io::Error::last_os_error();
        lib.aa_kernel_interface_unref(ki);
        (rc, err)
    };
    if rc < 0 {
        return Err(AppArmorError::Call {
            call: "aa_kernel_interface_remove_policy",
            arg: fqname,
            source: err,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_from_a_kernel_without_apparmor() {
        let dir = tempfile::tempdir().unwrap();
        let st = status_from(&dir.path().join("enabled"), &dir.path().join("apparmor"));
        assert!(!st.enabled && !st.stacking && !st.namespaces);
        assert!(st.reason.unwrap().contains("not built into this kernel"));
    }

    #[test]
    fn status_from_a_stacking_kernel_layout() {
        let dir = tempfile::tempdir().unwrap();
        let param = dir.path().join("enabled");
        std::fs::write(&param, "Y\n").unwrap();
        let fs = dir.path().join("apparmor");
        for (rel, val) in [
            ("domain/stack", "yes\n"),
            ("domain/version", "1.2\n"),
            ("namespaces/profile", "yes\n"),
            ("mount/mask", "mount umount\n"),
        ] {
            let p = fs.join("features").join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, val).unwrap();
        }
        let st = status_from(&param, &fs);
        assert!(
            st.enabled && st.stacking && st.namespaces && st.mount_mediation,
            "{st:?}"
        );
        assert_eq!(st.reason, None);
        std::fs::write(fs.join("features/domain/version"), "1.1\n").unwrap();
        assert!(
            !status_from(&param, &fs).stacking,
            "stacking needs domain version 1.2"
        );
        std::fs::write(&param, "N\n").unwrap();
        assert!(status_from(&param, &fs)
            .reason
            .unwrap()
            .contains("disabled"));
    }

    #[test]
    fn profile_name_is_found() {
        assert_eq!(
            profile_name("# x\nprofile lxnest-a flags=(x) {\n}\n").as_deref(),
            Some("lxnest-a")
        );
    }
}
