//! containerd as Debian 12 ships it (docker.io's dependency), inside an lxnest nesting host
//! (`runtime: docker`) on the Debian system rootfs, with `lxnest-oci` as the runc binary of its
//! runc shim (`ctr run --runc-binary`): the shim drives it with runc's command line. The root
//! filesystem is a busybox tree the test builds; nothing comes from the internet.

mod realnest;
mod support;
use realnest::*;

#[test]
fn oci_containerd_root_ctr_runs_a_container_with_lxnest_oci() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = oci_nest("occ", "runtime: docker", &tarball);
    nest.ok("mkdir /tmp/bbroot; tar -xzf /tmp/busybox.tar.gz -C /tmp/bbroot");
    nest.ok("setsid containerd </dev/null >/var/log/containerd.log 2>&1 &");
    nest.wait_ok("ctr version", 60);
    let out = nest.ok(
        "ctr run --rm --runc-binary /usr/local/bin/lxnest-oci --rootfs /tmp/bbroot ocictr1 \
         /bin/sh -c 'echo hello-from-ctr; cat /proc/self/status'",
    );
    assert!(out.contains("hello-from-ctr"), "{out}");
    // No seccomp profile in ctr's default spec: lxnest's base policy instead of none.
    assert!(seccomp_filters(&out) >= 1, "{out}");
    let left = nest.ok(
        "ctr task ls -q; ctr container ls -q; ls /run/containerd/runc/default 2>/dev/null || true",
    );
    assert!(!left.contains("ocictr1"), "{left}");
    nest.stop();
}
