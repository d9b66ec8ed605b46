//! The template renderer: its own rules, and the same output as handlebars (the engine the
//! templates were written for) on every template of `policy/` that it renders.

use super::*;
use serde_json::json;

fn render(src: &str, ctx: Value) -> Result<String, TemplateError> {
    Template::parse(src)?.render(&ctx)
}

/// handlebars as the templates were rendered before: strict, nothing escaped.
fn handlebars(src: &str, ctx: &Value) -> String {
    let mut h = handlebars::Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(handlebars::no_escape);
    h.register_template_string("t", src)
        .expect("handlebars parses");
    h.render("t", ctx).expect("handlebars renders")
}

#[test]
fn values_blocks_and_lists() {
    let ctx = json!({"a": "x", "n": 3, "t": true, "e": "", "l": ["p", "q"], "m": {"k": "v"}});
    assert_eq!(render("{{a}}-{{n}}-{{m.k}}", ctx.clone()).unwrap(), "x-3-v");
    assert_eq!(
        render(
            "{{#if e}}y{{else}}n{{/if}}{{#unless e}}!{{/unless}}",
            ctx.clone()
        )
        .unwrap(),
        "n!"
    );
    assert_eq!(
        render("{{#each l}}<{{this}}>{{/each}}", ctx.clone()).unwrap(),
        "<p><q>"
    );
    assert_eq!(
        render("{{#if (and t (or e (not e)))}}yes{{/if}}", ctx.clone()).unwrap(),
        "yes"
    );
    // A block tag alone on its line takes the line; one among text does not.
    assert_eq!(
        render("a\n  {{#if t}}\nb\n  {{/if}}\nc {{#if t}}d{{/if}}\n", ctx).unwrap(),
        "a\nb\nc d\n"
    );
}

#[test]
fn mistakes_are_errors_naming_what() {
    let e = render("{{missing}}", json!({})).unwrap_err().to_string();
    assert!(e.contains("`missing`"), "{e}");
    assert!(render("{{#each a}}", json!({"a": []})).is_err());
    assert!(render("{{#if a}}x{{/each}}", json!({"a": 1})).is_err());
    assert!(render("{{/if}}", json!({})).is_err());
    assert!(render("{{#if (xor a a)}}{{/if}}", json!({"a": 1})).is_err());
    assert!(render("{{#with a}}{{/with}}", json!({"a": 1})).is_err());
    assert!(render("{{l}}", json!({"l": [1]})).is_err());
    let e = Template::parse("ok\n{{#if a}}\n{{oops").unwrap_err();
    assert!(matches!(e, TemplateError::Parse { line: 3, .. }), "{e:?}");
}

#[test]
fn same_output_as_handlebars_on_small_cases() {
    let ctx =
        json!({"a": "x", "z": 0, "t": true, "f": false, "l": ["p", "q"], "o": {}, "nil": null});
    for src in [
        "{{#if a}}\n  in\n{{/if}}\nout\n",
        "  {{#if f}}\nA\n  {{else}}\nB\n  {{/if}}\n",
        "{{#if z}}zero is true{{else}}zero is false{{/if}}",
        "{{#if o}}o{{/if}}{{#if nil}}n{{/if}}{{#unless l}}u{{/unless}}",
        "x {{#each l}}\n{{this}}\n{{/each}}\ny",
        "{{#each l}}\n- {{this}}\n{{/each}}\n{{#if t}}{{#if a}}both{{/if}}{{/if}}\n",
        "{{#if t}}\n{{#if a}}\nnested\n{{/if}}\n{{/if}}\nend",
        "\n{{#if t}}\r\nwin\r\n{{/if}}\r\n",
    ] {
        assert_eq!(
            render(src, ctx.clone()).unwrap(),
            handlebars(src, &ctx),
            "{src:?}"
        );
    }
}

/// Every flag on and off in turn, with and without children and namespaces: the AppArmor
/// profile is byte for byte what handlebars renders.
#[test]
fn apparmor_profiles_match_handlebars() {
    use crate::apparmor::render::{context, TEMPLATE};
    use crate::apparmor::{known_flags, ProfileParams};
    let ours = Template::parse(TEMPLATE).unwrap();
    let flags: Vec<&str> = known_flags().iter().map(|(k, _)| *k).collect();
    let mut cases: Vec<(Vec<&str>, bool, bool)> = vec![(vec![], false, false)];
    cases.push((flags.clone(), true, true));
    cases.push((flags.clone(), false, false));
    for (i, f) in flags.iter().enumerate() {
        cases.push((vec![f], i % 2 == 0, i % 3 == 0));
        let rest: Vec<&str> = flags.iter().filter(|g| *g != f).copied().collect();
        cases.push((rest, i % 2 == 1, i % 3 == 1));
    }
    for (on, children, ns) in cases {
        let mut p = ProfileParams::new("lxnest-web").with_flags(on.iter().copied());
        if ns {
            p.namespace = Some("lxnest".into());
            p.child_namespace = Some("lxnest-web".into());
        }
        p.extra_rules = vec![
            "deny /secret/** rw,".into(),
            "  capability net_admin,".into(),
        ];
        let dirs = if children {
            vec!["/var/lib/lxc/*/rootfs", "/var/lib/docker/**"]
        } else {
            vec![]
        };
        let ctx = context(&p, &dirs);
        assert_eq!(
            ours.render(&ctx).unwrap(),
            handlebars(TEMPLATE, &ctx),
            "flags {on:?}, children {children}, namespaces {ns}"
        );
    }
}

/// The LXC config fragment, with every optional part present and absent.
#[test]
fn lxc_fragments_match_handlebars() {
    let ours = Template::parse(crate::lxc::fragment::TEMPLATE).unwrap();
    let full = json!({
        "stack": "s", "path": "a/b", "depth": 2, "hostname": "b", "rootfs": "/r",
        "idmap": ["u 0 100000 65536", "g 0 100000 65536"], "caps": "chown kill",
        "mount_auto": "proc:mixed", "mounts": ["/a b none bind 0 0"],
        "cgroup": ["lxc.cgroup2.memory.max = 1G"], "devices": ["lxc.cgroup2.devices.allow = c 1:3 rwm"],
        "net": {"link": "br0", "name": "eth0", "pair": "v1", "mtu": 1500, "address": "10.1.0.2/24", "gateway": "10.1.0.1"},
        "apparmor": "lxnest-b", "seccomp_file": "/s.seccomp", "seccomp_nesting": true,
        "environment": ["A=1"], "hooks": ["lxc.hook.start = /h"], "init": "/sbin/init"
    });
    let mut bare = full.clone();
    for k in [
        "idmap",
        "mounts",
        "cgroup",
        "devices",
        "environment",
        "hooks",
    ] {
        bare[k] = json!([]);
    }
    for k in ["rootfs", "net", "apparmor"] {
        bare[k] = Value::Null;
    }
    bare["seccomp_nesting"] = json!(false);
    for ctx in [full, bare] {
        assert_eq!(
            ours.render(&ctx).unwrap(),
            handlebars(crate::lxc::fragment::TEMPLATE, &ctx)
        );
    }
}
