//! The whole path an Application takes: a git server on loopback → resolve the branch → fetch →
//! checkout → render (Kustomize with options, through the real kubectl kustomize) → render
//! cache. An unchanged app is a cache hit; a pushed commit is a miss with the new content.

use std::cell::Cell;
use std::time::Duration;

use serde_json::json;
use tiphys_git::testsupport::{GitHttpServer, TestRepo};
use tiphys_git::{Credentials, GitCache, GitConfig};
use tiphys_render::{AppContext, ApplicationSource, Limits, RenderCache, RenderInput, RenderKey, RepoRoot};
use tiphys_tools::{ProcessRunner, RunOptions};

#[test]
fn an_unchanged_app_is_a_cache_hit_and_a_push_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let repo = TestRepo::create(&served, "apps");
    let cm = |v: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  version: \"{v}\"\n")
    };
    repo.commit(
        &[("guestbook/kustomization.yaml", "resources:\n- cm.yaml\n"), ("guestbook/cm.yaml", &cm("1"))],
        "one",
    );
    let server = GitHttpServer::start(&served, "ci", "pw").unwrap();
    let url = server.url("apps");
    let creds = Credentials { username: "ci".into(), password: "pw".into(), ..Credentials::default() };
    let git = GitCache::new(GitConfig {
        root: dir.path().join("cache"),
        timeout: Duration::from_secs(30),
        known_hosts: String::new(),
    })
    .unwrap();
    let tools = ProcessRunner::new(RunOptions::default());
    assert!(tools.kustomize.is_some(), "no kustomize: run scripts/install-test-tools.sh");
    let cache = RenderCache::new(64);
    let renders = Cell::new(0);
    let source: ApplicationSource = serde_json::from_value(json!({
        "repoURL": url, "path": "guestbook", "targetRevision": "main",
        "kustomize": {"namePrefix": "$ARGOCD_APP_NAME-", "commonLabels": {"env": "$ARGOCD_APP_NAMESPACE"}}
    }))
    .unwrap();

    let reconcile = || {
        let sha = git.resolve(&url, "main", Some(&creds)).unwrap();
        let app = AppContext {
            name: "gb".into(),
            namespace: "prod".into(),
            revision: sha.clone(),
            repo_url: url.clone(),
            ..AppContext::default()
        };
        let key = RenderKey::new(&tiphys_git::normalize(&url), &sha, &source, &app, b"");
        cache
            .get_or_render(&key, || {
                renders.set(renders.get() + 1);
                let checkout = git.checkout(&url, &sha).unwrap();
                let root = RepoRoot::new(&checkout).unwrap();
                let scratch = tempfile::tempdir().unwrap();
                let input = RenderInput {
                    root: &root,
                    source: &source,
                    app: &app,
                    refs: &[],
                    plugins: &[],
                    kustomize_build_options: &[],
                    scratch: scratch.path(),
                    limits: Limits::default(),
                    helm: None,
                };
                tiphys_render::render(&input, &tools)
            })
            .unwrap()
    };

    let first = reconcile();
    // namePrefix is not substituted (upstream only substitutes images and labels).
    assert_eq!(first[0]["metadata"]["name"], "$ARGOCD_APP_NAME-settings");
    assert_eq!(first[0]["metadata"]["labels"]["env"], "prod");
    assert_eq!(first[0]["data"]["version"], "1");
    let second = reconcile();
    assert_eq!(second, first);
    assert_eq!(
        (renders.get(), git.fetch_count(), cache.stats().0),
        (1, 1, 1),
        "second reconcile: cache hit, no fetch"
    );

    repo.commit(&[("guestbook/cm.yaml", &cm("2"))], "two");
    let third = reconcile();
    assert_eq!(third[0]["data"]["version"], "2");
    assert_eq!((renders.get(), git.fetch_count()), (2, 2));
}
