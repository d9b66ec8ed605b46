//! Writing generated artifacts to a directory: the one step of `lxnest generate` that touches
//! the filesystem, kept out of the pure core that renders them.

use lxnest_core::artifacts::{Artifact, ArtifactError};
use std::path::Path;

/// Write artifacts below `out_dir`, creating directories; files are replaced only when their
/// content changed, so tools watching them see no spurious updates.
pub fn write(out_dir: &Path, artifacts: &[Artifact]) -> Result<(), ArtifactError> {
    for a in artifacts {
        let path = out_dir.join(&a.file);
        let werr = |source| ArtifactError::Write {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(werr)?;
        }
        if std::fs::read(&path).ok().as_deref() == Some(a.bytes.as_slice()) {
            continue;
        }
        std::fs::write(&path, &a.bytes).map_err(|source| ArtifactError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}
