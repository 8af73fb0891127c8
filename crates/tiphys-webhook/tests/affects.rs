//! Which Applications a push refreshes: repository URL forms, targetRevision, multi-source
//! apps, the source hydrator, and `manifest-generate-paths`.

use serde_json::{Value, json};
use tiphys_model::Application;
use tiphys_webhook::{EventMatcher, Provider, PushEvent, affects, refresh_paths};

fn app(spec: Value, annotations: Option<&str>) -> Application {
    let mut meta = json!({"name": "guestbook", "namespace": "argocd"});
    if let Some(paths) = annotations {
        meta["annotations"] = json!({"argocd.argoproj.io/manifest-generate-paths": paths});
    }
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": spec,
    }))
    .expect("an Application")
}

fn single(repo: &str, revision: Option<&str>, path: &str) -> Value {
    let mut source = json!({"repoURL": repo, "path": path});
    if let Some(rev) = revision {
        source["targetRevision"] = json!(rev);
    }
    json!({"source": source, "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}})
}

/// A GitHub push of `main` (the default branch) to Octo-Org/Guestbook.
fn github_push(revision: &str, files: &[&str]) -> PushEvent {
    PushEvent {
        provider: Provider::GitHub,
        repo_urls: vec![
            "https://github.com/Octo-Org/Guestbook".into(),
            "https://github.com/Octo-Org/Guestbook.git".into(),
            "git@github.com:Octo-Org/Guestbook.git".into(),
        ],
        revision: revision.into(),
        before: None,
        after: None,
        changed_files: files.iter().map(|f| f.to_string()).collect(),
        is_tag: false,
        default_branch: Some("main".into()),
    }
}

#[test]
fn every_spelling_of_the_repository_url_matches() {
    let event = github_push("main", &[]);
    for url in [
        "https://github.com/Octo-Org/Guestbook",
        "https://github.com/octo-org/guestbook.git",
        "http://github.com/Octo-Org/Guestbook",
        "git@github.com:Octo-Org/Guestbook.git",
        "ssh://git@github.com/Octo-Org/Guestbook.git",
        "ssh://git@ssh.github.com:443/Octo-Org/Guestbook.git",
        "https://ci-bot@github.com/Octo-Org/Guestbook",
        "github.com/Octo-Org/Guestbook",
    ] {
        assert!(affects(&app(single(url, Some("HEAD"), "guestbook"), None), &event), "{url} should match");
    }
    for url in [
        "https://github.com/Octo-Org/Guestbook-Other",
        "https://github.com/Octo-Org/Guestbook/sub",
        "https://github.com/Other-Org/Guestbook",
        "https://gitlab.com/Octo-Org/Guestbook",
        "https://evil.example/github.com/Octo-Org/Guestbook",
        "https://user:password@github.com/Octo-Org/Guestbook",
        "",
    ] {
        assert!(!affects(&app(single(url, Some("HEAD"), "guestbook"), None), &event), "{url} must not match");
    }
}

#[test]
fn clone_urls_alone_identify_the_repository() {
    // Bitbucket Server only sends clone links (with .git and an SSH port).
    let event = PushEvent {
        provider: Provider::BitbucketServer,
        repo_urls: vec![
            "ssh://git@bitbucket.example.com:7999/ops/deployments.git".into(),
            "https://bitbucket.example.com/scm/ops/deployments.git".into(),
        ],
        revision: "develop".into(),
        before: None,
        after: None,
        changed_files: vec![],
        is_tag: false,
        default_branch: None,
    };
    for url in [
        "ssh://git@bitbucket.example.com:7999/ops/deployments.git",
        "https://bitbucket.example.com/scm/ops/deployments.git",
        "https://bitbucket.example.com/scm/ops/deployments",
    ] {
        assert!(affects(&app(single(url, Some("develop"), "."), None), &event), "{url}");
    }
    assert!(!affects(
        &app(single("https://bitbucket.example.com/scm/ops/other.git", Some("develop"), "."), None),
        &event
    ));
}

#[test]
fn target_revision_follows_the_pushed_ref() {
    let repo = "https://github.com/Octo-Org/Guestbook.git";
    let main = github_push("main", &[]);
    let feature = github_push("feature/login", &[]);
    let cases: &[(Option<&str>, &PushEvent, bool)] = &[
        (None, &main, true),
        (Some(""), &main, true),
        (Some("HEAD"), &main, true),
        (Some("HEAD"), &feature, false),
        (Some("main"), &main, true),
        (Some("main"), &feature, false),
        (Some("refs/heads/main"), &main, true),
        (Some("feature/login"), &feature, true),
        (Some("refs/heads/feature/login"), &feature, true),
        (Some("feature/logout"), &feature, false),
        (Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"), &main, false),
    ];
    for (revision, event, want) in cases {
        assert_eq!(
            affects(&app(single(repo, *revision, "guestbook"), None), event),
            *want,
            "targetRevision {revision:?} for a push of {}",
            event.revision
        );
    }
}

#[test]
fn tags_match_refs_tags_and_plain_names() {
    let repo = "https://github.com/Octo-Org/Guestbook.git";
    let mut tag = github_push("v1.2.0", &[]);
    tag.is_tag = true;
    assert!(affects(&app(single(repo, Some("v1.2.0"), "."), None), &tag));
    assert!(affects(&app(single(repo, Some("refs/tags/v1.2.0"), "."), None), &tag));
    assert!(!affects(&app(single(repo, Some("HEAD"), "."), None), &tag));
    assert!(!affects(&app(single(repo, Some("v1.3.0"), "."), None), &tag));
}

#[test]
fn default_branch_unknown_means_head_was_touched() {
    let mut event = github_push("develop", &[]);
    event.default_branch = None;
    assert!(affects(&app(single("https://github.com/Octo-Org/Guestbook", Some("HEAD"), "."), None), &event));
}

#[test]
fn any_source_of_a_multi_source_app_can_match() {
    let spec = json!({
        "sources": [
            {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "18.1.0"},
            {"repoURL": "git@github.com:Octo-Org/Guestbook.git", "targetRevision": "main", "ref": "values"}
        ],
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}
    });
    assert!(affects(&app(spec.clone(), None), &github_push("main", &["values/prod.yaml"])));
    assert!(!affects(&app(spec, None), &github_push("dev", &["values/prod.yaml"])));
}

#[test]
fn a_hydrator_app_follows_its_dry_source_and_its_sync_branch() {
    let spec = json!({
        "sourceHydrator": {
            "drySource": {"repoURL": "https://github.com/Octo-Org/Guestbook", "targetRevision": "main", "path": "dry"},
            "syncSource": {"targetBranch": "environments/prod", "path": "prod"}
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}
    });
    assert!(affects(&app(spec.clone(), None), &github_push("main", &[])), "a dry commit");
    assert!(
        affects(&app(spec.clone(), None), &github_push("environments/prod", &[])),
        "hydrated output pushed"
    );
    assert!(!affects(&app(spec.clone(), None), &github_push("other", &[])));
    // Relative refresh paths resolve against the sync path, as upstream's GetSources does.
    let annotated = app(spec, Some("."));
    assert_eq!(refresh_paths(&annotated), ["prod"]);
    assert!(affects(&annotated, &github_push("environments/prod", &["prod/manifest.yaml"])));
    assert!(!affects(&annotated, &github_push("environments/prod", &["staging/manifest.yaml"])));
}

#[test]
fn manifest_generate_paths_limit_refreshes_to_changed_files() {
    let repo = "https://github.com/Octo-Org/Guestbook";
    let spec = single(repo, Some("HEAD"), "guestbook");
    let in_app = github_push("main", &["guestbook/deployment.yaml"]);
    let nested = github_push("main", &["guestbook/overlays/prod/patch.yaml"]);
    let elsewhere = github_push("main", &["docs/README.md", "guestbook-v2/deployment.yaml"]);
    let shared = github_push("main", &["shared/base/service.yaml"]);
    let unknown_files = github_push("main", &[]);

    // `.` is the source path itself.
    let dot = app(spec.clone(), Some("."));
    assert_eq!(refresh_paths(&dot), ["guestbook"]);
    assert!(affects(&dot, &in_app));
    assert!(affects(&dot, &nested));
    assert!(!affects(&dot, &elsewhere));
    assert!(affects(&dot, &unknown_files), "no file list means refresh");

    // Relative entries resolve against the source path; absolute ones from the repo root.
    let several = app(spec.clone(), Some(".;../shared;/docs"));
    assert_eq!(refresh_paths(&several), ["guestbook", "shared", "docs"]);
    assert!(affects(&several, &shared));
    assert!(affects(&several, &elsewhere), "docs/README.md is under /docs");

    // A single file and a glob.
    let file = app(spec.clone(), Some("/guestbook/deployment.yaml"));
    assert!(affects(&file, &in_app));
    assert!(!affects(&file, &github_push("main", &["guestbook/service.yaml"])));
    let glob = app(spec.clone(), Some("/guestbook/*.yaml"));
    assert!(affects(&glob, &in_app));
    assert!(!affects(&glob, &github_push("main", &["guestbook/values.json"])));

    // `.` for a source at the repository root covers every file.
    let root = app(single(repo, Some("HEAD"), ""), Some("."));
    assert!(affects(&root, &elsewhere));

    // Without the annotation every change refreshes; an empty annotation is no annotation.
    assert!(affects(&app(spec.clone(), None), &elsewhere));
    assert!(affects(&app(spec, Some("")), &elsewhere));
}

#[test]
fn one_matcher_serves_many_apps() {
    let event = github_push("main", &["guestbook/deployment.yaml"]);
    let matcher = EventMatcher::new(&event);
    let apps: Vec<Application> = (0..100)
        .map(|i| {
            let repo = if i % 2 == 0 {
                "https://github.com/Octo-Org/Guestbook"
            } else {
                "https://github.com/Octo-Org/Other"
            };
            app(single(repo, Some("HEAD"), "guestbook"), None)
        })
        .collect();
    assert_eq!(apps.iter().filter(|a| matcher.affects(a)).count(), 50);
}
