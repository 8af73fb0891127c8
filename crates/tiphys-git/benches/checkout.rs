//! Checkout of a new commit of an 11,000-file monorepo (1,000 directories × 11 small YAML
//! files) after the previous commit's tree exists, when one file changed: the full
//! `git read-tree` against the incremental hard-link copy plus diff.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tiphys_git::testsupport::TestRepo;
use tiphys_git::{GitCache, GitConfig};

fn open(root: &Path) -> GitCache {
    GitCache::new(GitConfig {
        root: root.to_path_buf(),
        timeout: Duration::from_secs(60),
        known_hosts: String::new(),
    })
    .expect("cache")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).expect("mkdir");
    let repo = TestRepo::create(&served, "mono");
    let files: Vec<(String, String)> = (0..1000)
        .flat_map(|app| {
            (0..11).map(move |r| {
                (
                    format!("apps/app-{app:04}/res-{r:02}.yaml"),
                    format!(
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{app}-{r}\ndata:\n  k: \"{r}\"\n"
                    ),
                )
            })
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let a = repo.commit(&refs, "11,000 files");
    let b = repo.commit(&[("apps/app-0500/res-05.yaml", "changed: true\n")], "one file");
    let url = repo.bare.to_string_lossy().into_owned();
    let root = dir.path().join("cache");
    let first = open(&root);
    // Fetched once into the bare repository every cache below shares.
    first.ensure_commit(&url, &a, None).expect("commit A");
    first.ensure_commit(&url, &b, None).expect("commit B");
    let tree_of = |cache: &GitCache, sha: &str| cache.checkout(&url, sha).expect("checkout");
    let tree_a = tree_of(&first, &a);
    let tree_b = tree_of(&first, &b);
    assert_eq!(first.incremental_checkout_count(), 1, "B is built from A");
    assert_eq!(
        std::fs::read_to_string(tree_b.join("apps/app-0500/res-05.yaml")).expect("read"),
        "changed: true\n"
    );

    let mut group = c.benchmark_group("checkout_11000_files_one_changed");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    // A new cache knows no earlier tree, so it writes B whole (as after a restart). The cache
    // is returned so that its drop (joining its background copy) is not timed.
    group.bench_function("full_read_tree", |bench| {
        bench.iter_batched(
            || {
                std::fs::remove_dir_all(&tree_b).expect("remove B");
                open(&root)
            },
            |cache| {
                assert!(tree_of(&cache, &b).is_dir());
                cache
            },
            BatchSize::PerIteration,
        )
    });
    drop(first);
    // One cache alternating between A and B: each checkout starts from the other's tree,
    // either from the spare copy made in the background after the previous checkout, or
    // (spare removed) from a hard-link copy of its own.
    let incremental = open(&root);
    let checkouts = tree_a.parent().expect("checkouts/<repo key>").to_path_buf();
    let scratch = checkouts.parent().expect("checkouts").join(".scratch");
    std::fs::remove_dir_all(&tree_a).expect("remove A");
    tree_of(&incremental, &a);
    let last = RefCell::new(a.clone());
    for (name, spare) in [("incremental_spare_ready", true), ("incremental_own_link_copy", false)] {
        group.bench_function(name, |bench| {
            bench.iter_batched(
                || {
                    incremental.settle();
                    if !spare {
                        for entry in std::fs::read_dir(&scratch).expect("scratch").flatten() {
                            if entry.file_name().to_string_lossy().contains("-spare-") {
                                std::fs::remove_dir_all(entry.path()).expect("remove spare");
                            }
                        }
                    }
                    let next = if *last.borrow() == a { b.clone() } else { a.clone() };
                    std::fs::remove_dir_all(checkouts.join(&next)).expect("remove next");
                    last.replace(next.clone());
                    next
                },
                |next| assert!(tree_of(&incremental, &next).is_dir()),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    assert_eq!(
        incremental.checkout_count(),
        incremental.incremental_checkout_count() + 1,
        "all but the first"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
