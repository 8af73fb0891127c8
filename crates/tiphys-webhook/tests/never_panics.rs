//! Property tests: arbitrary requests and Applications never panic.

use proptest::prelude::*;
use serde_json::json;
use tiphys_model::Application;
use tiphys_webhook::{PushEvent, Received, WebhookSecrets, affects, parse};

const HEADER_NAMES: &[&str] = &[
    "X-GitHub-Event",
    "X-Hub-Signature-256",
    "X-Gitlab-Event",
    "X-Gitlab-Token",
    "X-Gitea-Event",
    "X-Gitea-Signature",
    "X-Gogs-Event",
    "X-Gogs-Signature",
    "X-Hook-UUID",
    "X-Event-Key",
    "X-Hub-Signature",
    "Content-Type",
    "X-Vss-ActivityId",
    "Authorization",
];

const EVENTS: &[&str] = &[
    "push",
    "ping",
    "Push Hook",
    "Tag Push Hook",
    "System Hook",
    "repo:push",
    "repo:refs_changed",
    "diagnostics:ping",
];

fn header() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(HEADER_NAMES),
        prop_oneof![
            prop::sample::select(EVENTS).prop_map(str::to_string),
            any::<String>(),
            "sha256=[0-9a-f]{0,64}"
        ],
    )
        .prop_map(|(k, v)| (k.to_string(), v))
}

/// JSON bodies shaped like push payloads, with arbitrary values in the places we read.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        any::<String>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        prop::collection::vec(any::<String>(), 0..3).prop_map(serde_json::Value::from),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        (value.clone(), value.clone(), value.clone(), value).prop_map(|(r, url, files, change)| {
            json!({
                "ref": r,
                "object_kind": "push",
                "repository": {"html_url": url, "clone_url": url, "default_branch": r,
                                "links": {"html": {"href": url}, "clone": [{"name": "http", "href": url}, change]}},
                "project": {"web_url": url, "default_branch": r},
                "commits": [{"added": files, "modified": files, "removed": [files]}],
                "push": {"changes": [{"new": change, "old": {"target": change}}]},
                "changes": [{"ref": {"id": r, "type": change}, "fromHash": change}],
                "eventType": "git.push",
                "resource": {"refUpdates": [{"name": r, "newObjectId": change}], "repository": {"remoteUrl": url, "defaultBranch": r}}
            })
            .to_string()
            .into_bytes()
        }),
    ]
}

fn secrets() -> impl Strategy<Value = WebhookSecrets> {
    prop::option::of("[ -~]{0,12}").prop_map(|s| WebhookSecrets {
        github: s.clone(),
        gitlab: s.clone(),
        bitbucket_uuid: s.clone(),
        bitbucket_server: s.clone(),
        gogs: s.clone(),
        azure_devops_username: s.clone(),
        azure_devops_password: s,
        ..WebhookSecrets::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(headers in prop::collection::vec(header(), 0..5), body in body(), secrets in secrets()) {
        if let Ok(Received::Push(event)) = parse(&headers, &body, &secrets) {
            // Whatever was accepted can be matched against an app without panicking.
            let app = app("https://github.com/o/r", "HEAD", "p", ".;/x/*;[");
            let _ = affects(&app, &event);
        }
    }

    #[test]
    fn affects_never_panics(
        repo_urls in prop::collection::vec(any::<String>(), 0..4),
        revision in any::<String>(),
        files in prop::collection::vec("[a-z/.*?\\[\\]^-]{0,12}", 0..4),
        app_repo in any::<String>(),
        target in any::<String>(),
        path in "[a-z/.]{0,8}",
        paths in "[a-z/.;*?\\[\\]^\\\\-]{0,16}",
        default_branch in prop::option::of(any::<String>()),
    ) {
        let event = PushEvent {
            provider: tiphys_webhook::Provider::GitHub,
            repo_urls,
            revision,
            before: None,
            after: None,
            changed_files: files,
            is_tag: false,
            default_branch,
        };
        let _ = affects(&app(&app_repo, &target, &path, &paths), &event);
    }
}

fn app(repo: &str, target: &str, path: &str, paths: &str) -> Application {
    serde_json::from_value(json!({
        "metadata": {"name": "a", "annotations": {"argocd.argoproj.io/manifest-generate-paths": paths}},
        "spec": {"source": {"repoURL": repo, "targetRevision": target, "path": path}}
    }))
    .expect("an Application")
}
