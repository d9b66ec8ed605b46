//! Tests of the OpenVZ mapping: limits as OpenVZ spells them, DNS hooks that quote what they write.

use super::*;
use crate::openvz::parse::parse_into;

fn import(text: &str) -> (ContainerSpec, Vec<ReportLine>) {
    let mut s = Settings::new();
    parse_into(text, "101.conf", "101", &mut s).unwrap();
    map("101", &s, "101.conf")
}

fn outcome<'a>(r: &'a [ReportLine], key: &str) -> &'a Outcome {
    &r.iter().find(|l| l.key == key).unwrap().outcome
}

#[test]
fn slm_memory_limit_is_the_limit_and_unlimited_spellings_are_no_limit() {
    // ve-slm.512MB: SLM limits memory; the UBC values are all "unlimited" (LONG_MAX).
    let (c, _) = import(
        "SLMMEMORYLIMIT=\"536870912:536870912\"\nPHYSPAGES=\"0:2147483647\"\nNUMPROC=\"2147483647:2147483647\"\n",
    );
    assert_eq!(c.limits.memory.as_deref(), Some("512M"));
    assert_eq!(c.limits.pids, None);
    for v in [
        "unlimited",
        "2147483647",
        "9223372036854775807",
        "0:9223372036854775807",
    ] {
        let (c, r) = import(&format!("PHYSPAGES=\"{v}\"\nNUMPROC=\"{v}\"\n"));
        assert_eq!((c.limits.memory, c.limits.pids), (None, None), "{v}");
        assert!(matches!(outcome(&r, "PHYSPAGES"), Outcome::Mapped(m) if m.contains("unlimited")));
    }
}

#[test]
fn memory_units_and_decimals_are_read() {
    for (v, want) in [
        ("0:256MB", "256M"),
        ("0:1.5G", "1536M"),
        ("262144:262144", "1024M"),
        ("0:512m", "512M"),
    ] {
        let (c, _) = import(&format!("PHYSPAGES=\"{v}\"\n"));
        assert_eq!(c.limits.memory.as_deref(), Some(want), "{v}");
    }
    let (c, r) = import("PHYSPAGES=\"0:12Q\"\n");
    assert_eq!(c.limits.memory, None);
    assert!(matches!(outcome(&r, "PHYSPAGES"), Outcome::NotMapped(m) if m.contains("not a size")));
}

#[test]
fn cpulimit_zero_is_no_limit() {
    let (c, r) = import("CPULIMIT=\"0\"\nCPUS=\"0\"\n");
    assert_eq!(c.limits.cpu, None);
    assert!(matches!(outcome(&r, "CPULIMIT"), Outcome::Mapped(m) if m.contains("no CPU limit")));
    let (c, _) = import("CPULIMIT=\"50%\"\nCPUS=\"2\"\n");
    assert_eq!(c.limits.cpu, Some(0.5));
    let (_, r) = import("CPULIMIT=\"lots\"\n");
    assert!(matches!(outcome(&r, "CPULIMIT"), Outcome::NotMapped(_)));
}

#[test]
fn inherit_writes_no_name_server() {
    let (c, r) = import("NAMESERVER=\"inherit\"\n");
    assert!(c.hooks.is_empty(), "{:?}", c.hooks);
    assert!(matches!(outcome(&r, "NAMESERVER"), Outcome::Adapted(_)));
}
