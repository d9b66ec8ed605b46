//! The Incus/LXD export (docs/export.md) in a real LXD: LXD 5.0 as Debian 12 ships it, in an
//! lxnest nesting host on the Debian system rootfs (as tests/runtimes_lxd_root.rs runs it).
//! Every profile of the juju-laptop example goes through `lxc profile create` and
//! `lxc profile edit` (LXD's own validation of every key); then a container launched with the
//! level-2 profile runs, and `unshare`, which the nesting host allows but the exported filter
//! denies, fails in it with EPERM: LXC parsed and loaded `raw.seccomp`.

mod realnest;
mod support;
use lxnest::export::{render, Format};
use lxnest::plan::host::HostSnapshot;
use realnest::*;

/// A busybox image whose init only sleeps (nothing from the internet).
const IMAGE: &str = r#"set -e
rm -rf /tmp/img && mkdir -p /tmp/img/rootfs && cd /tmp/img/rootfs
mkdir -p bin sbin etc proc sys dev tmp run
cp /bin/busybox bin/
for a in sh sleep unshare true cat; do ln -s busybox bin/$a; done
ln -s ../bin/busybox sbin/init
printf '::respawn:/bin/sleep 1000\n' > etc/inittab
printf 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: lxnest busybox\n' > ../metadata.yaml
tar -C /tmp/img -czf /tmp/busybox-lxd.tar.gz metadata.yaml rootfs
lxc image import /tmp/busybox-lxd.tar.gz --alias lxnest-export-busybox >/dev/null
"#;

#[test]
fn root_lxd_accepts_every_exported_profile_and_enforces_its_filter() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let stack = lxnest::spec::load(std::path::Path::new("builtin:juju-laptop")).unwrap();
    let plan = lxnest::plan::plan(&stack, &HostSnapshot::laptop()).unwrap();
    let profiles = render(&plan, Format::Incus).unwrap();
    let nest = Nest::start("lxdexp", &container_yaml(&["runtime: lxd"], Some(&tarball)));
    nest.ok("setsid lxd --group lxd </dev/null >/var/log/lxd.log 2>&1 &");
    nest.ok("lxd waitready --timeout 60");
    nest.ok("lxd init --preseed < /etc/lxnest/lxd-preseed.yaml");
    let mut checks = Checks::default();
    let dir = tempfile::tempdir().unwrap();
    for (i, a) in profiles.iter().enumerate() {
        let c = plan
            .get(a.file.rsplit_once('/').unwrap().0)
            .expect("a container's file");
        let name = lxnest::export::object_name(&plan, c).unwrap();
        let file = dir.path().join(format!("p{i}.yaml"));
        std::fs::write(&file, &a.bytes).unwrap();
        nest.put(&file, "/tmp/profile.yaml");
        let o = nest.sh(&format!(
            "lxc profile create {name} && lxc profile edit {name} < /tmp/profile.yaml \
             && lxc profile get {name} security.nesting"
        ));
        checks.check(
            o.status.success(),
            format!(
                "lxc profile create/edit {name}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        );
    }
    nest.ok(IMAGE);
    let unit = plan.get("juju-host/unit-1").expect("unit-1");
    let name = lxnest::export::object_name(&plan, unit).unwrap();
    // Privileged, so that LXD leaves the profile's id block (juju-host's, not this nesting
    // host's) aside; the filter and the capability drops are what is run.
    let launch = nest.sh(&format!(
        "lxc launch -q lxnest-export-busybox exp1 -p default -p {name} \
         -c security.privileged=true 2>&1 </dev/null \
         || {{ lxc info --show-log exp1 2>&1 | grep -v WARN | head -40; false; }}"
    ));
    checks.check(
        launch.status.success(),
        format!(
            "lxc launch with {name}: {}",
            String::from_utf8_lossy(&launch.stdout)
        ),
    );
    if launch.status.success() {
        let plain = nest.sh("unshare -m true 2>&1");
        checks.check(
            plain.status.success(),
            "unshare works in the nesting host itself".into(),
        );
        let o = nest.sh("lxc exec exp1 -- unshare -m true 2>&1");
        let out = String::from_utf8_lossy(&o.stdout);
        checks.check(
            !o.status.success() && out.contains("Operation not permitted"),
            format!("unshare is refused under the exported raw.seccomp: {out}"),
        );
        nest.ok("lxc delete -f exp1");
    }
    let _ = nest.stop();
    checks.assert_all();
}
