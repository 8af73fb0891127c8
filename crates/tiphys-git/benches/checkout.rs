//! Checkout of a new commit of an 11,000-file monorepo (1,000 directories × 11 small YAML
//! files) when one file changed, the way the controller meets it: a push, a fetch, then the
//! checkout (only the checkout is timed). Full `git read-tree` against the incremental path,
//! from the spare copy made in the background after the previous checkout and from a
//! hard-link copy of its own. Every iteration checks out a commit never written before, so no
//! tree is deleted and re-created between measurements.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
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
    repo.commit(&refs, "11,000 files");
    let url = repo.bare.to_string_lossy().into_owned();
    let root = dir.path().join("cache");
    let pushes = Cell::new(0u32);
    // A push changing one file, fetched into the cache (not timed).
    let push = |cache: &GitCache| {
        pushes.set(pushes.get() + 1);
        let sha =
            repo.commit(&[("apps/app-0500/res-05.yaml", &format!("push: {}\n", pushes.get()))], "one file");
        cache.ensure_commit(&url, &sha, None).expect("fetch")
    };
    let timed_checkout = |cache: &GitCache, sha: &str| {
        let start = Instant::now();
        let tree = cache.checkout(&url, sha).expect("checkout");
        let elapsed = start.elapsed();
        assert_eq!(
            std::fs::read_to_string(tree.join("apps/app-0500/res-05.yaml")).expect("read"),
            format!("push: {}\n", pushes.get())
        );
        elapsed
    };

    let mut group = c.benchmark_group("checkout_11000_files_one_changed");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5));
    // A new cache with no earlier tree on disk writes the commit whole (a first start). The
    // trees of earlier iterations are moved aside (a rename: deleting them would slow down
    // the file creation measured next).
    let repo_checkouts = {
        let cache = open(&root);
        let sha = push(&cache);
        cache
            .checkout(&url, &sha)
            .expect("first checkout")
            .parent()
            .expect("checkouts/<repo key>")
            .to_path_buf()
    };
    let parked = dir.path().join("parked");
    std::fs::create_dir_all(&parked).expect("mkdir");
    group.bench_function("full_read_tree", |bench| {
        bench.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    if repo_checkouts.exists() {
                        std::fs::rename(&repo_checkouts, parked.join(pushes.get().to_string()))
                            .expect("park");
                    }
                    let cache = open(&root);
                    let sha = push(&cache);
                    timed_checkout(&cache, &sha)
                })
                .sum()
        })
    });
    // Starts from the last tree the full runs left on disk; from then on from its own.
    let incremental = open(&root);
    let scratch = root.join("checkouts/.scratch");
    group.measurement_time(Duration::from_secs(1));
    for (name, spare) in [("incremental_spare_ready", true), ("incremental_own_link_copy", false)] {
        group.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let sha = push(&incremental);
                        incremental.settle();
                        if !spare {
                            for entry in std::fs::read_dir(&scratch).expect("scratch").flatten() {
                                if entry.file_name().to_string_lossy().contains("-spare-") {
                                    std::fs::remove_dir_all(entry.path()).expect("remove spare");
                                }
                            }
                        }
                        timed_checkout(&incremental, &sha)
                    })
                    .sum()
            })
        });
    }
    group.finish();
    assert_eq!(incremental.checkout_count(), incremental.incremental_checkout_count(), "all incremental");
}

criterion_group!(benches, bench);
criterion_main!(benches);
