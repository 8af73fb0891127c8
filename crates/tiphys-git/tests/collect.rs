//! The checkout cache does not grow forever: trees neither among a repository's three most
//! recently used nor used within ten minutes are removed when a new tree is written, and a
//! removed commit is written again when asked for.

use std::path::Path;
use std::time::{Duration, SystemTime};

use tiphys_git::testsupport::TestRepo;
use tiphys_git::{GitCache, GitConfig};

fn cache(root: &Path) -> GitCache {
    GitCache::new(GitConfig {
        root: root.to_path_buf(),
        timeout: Duration::from_secs(60),
        known_hosts: String::new(),
    })
    .expect("cache")
}

/// A served repository and an empty cache in a temporary directory (kept alive by the
/// caller).
fn setup() -> (tempfile::TempDir, TestRepo, String, GitCache) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = TestRepo::create(&dir.path().join("served"), "mono");
    let url = repo.bare.to_string_lossy().into_owned();
    let cache = cache(&dir.path().join("cache"));
    (dir, repo, url, cache)
}

/// Makes a tree look last used `seconds` ago.
fn age(tree: &Path, seconds: u64) {
    let dir = std::fs::File::open(tree).expect("tree");
    dir.set_modified(SystemTime::now() - Duration::from_secs(seconds)).expect("set mtime");
}

#[test]
fn trees_unused_for_ten_minutes_beyond_the_three_most_recently_used_are_removed_and_come_back() {
    let (_dir, repo, url, cache) = setup();
    let mut trees = Vec::new();
    for i in 0..5 {
        let sha = repo.commit(&[("app/config.yaml", &format!("n: {i}\n"))], &format!("commit {i}"));
        cache.ensure_commit(&url, &sha, None).expect("fetch");
        let tree = cache.checkout(&url, &sha).expect("checkout");
        cache.settle();
        trees.push((sha, tree));
    }
    // Nothing was idle: all five stay.
    assert!(trees.iter().all(|(_, t)| t.is_dir()));
    // All but the third look unused for an hour or more, the fifth least long ago.
    for (i, seconds) in [(0, 4000), (1, 3900), (3, 3700), (4, 3600)] {
        age(&trees[i].1, seconds);
    }
    let sha = repo.commit(&[("app/config.yaml", "n: 5\n")], "commit 5");
    cache.ensure_commit(&url, &sha, None).expect("fetch");
    let newest = cache.checkout(&url, &sha).expect("checkout");
    cache.settle();
    assert!(newest.is_dir());
    for i in [0, 1, 3] {
        assert!(!trees[i].1.exists(), "tree {i}: idle and not among the most recently used: removed");
    }
    assert!(trees[2].1.is_dir(), "used within ten minutes: kept");
    assert!(trees[4].1.is_dir(), "among the three most recently used: kept however idle");
    // A removed commit is written again, with its content.
    let again = cache.checkout(&url, &trees[0].0).expect("checkout again");
    assert_eq!(std::fs::read_to_string(again.join("app/config.yaml")).expect("file"), "n: 0\n");
}

#[test]
fn a_tree_in_use_is_kept_however_old_it_is() {
    let (_dir, repo, url, cache) = setup();
    let first = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    cache.ensure_commit(&url, &first, None).expect("fetch");
    let pinned = cache.checkout(&url, &first).expect("checkout");
    age(&pinned, 3600);
    for i in 0..4 {
        let sha = repo.commit(&[("a.yaml", &format!("a: {}\n", i + 2))], "next");
        cache.ensure_commit(&url, &sha, None).expect("fetch");
        // An app pinned to the first commit keeps rendering it meanwhile.
        assert_eq!(cache.checkout(&url, &first).expect("pinned checkout"), pinned);
        cache.checkout(&url, &sha).expect("checkout");
        cache.settle();
    }
    assert!(pinned.is_dir(), "used on every refresh: never idle");
}

#[test]
fn scratch_left_by_a_stopped_process_is_removed_on_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let leftover = dir.path().join("cache/checkouts/.scratch/abc-spare-1-0/app");
    std::fs::create_dir_all(&leftover).expect("leftover");
    let _cache = cache(&dir.path().join("cache"));
    assert!(!leftover.exists());
    assert!(dir.path().join("cache/checkouts").is_dir());
}
