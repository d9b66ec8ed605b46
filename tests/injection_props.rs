//! Property tests: arbitrary strings (newlines, NUL, quotes, `$()`, backslashes, unicode, `#`, `=`)
//! go through every spec field that reaches a generated artifact; each artifact must read back
//! exactly the value, or the spec must be refused naming the file and the fix. The generator is a
//! seeded xorshift, so a failure prints its seed and iteration and repeats.
//!
//! LXC configs are read back twice: by lxnest's reader, which follows LXC 5's rules, and for a
//! sample by LXC itself (`lxc-info -c KEY`, Debian's lxc package).

#[path = "support/odd.rs"]
mod odd;

use lxnest::hooks::HookKind;
use lxnest::lxc::config::{parse_text, Entry};
use lxnest::lxc::encode::{decode_mount_field, split_init_cmd};
use lxnest::plan::host::HostSnapshot;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Up to five odd pieces (tests/support/odd.rs, shared with the fuzzer).
fn nasty(r: &mut Rng) -> String {
    odd::odd("", &mut |n| r.below(n), 6)
}

/// Mostly plain, sometimes nasty: plain values keep most specs valid so artifacts get checked.
fn value(r: &mut Rng, plain: &str) -> String {
    if r.chance(25) {
        format!("{plain}{}", nasty(r))
    } else {
        plain.to_string()
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

struct Case {
    yaml: String,
    name: String,
    env: BTreeMap<String, String>,
    command: Vec<String>,
    hook: String,
    mount_source: String,
    rule: String,
    rootfs: String,
}

fn case(r: &mut Rng) -> Case {
    let name = value(r, "st");
    let mut env = BTreeMap::new();
    for i in 0..1 + r.below(3) {
        let k = if r.chance(15) {
            nasty(r)
        } else {
            format!("V{i}")
        };
        env.insert(k, value(r, "v"));
    }
    let command: Vec<String> = (0..1 + r.below(3))
        .map(|i| {
            if i == 0 {
                "/bin/echo".into()
            } else {
                value(r, "arg")
            }
        })
        .collect();
    let hook = value(r, "echo hook");
    let mount_source = value(r, "/srv/data");
    let rule = format!("deny /srv/{} rw,", value(r, "p"));
    let rootfs = format!("/srv/{}", value(r, "root"));
    let mut c = Mapping::new();
    c.insert(s("name"), s("c1"));
    c.insert(s("rootfs"), s(&format!("dir:{rootfs}")));
    c.insert(
        s("command"),
        Value::Sequence(command.iter().map(|a| s(a)).collect()),
    );
    c.insert(
        s("environment"),
        Value::Mapping(env.iter().map(|(k, v)| (s(k), s(v))).collect()),
    );
    let mut hooks = Mapping::new();
    hooks.insert(s("start"), Value::Sequence(vec![s(&hook)]));
    c.insert(s("hooks"), Value::Mapping(hooks));
    let mut m = Mapping::new();
    m.insert(s("source"), s(&mount_source));
    m.insert(s("target"), s("/mnt/data"));
    c.insert(s("mounts"), Value::Sequence(vec![Value::Mapping(m)]));
    let mut aa = Mapping::new();
    aa.insert(s("rules"), Value::Sequence(vec![s(&rule)]));
    c.insert(s("apparmor"), Value::Mapping(aa));
    let mut top = Mapping::new();
    top.insert(s("name"), s(&name));
    top.insert(s("containers"), Value::Sequence(vec![Value::Mapping(c)]));
    Case {
        yaml: serde_yaml_ng::to_string(&Value::Mapping(top)).unwrap(),
        name,
        env,
        command,
        hook,
        mount_source,
        rule,
        rootfs,
    }
}

fn all<'a>(entries: &'a [Entry], key: &str) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|e| e.key == key)
        .map(|e| e.value.as_str())
        .collect()
}

/// What one case produced: `None` if it was refused (legitimately), else the LXC config.
fn check(seed: u64, i: usize, c: &Case) -> Option<String> {
    let ctx = format!("seed {seed} case {i}:\n{}", c.yaml);
    let stack = match lxnest::spec::parse_str(&c.yaml, "prop.yaml") {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("prop.yaml") && msg.contains("fix:"),
                "{ctx}\nrefusal without file or fix: {msg}"
            );
            return None;
        }
    };
    // What YAML carried is what the spec holds.
    let spec = &stack.containers[0];
    assert_eq!(stack.name, c.name, "{ctx}");
    assert_eq!(spec.environment, c.env, "{ctx}");
    assert_eq!(spec.command.as_ref(), Some(&c.command), "{ctx}");
    let plan = match lxnest::plan::plan(&stack, &HostSnapshot::laptop()) {
        Ok(p) => p,
        Err(e) => panic!("{ctx}\na valid spec did not plan: {e}"),
    };
    let level = &plan.containers[0];
    // AppArmor: the extra rule is one line of the profile, verbatim, or the plan refused it.
    let profile = &level.apparmor.text;
    assert!(
        profile.lines().any(|l| l.trim() == c.rule.trim()),
        "{ctx}\nrule not in the profile as one line:\n{profile}"
    );
    let text =
        match lxnest::lxc::render_fragment(&plan.stack, level, "/x/seccomp", "/x/rootfs", true) {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with("prop.yaml") && msg.contains("fix:"),
                    "{ctx}\nrender refusal without file or fix: {msg}"
                );
                let splits = c
                    .command
                    .iter()
                    .any(|a| a.is_empty() || a.contains([' ', '\n', '\r']))
                    || c.hook.contains(['\n', '\r']);
                assert!(splits, "{ctx}\nrefused for no reason: {msg}");
                return None;
            }
        };
    let entries = parse_text(&text, "gen.conf")
        .unwrap_or_else(|e| panic!("{ctx}\ngenerated config does not parse: {e}\n{text}"));
    for single in [
        "lxc.apparmor.profile",
        "lxc.uts.name",
        "lxc.init.cmd",
        "lxc.rootfs.path",
        "lxc.seccomp.profile",
    ] {
        assert!(
            all(&entries, single).len() <= 1,
            "{ctx}\n{single} twice:\n{text}"
        );
    }
    assert_eq!(
        all(&entries, "lxc.apparmor.profile"),
        [level.apparmor.label.as_str()],
        "{ctx}"
    );
    for (k, v) in &c.env {
        assert_eq!(level.init.environment.get(k), Some(v), "{ctx}");
    }
    let env: Vec<String> = level
        .init
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(all(&entries, "lxc.environment"), env, "{ctx}\n{text}");
    let init = all(&entries, "lxc.init.cmd");
    assert_eq!(split_init_cmd(init[0]), c.command, "{ctx}\n{text}");
    assert_eq!(all(&entries, "lxc.hook.start"), [c.hook.as_str()], "{ctx}");
    let mount = all(&entries, "lxc.mount.entry")
        .into_iter()
        .map(|m| m.split(' ').map(decode_mount_field).collect::<Vec<_>>())
        .find(|f| f[1] == "mnt/data")
        .unwrap_or_else(|| panic!("{ctx}\nmount missing:\n{text}"));
    assert_eq!(mount[0], c.mount_source, "{ctx}");
    assert_eq!(
        all(&entries, "lxc.rootfs.path"),
        [c.rootfs.as_str()],
        "{ctx}"
    );
    for line in text.lines() {
        assert!(
            line.is_empty() || line.starts_with('#') || line.starts_with("lxc."),
            "{ctx}\nstray line `{line}`"
        );
    }
    Some(text)
}

#[test]
fn arbitrary_strings_reach_artifacts_exactly_or_are_refused() {
    let mut written = 0;
    for seed in [1u64, 0x5eed, 0xdead_beef, 42, 7777] {
        let mut r = Rng(seed);
        for i in 0..120 {
            let c = case(&mut r);
            written += usize::from(check(seed, i, &c).is_some());
        }
    }
    // The generator must leave enough valid specs for the round trip to mean something.
    assert!(written > 100, "only {written} configs were written");
}

/// The same values read back by LXC itself.
#[test]
fn lxc_reads_generated_values_as_lxnest_does() {
    let lxc_info = std::path::Path::new("/usr/bin/lxc-info");
    assert!(
        lxc_info.exists(),
        "lxc-info missing: install Debian's lxc package (scripts/test-all.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rng(0xc0ffee);
    let mut compared = 0;
    for i in 0..400 {
        let c = case(&mut r);
        let Some(text) = check(0xc0ffee, i, &c) else {
            continue;
        };
        let name = format!("p{i}");
        std::fs::create_dir(dir.path().join(&name)).unwrap();
        std::fs::write(dir.path().join(&name).join("config"), &text).unwrap();
        let entries = parse_text(&text, "gen.conf").unwrap();
        for key in [
            "lxc.environment",
            "lxc.init.cmd",
            "lxc.hook.start",
            "lxc.uts.name",
        ] {
            let out = std::process::Command::new(lxc_info)
                .arg("-P")
                .arg(dir.path())
                .args(["-n", &name, "-c", key])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "case {i}: lxc-info {key} failed:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let shown = String::from_utf8(out.stdout).unwrap();
            let body = shown
                .strip_prefix(&format!("{key} = "))
                .unwrap_or_else(|| panic!("case {i}: {shown:?}"));
            let lxc_values: Vec<&str> = body.trim_end_matches('\n').split('\n').collect();
            assert_eq!(lxc_values, all(&entries, key), "case {i}: {key}\n{text}");
        }
        compared += 1;
        if compared == 25 {
            break;
        }
    }
    assert_eq!(compared, 25);
}

/// OpenVZ values (one line each, as the config format allows) reach the written spec, the LXC
/// config and the DNS start hook exactly: the spec parses back to the same hooks, the LXC config
/// has only the keys lxnest wrote, and the hook writes the value without running any of it.
#[test]
fn openvz_values_reach_spec_lxc_config_and_hook_exactly() {
    use lxnest::openvz::parse::{parse_into, Settings};
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let mut r = Rng(0x0b2);
    for i in 0..150 {
        // The config format is line-based and `"`-quoted: values hold neither.
        let one_line = |r: &mut Rng, plain: &str| {
            value(r, plain)
                .replace(['\n', '\r', '\0', '"'], "")
                .replace("$(id)", &format!("$(touch {})", marker.display()))
        };
        let search = one_line(&mut r, "example.org");
        let host = one_line(&mut r, "web1");
        let private = one_line(&mut r, "/vz/private/101");
        let text = format!(
            "HOSTNAME=\"{host}\"\nVE_PRIVATE=\"{private}\"\nSEARCHDOMAIN=\"{search}\"\nNAMESERVER=\"192.0.2.53\"\n"
        );
        let mut s = Settings::new();
        parse_into(&text, "101.conf", "101", &mut s).unwrap();
        let search = s["SEARCHDOMAIN"].0.clone();
        let (c, _) = lxnest::openvz::map::map("101", &s, "101.conf");
        let yaml = lxnest::openvz::render::spec_yaml("101", "101.conf", &c);
        let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml)
            .unwrap_or_else(|e| panic!("case {i}: written spec does not parse: {e}\n{yaml}"));
        let hooks = &file["containers"][0]["hooks"]["start"];
        let written: Vec<&str> = hooks
            .as_sequence()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert_eq!(written, c.hooks.get(HookKind::Start), "case {i}");
        let lxc = lxnest::openvz::render::lxc_config("101", "101.conf", &c);
        let entries = parse_text(&lxc, "gen.conf")
            .unwrap_or_else(|e| panic!("case {i}: LXC config does not parse: {e}\n{lxc}"));
        assert_eq!(
            all(&entries, "lxc.hook.start"),
            c.hooks.get(HookKind::Start),
            "case {i}\n{lxc}"
        );
        assert!(
            all(&entries, "lxc.apparmor.profile").is_empty(),
            "case {i}\n{lxc}"
        );
        // Run the DNS hooks, writing to a file of the test's.
        let resolv = dir.path().join("resolv.conf");
        let run: Vec<String> = c
            .hooks
            .get(HookKind::Start)
            .iter()
            .map(|h| h.replace("/etc/resolv.conf", &resolv.display().to_string()))
            .collect();
        let map = lxnest::hooks::Hooks(BTreeMap::from([(HookKind::Start, run)]));
        let env = lxnest::hooks::HookEnv {
            name: "web1".into(),
            ..Default::default()
        };
        lxnest::hooks::run(&map, HookKind::Start, &env).unwrap();
        let got = std::fs::read_to_string(&resolv).unwrap();
        assert_eq!(
            got,
            format!("nameserver 192.0.2.53\nsearch {}\n", search.trim()),
            "case {i}"
        );
        assert!(!marker.exists(), "case {i}: a value ran as a command");
    }
}

/// The cases of issue 16, one by one.
#[test]
fn the_reported_injections_are_refused_with_file_line_and_fix() {
    for yaml in [
        "name: \"a\\nlxc.apparmor.profile = unconfined\"\ncontainers:\n  - name: c1\n",
        "containers:\n  - name: c1\n    environment: {X: \"v\\nlxc.apparmor.profile = unconfined\"}\n",
        "containers:\n  - name: c1\n    environment: {\"X\\nlxc.apparmor.profile\": v}\n",
        "containers:\n  - name: c1\n    mounts: [{source: \"/a\\nlxc.apparmor.profile = unconfined\", target: /b}]\n",
    ] {
        let e = lxnest::spec::parse_str(yaml, "issue.yaml").unwrap_err().to_string();
        assert!(e.starts_with("issue.yaml") && e.contains("fix:"), "{yaml}: {e}");
    }
    let yaml =
        "containers:\n  - name: c1\n    command: [\"/bin/sh\", \"-c\", \"echo hi; exit 3\"]\n";
    let stack = lxnest::spec::parse_str(yaml, "issue.yaml").unwrap();
    let plan = lxnest::plan::plan(&stack, &HostSnapshot::laptop()).unwrap();
    let e = lxnest::lxc::render_fragment(&plan.stack, &plan.containers[0], "/s", "/r", true)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("issue.yaml:2") && e.contains("space") && e.contains("fix:"),
        "{e}"
    );
}
