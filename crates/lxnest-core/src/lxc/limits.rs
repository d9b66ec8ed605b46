//! cgroup limits of an LXC config (`lxc.cgroup2.memory.max`, `lxc.cgroup.pids.max`, ...) mapped
//! onto the spec's `limits`. "No limit" is spelled as the kernel spells it (`max` on cgroup v2,
//! `-1` on v1) and maps to no limit; anything else that is not a number names its line.

use super::map_error::{err, MapError};
use crate::origin::Origin;
use crate::spec::model::ContainerSpec;
use std::collections::BTreeMap;

type Values = Vec<(String, Origin)>;

/// Whether a cgroup value means "no limit".
fn unlimited(v: &str) -> bool {
    matches!(v, "max" | "-1")
}

/// Map memory, pids and CPU limits onto `c.limits`.
pub fn map(c: &mut ContainerSpec, eff: &BTreeMap<String, Values>) -> Result<(), Box<MapError>> {
    let get = |k: &'static str| {
        eff.get(k)
            .and_then(|v| v.last().cloned())
            .map(|(v, o)| (k, v, o))
    };
    if let Some((k, v, o)) =
        get("lxc.cgroup2.memory.max").or_else(|| get("lxc.cgroup.memory.limit_in_bytes"))
    {
        if !unlimited(&v) {
            crate::spec::validate::parse_bytes(&v).map_err(|why| {
                err(
                    &o,
                    k,
                    &v,
                    &format!("not a memory limit: {why}"),
                    "give bytes, e.g. `1073741824` or `1G`, or `max` for no limit",
                )
            })?;
            c.limits.memory = Some(v);
        }
    }
    if let Some((k, v, o)) = get("lxc.cgroup2.pids.max").or_else(|| get("lxc.cgroup.pids.max")) {
        if !unlimited(&v) {
            let n: u64 = v.parse().map_err(|_| {
                err(
                    &o,
                    k,
                    &v,
                    "not a number of tasks",
                    "give a number of tasks, or `max` for no limit",
                )
            })?;
            c.limits.pids = Some(n);
        }
    }
    let cpu = match (
        get("lxc.cgroup2.cpu.max"),
        get("lxc.cgroup.cpu.cfs_quota_us"),
        get("lxc.cgroup.cpu.cfs_period_us"),
    ) {
        (Some((k, v, o)), _, _) => {
            let mut f = v.split_whitespace();
            let q = f.next().unwrap_or("max");
            let p = f.next().unwrap_or("100000");
            (q != "max").then(|| ratio(q, p, &o, k, &v)).transpose()?
        }
        (None, Some((k, q, o)), p) => {
            let p = p.map(|(_, p, _)| p).unwrap_or_else(|| "100000".into());
            (!unlimited(&q))
                .then(|| ratio(&q, &p, &o, k, &q))
                .transpose()?
        }
        _ => None,
    };
    c.limits.cpu = cpu;
    Ok(())
}

fn ratio(q: &str, p: &str, o: &Origin, key: &str, v: &str) -> Result<f64, Box<MapError>> {
    let bad = || {
        err(
            o,
            key,
            v,
            "not a quota and period in microseconds",
            "write e.g. `50000 100000`, or `max` for no limit",
        )
    };
    let q: u64 = q.parse().map_err(|_| bad())?;
    let p: u64 = p.parse().map_err(|_| bad())?;
    if p == 0 {
        return Err(bad());
    }
    Ok(q as f64 / p as f64)
}

/// The interface files of cgroup v2 (Documentation/admin-guide/cgroup-v2.rst) that an
/// `lxc.cgroup2.` key may name; LXC writes the value to that file at start and fails there, late,
/// when it does not exist, so a typo is refused when the config is read. `devices.allow` and
/// `devices.deny` are LXC's own (turned into an eBPF program).
const CGROUP2_FILES: &[&str] = &[
    "cgroup.max.descendants",
    "cgroup.max.depth",
    "cgroup.freeze",
    "cgroup.type",
    "cgroup.subtree_control",
    "cpu.weight",
    "cpu.weight.nice",
    "cpu.max",
    "cpu.max.burst",
    "cpu.uclamp.min",
    "cpu.uclamp.max",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "cpuset.cpus.exclusive",
    "cpuset.cpus.partition",
    "memory.min",
    "memory.low",
    "memory.high",
    "memory.max",
    "memory.oom.group",
    "memory.swap.high",
    "memory.swap.max",
    "memory.zswap.max",
    "memory.zswap.writeback",
    "io.weight",
    "io.max",
    "io.latency",
    "io.prio.class",
    "io.bfq.weight",
    "io.cost.qos",
    "io.cost.model",
    "pids.max",
    "rdma.max",
    "misc.max",
    "devices.allow",
    "devices.deny",
];

/// Whether `lxc.cgroup2.<file>` names a file cgroup v2 has (`hugetlb.<size>.max` included).
pub fn cgroup2_file_known(file: &str) -> bool {
    CGROUP2_FILES.contains(&file)
        || file.strip_prefix("hugetlb.").is_some_and(|rest| {
            ["max", "rsvd.max"]
                .iter()
                .any(|s| rest.strip_suffix(s).is_some_and(|size| size.ends_with('.')))
        })
}

/// The known `lxc.cgroup2.` keys, for "did you mean" hints.
pub fn cgroup2_keys() -> impl Iterator<Item = String> {
    CGROUP2_FILES.iter().map(|f| format!("lxc.cgroup2.{f}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::config::{effective, parse_text, LxcConfig};

    fn limits(text: &str) -> Result<crate::spec::model::Limits, Box<MapError>> {
        let cfg = LxcConfig {
            file: "c/config".into(),
            entries: parse_text(text, "c/config").unwrap(),
        };
        let eff = effective(&cfg).into_iter().collect();
        let mut c = ContainerSpec::default();
        map(&mut c, &eff)?;
        Ok(c.limits)
    }

    #[test]
    fn no_limit_spellings_map_to_no_limit() {
        let l = limits(
            "lxc.cgroup2.memory.max = max\nlxc.cgroup2.pids.max = max\nlxc.cgroup2.cpu.max = max 100000\n",
        )
        .unwrap();
        assert_eq!((l.memory, l.pids, l.cpu), (None, None, None));
        let l = limits("lxc.cgroup.memory.limit_in_bytes = -1\nlxc.cgroup.cpu.cfs_quota_us = -1\n")
            .unwrap();
        assert_eq!((l.memory, l.cpu), (None, None));
        let l =
            limits("lxc.cgroup2.memory.max = 1G\nlxc.cgroup2.cpu.max = 50000 100000\n").unwrap();
        assert_eq!((l.memory.as_deref(), l.cpu), (Some("1G"), Some(0.5)));
    }

    #[test]
    fn bad_numbers_name_their_line() {
        let e = limits("lxc.uts.name = a\nlxc.cgroup2.memory.max = lots\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c/config:2: lxc.cgroup2.memory.max = lots"),
            "{e}"
        );
        let e = limits("lxc.cgroup.pids.max = many\n").unwrap_err();
        assert!(e.to_string().contains("c/config:1"), "{e}");
        let e = limits("lxc.cgroup2.cpu.max = 1e3 100000\n").unwrap_err();
        assert!(e.to_string().contains("c/config:1"), "{e}");
    }

    #[test]
    fn cgroup2_files() {
        for f in [
            "memory.max",
            "hugetlb.2MB.max",
            "hugetlb.1GB.rsvd.max",
            "devices.allow",
        ] {
            assert!(cgroup2_file_known(f), "{f}");
        }
        for f in ["memroy.max", "memory.maxx", "hugetlb.max", "memory.current"] {
            assert!(!cgroup2_file_known(f), "{f}");
        }
    }
}
