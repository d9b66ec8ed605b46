//! The kernel-facing AppArmor API against the running kernel. On a kernel without AppArmor
//! (these CI machines) every operation must fail with `NotEnabled`; on an AppArmor kernel, as
//! root, a profile is really loaded into a fresh policy namespace and removed again.

use lxnest::apparmor::{kernel, names, render, AppArmorError, ProfileParams};
use std::path::Path;

fn kernel_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn library_installed() -> bool {
    [
        "/usr/lib/x86_64-linux-gnu/libapparmor.so.1",
        "/usr/lib64/libapparmor.so.1",
        "/usr/lib/libapparmor.so.1",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
}

#[test]
fn status_agrees_with_sysfs() {
    let st = kernel::status();
    assert_eq!(st.enabled, kernel_enabled());
    if !st.enabled {
        assert!(st.reason.is_some(), "a disabled AppArmor must say why");
        assert!(!st.stacking && !st.namespaces);
        eprintln!(
            "AppArmor unavailable here: {}",
            st.reason.unwrap_or_default()
        );
    }
    assert_eq!(st.library, library_installed());
}

#[test]
fn libapparmor_loads_and_agrees_with_the_kernel() {
    match kernel::library_says_enabled() {
        Ok(enabled) => {
            assert!(library_installed());
            assert_eq!(
                enabled,
                kernel_enabled() && kernel::status().securityfs.is_some()
            );
        }
        Err(AppArmorError::Library(msg)) => {
            assert!(!library_installed(), "installed but not loadable: {msg}")
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn every_operation_says_not_enabled_without_apparmor() {
    if kernel_enabled() {
        eprintln!("SKIP: this kernel has AppArmor (the operations themselves: the guest stage)");
        return;
    }
    let text = render(&ProfileParams::new("lxnest-t")).unwrap();
    let results = [
        ("load", kernel::load(Some("lxnest-t"), &text)),
        ("unload", kernel::unload(None, "lxnest-t")),
        (
            "change_onexec",
            kernel::change_onexec("lxnest-t//&:lxnest-t:"),
        ),
        ("stack_onexec", kernel::stack_onexec("lxnest-t")),
        ("create_namespace", kernel::create_namespace("lxnest-t")),
        ("remove_namespace", kernel::remove_namespace("lxnest-t")),
        ("current_label", kernel::current_label().map(|_| ())),
    ];
    for (what, r) in results {
        assert!(
            matches!(r, Err(AppArmorError::NotEnabled { .. })),
            "{what}: {r:?}"
        );
    }
}

// Loading into a policy namespace (kernel::load(Some(ns), ..)) is not tested here: the machines
// the tests run on have no AppArmor in the kernel, so such a test could only skip in CI. The
// guest stage proves it on a kernel with AppArmor, and its list of checks that must pass
// (tests/guest/juju-laptop.expected) holds "policy namespace lxnest-juju-host, which the
// planned labels stack onto, created by lxnest" and "... holds the 3 level-2 profiles".

#[test]
fn install_without_apparmor_is_not_enabled_and_level3_needs_nothing() {
    let level3 = names(&["a", "b", "c"]);
    let done = lxnest::apparmor::install(&level3, "").expect("nothing to load at level 3");
    assert_eq!(done.onexec(), None);
    done.uninstall().expect("nothing to remove");
    if kernel_enabled() {
        return;
    }
    let level1 = names(&["a"]);
    let text = render(&ProfileParams::new(level1.profile.clone())).unwrap();
    assert!(matches!(
        lxnest::apparmor::install(&level1, &text),
        Err(AppArmorError::NotEnabled { .. })
    ));
}
