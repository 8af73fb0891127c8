//! "Did the branch move?": `ls-remote` + revision resolution against real loopback servers.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{Criterion, criterion_group, criterion_main};
use tiphys_git::testsupport::{GitDaemon, GitHttpServer, TestRepo};
use tiphys_git::{Credentials, GitCache, GitConfig, Resolved, resolve_revision};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).expect("mkdir");
    let repo = TestRepo::create(&served, "app");
    let head = repo.commit(&[("app/cm.yaml", "v: 1\n")], "one");
    for i in 0..20 {
        repo.git(&["tag", &format!("v1.{i}.0")]);
    }
    repo.git(&["push", "--quiet", "origin", "--tags"]);
    let http = GitHttpServer::start(&served, "bench", "bench-pass").expect("http server");
    let daemon = GitDaemon::start(&served).expect("git daemon");
    let cache = GitCache::new(GitConfig {
        root: dir.path().join("cache"),
        timeout: std::time::Duration::from_secs(20),
        known_hosts: String::new(),
    })
    .expect("cache");
    let creds =
        Credentials { username: "bench".into(), password: "bench-pass".into(), ..Credentials::default() };
    let moved = |url: &str, creds: Option<&Credentials>| {
        let refs = cache.ls_remote(url, creds).expect("ls-remote");
        resolve_revision(&refs, "main").expect("resolve")
    };
    assert_eq!(moved(&http.url("app"), Some(&creds)), Resolved::Commit(head.clone()));
    assert_eq!(moved(&daemon.url("app"), None), Resolved::Commit(head));
    c.bench_function("did_branch_move_smart_http_basic_auth", |b| {
        b.iter(|| moved(&http.url("app"), Some(&creds)))
    });
    c.bench_function("did_branch_move_git_daemon", |b| b.iter(|| moved(&daemon.url("app"), None)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
