//! Capability numbers to names, for decoding /proc/self/status.

/// Capability names by number (`cap_` prefix dropped, lower case, as in the runtime presets).
pub const CAP_NAMES: &[&str] = crate::plan::caps::ALL;

/// Names of the capabilities set in a mask; bits this table does not know become `cap_<n>`.
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64u32)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match CAP_NAMES.get(bit as usize) {
            Some(name) => (*name).to_string(),
            None => format!("cap_{bit}"),
        })
        .collect()
}

/// Normalizes a preset's capability name (`CAP_SYS_ADMIN`, `sys_admin`) to the table's form.
pub(crate) fn normalize(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    lower
        .strip_prefix("cap_")
        .map(String::from)
        .unwrap_or(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_this_hosts_and_lxcs_masks() {
        // This build host's bounding set lacks only sys_resource (bit 24).
        let host = cap_names(0x0000_01ff_feff_ffff);
        assert_eq!(host.len(), 40);
        assert!(!host.contains(&"sys_resource".to_string()));
        // LXC's common.conf additionally drops sys_module, sys_rawio, sys_time, mac_*.
        let lxc = cap_names(0x0000_01fc_fcfc_ffff);
        for dropped in [
            "sys_module",
            "sys_rawio",
            "sys_time",
            "mac_admin",
            "mac_override",
        ] {
            assert!(!lxc.contains(&dropped.to_string()), "{dropped}");
        }
        assert!(lxc.contains(&"sys_admin".to_string()));
    }

    #[test]
    fn unknown_bits_and_normalizing() {
        assert_eq!(cap_names(1 << 45), vec!["cap_45".to_string()]);
        assert!(cap_names(0).is_empty());
        assert_eq!(normalize("CAP_SYS_ADMIN"), "sys_admin");
        assert_eq!(normalize("net_raw"), "net_raw");
    }
}
