//! Writable copies of a checkout for tools that edit or write files (kustomization edits,
//! plugins), so the shared repository cache is never modified.

use std::path::{Path, PathBuf};

use crate::RenderError;
use crate::confine::RepoRoot;

/// Copies the whole checkout into `scratch/repo` and returns the copy's root. Relative
/// symlinks are kept (they were checked to stay inside); absolute ones are refused because
/// they would point back into the shared cache.
pub(crate) fn copy_checkout(root: &RepoRoot, scratch: &Path) -> Result<PathBuf, RenderError> {
    root.check_symlinks(root.path())?;
    let dest = scratch.join("repo");
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| RenderError::io(&dest, e))?;
    }
    copy_dir(root, root.path(), &dest)?;
    Ok(dest)
}

fn copy_dir(root: &RepoRoot, src: &Path, dest: &Path) -> Result<(), RenderError> {
    std::fs::create_dir_all(dest).map_err(|e| RenderError::io(dest, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| RenderError::io(src, e))? {
        let entry = entry.map_err(|e| RenderError::io(src, e))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| RenderError::io(&from, e))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&from).map_err(|e| RenderError::io(&from, e))?;
            if target.is_absolute() {
                return Err(RenderError::PathEscape {
                    path: root.relative(&from),
                    reason: "absolute symlink".into(),
                });
            }
            std::os::unix::fs::symlink(&target, &to).map_err(|e| RenderError::io(&to, e))?;
        } else if kind.is_dir() {
            if entry.file_name() != ".git" {
                copy_dir(root, &from, &to)?;
            }
        } else {
            std::fs::copy(&from, &to).map_err(|e| RenderError::io(&from, e))?;
        }
    }
    Ok(())
}
