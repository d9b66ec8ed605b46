//! What confines the container's init, read from its /proc/PID/status: the capability sets,
//! NO_NEW_PRIVS and the number of stacked seccomp filters. The attached process must end up with
//! the same (see docs/attach.md).

/// The confinement fields of a /proc/PID/status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitStatus {
    /// `CapInh`.
    pub cap_inh: u64,
    /// `CapPrm`.
    pub cap_prm: u64,
    /// `CapEff`.
    pub cap_eff: u64,
    /// `CapBnd`.
    pub cap_bnd: u64,
    /// `NoNewPrivs`.
    pub no_new_privs: bool,
    /// `Seccomp_filters` (0 when the kernel has no such line, before 5.9).
    pub seccomp_filters: u32,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.strip_prefix(':'))
        .map(str::trim)
}

fn hex(text: &str, key: &str) -> Option<u64> {
    u64::from_str_radix(field(text, key)?, 16).ok()
}

/// Parses the text of a /proc/PID/status; `None` when a capability line is missing.
pub fn parse(text: &str) -> Option<InitStatus> {
    Some(InitStatus {
        cap_inh: hex(text, "CapInh")?,
        cap_prm: hex(text, "CapPrm")?,
        cap_eff: hex(text, "CapEff")?,
        cap_bnd: hex(text, "CapBnd")?,
        no_new_privs: field(text, "NoNewPrivs").is_some_and(|v| v == "1"),
        seccomp_filters: field(text, "Seccomp_filters")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    })
}

/// Reads and parses /proc/`pid`/status.
pub fn read(pid: i32) -> std::io::Result<InitStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse(&text)
        .ok_or_else(|| std::io::Error::other(format!("/proc/{pid}/status: no capability lines")))
}

impl InitStatus {
    /// The bounding set an attached process gets. The init was exec'd as root, so its permitted
    /// set is its bounding set; when an init dropped more itself, the attached process takes
    /// the intersection, never more than the init holds.
    pub fn attach_bounding(&self) -> u64 {
        self.cap_bnd & (self.cap_prm | self.cap_inh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n\
CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n\
Seccomp:\t2\nSeccomp_filters:\t2\n";

    #[test]
    fn parses_caps_nnp_and_filters() {
        let s = parse(SAMPLE).expect("parse");
        assert_eq!(s.cap_eff, 0xa80425fb);
        assert_eq!(s.cap_bnd, 0xa80425fb);
        assert!(!s.no_new_privs);
        assert_eq!(s.seccomp_filters, 2);
        assert_eq!(s.attach_bounding(), 0xa80425fb);
        let dropped = InitStatus { cap_prm: 0x1, ..s };
        assert_eq!(dropped.attach_bounding(), 0x1);
        assert!(parse("Name:\tx\n").is_none());
        let me = read(std::process::id() as i32).expect("own status");
        assert!(me.cap_bnd != 0);
    }
}
