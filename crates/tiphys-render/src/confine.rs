//! Keeping every path a render touches inside the repository checkout.
//!
//! Repository content is untrusted: a source path, a Jsonnet import, a value file or a symlink
//! committed to the repo can all try to reach `/etc/passwd` or another repository in the cache
//! (upstream Argo CD had CVEs of exactly these shapes). Every path goes through [`RepoRoot`],
//! which refuses absolute paths and `..` that climbs above the root lexically, then resolves
//! symlinks and checks that the real location is still inside.

use std::path::{Component, Path, PathBuf};

use crate::RenderError;

/// The root of one checked-out revision; paths handed out by it are canonical and inside it.
#[derive(Debug, Clone)]
pub struct RepoRoot {
    root: PathBuf,
}

impl RepoRoot {
    /// Opens a checkout directory (it must exist).
    pub fn new(path: &Path) -> Result<Self, RenderError> {
        let root = path.canonicalize().map_err(|e| RenderError::io(path, e))?;
        Ok(RepoRoot { root })
    }

    /// The canonical root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Resolves a path written by a user (relative to `base`, itself inside the root), refusing
    /// absolute paths, `..` above the root and symlinks whose target is outside.
    pub fn resolve_from(&self, base: &Path, rel: &str) -> Result<PathBuf, RenderError> {
        if rel.starts_with('/') || Path::new(rel).is_absolute() {
            return Err(RenderError::PathEscape { path: rel.to_string(), reason: "absolute path".into() });
        }
        let base_rel = base.strip_prefix(&self.root).map_err(|_| RenderError::PathEscape {
            path: base.display().to_string(),
            reason: "base directory is outside the repository".into(),
        })?;
        let mut parts: Vec<String> = base_rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        for part in rel.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(RenderError::PathEscape {
                            path: rel.to_string(),
                            reason: "`..` climbs above the repository root".into(),
                        });
                    }
                }
                other => parts.push(other.to_string()),
            }
        }
        let joined = parts.iter().fold(self.root.clone(), |p, s| p.join(s));
        self.check_inside(&joined, rel)
    }

    /// Resolves a path relative to the repository root (see [`RepoRoot::resolve_from`]).
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, RenderError> {
        self.resolve_from(&self.root.clone(), rel)
    }

    /// Follows symlinks of an existing path and checks the real location is inside the root.
    /// `shown` is how the path appears in errors (relative, as the user knows it).
    pub fn check_inside(&self, path: &Path, shown: &str) -> Result<PathBuf, RenderError> {
        let real = match path.canonicalize() {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling symlink is an escape attempt as often as a typo; say which.
                if path.symlink_metadata().is_ok() {
                    return Err(RenderError::PathEscape {
                        path: shown.to_string(),
                        reason: "symlink target does not exist inside the repository".into(),
                    });
                }
                return Err(RenderError::NotFound { path: shown.to_string() });
            }
            Err(e) => return Err(RenderError::io(path, e)),
        };
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(RenderError::PathEscape {
                path: shown.to_string(),
                reason: "symlink resolves outside the repository".into(),
            })
        }
    }

    /// The path relative to the root, for messages and globs.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).to_string_lossy().into_owned()
    }

    /// Refuses any symlink under `dir` whose target leaves the root. Tools (kustomize,
    /// plugins) read the tree themselves, so the whole tree is checked before they run.
    pub fn check_symlinks(&self, dir: &Path) -> Result<(), RenderError> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            let entries = std::fs::read_dir(&current).map_err(|e| RenderError::io(&current, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| RenderError::io(&current, e))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|e| RenderError::io(&path, e))?;
                if kind.is_symlink() {
                    self.check_inside(&path, &self.relative(&path))?;
                } else if kind.is_dir() && entry.file_name() != ".git" {
                    stack.push(path);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, RepoRoot) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/app/sub")).unwrap();
        std::fs::write(dir.path().join("repo/app/a.yaml"), "a: 1").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        let root = RepoRoot::new(&dir.path().join("repo")).unwrap();
        (dir, root)
    }

    #[test]
    fn plain_relative_paths_resolve() {
        let (_d, root) = repo();
        assert_eq!(root.resolve("app/./sub/..//a.yaml").unwrap(), root.path().join("app/a.yaml"));
        assert_eq!(root.resolve("").unwrap(), root.path());
    }

    #[test]
    fn parent_and_absolute_paths_are_refused() {
        let (_d, root) = repo();
        for bad in ["../secret.txt", "app/../../secret.txt", "/etc/passwd"] {
            let err = root.resolve(bad).unwrap_err();
            assert!(matches!(err, RenderError::PathEscape { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn symlinks_out_are_refused_and_in_are_fine() {
        let (d, root) = repo();
        std::os::unix::fs::symlink(d.path().join("secret.txt"), root.path().join("app/out")).unwrap();
        std::os::unix::fs::symlink("a.yaml", root.path().join("app/in.yaml")).unwrap();
        std::os::unix::fs::symlink("/etc", root.path().join("etc")).unwrap();
        assert!(matches!(root.resolve("app/out"), Err(RenderError::PathEscape { .. })));
        assert!(matches!(root.resolve("etc/passwd"), Err(RenderError::PathEscape { .. })));
        assert_eq!(root.resolve("app/in.yaml").unwrap(), root.path().join("app/a.yaml"));
        assert!(matches!(root.check_symlinks(root.path()), Err(RenderError::PathEscape { .. })));
    }

    #[test]
    fn resolved_paths_never_leave_the_root() {
        // One tree for all cases: creating a directory per case would dominate the run time.
        let (_d, root) = repo();
        proptest::proptest!(|(rel in "[a-z./]{0,24}")| {
            if let Ok(p) = root.resolve(&rel) {
                proptest::prop_assert!(p.starts_with(root.path()));
            }
        });
    }
}
