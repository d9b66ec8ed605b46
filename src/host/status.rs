//! /proc/self/status: seccomp state, no_new_privs and capability masks.

/// The fields of /proc/<pid>/status that check reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Status {
    /// `Seccomp:` 0 disabled, 1 strict, 2 filter.
    pub seccomp_mode: Option<u32>,
    /// `Seccomp_filters:` number of stacked filters (Linux >= 5.9).
    pub seccomp_filters: Option<u32>,
    /// `NoNewPrivs:`.
    pub no_new_privs: Option<bool>,
    /// `CapEff:`.
    pub cap_eff: Option<u64>,
    /// `CapBnd:`.
    pub cap_bnd: Option<u64>,
}

/// Parses a status text; missing or malformed fields stay `None` (older kernels lack some).
pub(crate) fn parse(text: &str) -> Status {
    let mut s = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Seccomp" => s.seccomp_mode = value.parse().ok(),
            "Seccomp_filters" => s.seccomp_filters = value.parse().ok(),
            "NoNewPrivs" => s.no_new_privs = value.parse::<u8>().ok().map(|v| v != 0),
            "CapEff" => s.cap_eff = u64::from_str_radix(value, 16).ok(),
            "CapBnd" => s.cap_bnd = u64::from_str_radix(value, 16).ok(),
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_container_status() {
        let text = "Name:\tsh\nCapInh:\t0000000000000000\nCapPrm:\t000001fcfcfcffff\n\
                    CapEff:\t000001fcfcfcffff\nCapBnd:\t000001fcfcfcffff\nNoNewPrivs:\t0\n\
                    Seccomp:\t2\nSeccomp_filters:\t1\nSpeculation_Store_Bypass:\tthread vulnerable\n";
        let s = parse(text);
        assert_eq!(s.seccomp_mode, Some(2));
        assert_eq!(s.seccomp_filters, Some(1));
        assert_eq!(s.no_new_privs, Some(false));
        assert_eq!(s.cap_eff, Some(0x1fc_fcfc_ffff));
        assert_eq!(s.cap_bnd, Some(0x1fc_fcfc_ffff));
    }

    #[test]
    fn old_kernel_without_filter_count() {
        let s = parse("Seccomp:\t0\nCapEff:\tzz\n");
        assert_eq!(s.seccomp_mode, Some(0));
        assert_eq!(s.seccomp_filters, None);
        assert_eq!(s.cap_eff, None);
    }
}
