use super::*;
use crate::plan::host::HostSnapshot;
use crate::spec::model::{ContainerSpec, Stack};
use ipnet::Ipv4Net;

fn host(name: &str, runtime: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        runtime: Some(runtime.parse().unwrap()),
        ..Default::default()
    }
}

/// One nesting host per runtime, side by side on the laptop (which has lxcbr0 on 10.0.3.0/24).
fn planned() -> crate::plan::Plan {
    let stack = Stack {
        name: "runtimes".into(),
        source: "runtimes.yaml".into(),
        containers: vec![
            host("lxc-host", "lxc"),
            host("docker-host", "docker"),
            host("podman-host", "podman"),
            host("lxd-host", "lxd"),
            host("adhoc-host", "lxnest"),
        ],
    };
    crate::plan::plan(&stack, &HostSnapshot::laptop()).expect("plans")
}

fn texts(path: &str) -> Vec<(String, String)> {
    let plan = planned();
    let c = plan.get(path).expect("planned");
    files(c)
        .expect("renders")
        .into_iter()
        .map(|f| (f.path.to_string(), f.text))
        .collect()
}

#[test]
fn runtime_bridges_avoid_the_hosts_lxcbr0_and_each_other() {
    let plan = planned();
    let lxcbr: Ipv4Net = "10.0.3.0/24".parse().expect("literal");
    let mut seen: Vec<Ipv4Net> = plan.host_bridge.iter().map(|b| b.subnet).collect();
    for c in &plan.containers {
        let Some(b) = &c.network.runtime_bridge else {
            assert_eq!(
                c.runtime,
                Some(crate::spec::model::Runtime::Lxnest),
                "{}",
                c.path
            );
            continue;
        };
        let nets = std::iter::once(b.subnet).chain(c.network.runtime_pool);
        for net in nets {
            assert!(!crate::plan::subnet::overlaps(&net, &lxcbr), "{net}");
            assert!(
                seen.iter().all(|s| !crate::plan::subnet::overlaps(s, &net)),
                "{} reuses {net}",
                c.path
            );
            seen.push(net);
        }
    }
    let names: Vec<_> = plan
        .containers
        .iter()
        .filter_map(|c| c.network.runtime_bridge.as_ref().map(|b| b.name.as_str()))
        .collect();
    assert_eq!(names, ["lxcbr0", "docker0", "podman0", "lxdbr0"]);
}

#[test]
fn lxc_gets_lxc_net_and_default_conf_on_the_planned_subnet() {
    let plan = planned();
    let c = plan.get("lxc-host").expect("planned");
    let b = c.network.runtime_bridge.as_ref().expect("bridge");
    let files = texts("lxc-host");
    let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/default/lxc-net",
            "/etc/default/lxc",
            "/etc/lxc/default.conf",
            "/etc/subuid",
            "/etc/subgid"
        ]
    );
    let net = &files[0].1;
    assert!(
        files[1].1.contains(". /etc/default/lxc-net"),
        "Debian's lxc-net reads it"
    );
    assert!(net.contains(&format!("LXC_ADDR=\"{}\"", b.address.addr())));
    assert!(net.contains(&format!("LXC_NETWORK=\"{}\"", b.subnet)));
    let conf = &files[2].1;
    assert!(
        conf.contains("lxc.net.0.link = lxcbr0") && conf.contains("lxc.seccomp.allow_nesting = 1")
    );
    let r = c.idmap.as_ref().and_then(|m| m.runtime).expect("reserved");
    assert!(conf.contains(&format!("lxc.idmap = u 0 {} 65536", r.first)));
    assert_eq!(files[3].1, format!("root:{}:{}\n", r.first, r.count));
    insta::assert_snapshot!("lxc-net", net);
    insta::assert_snapshot!("lxc-default.conf", conf);
}

#[test]
fn docker_podman_and_lxd_get_their_configuration() {
    let docker = texts("docker-host");
    assert_eq!(docker.len(), 1, "docker needs no subordinate ids");
    let json: serde_json::Value = serde_json::from_str(&docker[0].1).expect("valid JSON");
    assert!(json["bip"].as_str().is_some_and(|s| s.ends_with(".1/24")));
    assert_eq!(json["default-address-pools"][0]["size"], 24);
    insta::assert_snapshot!("docker-daemon.json", &docker[0].1);

    let podman = texts("podman-host");
    let paths: Vec<_> = podman.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/containers/containers.conf",
            "/etc/containers/policy.json",
            "/etc/containers/registries.conf",
            "/etc/subuid",
            "/etc/subgid"
        ]
    );
    serde_json::from_str::<serde_json::Value>(&podman[1].1).expect("policy.json is JSON");
    insta::assert_snapshot!("podman-containers.conf", &podman[0].1);

    let lxd = texts("lxd-host");
    assert_eq!(lxd[0].0, "/etc/lxnest/lxd-preseed.yaml");
    let pre: serde_yaml_ng::Value = serde_yaml_ng::from_str(&lxd[0].1).expect("valid YAML");
    assert_eq!(pre["networks"][0]["name"].as_str(), Some("lxdbr0"));
    insta::assert_snapshot!("lxd-preseed.yaml", &lxd[0].1);
}

#[test]
fn an_adhoc_lxnest_host_gets_only_its_subordinate_ids() {
    let files = texts("adhoc-host");
    let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/etc/subuid", "/etc/subgid"]);
    assert_eq!(files[0].1, "root:65536:262144\n");
}

#[test]
fn a_distribution_subuid_keeps_its_other_lines() {
    assert_eq!(
        merge_root_line("_lxd:100000:65536\nroot:1:2\n", "root:65536:131072\n"),
        "_lxd:100000:65536\nroot:65536:131072\n"
    );
    assert_eq!(merge_root_line("", "root:1:2\n"), "root:1:2\n");
}

#[test]
fn the_renderer_substitutes_keeps_sections_and_refuses_unknown_keys() {
    let plan = planned();
    let c = plan.get("lxc-host").expect("planned");
    let b = c.network.runtime_bridge.as_ref().expect("bridge");
    let mut x = ctx(c, b);
    let with = render("lxc-default", &x).expect("renders");
    assert!(with.contains("lxc.idmap = u 0 "));
    x.idmap = None;
    let without = render("lxc-default", &x).expect("renders");
    assert!(!without.contains("lxc.idmap") && without.contains("allow_nesting = 1"));
    for (name, _) in TEMPLATES {
        let text = render(name, &ctx(c, b)).expect("every template renders");
        assert!(!text.contains("{{"), "{name}: {text}");
    }
}
