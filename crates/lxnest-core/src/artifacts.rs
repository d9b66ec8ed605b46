//! `generate`: every artifact of a plan, rendered in memory (pure), then written by `lxnest::artifacts::write`.
//! Per container: the AppArmor profile, the seccomp filter as LXC v2 text, as OCI JSON, as
//! compiled BPF (raw `struct sock_filter` array) with a disassembly, an LXC config fragment and
//! the files written into a nesting host for its runtime (`files/etc/...`, see
//! [`crate::runtimes`]); plus the whole plan as JSON.

use crate::plan::model::Plan;
use crate::seccomp::Policy;
use std::collections::HashMap;
use std::path::Path;
use thiserror::Error;

/// Rendering or writing artifacts failed.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// The seccomp filter of a container could not be compiled.
    #[error("container {container}: compiling its seccomp filter: {source}")]
    Compile {
        /// Container path.
        container: String,
        /// Compiler error.
        source: crate::seccomp::SeccompError,
    },
    /// The LXC fragment could not be rendered.
    #[error("container {container}: {source}")]
    Lxc {
        /// Container path.
        container: String,
        /// Renderer error.
        source: Box<crate::lxc::FragmentError>,
    },
    /// A runtime's configuration could not be rendered.
    #[error("container {container}: {source}")]
    Runtime {
        /// Container path.
        container: String,
        /// Renderer error.
        source: crate::runtimes::RuntimeConfigError,
    },
    /// Serialising the plan failed.
    #[error("plan.json: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Write {
        /// File.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the output directory (`juju-host/unit-1/seccomp.lxc`).
    pub file: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// The four seccomp files of one filter: LXC text, OCI JSON, BPF, disassembly.
struct SeccompFiles {
    lxc: Vec<u8>,
    oci: Vec<u8>,
    bpf: Vec<u8>,
    disasm: Vec<u8>,
}

impl SeccompFiles {
    fn render(p: &Policy, container: &str) -> Result<Self, ArtifactError> {
        let prog =
            crate::seccomp::codegen::compile(p).map_err(|source| ArtifactError::Compile {
                container: container.to_string(),
                source,
            })?;
        Ok(SeccompFiles {
            lxc: crate::seccomp::lxc_text::render(p).into_bytes(),
            oci: serde_json::to_string_pretty(&crate::seccomp::oci::render(p))?.into_bytes(),
            bpf: bpf_bytes(&prog),
            disasm: crate::seccomp::codegen::disasm(&prog).into_bytes(),
        })
    }
}

/// A fleet's containers mostly share a filter: each distinct one is compiled and rendered once.
/// The planner shares equal filters (`Arc`), so the cheap lookup by address finds most; equal
/// filters that are not shared are found by their content.
#[derive(Default)]
struct Filters<'p> {
    rendered: Vec<SeccompFiles>,
    by_content: HashMap<&'p Policy, usize>,
    by_address: HashMap<*const Policy, usize>,
}

impl<'p> Filters<'p> {
    fn get(&mut self, policy: &'p Policy, container: &str) -> Result<&SeccompFiles, ArtifactError> {
        let address = policy as *const Policy;
        let i = match self.by_address.get(&address) {
            Some(&i) => i,
            None => {
                let i = match self.by_content.get(policy) {
                    Some(&i) => i,
                    None => {
                        self.rendered.push(SeccompFiles::render(policy, container)?);
                        self.by_content.insert(policy, self.rendered.len() - 1);
                        self.rendered.len() - 1
                    }
                };
                self.by_address.insert(address, i);
                i
            }
        };
        Ok(&self.rendered[i])
    }
}

/// Render every artifact: [`render_containers`], then [`render_plan_json`]. `out_dir` is only
/// used inside the LXC fragments, which must name their seccomp file and rootfs by absolute path.
pub fn render_all(
    plan: &Plan,
    out_dir: &Path,
    apparmor: bool,
) -> Result<Vec<Artifact>, ArtifactError> {
    let mut out = render_containers(plan, out_dir, apparmor)?;
    out.push(render_plan_json(plan)?);
    Ok(out)
}

/// Every container's files, in plan order (the two halves of [`render_all`] are independent, so
/// a caller may run them side by side).
pub fn render_containers(
    plan: &Plan,
    out_dir: &Path,
    apparmor: bool,
) -> Result<Vec<Artifact>, ArtifactError> {
    let mut out = Vec::new();
    let mut filters = Filters::default();
    for c in &plan.containers {
        let dir = &c.path;
        let sc = filters.get(&c.seccomp.own, &c.path)?;
        let seccomp_abs = out_dir.join(dir).join("seccomp.lxc");
        let rootfs_abs = out_dir.join(dir).join("rootfs");
        let fragment = crate::lxc::render_fragment(
            &plan.stack,
            c,
            &seccomp_abs.to_string_lossy(),
            &rootfs_abs.to_string_lossy(),
            apparmor,
        )
        .map_err(|source| ArtifactError::Lxc {
            container: c.path.clone(),
            source: Box::new(source),
        })?;
        let files: [(&str, Vec<u8>); 6] = [
            ("apparmor.profile", c.apparmor.text.clone().into_bytes()),
            ("seccomp.lxc", sc.lxc.clone()),
            ("seccomp.oci.json", sc.oci.clone()),
            ("seccomp.bpf", sc.bpf.clone()),
            ("seccomp.bpf.txt", sc.disasm.clone()),
            ("lxc.conf", fragment.into_bytes()),
        ];
        // Level 3 and deeper have no profile of their own (see docs/apparmor.md).
        let files = files
            .into_iter()
            .filter(|(f, b)| !(*f == "apparmor.profile" && b.is_empty()));
        out.extend(files.map(|(f, bytes)| Artifact {
            file: format!("{dir}/{f}"),
            bytes,
        }));
        // What the start sequence writes into the container's root for its runtime, under
        // `files/` at the same path (`juju-host/files/etc/default/lxc-net`).
        let runtime_files = crate::runtimes::files(c).map_err(|source| ArtifactError::Runtime {
            container: c.path.clone(),
            source,
        })?;
        out.extend(runtime_files.into_iter().map(|f| Artifact {
            file: format!("{dir}/files{}", f.path),
            bytes: f.text.into_bytes(),
        }));
    }
    Ok(out)
}

/// `plan.json`: the whole plan, pretty-printed.
pub fn render_plan_json(plan: &Plan) -> Result<Artifact, ArtifactError> {
    // The whole plan is about 45 KB per container: sized up front, so a fleet's gigabyte is not
    // copied again at every doubling of the buffer.
    let mut json = Vec::with_capacity(plan.containers.len().saturating_mul(48 << 10) + 4096);
    let fragments = own_filter_fragments(plan)?;
    crate::plan::shared_json::with_fragments(fragments, || {
        serde_json::to_writer_pretty(&mut json, plan)
    })?;
    Ok(Artifact {
        file: "plan.json".into(),
        bytes: json,
    })
}

/// How deep a container's own filter sits in plan.json: plan, `containers`, the container,
/// `seccomp`; pretty-printing indents by two spaces a level.
const OWN_FILTER_INDENT: &str = "        ";

/// Each filter the plan shares between containers, pretty-printed once with the indentation it
/// has in plan.json (see [`crate::plan::shared_json`]).
fn own_filter_fragments(plan: &Plan) -> Result<crate::plan::shared_json::Fragments, ArtifactError> {
    let mut out = crate::plan::shared_json::Fragments::new();
    let mut seen: HashMap<*const Policy, usize> = HashMap::new();
    for c in &plan.containers {
        *seen
            .entry(std::sync::Arc::as_ptr(&c.seccomp.own))
            .or_default() += 1;
    }
    for c in &plan.containers {
        let address = std::sync::Arc::as_ptr(&c.seccomp.own);
        if seen.get(&address).is_some_and(|n| *n > 1) && !out.contains_key(&address) {
            let text = serde_json::to_string_pretty(&*c.seccomp.own)?;
            let text = text.replace('\n', &format!("\n{OWN_FILTER_INDENT}"));
            out.insert(address, serde_json::value::RawValue::from_string(text)?);
        }
    }
    Ok(out)
}

/// The program as the kernel reads it: 8 bytes per instruction, native endianness.
pub fn bpf_bytes(prog: &[crate::seccomp::bpf::sock_filter]) -> Vec<u8> {
    let mut v = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        v.extend_from_slice(&i.code.to_ne_bytes());
        v.push(i.jt);
        v.push(i.jf);
        v.extend_from_slice(&i.k.to_ne_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts running LXC with two plain children: every filter is shared by several containers.
    fn fleet() -> Plan {
        let mut spec = String::from("name: fleet\ncontainers:\n");
        for i in 0..3 {
            spec.push_str(&format!(
                "  - name: host-{i}\n    runtime: lxc\n    children:\n      - name: a\n      - name: b\n        seccomp: {{rules: [\"keyctl errno 38\"]}}\n"
            ));
        }
        let stack = crate::spec::parse_str(&spec, "fleet.yaml").expect("parses");
        crate::plan::plan(&stack, &crate::plan::host::HostSnapshot::laptop()).expect("plans")
    }

    #[test]
    fn plan_json_with_shared_filters_is_the_plain_serialization() {
        let plan = fleet();
        let shared = std::sync::Arc::ptr_eq(
            &plan.containers[1].seccomp.own,
            &plan.containers[4].seccomp.own,
        );
        assert!(shared, "the hosts' `a` children share one filter");
        let fragments = own_filter_fragments(&plan).expect("renders");
        assert!(!fragments.is_empty());
        let plain = serde_json::to_vec_pretty(&plan).expect("serializes");
        assert_eq!(render_plan_json(&plan).expect("renders").bytes, plain);
        // And the fragments are gone afterwards: a plain serialization is plain again.
        assert_eq!(serde_json::to_vec_pretty(&plan).expect("serializes"), plain);
        // The prepared text is what gets written (a stand-in shows it).
        let address = std::sync::Arc::as_ptr(&plan.containers[1].seccomp.own);
        let stand_in = serde_json::value::RawValue::from_string("{}".into()).expect("JSON");
        let text = crate::plan::shared_json::with_fragments([(address, stand_in)].into(), || {
            serde_json::to_string_pretty(&plan).expect("serializes")
        });
        assert_eq!(
            text.matches("\"own\": {}").count(),
            3,
            "the three `a` children"
        );
    }
}
