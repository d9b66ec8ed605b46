//! The `spec_values` target: specs generated from the input bytes, with odd strings (the
//! alphabet of tests/support/odd.rs, shared with tests/injection_props.rs) in every field that
//! reaches an artifact.

use std::path::Path;

/// A spec generated from the input's bytes (they seed the choices), with odd strings in every
/// field that reaches an artifact, serialized as YAML so it carries them exactly; then loaded,
/// planned and rendered like `spec_yaml`.
pub fn spec_values(data: &[u8], dir: &Path) -> usize {
    use serde_yaml_ng::{Mapping, Value};
    let mut bytes = data.iter().copied().cycle();
    let mut pick = |n: usize| {
        if data.is_empty() || n == 0 {
            0
        } else {
            bytes.next().map_or(0, |b| b as usize % n)
        }
    };
    let text = |pick: &mut dyn FnMut(usize) -> usize, plain: &str| {
        Value::String(crate::odd::odd(plain, pick, 4))
    };
    let s = |v: &str| Value::String(v.into());
    let container = |pick: &mut dyn FnMut(usize) -> usize, name: &str| {
        let mut c = Mapping::new();
        c.insert(s("name"), s(name));
        let env: Mapping = (0..pick(3))
            .map(|i| (text(pick, &format!("V{i}")), text(pick, "v")))
            .collect();
        c.insert(s("environment"), Value::Mapping(env));
        c.insert(
            s("command"),
            Value::Sequence(vec![s("/bin/echo"), text(pick, "a"), text(pick, "b")]),
        );
        let mut hooks = Mapping::new();
        for kind in ["pre-start", "start", "post-stop"] {
            hooks.insert(s(kind), Value::Sequence(vec![text(pick, "true")]));
        }
        c.insert(s("hooks"), Value::Mapping(hooks));
        let mut m = Mapping::new();
        m.insert(s("source"), text(pick, "/srv"));
        m.insert(s("target"), text(pick, "/mnt"));
        m.insert(s("options"), Value::Sequence(vec![text(pick, "ro")]));
        c.insert(s("mounts"), Value::Sequence(vec![Value::Mapping(m)]));
        let mut aa = Mapping::new();
        aa.insert(
            s("rules"),
            Value::Sequence(vec![text(pick, "deny /srv/x w,")]),
        );
        c.insert(s("apparmor"), Value::Mapping(aa));
        let mut sc = Mapping::new();
        sc.insert(
            s("rules"),
            Value::Sequence(vec![text(pick, "keyctl errno 38")]),
        );
        c.insert(s("seccomp"), Value::Mapping(sc));
        c.insert(s("rootfs"), text(pick, "dir:/srv/root"));
        c.insert(s("devices"), Value::Sequence(vec![text(pick, "/dev/fuse")]));
        let mut caps = Mapping::new();
        caps.insert(s("drop"), Value::Sequence(vec![text(pick, "sys_time")]));
        c.insert(s("capabilities"), Value::Mapping(caps));
        c
    };
    let mut host = container(&mut pick, "host");
    host.insert(s("runtime"), s("lxc"));
    let child = container(&mut pick, "child");
    host.insert(s("children"), Value::Sequence(vec![Value::Mapping(child)]));
    let mut top = Mapping::new();
    top.insert(s("name"), text(&mut pick, "stack"));
    top.insert(s("containers"), Value::Sequence(vec![Value::Mapping(host)]));
    let Ok(yaml) = serde_yaml_ng::to_string(&Value::Mapping(top)) else {
        return 0;
    };
    match lxnest::spec::parse_str(&yaml, "values.yaml") {
        Ok(stack) => 1 + crate::targets::planned(&stack, dir),
        Err(e) => {
            assert!(
                e.to_string().starts_with("values.yaml"),
                "refusal without the file: {e}"
            );
            0
        }
    }
}
