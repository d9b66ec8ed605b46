//! [`render_all`] on two threads: `plan.json` (a fleet's largest file by far) beside every
//! container's files. The core renders either half purely; running them side by side is this
//! layer's choice (the core holds no threads).

use lxnest_core::artifacts::{render_containers, render_plan_json, Artifact, ArtifactError};
use lxnest_core::plan::model::Plan;
use std::path::Path;

/// Every artifact, in the order of [`lxnest_core::artifacts::render_all`] (the same files and
/// bytes); the two halves run on two threads.
pub fn render_all(
    plan: &Plan,
    out_dir: &Path,
    apparmor: bool,
) -> Result<Vec<Artifact>, ArtifactError> {
    let (containers, json) = std::thread::scope(|s| {
        let json = s.spawn(|| render_plan_json(plan));
        let containers = render_containers(plan, out_dir, apparmor);
        // A panic in the other thread is a bug in the renderer: pass it on.
        let json = json.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (containers, json)
    });
    let mut out = containers?;
    out.push(json?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_same_artifacts_as_the_core_renders_alone() {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("nesting/examples/juju-laptop.yaml");
        let stack = lxnest_core::spec::load(&spec).expect("the example loads");
        let host = lxnest_core::plan::host::HostSnapshot::laptop();
        let plan = lxnest_core::plan::plan(&stack, &host).expect("plans");
        let out = Path::new("/out");
        let both = super::render_all(&plan, out, true).expect("renders");
        let alone = lxnest_core::artifacts::render_all(&plan, out, true).expect("renders");
        assert_eq!(both, alone);
    }

    use std::path::Path;
}
