//! libseccomp 2.5.4 through its C API (Debian's libseccomp-dev), for the differential tests.
//! Rules are added per arch context and merged, as LXC does; the program comes back through
//! `seccomp_export_bpf` into a temporary file.

use super::cbpf::Insn;
use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;

/// `struct scmp_arg_cmp`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ArgCmp {
    pub arg: c_uint,
    pub op: c_int,
    pub datum_a: u64,
    pub datum_b: u64,
}

#[link(name = "seccomp")]
extern "C" {
    fn seccomp_init(def_action: u32) -> *mut c_void;
    fn seccomp_release(ctx: *mut c_void);
    fn seccomp_arch_add(ctx: *mut c_void, arch: u32) -> c_int;
    fn seccomp_arch_remove(ctx: *mut c_void, arch: u32) -> c_int;
    fn seccomp_syscall_resolve_name(name: *const c_char) -> c_int;
    fn seccomp_syscall_resolve_name_arch(arch: u32, name: *const c_char) -> c_int;
    fn seccomp_syscall_resolve_num_arch(arch: u32, num: c_int) -> *mut c_char;
    fn seccomp_rule_add_array(
        ctx: *mut c_void,
        action: u32,
        syscall: c_int,
        arg_cnt: c_uint,
        args: *const ArgCmp,
    ) -> c_int;
    fn seccomp_merge(dst: *mut c_void, src: *mut c_void) -> c_int;
    fn seccomp_export_bpf(ctx: *const c_void, fd: c_int) -> c_int;
}

extern "C" {
    fn free(p: *mut c_void);
}

pub const ARCH_X86_64: u32 = 0xc000_003e;
pub const ARCH_X86: u32 = 0x4000_0003;
pub const ARCH_X32: u32 = 0x4000_003e;

pub const ACT_KILL_PROCESS: u32 = 0x8000_0000;
pub const ACT_KILL_THREAD: u32 = 0;
pub const ACT_TRAP: u32 = 0x0003_0000;
pub const ACT_NOTIFY: u32 = 0x7fc0_0000;
pub const ACT_LOG: u32 = 0x7ffc_0000;
pub const ACT_ALLOW: u32 = 0x7fff_0000;
pub fn act_errno(n: u32) -> u32 {
    0x0005_0000 | (n & 0xffff)
}
pub fn act_trace(n: u32) -> u32 {
    0x7ff0_0000 | (n & 0xffff)
}

/// `enum scmp_compare`.
pub const CMP_NE: c_int = 1;
pub const CMP_LT: c_int = 2;
pub const CMP_LE: c_int = 3;
pub const CMP_EQ: c_int = 4;
pub const CMP_GE: c_int = 5;
pub const CMP_GT: c_int = 6;
pub const CMP_MASKED_EQ: c_int = 7;

/// One rule as libseccomp takes it.
#[derive(Debug, Clone)]
pub struct ScmpRule {
    pub name: String,
    pub action: u32,
    pub args: Vec<ArgCmp>,
    /// Arch tokens the rule is added for.
    pub arches: Vec<u32>,
    /// Where it came from, for messages.
    pub at: String,
}

/// A libseccomp context (one per arch while building).
struct Ctx(*mut c_void);

impl Drop for Ctx {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a context from seccomp_init, released once (merge nulls it out).
            unsafe { seccomp_release(self.0) }
        }
    }
}

fn ctx_for(arch: u32, default: u32) -> Result<Ctx, String> {
    // SAFETY: plain call; a null return is handled.
    let ctx = Ctx(unsafe { seccomp_init(default) });
    if ctx.0.is_null() {
        return Err(format!("seccomp_init({default:#x}) failed"));
    }
    if arch != ARCH_X86_64 {
        // SAFETY: ctx is valid; the arch tokens are libseccomp's.
        let rc = unsafe { seccomp_arch_add(ctx.0, arch) };
        // SAFETY: as above.
        let rc2 = unsafe { seccomp_arch_remove(ctx.0, ARCH_X86_64) };
        if rc != 0 || rc2 != 0 {
            return Err(format!("arch {arch:#x}: {rc} {rc2}"));
        }
    }
    Ok(ctx)
}

/// libseccomp's number for `name` (native or pseudo), `None` when it does not know the name.
pub fn resolve(name: &str) -> Option<c_int> {
    let c = CString::new(name).ok()?;
    // SAFETY: a valid C string.
    let nr = unsafe { seccomp_syscall_resolve_name(c.as_ptr()) };
    (nr != -1).then_some(nr)
}

/// libseccomp's number for `name` on `arch` (negative: a pseudo number, not a real call).
pub fn resolve_on(arch: u32, name: &str) -> c_int {
    let c = CString::new(name).unwrap_or_default();
    // SAFETY: a valid C string.
    unsafe { seccomp_syscall_resolve_name_arch(arch, c.as_ptr()) }
}

/// libseccomp's name for `num` on `arch`.
pub fn name_of(arch: u32, num: c_int) -> Option<String> {
    // SAFETY: returns a malloc'd string or null.
    let p = unsafe { seccomp_syscall_resolve_num_arch(arch, num) };
    if p.is_null() {
        return None;
    }
    // SAFETY: p is a NUL-terminated string from libseccomp; freed once below.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: allocated by libseccomp with malloc.
    unsafe { free(p.cast()) };
    Some(s)
}

/// A compiled filter and the names libseccomp does not know (LXC logs and skips those rules).
pub struct Compiled {
    pub prog: Vec<Insn>,
    pub unknown: Vec<String>,
}

/// Build the filter for x86_64 + x86 + x32 from `rules`, as LXC does.
pub fn compile(default: u32, rules: &[ScmpRule]) -> Result<Compiled, Vec<String>> {
    compile_for(&[ARCH_X86_64, ARCH_X86, ARCH_X32], default, rules)
}

/// Build the filter for `arches` (x86_64 first) from `rules`; errors name each refused rule.
pub fn compile_for(
    arches: &[u32],
    default: u32,
    rules: &[ScmpRule],
) -> Result<Compiled, Vec<String>> {
    let mut refused = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut ctxs = Vec::new();
    for &arch in arches {
        let ctx = ctx_for(arch, default).map_err(|e| vec![e])?;
        for r in rules.iter().filter(|r| r.arches.contains(&arch)) {
            let Some(nr) = resolve(&r.name) else {
                if !unknown.contains(&r.name) {
                    unknown.push(r.name.clone());
                }
                continue;
            };
            // SAFETY: ctx is valid; args points to args.len() initialised structs.
            let rc = unsafe {
                seccomp_rule_add_array(ctx.0, r.action, nr, r.args.len() as c_uint, r.args.as_ptr())
            };
            if rc != 0 {
                refused.push(format!(
                    "{}: arch {arch:#x}: {} refused: {rc}",
                    r.at, r.name
                ));
            }
        }
        ctxs.push(ctx);
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    let mut it = ctxs.into_iter();
    let main = it.next().ok_or_else(|| vec!["no context".to_string()])?;
    for mut other in it {
        // SAFETY: both valid; on success libseccomp frees `other`.
        let rc = unsafe { seccomp_merge(main.0, other.0) };
        if rc != 0 {
            return Err(vec![format!("seccomp_merge: {rc}")]);
        }
        other.0 = std::ptr::null_mut();
    }
    let prog = export(&main).map_err(|e| vec![e])?;
    Ok(Compiled { prog, unknown })
}

fn export(ctx: &Ctx) -> Result<Vec<Insn>, String> {
    let mut f = tempfile::tempfile().map_err(|e| e.to_string())?;
    // SAFETY: ctx is valid, the fd is open for writing.
    let rc = unsafe { seccomp_export_bpf(ctx.0, f.as_raw_fd()) };
    if rc != 0 {
        return Err(format!("seccomp_export_bpf: {rc}"));
    }
    let mut bytes = Vec::new();
    f.rewind().map_err(|e| e.to_string())?;
    f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}
