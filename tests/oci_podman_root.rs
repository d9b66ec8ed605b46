//! Podman as Debian 12 ships it, inside an lxnest nesting host (`runtime: podman`) on the Debian
//! system rootfs (scripts/build-debian-rootfs.sh), with `lxnest-oci` as its OCI runtime
//! (`podman --runtime`): conmon drives it with runc's command line. The image is a busybox
//! tarball the test builds and imports; nothing comes from the internet, and the containers
//! have no network (`--network none`).

mod realnest;
mod support;
use realnest::*;

#[test]
fn oci_podman_root_runs_execs_and_stops_a_container_with_lxnest_oci() {
    let Some(tarball) = debian_rootfs() else {
        return;
    };
    let nest = oci_nest("ocp", "runtime: podman", &tarball);
    nest.ok("podman import /tmp/busybox.tar.gz lxnest-busybox");
    // cgroupfs: lxnest manages the container's cgroup itself (systemd slices are refused).
    let p = "podman --runtime /usr/local/bin/lxnest-oci --cgroup-manager cgroupfs";

    let out = nest.ok(&format!(
        "{p} run --rm --network none lxnest-busybox /bin/sh -c 'echo hello-from-lxnest-oci; cat /proc/self/status'"
    ));
    assert!(out.contains("hello-from-lxnest-oci"), "{out}");
    // -t: process.terminal, a pty whose master lxnest-oci sends to conmon's console socket.
    let tty = nest.ok(&format!(
        "{p} run --rm -t --network none lxnest-busybox /bin/sh -c 'test -t 0 && test -t 1 && echo on-a-tty'"
    ));
    assert!(tty.contains("on-a-tty"), "{tty}");
    // The nesting annotation, in a user namespace of the ids the nesting host reserved for
    // its runtime: the clean /proc and /sys copies nested runtimes mount from, and a cgroup
    // delegated to the container's root.
    let nesting = nest.ok(&format!(
        "R=$(grep ^root: /etc/subuid | cut -d: -f2); \
         {p} run --rm --network none --uidmap 0:$R:65536 --gidmap 0:$R:65536 \
         --annotation org.lxnest.nesting=docker lxnest-busybox /bin/sh -c \
         'ls /dev/.lxnest; ls -l /sys/fs/cgroup/unified/cgroup.subtree_control /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; true'"
    ));
    let lines: Vec<&str> = nesting.lines().collect();
    assert!(
        lines.contains(&"proc") && lines.contains(&"sys"),
        "{nesting}"
    );
    assert!(
        nesting
            .lines()
            .any(|l| l.contains("cgroup.subtree_control") && l.contains(" root ")),
        "delegated cgroup: {nesting}"
    );
    nest.ok(&format!(
        "{p} run -d --network none --name oci1 lxnest-busybox /bin/sleep 1000"
    ));
    let st = nest.ok(&format!(
        "{p} inspect -f '{{{{.State.Status}}}} {{{{.OCIRuntime}}}}' oci1"
    ));
    assert!(st.contains("running") && st.contains("lxnest-oci"), "{st}");
    // Seen from the nesting host: one pid namespace deeper, and Podman's seccomp profile
    // stacked on the nesting host's filters.
    // Podman's .State.Pid is the pid file's, lxnest's monitor (docs/oci.md); the runtime's
    // state names the container's init.
    let id = nest.ok(&format!("{p} inspect -f '{{{{.Id}}}}' oci1"));
    let state: serde_json::Value =
        serde_json::from_str(&nest.ok(&format!("lxnest-oci state {}", id.trim())))
            .expect("state JSON");
    assert_eq!(state["status"], "running", "{state}");
    let inner = nest.ok(&format!("cat /proc/{}/status", state["pid"]));
    let host = nest.ok("cat /proc/self/status");
    assert_eq!(nspid_depth(&inner), nspid_depth(&host) + 1, "{inner}");
    assert!(
        seccomp_filters(&inner) > seccomp_filters(&host),
        "{inner}\n{host}"
    );
    let e = nest.ok(&format!("{p} exec oci1 /bin/sh -c 'echo exec-ok; id -u'"));
    assert_eq!(e, "exec-ok\n0\n");
    let e = nest.ok(&format!(
        "{p} exec -t oci1 /bin/sh -c 'test -t 1 && echo exec-on-a-tty'"
    ));
    assert!(e.contains("exec-on-a-tty"), "{e}");
    nest.ok(&format!("{p} stop -t 2 oci1"));
    let st = nest.ok(&format!("{p} inspect -f '{{{{.State.Status}}}}' oci1"));
    assert!(st.contains("exited"), "{st}");
    nest.ok(&format!("{p} rm oci1"));
    let left = nest.ok("ls /run/lxnest-oci /run/lxnest-oci/lxnest");
    assert!(!left.contains("oci1"), "{left}");
    nest.stop();
}
