//! Incremental checkouts against real git: every tree built from the previous commit's tree
//! must equal, path for path, kind for kind, byte for byte and mode for mode, what
//! `git read-tree -u` writes for the same commit, and must leave the previous tree alone.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use proptest::prelude::*;
use tiphys_git::testsupport::TestRepo;
use tiphys_git::{GitCache, GitConfig};

/// One path of a tree on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File { content: Vec<u8>, executable: bool },
    Symlink(PathBuf),
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, Node::Symlink(std::fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Node::Dir);
                walk(root, &path, out);
            } else {
                let executable = meta.permissions().mode() & 0o111 != 0;
                out.insert(rel, Node::File { content: std::fs::read(&path).unwrap(), executable });
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// What git itself writes for `sha`, independently of the cache.
fn reference(bare: &Path, sha: &str, dest: &Path) -> BTreeMap<PathBuf, Node> {
    std::fs::create_dir_all(dest).unwrap();
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .arg("--work-tree")
        .arg(dest)
        .args(["read-tree", "--reset", "-u", sha])
        .env("GIT_INDEX_FILE", dest.with_extension("index"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git is required for these tests (apt-get install git)");
    assert!(out.status.success(), "read-tree {sha}: {}", String::from_utf8_lossy(&out.stderr));
    snapshot(dest)
}

// The cache is dropped (and its background copies joined) before the directory goes.
struct World {
    cache: GitCache,
    repo: TestRepo,
    url: String,
    dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let repo = TestRepo::create(&served, "mono");
    let url = repo.bare.to_string_lossy().into_owned();
    let cache = open_cache(dir.path());
    World { cache, repo, url, dir }
}

fn open_cache(dir: &Path) -> GitCache {
    GitCache::new(GitConfig {
        root: dir.join("cache"),
        timeout: Duration::from_secs(30),
        known_hosts: String::new(),
    })
    .unwrap()
}

impl World {
    fn write(&self, path: &str, content: &str) {
        let p = self.repo.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn remove(&self, path: &str) {
        let p = self.repo.work.join(path);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p).unwrap(),
            _ => std::fs::remove_file(&p).unwrap(),
        }
    }

    fn symlink(&self, path: &str, target: &str) {
        let p = self.repo.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    fn chmod(&self, path: &str, mode: u32) {
        std::fs::set_permissions(self.repo.work.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Records `sha` as a submodule commit at `path` (an empty directory in the work tree, as an
    /// uninitialised submodule is).
    fn gitlink(&self, path: &str, sha: &str) {
        std::fs::create_dir_all(self.repo.work.join(path)).unwrap();
        self.repo.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{sha},{path}")]);
    }

    fn fillers(&self, n: usize) {
        for i in 0..n {
            self.write(&format!("filler/f{i:02}.yaml"), &format!("n: {i}\n"));
        }
    }

    /// Waits for the spare copy of the last tree and returns how many spare copies exist.
    fn spares(&self) -> usize {
        self.cache.settle();
        let scratch = self.dir.path().join("cache/checkouts/.scratch");
        std::fs::read_dir(scratch)
            .map(|d| {
                d.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("-spare-")).count()
            })
            .unwrap_or(0)
    }

    /// Removes the spare copies, so the next checkout makes its own hard-link copy.
    fn drop_spares(&self) {
        self.cache.settle();
        let scratch = std::fs::read_dir(self.dir.path().join("cache/checkouts/.scratch"));
        for entry in scratch.into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains("-spare-") {
                std::fs::remove_dir_all(path).unwrap();
            }
        }
    }

    fn commit(&self, message: &str) -> String {
        self.repo.commit(&[], message)
    }

    /// Checks `sha` out through the cache and compares it with git's own tree; returns the
    /// checkout.
    fn check(&self, sha: &str) -> PathBuf {
        self.cache.ensure_commit(&self.url, sha, None).unwrap();
        let tree = self.cache.checkout(&self.url, sha).unwrap();
        let expected = reference(&self.repo.bare, sha, &self.dir.path().join("reference").join(sha));
        let got = snapshot(&tree);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "paths of {sha} differ from git read-tree"
        );
        assert_eq!(got, expected, "content, kinds or modes of {sha} differ from git read-tree");
        tree
    }
}

#[test]
fn every_kind_of_change_gives_the_tree_read_tree_writes() {
    let w = world();
    w.fillers(30);
    w.write("apps/a/cm.yaml", "a: 1\n");
    w.write("apps/b/deploy.yaml", "kind: Deployment\n");
    w.write("dir with space/ünïcödé ✓.yaml", "u: 1\n");
    w.write("scripts/run.sh", "#!/bin/sh\necho hi\n");
    w.write("gone/deep/only.yaml", "only: here\n");
    w.write("x", "x is a file\n");
    w.write("y/inner.yaml", "y is a dir\n");
    w.write("link-later.yaml", "a regular file for now\n");
    w.write("same1.yaml", "same\n");
    w.write("same2.yaml", "same\n");
    let c1 = w.commit("one");
    w.check(&c1);
    assert_eq!(w.cache.incremental_checkout_count(), 0, "nothing to start from: a full checkout");

    // add, modify, delete (two directories left empty), file→dir, dir→file, file→symlink,
    // 644→755, a gitlink, a symlink to a directory.
    w.write("apps/a/cm.yaml", "a: 2\n");
    w.write("apps/c/new.yaml", "c: new\n");
    w.write("dir with space/ünïcödé ✓.yaml", "u: 2\n");
    w.remove("gone");
    w.remove("x");
    w.write("x/nested.yaml", "x is a dir now\n");
    w.remove("y");
    w.write("y", "y is a file now\n");
    w.remove("link-later.yaml");
    w.symlink("link-later.yaml", "apps/a/cm.yaml");
    w.chmod("scripts/run.sh", 0o755);
    w.gitlink("vendor/lib", &c1);
    w.symlink("to-dir", "apps");
    w.write(".github/workflows/ci.yml", "on: push\n");
    w.write("apps/.gitignore", "*.tmp\n");
    let c2 = w.commit("two");
    assert_eq!(w.spares(), 1, "a spare copy of c1's tree is ready for the next commit");
    let tree = w.check(&c2);
    assert_eq!(w.cache.incremental_checkout_count(), 1, "c2 was built from c1's tree");
    assert_eq!(
        std::fs::read_dir(tree.join("vendor/lib")).unwrap().count(),
        0,
        "a gitlink is an empty directory"
    );
    assert!(!w.cache.checkout(&w.url, &c2).unwrap().join("gone").exists(), "emptied directories are removed");

    // gitlink→file, symlink→file, 755→644 alone, dir→file again, a symlink retargeted,
    // an empty file, a directory emptied under a symlink that now dangles.
    w.repo.git(&["rm", "--cached", "--quiet", "vendor/lib"]);
    w.remove("vendor/lib");
    w.write("vendor/lib", "a file where the submodule was\n");
    w.remove("link-later.yaml");
    w.write("link-later.yaml", "regular again\n");
    w.chmod("scripts/run.sh", 0o644);
    w.remove("x");
    w.write("x", "x is a file again\n");
    w.remove("to-dir");
    w.symlink("to-dir", "apps/b");
    w.write("empty.yaml", "");
    w.remove("apps/b");
    let c3 = w.commit("three");
    w.drop_spares(); // c3 makes its own copy of c2's tree
    w.check(&c3);
    assert_eq!(w.cache.incremental_checkout_count(), 2);

    // file→gitlink, a rename (no rename detection: a deletion plus an addition), an
    // executable added in a new directory, identical content at two new paths.
    w.remove("y");
    w.gitlink("y", &c2);
    std::fs::rename(w.repo.work.join("apps/a/cm.yaml"), w.repo.work.join("apps/a/renamed.yaml")).unwrap();
    w.write("bin/tool", "#!/bin/sh\n");
    w.chmod("bin/tool", 0o755);
    w.write("dup/one.yaml", "dup\n");
    w.write("dup/two.yaml", "dup\n");
    let c4 = w.commit("four");
    w.check(&c4); // from the spare, or its own copy if it wins the race for the lock
    assert_eq!(w.cache.incremental_checkout_count(), 3);

    // Going back to an older commit is a diff like any other.
    w.cache.ensure_commit(&w.url, &c1, None).unwrap();
    std::fs::remove_dir_all(w.cache.checkout(&w.url, &c1).unwrap()).unwrap();
    w.check(&c1);
    assert_eq!(w.cache.incremental_checkout_count(), 4);
    assert_eq!(w.cache.checkout_count(), 5, "every tree written counts as a checkout");
}

#[test]
fn the_previous_tree_is_unchanged_by_the_next_checkout() {
    let w = world();
    w.fillers(20);
    w.write("app/cm.yaml", "version: 1\n");
    w.write("app/keep.yaml", "keep: me\n");
    w.write("app/mode.sh", "#!/bin/sh\n");
    w.write("app/link-target.yaml", "t: 1\n");
    let c1 = w.commit("one");
    let old = w.check(&c1);
    let before = snapshot(&old);

    w.write("app/cm.yaml", "version: 2\n");
    w.chmod("app/mode.sh", 0o755);
    w.remove("app/link-target.yaml");
    w.symlink("app/link-target.yaml", "cm.yaml");
    let c2 = w.commit("two");
    w.drop_spares();
    let new = w.check(&c2);
    assert_eq!(w.cache.incremental_checkout_count(), 1);

    assert_eq!(snapshot(&old), before, "the old checkout must not change");
    assert_eq!(std::fs::read_to_string(old.join("app/cm.yaml")).unwrap(), "version: 1\n");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&old.join("app/mode.sh")) & 0o111, 0, "the old file keeps its mode");
    assert_ne!(mode(&new.join("app/mode.sh")) & 0o111, 0);
    let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(
        inode(&old.join("app/keep.yaml")),
        inode(&new.join("app/keep.yaml")),
        "unchanged files are shared"
    );
    assert_ne!(inode(&old.join("app/cm.yaml")), inode(&new.join("app/cm.yaml")), "changed files are not");

    // The same from the spare copy made in the background.
    let before = snapshot(&new);
    w.write("app/cm.yaml", "version: 3\n");
    w.write("app/keep.yaml", "keep: changed\n");
    let c3 = w.commit("three");
    assert_eq!(w.spares(), 1);
    let newest = w.check(&c3);
    assert_eq!(w.cache.incremental_checkout_count(), 2);
    assert_eq!(snapshot(&new), before, "the previous checkout must not change");
    assert_eq!(std::fs::read_to_string(new.join("app/keep.yaml")).unwrap(), "keep: me\n");
    assert_eq!(std::fs::read_to_string(newest.join("app/keep.yaml")).unwrap(), "keep: changed\n");
}

#[test]
fn large_diffs_and_attributes_take_the_full_path_and_a_restart_reuses_trees_on_disk() {
    let w = world();
    w.fillers(10);
    let c1 = w.commit("one");
    w.check(&c1);
    // More than half the paths change: writing the tree whole is cheaper.
    for i in 0..6 {
        w.write(&format!("filler/f{i:02}.yaml"), "changed: true\n");
    }
    let c2 = w.commit("most files");
    w.check(&c2);
    assert_eq!((w.cache.checkout_count(), w.cache.incremental_checkout_count()), (2, 0));

    // A small change is incremental again, from the tree the full path wrote.
    w.write("filler/f09.yaml", "small: change\n");
    let c3 = w.commit("small");
    w.check(&c3);
    assert_eq!(w.cache.incremental_checkout_count(), 1);

    // .gitattributes conversions are git's to apply: both when added and when already there.
    w.write(".gitattributes", "*.txt text eol=crlf\n");
    w.write("notes.txt", "line one\nline two\n");
    let c4 = w.commit("attributes");
    let tree = w.check(&c4);
    assert_eq!(std::fs::read_to_string(tree.join("notes.txt")).unwrap(), "line one\r\nline two\r\n");
    w.write("more.txt", "a\nb\n");
    let c5 = w.commit("more text");
    let tree = w.check(&c5);
    assert_eq!(std::fs::read_to_string(tree.join("more.txt")).unwrap(), "a\r\nb\r\n");
    assert_eq!((w.cache.checkout_count(), w.cache.incremental_checkout_count()), (5, 1));

    // A restarted cache starts from the newest tree an earlier process left.
    w.remove(".gitattributes");
    let c6 = w.commit("no attributes");
    w.check(&c6);
    assert_eq!((w.cache.checkout_count(), w.cache.incremental_checkout_count()), (6, 1));
    w.write("filler/f00.yaml", "after: restart\n");
    let c7 = w.commit("after a restart");
    let restarted = open_cache(w.dir.path());
    restarted.ensure_commit(&w.url, &c7, None).unwrap();
    let tree = restarted.checkout(&w.url, &c7).unwrap();
    assert_eq!((restarted.checkout_count(), restarted.incremental_checkout_count()), (1, 1));
    let expected = reference(&w.repo.bare, &c7, &w.dir.path().join("reference").join(&c7));
    assert_eq!(snapshot(&tree), expected);
    // With nothing on disk, the first checkout is a full one.
    let fresh = tempfile::tempdir().unwrap();
    let cold = open_cache(fresh.path());
    cold.ensure_commit(&w.url, &c7, None).unwrap();
    cold.checkout(&w.url, &c7).unwrap();
    assert_eq!((cold.checkout_count(), cold.incremental_checkout_count()), (1, 0));
}

/// One edit of a random walk over a small set of paths.
#[derive(Debug, Clone)]
enum Edit {
    Write(usize, u8),
    Remove(usize),
    Symlink(usize, usize),
    Executable(usize, bool),
    Gitlink(usize, u8),
}

/// Paths that overlap as files and directories, so file↔dir changes come up.
const PATHS: &[&str] = &["a", "a/b", "a/b/c.yaml", "a/d.yaml", "e f/ü.yaml", "e f", "g.yaml", "h/i/j", "h/k"];

fn apply_edit(w: &World, edit: &Edit) {
    let path = |i: usize| PATHS[i % PATHS.len()];
    let clear = |p: &str| {
        // Make room: remove the path itself and any file standing where a parent must be.
        let full = w.repo.work.join(p);
        if std::fs::symlink_metadata(&full).is_ok() {
            w.remove(p);
        }
        let mut parent = Path::new(p).parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            let full = w.repo.work.join(dir);
            if std::fs::symlink_metadata(&full).is_ok_and(|m| !m.is_dir()) {
                std::fs::remove_file(&full).unwrap();
            }
            parent = dir.parent();
        }
    };
    match edit {
        Edit::Write(i, v) => {
            clear(path(*i));
            w.write(path(*i), &format!("v: {v}\n"));
        }
        Edit::Remove(i) => {
            if std::fs::symlink_metadata(w.repo.work.join(path(*i))).is_ok() {
                w.remove(path(*i));
            }
        }
        Edit::Symlink(i, t) => {
            clear(path(*i));
            w.symlink(path(*i), path(*t));
        }
        Edit::Gitlink(i, v) => {
            clear(path(*i));
            let p = path(*i);
            w.repo.git(&["rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", p]);
            std::fs::create_dir_all(w.repo.work.join(p)).unwrap();
            let link = format!("160000,{},{p}", format!("{v:02x}").repeat(20));
            w.repo.git(&["update-index", "--add", "--replace", "--cacheinfo", &link]);
        }
        Edit::Executable(i, on) => {
            let full = w.repo.work.join(path(*i));
            if std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_file()) {
                w.chmod(path(*i), if *on { 0o755 } else { 0o644 });
            }
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (0..PATHS.len(), any::<u8>()).prop_map(|(i, v)| Edit::Write(i, v)),
        2 => (0..PATHS.len()).prop_map(Edit::Remove),
        1 => (0..PATHS.len(), 0..PATHS.len()).prop_map(|(i, t)| Edit::Symlink(i, t)),
        1 => (0..PATHS.len(), any::<bool>()).prop_map(|(i, on)| Edit::Executable(i, on)),
        1 => (0..PATHS.len(), any::<u8>()).prop_map(|(i, v)| Edit::Gitlink(i, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn random_commit_sequences_check_out_like_read_tree(
        steps in proptest::collection::vec((proptest::collection::vec(edit(), 1..4), 0..3u8), 3..6)
    ) {
        let w = world();
        w.fillers(20);
        let mut previous: Option<(PathBuf, BTreeMap<PathBuf, Node>)> = None;
        for (n, (edits, spare)) in steps.iter().enumerate() {
            for e in edits {
                apply_edit(&w, e);
            }
            let sha = w.commit(&format!("step {n}"));
            // From the spare copy, from a copy of its own, or whichever wins the race.
            match spare {
                0 => {
                    w.cache.settle();
                }
                1 => w.drop_spares(),
                _ => {}
            }
            let tree = w.check(&sha);
            if let Some((old, before)) = &previous {
                prop_assert_eq!(&snapshot(old), before, "step {} changed the previous tree", n);
            }
            previous = Some((tree.clone(), snapshot(&tree)));
        }
        prop_assert!(w.cache.incremental_checkout_count() >= 1, "small steps are incremental");
    }
}
