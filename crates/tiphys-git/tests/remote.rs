//! Against real git servers on loopback: `git http-backend` behind basic auth and `git daemon`,
//! serving repositories built here with the real `git`.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tiphys_git::testsupport::{Blackhole, GitDaemon, GitHttpServer, TestRepo};
use tiphys_git::{CredentialStore, Credentials, GitCache, GitConfig, GitError, SECRET_TYPE_LABEL};

const PASSWORD: &str = "s3cret-pa55";

struct World {
    dir: tempfile::TempDir,
    repo: TestRepo,
    server: GitHttpServer,
    commits: Vec<String>,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let repo = TestRepo::create(&served, "app");
    let c1 = repo.commit(&[("app/cm.yaml", "v: 1\n")], "one");
    repo.git(&["tag", "v1.2.0"]);
    let c2 = repo.commit(&[("app/cm.yaml", "v: 2\n")], "two");
    repo.git(&["tag", "-a", "v1.2.3", "-m", "annotated"]);
    let c3 = repo.commit(&[("app/cm.yaml", "v: 3\n")], "three");
    repo.git(&["tag", "v1.3.0-rc.1"]);
    repo.git(&["tag", "v2.0.0"]);
    repo.git(&["push", "--quiet", "origin", "--tags"]);
    repo.git(&["checkout", "--quiet", "-b", "dev", &c1]);
    let c4 = repo.commit(&[("app/cm.yaml", "v: dev\n")], "dev");
    repo.git(&["push", "--quiet", "origin", "dev"]);
    repo.git(&["checkout", "--quiet", "main"]);
    repo.git(&["reset", "--quiet", "--hard", &c3]);
    let server = GitHttpServer::start(&served, "tester", PASSWORD).unwrap();
    World { dir, repo, server, commits: vec![c1, c2, c3, c4] }
}

fn cache(w: &World, timeout: Duration) -> GitCache {
    GitCache::new(GitConfig { root: w.dir.path().join("cache"), timeout, known_hosts: String::new() })
        .unwrap()
}

fn good() -> Credentials {
    Credentials { username: "tester".into(), password: PASSWORD.into(), ..Credentials::default() }
}

fn content_at(cache: &GitCache, url: &str, sha: &str) -> String {
    let tree = cache.checkout(url, sha).unwrap();
    std::fs::read_to_string(tree.join("app/cm.yaml")).unwrap()
}

#[test]
fn resolves_every_revision_shape_over_smart_http() {
    let w = world();
    let c = cache(&w, Duration::from_secs(20));
    let url = w.server.url("app");
    let creds = good();
    let r = |rev: &str| c.resolve(&url, rev, Some(&creds)).unwrap();
    let [c1, c2, c3, c4] = [&w.commits[0], &w.commits[1], &w.commits[2], &w.commits[3]];
    assert_eq!(&r("main"), c3);
    assert_eq!(&r("HEAD"), c3);
    assert_eq!(&r(""), c3);
    assert_eq!(&r("dev"), c4);
    assert_eq!(&r("v1.2.0"), c1);
    assert_eq!(&r("v1.2.3"), c2, "annotated tag → its commit");
    assert_eq!(&r(c2), c2);
    assert_eq!(&r(&c1[..7]), c1, "short SHA");
    assert_eq!(&r("1.2.*"), c2);
    assert_eq!(&r(">=1.0 <2.0"), c2, "pre-release v1.3.0-rc.1 does not count");
    assert_eq!(&r("~1.2"), c2);
    assert_eq!(&r("^1.0"), c2);
    assert_eq!(&r("*"), c3);
    assert_eq!(content_at(&c, &url, c1), "v: 1\n");
    assert_eq!(content_at(&c, &url, c4), "v: dev\n");
    let err = c.resolve(&url, "no-such-branch", Some(&creds)).unwrap_err();
    assert!(matches!(err, GitError::RevisionNotFound { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn a_pushed_commit_is_seen_by_the_next_fetch() {
    let w = world();
    let c = cache(&w, Duration::from_secs(20));
    let url = w.server.url("app");
    let first = c.resolve(&url, "main", Some(&good())).unwrap();
    assert_eq!(content_at(&c, &url, &first), "v: 3\n");
    let again = c.resolve(&url, "main", Some(&good())).unwrap();
    assert_eq!((again, c.fetch_count()), (first.clone(), 1), "unchanged branch: no second fetch");
    let pushed = w.repo.commit(&[("app/cm.yaml", "v: 4\n")], "four");
    let next = c.resolve(&url, "main", Some(&good())).unwrap();
    assert_eq!(next, pushed);
    assert_eq!(c.fetch_count(), 2);
    assert_eq!(content_at(&c, &url, &next), "v: 4\n");
    assert_eq!(content_at(&c, &url, &first), "v: 3\n", "old checkouts stay as they were");
}

#[test]
fn wrong_credentials_name_the_repo_but_not_the_secret() {
    let w = world();
    let c = cache(&w, Duration::from_secs(20));
    let url = w.server.url("app");
    let wrong = Credentials {
        username: "tester".into(),
        password: "wrong-password-123".into(),
        ..Credentials::default()
    };
    for creds in [Some(&wrong), None] {
        let err = c.resolve(&url, "main", creds).unwrap_err();
        assert!(matches!(err, GitError::Auth { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&url) && !msg.contains("wrong-password-123") && !msg.contains(PASSWORD),
            "{msg}"
        );
    }
    let with_userinfo = url.replace("http://", &format!("http://tester:{PASSWORD}x@"));
    let msg = c.resolve(&with_userinfo, "main", None).unwrap_err().to_string();
    assert!(!msg.contains(PASSWORD), "{msg}");
}

#[test]
fn an_unresponsive_server_times_out_within_the_bound() {
    let w = world();
    let hole = Blackhole::start().unwrap();
    let c = cache(&w, Duration::from_millis(700));
    let start = Instant::now();
    let err = c.resolve(&hole.url(), "main", None).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, GitError::Timeout { .. }), "{err}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(err.to_string().contains(&hole.url()), "{err}");
}

#[test]
fn native_ref_advertisement_matches_git_ls_remote() {
    let w = world();
    let daemon = GitDaemon::start(&w.dir.path().join("served")).unwrap();
    let c = cache(&w, Duration::from_secs(20));
    // A local path always goes through `git ls-remote`: the reference answer.
    let mut by_git = c.ls_remote(&w.repo.bare.to_string_lossy(), None).unwrap();
    let mut over_http = c.ls_remote(&w.server.url("app"), Some(&good())).unwrap();
    let mut over_daemon = c.ls_remote(&daemon.url("app"), None).unwrap();
    for refs in [&mut by_git, &mut over_http, &mut over_daemon] {
        refs.sort();
    }
    assert!(by_git.iter().any(|(r, _)| r == "refs/tags/v1.2.3^{}"), "{by_git:?}");
    assert_eq!(over_http, by_git);
    assert_eq!(over_daemon, by_git);
}

#[test]
fn git_daemon_works_too() {
    let w = world();
    let daemon = GitDaemon::start(&w.dir.path().join("served")).unwrap();
    let c = cache(&w, Duration::from_secs(20));
    let url = daemon.url("app");
    let sha = c.resolve(&url, "v1.2.3", None).unwrap();
    assert_eq!(sha, w.commits[1]);
    assert_eq!(content_at(&c, &url, &sha), "v: 2\n");
}

#[test]
fn a_hundred_concurrent_requests_cause_one_fetch() {
    let w = world();
    let c = Arc::new(cache(&w, Duration::from_secs(30)));
    let url = w.server.url("app");
    let sha = w.commits[2].clone();
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let (c, url, sha) = (c.clone(), url.clone(), sha.clone());
            std::thread::spawn(move || c.ensure_commit(&url, &sha, Some(&good())).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), sha);
    }
    assert_eq!(c.fetch_count(), 1);
    // 100 apps tracking `main` after a push: each checks with ls-remote, one fetches.
    let pushed = w.repo.commit(&[("app/cm.yaml", "v: 5\n")], "five");
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            std::thread::spawn(move || c.resolve(&url, "main", Some(&good())).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), pushed);
    }
    assert_eq!(c.fetch_count(), 2, "one fetch per new commit");
    // ...and the new tree is written out once, not once per app.
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (c, url, pushed) = (c.clone(), url.clone(), pushed.clone());
            std::thread::spawn(move || c.checkout(&url, &pushed).unwrap())
        })
        .collect();
    let trees: std::collections::BTreeSet<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(trees.len(), 1);
    assert_eq!(c.checkout_count(), 1, "one checkout for twenty concurrent callers");
}

#[test]
fn credentials_come_from_repository_and_repo_creds_secrets() {
    let w = world();
    let c = cache(&w, Duration::from_secs(20));
    let url = w.server.url("app");
    let prefix = url.trim_end_matches("app.git").to_string();
    let store = CredentialStore::from_secrets(&[
        json!({"metadata": {"name": "creds", "labels": {SECRET_TYPE_LABEL: "repo-creds"}},
               "stringData": {"url": prefix, "username": "tester", "password": PASSWORD}}),
        json!({"metadata": {"name": "app", "labels": {SECRET_TYPE_LABEL: "repository"}},
               "stringData": {"url": url, "type": "git"}}),
    ])
    .unwrap();
    let (secret, creds) = store.lookup(&url).unwrap();
    assert_eq!(secret, "creds");
    assert_eq!(c.resolve(&url, "main", Some(&creds)).unwrap(), w.commits[2]);
}

#[test]
fn ssh_command_uses_a_private_key_file_and_known_hosts() {
    let w = world();
    let c = cache(&w, Duration::from_secs(5));
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";
    let creds = Credentials { ssh_private_key: key.into(), ..Credentials::default() };
    let cmd = c.ssh_command(&creds).unwrap().unwrap();
    assert!(!cmd.contains("not-a-real-key"), "the key itself never goes on a command line");
    assert!(
        cmd.contains("StrictHostKeyChecking=yes")
            && cmd.contains("UserKnownHostsFile=")
            && cmd.contains("BatchMode=yes"),
        "{cmd}"
    );
    let key_path = cmd.split_whitespace().skip_while(|a| *a != "-i").nth(1).unwrap();
    let meta = std::fs::metadata(key_path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(key_path).unwrap(), format!("{key}\n"));
    let insecure = Credentials { insecure_ignore_host_key: true, ..creds };
    let cmd = c.ssh_command(&insecure).unwrap().unwrap();
    assert!(
        cmd.contains("StrictHostKeyChecking=no") && cmd.contains("UserKnownHostsFile=/dev/null"),
        "{cmd}"
    );
}

#[test]
fn submodules_are_filled_in_when_asked() {
    let w = world();
    let served = w.dir.path().join("served");
    let lib = TestRepo::create(&served, "lib");
    let lib_sha = lib.commit(&[("lib.libsonnet", "{ name: 'from-lib' }\n")], "lib");
    lib.commit(&[("lib.libsonnet", "{ name: 'newer-lib' }\n")], "newer, not pinned");
    w.repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "--quiet",
        "add",
        &lib.bare.to_string_lossy(),
        "vendor/lib",
    ]);
    w.repo.git(&["-C", "vendor/lib", "checkout", "--quiet", &lib_sha]);
    // Relative URL, as repositories that move between hosts write it.
    w.repo.git(&["config", "-f", ".gitmodules", "submodule.vendor/lib.url", "../lib.git"]);
    let sha = w.repo.commit(&[], "add submodule");
    let c = cache(&w, Duration::from_secs(20));
    let url = w.server.url("app");
    c.ensure_commit(&url, &sha, Some(&good())).unwrap();
    let plain = c.checkout(&url, &sha).unwrap();
    assert!(!plain.join("vendor/lib/lib.libsonnet").exists());
    let full = c.checkout_with_submodules(&url, &sha, Some(&good())).unwrap();
    assert_eq!(
        std::fs::read_to_string(full.join("vendor/lib/lib.libsonnet")).unwrap(),
        "{ name: 'from-lib' }\n"
    );
    assert_eq!(std::fs::read_to_string(full.join("app/cm.yaml")).unwrap(), "v: 3\n");
}
