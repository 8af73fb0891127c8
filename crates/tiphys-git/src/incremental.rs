//! Incremental checkouts: the tree of a new commit is built from the tree of a commit already
//! written out, instead of writing every file again.
//!
//! A monorepo commit usually changes a handful of files out of thousands, and the controller
//! waits for the new tree before it can render. Writing 11,000 files with `git read-tree -u`
//! takes about a third of a second; linking them and rewriting the few that changed takes a
//! fraction of that. The steps, in a fresh scratch directory:
//!
//! 1. [`link_copy`]: the old tree copied as hard links (directories created, regular files
//!    linked, symlinks re-created with the same target). Checkouts are immutable, so sharing
//!    inodes between them is safe as long as nothing is ever written *through* a link.
//! 2. [`parse_raw_diff`]: `git diff-tree -r -z --raw --no-renames OLD NEW` lists what differs.
//!    Rename detection stays off: a rename is a deletion plus an addition, which is exactly
//!    what the tree needs.
//! 3. [`apply`]: deletions first (the path, then every parent directory left empty, since a
//!    git tree has no empty directories), then additions and modifications: the old link is
//!    removed before new content is written (so the old tree's inode is never touched), the
//!    content streams from one `git cat-file --batch` process, and the mode follows the tree
//!    entry (`100755` executable, `100644` regular, `120000` symlink, `160000` gitlink as an
//!    empty directory, as `read-tree` leaves it).
//!
//! The copy of step 1 is the expensive part (one `link` per file). The cache makes it in a
//! background thread right after each checkout (a "spare", under the repository's checkout
//! lock), so the next checkout usually only runs steps 2 and 3; without a spare it makes its
//! own copy.
//!
//! Anything unexpected is an error that the caller answers with a full checkout, so this
//! path can make a checkout faster but never different: a path git might refuse (`..`,
//! `.git` and its look-alikes, a symlinked `.gitmodules`), a `.gitattributes` anywhere (its conversions, such as `eol=crlf` or filters,
//! are git's to apply), an unknown file mode, a missing object, or any I/O failure.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The attributes file whose conversions only a full checkout applies.
const ATTRIBUTES: &str = ".gitattributes";

/// What a tree entry is on disk, from its git mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `100644`: a regular file.
    Regular,
    /// `100755`: an executable file.
    Executable,
    /// `120000`: a symlink whose blob is the target.
    Symlink,
    /// `160000`: a submodule commit, checked out as an empty directory.
    Gitlink,
}

impl Kind {
    fn from_mode(mode: &str) -> Result<Kind, String> {
        match mode {
            "120000" => Ok(Kind::Symlink),
            "160000" => Ok(Kind::Gitlink),
            _ => match mode.strip_prefix("100").map(|perm| u32::from_str_radix(perm, 8)) {
                Some(Ok(perm)) if perm & 0o100 != 0 => Ok(Kind::Executable),
                Some(Ok(_)) => Ok(Kind::Regular),
                _ => Err(format!("unsupported tree entry mode {mode}")),
            },
        }
    }
}

/// One line of `git diff-tree --raw`: a path that differs between the two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// The path, relative to the tree root.
    pub path: PathBuf,
    /// Whether the old tree has an entry here (false for an addition).
    pub existed: bool,
    /// The entry of the new tree, with its object name; `None` for a deletion.
    pub new: Option<(Kind, String)>,
}

/// The entry count of a tree after `changes`, from the count before.
pub(crate) fn entries_after(before: usize, changes: &[Change]) -> usize {
    changes.iter().fold(before, |n, c| match (c.existed, c.new.is_some()) {
        (false, true) => n + 1,
        (true, false) => n.saturating_sub(1),
        _ => n,
    })
}

/// Names starting with `.git` that are common and that `read-tree` writes like any other;
/// every other such name (`.git`, `.git.`, `.GIT `, ...) is left to `read-tree` to judge.
const DOT_GIT_NAMES: &[&[u8]] =
    &[b".gitignore", b".gitkeep", b".github", b".gitlab", b".gitlab-ci.yml", b".gitmodules"];

/// Checks one path from git before writing it, more strictly than `read-tree` does (its
/// `.git` look-alike and NTFS rules included): whatever is refused here is left to the full
/// checkout, which either writes it or gives git's own error. Returns the path as a relative
/// path that cannot leave the tree.
fn tree_path(raw: &[u8], kind: Option<Kind>) -> Result<PathBuf, String> {
    let shown = String::from_utf8_lossy(raw);
    let refused = || format!("path {shown:?} is left to git read-tree to judge");
    let mut parts = raw.split(|b| *b == b'/').peekable();
    while let Some(part) = parts.next() {
        if part == ATTRIBUTES.as_bytes() {
            return Err(format!("{shown} changed; its conversions need a full checkout"));
        }
        let lower = part.to_ascii_lowercase();
        let symlink = parts.peek().is_none() && kind == Some(Kind::Symlink);
        let dot_git_like =
            lower.starts_with(b".git") && (symlink || !DOT_GIT_NAMES.contains(&lower.as_slice()));
        if part.is_empty()
            || part == b"."
            || part == b".."
            || dot_git_like
            || lower.starts_with(b"git~")
            || part.contains(&b'\\')
        {
            return Err(refused());
        }
    }
    Ok(PathBuf::from(OsStr::from_bytes(raw)))
}

/// Parses the output of `git diff-tree -r -z --raw --no-renames --no-abbrev OLD NEW`.
pub(crate) fn parse_raw_diff(raw: &[u8]) -> Result<Vec<Change>, String> {
    let mut fields = raw.split(|b| *b == 0);
    let mut changes = Vec::new();
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(meta);
        let parts: Vec<&str> = text.strip_prefix(':').unwrap_or_default().split(' ').collect();
        let [old_mode, new_mode, _, new_sha, _status] = parts[..] else {
            return Err(format!("unexpected diff-tree line {text:?}"));
        };
        let path = fields.next().ok_or_else(|| format!("diff-tree line {text:?} has no path"))?;
        let new = match new_mode {
            "000000" => None,
            mode => Some((Kind::from_mode(mode)?, new_sha.to_string())),
        };
        let path = tree_path(path, new.as_ref().map(|(kind, _)| *kind))?;
        changes.push(Change { path, existed: old_mode != "000000", new });
    }
    Ok(changes)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// Creates `to` as a copy of the tree at `from` made of hard links (files), new symlinks with
/// the same targets, and new directories. Refuses a tree with a `.gitattributes` (checked per
/// directory before anything in it is copied, so a root one costs nothing).
pub(crate) fn link_copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir(to).map_err(io_error(to))?;
    let entries =
        std::fs::read_dir(from).and_then(|dir| dir.collect::<Result<Vec<_>, _>>()).map_err(io_error(from))?;
    if entries.iter().any(|e| e.file_name() == ATTRIBUTES) {
        return Err(format!("{} has a {ATTRIBUTES}; its conversions need a full checkout", from.display()));
    }
    for entry in entries {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(io_error(&src))?;
        if kind.is_dir() {
            link_copy(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(io_error(&src))?;
            std::os::unix::fs::symlink(target, &dst).map_err(io_error(&dst))?;
        } else if kind.is_file() {
            std::fs::hard_link(&src, &dst).map_err(io_error(&dst))?;
        } else {
            return Err(format!("{}: neither a file, a directory nor a symlink", src.display()));
        }
    }
    Ok(())
}

/// Removes the file, symlink or (empty, gitlink) directory at `path`.
fn remove_entry(path: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(io_error(path))?;
    if meta.is_dir() { std::fs::remove_dir(path) } else { std::fs::remove_file(path) }.map_err(io_error(path))
}

/// Creates the parent directories of `rel` under `tree`, refusing to go through anything
/// that is not a real directory (a symlink there would let a write land outside the tree).
fn make_parents(tree: &Path, rel: &Path) -> Result<(), String> {
    let mut dir = tree.to_path_buf();
    let Some(parent) = rel.parent() else { return Ok(()) };
    for part in parent.components() {
        let Component::Normal(name) = part else {
            return Err(format!("{}: not a plain relative path", rel.display()));
        };
        dir.push(name);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(format!("{}: in the way of {}", dir.display(), rel.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&dir).map_err(io_error(&dir))?
            }
            Err(e) => return Err(io_error(&dir)(e)),
        }
    }
    Ok(())
}

/// Applies `changes` to `tree` (a link copy of the old tree), reading blobs through `cat_file`
/// (a `git cat-file --batch` command for the repository) within `timeout`.
pub(crate) fn apply(
    tree: &Path,
    changes: &[Change],
    cat_file: Command,
    timeout: Duration,
) -> Result<(), String> {
    for change in changes.iter().filter(|c| c.existed && c.new.is_none()) {
        remove_entry(&tree.join(&change.path))?;
        // git trees have no empty directories: drop the parents this left empty.
        let mut parent = change.path.parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            if std::fs::remove_dir(tree.join(dir)).is_err() {
                break;
            }
            parent = dir.parent();
        }
    }
    let mut blobs = Vec::new();
    for change in changes {
        let Some((kind, sha)) = &change.new else { continue };
        let path = tree.join(&change.path);
        if change.existed {
            // Unlink, never write through: the inode may belong to the old tree.
            remove_entry(&path)?;
        }
        make_parents(tree, &change.path)?;
        match kind {
            Kind::Gitlink => std::fs::create_dir(&path).map_err(io_error(&path))?,
            _ => blobs.push((path, *kind, sha.as_str())),
        }
    }
    if blobs.is_empty() {
        return Ok(());
    }
    write_blobs(cat_file, &blobs, timeout)
}

/// Streams every blob through one `git cat-file --batch` and writes each to its path.
fn write_blobs(
    mut cat_file: Command,
    blobs: &[(PathBuf, Kind, &str)],
    timeout: Duration,
) -> Result<(), String> {
    cat_file.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cat_file.spawn().map_err(|e| format!("git cat-file: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        stop(&mut child);
        return Err("git cat-file: no pipes".into());
    };
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut names = BufWriter::new(stdin);
            for (_, _, sha) in blobs {
                if writeln!(names, "{sha}").is_err() {
                    return;
                }
            }
            let _ = names.flush();
            // Dropping stdin ends the batch.
        });
        let (done, outcome) = mpsc::channel();
        scope.spawn(move || {
            let _ = done.send(read_blobs(stdout, blobs));
        });
        let result = outcome
            .recv_timeout(timeout)
            .unwrap_or_else(|_| Err(format!("git cat-file did not finish within {timeout:?}")));
        // Also unblocks the writer thread if the reader gave up early.
        stop(&mut child);
        result
    })
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn read_blobs(stdout: ChildStdout, blobs: &[(PathBuf, Kind, &str)]) -> Result<(), String> {
    let mut out = BufReader::with_capacity(64 * 1024, stdout);
    let mut header = Vec::new();
    for (path, kind, sha) in blobs {
        header.clear();
        out.read_until(b'\n', &mut header).map_err(|e| format!("git cat-file: {e}"))?;
        let text = String::from_utf8_lossy(&header);
        let size = match text.trim_end().split(' ').collect::<Vec<_>>()[..] {
            [name, "blob", size] if name == *sha => size.parse::<u64>().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("git cat-file answered {:?} for blob {sha}", text.trim_end()))?;
        let mut content = (&mut out).take(size);
        let written = if *kind == Kind::Symlink {
            let mut target = Vec::new();
            content.read_to_end(&mut target).map_err(|e| format!("git cat-file: {e}"))?;
            std::os::unix::fs::symlink(OsStr::from_bytes(&target), path).map_err(io_error(path))?;
            target.len() as u64
        } else {
            // The modes git creates files with; the umask applies as it does for git.
            let mode = if *kind == Kind::Executable { 0o777 } else { 0o666 };
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(path)
                .map_err(io_error(path))?;
            std::io::copy(&mut content, &mut file).map_err(io_error(path))?
        };
        let mut newline = [0u8];
        if written != size || out.read_exact(&mut newline).is_err() || newline[0] != b'\n' {
            return Err(format!("git cat-file: blob {sha} was cut short"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_diff_lines_become_changes() {
        let raw = b":100644 000000 1111111111111111111111111111111111111111 0000000000000000000000000000000000000000 D\0gone/a b.yaml\0\
:000000 100755 0000000000000000000000000000000000000000 2222222222222222222222222222222222222222 A\0bin/run\xc3\xa9.sh\0\
:100644 120000 3333333333333333333333333333333333333333 4444444444444444444444444444444444444444 T\0link\0\
:160000 160000 5555555555555555555555555555555555555555 6666666666666666666666666666666666666666 M\0vendor/lib\0";
        let changes = parse_raw_diff(raw).unwrap();
        assert_eq!(
            changes,
            vec![
                Change { path: "gone/a b.yaml".into(), existed: true, new: None },
                Change {
                    path: "bin/runé.sh".into(),
                    existed: false,
                    new: Some((Kind::Executable, "2222222222222222222222222222222222222222".into()))
                },
                Change {
                    path: "link".into(),
                    existed: true,
                    new: Some((Kind::Symlink, "4444444444444444444444444444444444444444".into()))
                },
                Change {
                    path: "vendor/lib".into(),
                    existed: true,
                    new: Some((Kind::Gitlink, "6666666666666666666666666666666666666666".into()))
                },
            ]
        );
        assert_eq!(entries_after(10, &changes), 10, "one deletion, one addition");
    }

    #[test]
    fn paths_git_would_refuse_and_attributes_are_errors() {
        let line =
            |path: &str| format!(":000000 100644 {z} {z} A\0{path}\0", z = "0".repeat(40)).into_bytes();
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            ".git/config",
            "a/.GIT/hooks/x",
            ".git./x",
            ".Git /x",
            "GIT~1/config",
            "a\\b",
        ] {
            assert!(parse_raw_diff(&line(bad)).is_err(), "{bad} must be refused");
        }
        assert!(parse_raw_diff(&line("apps/.gitattributes")).unwrap_err().contains("full checkout"));
        for good in [".github/workflows/ci.yml", "apps/.gitignore", ".gitmodules", "a/.gitkeep", "git/x"] {
            assert!(parse_raw_diff(&line(good)).is_ok(), "{good} is an ordinary path");
        }
        let symlink = format!(":000000 120000 {z} {z} A\0.gitmodules\0", z = "0".repeat(40));
        assert!(parse_raw_diff(symlink.as_bytes()).is_err(), "a symlinked .gitmodules is git's to refuse");
    }

    #[test]
    fn modes_map_to_kinds() {
        assert_eq!(Kind::from_mode("100644"), Ok(Kind::Regular));
        assert_eq!(Kind::from_mode("100664"), Ok(Kind::Regular));
        assert_eq!(Kind::from_mode("100755"), Ok(Kind::Executable));
        assert_eq!(Kind::from_mode("120000"), Ok(Kind::Symlink));
        assert_eq!(Kind::from_mode("160000"), Ok(Kind::Gitlink));
        assert!(Kind::from_mode("040000").is_err());
        assert!(Kind::from_mode("100abc").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_diff_output_never_panics(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_raw_diff(&raw);
        }
    }
}
