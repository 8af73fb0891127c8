//! Real-shaped, signed push payloads for every provider, verified and read by `parse`.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tiphys_webhook::{Provider, PushEvent, Received, WebhookError, WebhookSecrets, parse};

const GITHUB_PUSH: &[u8] = include_bytes!("fixtures/github-push.json");
const GITHUB_PING: &[u8] = include_bytes!("fixtures/github-ping.json");
const GITLAB_PUSH: &[u8] = include_bytes!("fixtures/gitlab-push.json");
const GITLAB_TAG_PUSH: &[u8] = include_bytes!("fixtures/gitlab-tag-push.json");
const BITBUCKET_PUSH: &[u8] = include_bytes!("fixtures/bitbucket-push.json");
const BITBUCKET_SERVER_PUSH: &[u8] = include_bytes!("fixtures/bitbucketserver-refs-changed.json");
const GITEA_PUSH: &[u8] = include_bytes!("fixtures/gitea-push.json");
const GOGS_PUSH: &[u8] = include_bytes!("fixtures/gogs-push.json");
const AZURE_DEVOPS_PUSH: &[u8] = include_bytes!("fixtures/azuredevops-push.json");

const SECRET: &str = "It$s-a-Secret!";

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// HMAC-SHA256 hex, computed with the RustCrypto crates directly (not through the crate).
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn push(result: Result<Received, WebhookError>) -> PushEvent {
    match result {
        Ok(Received::Push(event)) => event,
        other => panic!("expected a push, got {other:?}"),
    }
}

fn github_secret() -> WebhookSecrets {
    WebhookSecrets { github: Some(SECRET.into()), ..WebhookSecrets::default() }
}

#[test]
fn github_push_signed_with_openssl_is_read() {
    // `openssl dgst -sha256 -hmac 'It$s-a-Secret!' tests/fixtures/github-push.json`
    let signature = "sha256=4cab44177a0c6ba9474bf1bc2b63be1750b4f3019a271bb70f815d8965360ddd";
    let h = headers(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", signature)]);
    let event = push(parse(&h, GITHUB_PUSH, &github_secret()));
    assert_eq!(event.provider, Provider::GitHub);
    assert_eq!(event.revision, "main");
    assert!(!event.is_tag);
    assert!(event.touched_head());
    assert_eq!(event.before.as_deref(), Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"));
    assert_eq!(event.after.as_deref(), Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"));
    assert_eq!(
        event.repo_urls,
        [
            "https://github.com/Octo-Org/Guestbook",
            "https://github.com/Octo-Org/Guestbook.git",
            "git@github.com:Octo-Org/Guestbook.git",
            "git://github.com/Octo-Org/Guestbook.git",
        ]
    );
    assert_eq!(
        event.changed_files,
        ["guestbook/hpa.yaml", "guestbook/guestbook-ui-deployment.yaml", "docs/OLD-README.md"]
    );
    assert_eq!(event.default_branch.as_deref(), Some("main"));
}

#[test]
fn headers_are_matched_in_any_case() {
    let sig = format!("sha256={}", sign(SECRET, GITHUB_PUSH));
    let h = headers(&[("x-github-event", "push"), ("X-HUB-SIGNATURE-256", &sig)]);
    assert_eq!(push(parse(&h, GITHUB_PUSH, &github_secret())).revision, "main");
}

#[test]
fn github_bad_signature_is_refused() {
    let sig = format!("sha256={}", sign("another secret", GITHUB_PUSH));
    let h = headers(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &sig)]);
    let err = parse(&h, GITHUB_PUSH, &github_secret()).unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature { provider: Provider::GitHub, .. }), "{err:?}");
    assert_eq!(err.http_status(), 401);
    assert!(!err.to_string().contains(SECRET), "the message must not leak the secret");

    // A tampered body with the original signature fails as well.
    let good = format!("sha256={}", sign(SECRET, GITHUB_PUSH));
    let mut tampered = GITHUB_PUSH.to_vec();
    tampered[10] ^= 1;
    let h = headers(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &good)]);
    assert!(matches!(parse(&h, &tampered, &github_secret()), Err(WebhookError::BadSignature { .. })));

    // Garbage and the legacy SHA-1 form are refused too.
    for sig in ["sha256=zz", "sha1=0123", "", "sha256="] {
        let h = headers(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", sig)]);
        assert!(parse(&h, GITHUB_PUSH, &github_secret()).is_err(), "{sig:?} must be refused");
    }
}

#[test]
fn missing_signature_is_refused_only_when_a_secret_is_configured() {
    let h = headers(&[("X-GitHub-Event", "push")]);
    let err = parse(&h, GITHUB_PUSH, &github_secret()).unwrap_err();
    assert_eq!(
        err,
        WebhookError::MissingSignature { provider: Provider::GitHub, header: "X-Hub-Signature-256" }
    );
    // No secret configured: accepted unsigned, as upstream.
    assert_eq!(push(parse(&h, GITHUB_PUSH, &WebhookSecrets::default())).revision, "main");
    // A secret for another provider does not make GitHub strict.
    let gitlab_only = WebhookSecrets { gitlab: Some("t".into()), ..WebhookSecrets::default() };
    assert_eq!(push(parse(&h, GITHUB_PUSH, &gitlab_only)).revision, "main");
}

#[test]
fn ping_and_other_events_are_ignored_not_errors() {
    let sig = format!("sha256={}", sign(SECRET, GITHUB_PING));
    let h = headers(&[("X-GitHub-Event", "ping"), ("X-Hub-Signature-256", &sig)]);
    assert_eq!(
        parse(&h, GITHUB_PING, &github_secret()).unwrap(),
        Received::Ignored { provider: Provider::GitHub, event: "ping".into() }
    );
    // An unsigned ping is still refused when a secret is set: a misconfigured secret shows up
    // when the hook is created, not at the first push.
    let h = headers(&[("X-GitHub-Event", "ping")]);
    assert!(parse(&h, GITHUB_PING, &github_secret()).is_err());

    let h = headers(&[("X-Gitlab-Event", "Merge Request Hook")]);
    assert!(matches!(parse(&h, b"{}", &WebhookSecrets::default()), Ok(Received::Ignored { .. })));
    let h = headers(&[("X-Event-Key", "diagnostics:ping")]);
    let strict = WebhookSecrets { bitbucket_server: Some(SECRET.into()), ..WebhookSecrets::default() };
    assert_eq!(
        parse(&h, b"", &strict).unwrap(),
        Received::Ignored { provider: Provider::BitbucketServer, event: "diagnostics:ping".into() }
    );
}

#[test]
fn gitlab_token_push_and_tag_push() {
    let secrets = WebhookSecrets { gitlab: Some(SECRET.into()), ..WebhookSecrets::default() };
    let h = headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)]);
    let event = push(parse(&h, GITLAB_PUSH, &secrets));
    assert_eq!(event.provider, Provider::GitLab);
    assert_eq!(event.revision, "release/1.x");
    assert!(!event.touched_head(), "the default branch is master");
    assert_eq!(
        event.repo_urls,
        [
            "https://gitlab.example.com/platform/diaspora",
            "https://gitlab.example.com/platform/diaspora.git",
            "git@gitlab.example.com:platform/diaspora.git",
        ]
    );
    assert_eq!(event.changed_files, ["charts/web/values-prod.yaml", "charts/web/Chart.yaml"]);

    let h = headers(&[("X-Gitlab-Event", "Tag Push Hook"), ("X-Gitlab-Token", SECRET)]);
    let tag = push(parse(&h, GITLAB_TAG_PUSH, &secrets));
    assert!(tag.is_tag);
    assert_eq!(tag.revision, "v1.2.0");
    assert_eq!(tag.before.as_deref(), Some("0000000000000000000000000000000000000000"));

    let h = headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "wrong")]);
    let err = parse(&h, GITLAB_PUSH, &secrets).unwrap_err();
    assert!(matches!(
        err,
        WebhookError::BadSignature { provider: Provider::GitLab, header: "X-Gitlab-Token", .. }
    ));
    let h = headers(&[("X-Gitlab-Event", "Push Hook")]);
    assert!(matches!(parse(&h, GITLAB_PUSH, &secrets), Err(WebhookError::MissingSignature { .. })));

    // System hooks carry push events too.
    let h = headers(&[("X-Gitlab-Event", "System Hook"), ("X-Gitlab-Token", SECRET)]);
    assert_eq!(push(parse(&h, GITLAB_PUSH, &secrets)).revision, "release/1.x");
    let h = headers(&[("X-Gitlab-Event", "System Hook"), ("X-Gitlab-Token", SECRET)]);
    let created = json!({"object_kind": "project_create", "name": "x"}).to_string();
    assert!(matches!(parse(&h, created.as_bytes(), &secrets), Ok(Received::Ignored { .. })));
}

#[test]
fn bitbucket_cloud_checks_the_hook_uuid() {
    let uuid = "{4d6c1b2a-8e3f-4a5b-9c7d-0e1f2a3b4c5d}";
    let secrets = WebhookSecrets { bitbucket_uuid: Some(uuid.into()), ..WebhookSecrets::default() };
    let h = headers(&[("X-Event-Key", "repo:push"), ("X-Hook-UUID", uuid)]);
    let event = push(parse(&h, BITBUCKET_PUSH, &secrets));
    assert_eq!(event.provider, Provider::Bitbucket);
    assert_eq!(event.revision, "main");
    assert_eq!(event.repo_urls, ["https://bitbucket.org/team-a/deployments"]);
    assert_eq!(event.before.as_deref(), Some("1e65c05c1d5171631d92438a13901ca7dae9618c"));
    assert_eq!(event.after.as_deref(), Some("9f2e3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"));
    assert!(event.changed_files.is_empty(), "Bitbucket lists no files");
    assert!(event.touched_head(), "unknown default branch counts as touched, as upstream");

    let h =
        headers(&[("X-Event-Key", "repo:push"), ("X-Hook-UUID", "{00000000-0000-0000-0000-000000000000}")]);
    let err = parse(&h, BITBUCKET_PUSH, &secrets).unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature { provider: Provider::Bitbucket, .. }));
    // Without a configured UUID any hook is accepted.
    assert_eq!(push(parse(&h, BITBUCKET_PUSH, &WebhookSecrets::default())).revision, "main");
}

#[test]
fn bitbucket_server_hmac_and_clone_links() {
    let secrets = WebhookSecrets { bitbucket_server: Some(SECRET.into()), ..WebhookSecrets::default() };
    let sig = format!("sha256={}", sign(SECRET, BITBUCKET_SERVER_PUSH));
    let h =
        headers(&[("X-Event-Key", "repo:refs_changed"), ("X-Hub-Signature", &sig), ("X-Request-Id", "1")]);
    let event = push(parse(&h, BITBUCKET_SERVER_PUSH, &secrets));
    assert_eq!(event.provider, Provider::BitbucketServer);
    assert_eq!(event.revision, "develop");
    assert_eq!(
        event.repo_urls,
        [
            "ssh://git@bitbucket.example.com:7999/ops/deployments.git",
            "https://bitbucket.example.com/scm/ops/deployments.git"
        ]
    );
    assert_eq!(event.after.as_deref(), Some("178864a7d521b6f5e720b386b2c2b0ef8563e0dc"));

    let h = headers(&[("X-Event-Key", "repo:refs_changed")]);
    assert!(matches!(parse(&h, BITBUCKET_SERVER_PUSH, &secrets), Err(WebhookError::MissingSignature { .. })));
    let h = headers(&[("X-Event-Key", "repo:refs_changed"), ("X-Hub-Signature", "sha256=00")]);
    assert!(matches!(parse(&h, BITBUCKET_SERVER_PUSH, &secrets), Err(WebhookError::BadSignature { .. })));
}

#[test]
fn gitea_and_gogs_use_the_gogs_secret() {
    let secrets = WebhookSecrets { gogs: Some(SECRET.into()), ..WebhookSecrets::default() };
    let sig = sign(SECRET, GITEA_PUSH);
    // Gitea sends its own, Gogs' and GitHub's headers; it is read as Gitea.
    let h = headers(&[
        ("X-GitHub-Event", "push"),
        ("X-Gogs-Event", "push"),
        ("X-Gitea-Event", "push"),
        ("X-Gitea-Signature", &sig),
        ("X-Gogs-Signature", &sig),
    ]);
    let event = push(parse(&h, GITEA_PUSH, &secrets));
    assert_eq!(event.provider, Provider::Gitea);
    assert_eq!(event.revision, "main");
    assert_eq!(event.changed_files, ["overlays/prod/kustomization.yaml"]);
    assert_eq!(
        event.repo_urls,
        [
            "https://gitea.example.com/infra/apps",
            "https://gitea.example.com/infra/apps.git",
            "git@gitea.example.com:infra/apps.git"
        ]
    );
    let h = headers(&[("X-Gitea-Event", "push"), ("X-Gitea-Signature", &sign("nope", GITEA_PUSH))]);
    assert!(matches!(
        parse(&h, GITEA_PUSH, &secrets),
        Err(WebhookError::BadSignature { provider: Provider::Gitea, .. })
    ));

    let sig = sign(SECRET, GOGS_PUSH);
    let h = headers(&[("X-Gogs-Event", "push"), ("X-Gogs-Signature", &sig), ("X-GitHub-Event", "push")]);
    let event = push(parse(&h, GOGS_PUSH, &secrets));
    assert_eq!(event.provider, Provider::Gogs);
    assert!(event.is_tag);
    assert_eq!(event.revision, "v0.3.1");
    assert!(!event.touched_head());
    let h = headers(&[("X-Gogs-Event", "push")]);
    assert!(matches!(parse(&h, GOGS_PUSH, &secrets), Err(WebhookError::MissingSignature { .. })));
}

#[test]
fn azure_devops_checks_basic_auth() {
    let secrets = WebhookSecrets {
        azure_devops_username: Some("argocd".into()),
        azure_devops_password: Some(SECRET.into()),
        ..WebhookSecrets::default()
    };
    // `printf 'argocd:It$s-a-Secret!' | base64`
    let auth = "Basic YXJnb2NkOkl0JHMtYS1TZWNyZXQh";
    let h = headers(&[("X-Vss-ActivityId", "f1e2d3c4-0000-4000-8000-000000000001"), ("Authorization", auth)]);
    let event = push(parse(&h, AZURE_DEVOPS_PUSH, &secrets));
    assert_eq!(event.provider, Provider::AzureDevOps);
    assert_eq!(event.revision, "main");
    assert!(event.touched_head(), "defaultBranch refs/heads/main");
    assert_eq!(event.repo_urls, ["https://dev.azure.com/contoso/Platform/_git/platform-config"]);
    assert_eq!(event.after.as_deref(), Some("5c41b2e7d9a04f13b6e8a2c7f0d95e31b4a6c872"));

    // `printf 'argocd:wrong' | base64`
    let h = headers(&[("X-Vss-ActivityId", "x"), ("Authorization", "Basic YXJnb2NkOndyb25n")]);
    let err = parse(&h, AZURE_DEVOPS_PUSH, &secrets).unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature { provider: Provider::AzureDevOps, .. }), "{err:?}");
    let h = headers(&[("X-Vss-ActivityId", "x"), ("Authorization", "Bearer abc")]);
    assert!(matches!(parse(&h, AZURE_DEVOPS_PUSH, &secrets), Err(WebhookError::MissingSignature { .. })));
    let h = headers(&[("X-Vss-ActivityId", "x")]);
    assert!(matches!(parse(&h, AZURE_DEVOPS_PUSH, &secrets), Err(WebhookError::MissingSignature { .. })));
    // No credentials configured: accepted.
    assert_eq!(push(parse(&h, AZURE_DEVOPS_PUSH, &WebhookSecrets::default())).revision, "main");
    // Other service-hook events are ignored.
    let build = json!({"eventType": "build.complete", "resource": {}}).to_string();
    assert_eq!(
        parse(&h, build.as_bytes(), &WebhookSecrets::default()).unwrap(),
        Received::Ignored { provider: Provider::AzureDevOps, event: "build.complete".into() }
    );
}

#[test]
fn oversized_bodies_are_refused_before_anything_else() {
    let h = headers(&[("X-GitHub-Event", "push")]);
    let small = WebhookSecrets { max_payload_bytes: 1024, ..github_secret() };
    let err = parse(&h, GITHUB_PUSH, &small).unwrap_err();
    assert_eq!(err, WebhookError::PayloadTooLarge { size: GITHUB_PUSH.len(), limit: 1024 });
    assert_eq!(err.http_status(), 413);
    // The default cap is upstream's 50 MB.
    let huge = vec![b' '; 50 * 1024 * 1024 + 1];
    assert!(matches!(
        parse(&h, &huge, &WebhookSecrets::default()),
        Err(WebhookError::PayloadTooLarge { .. })
    ));
}

#[test]
fn malformed_requests_are_errors() {
    assert_eq!(parse(&[], GITHUB_PUSH, &WebhookSecrets::default()), Err(WebhookError::UnknownProvider));
    let h = headers(&[("X-GitHub-Event", "push")]);
    let none = WebhookSecrets::default();
    assert!(matches!(parse(&h, b"", &none), Err(WebhookError::EmptyPayload { .. })));
    assert!(matches!(parse(&h, b"ref=refs/heads/main", &none), Err(WebhookError::InvalidPayload { .. })));
    assert!(matches!(parse(&h, b"[1,2]", &none), Err(WebhookError::InvalidPayload { .. })));
    assert!(matches!(
        parse(&h, br#"{"ref":"refs/heads/x"}"#, &none),
        Err(WebhookError::InvalidPayload { .. })
    ));
}

#[test]
fn secrets_are_read_from_argocd_secret() {
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argocd-secret", "namespace": "argocd"},
        "data": {
            "webhook.github.secret": "SXQkcy1hLVNlY3JldCE=",
            "webhook.gitlab.secret": "",
            "webhook.bitbucket.uuid": "ezRkNmMxYjJhfQ==",
            "webhook.azuredevops.username": "YXJnb2Nk",
            "server.secretkey": "c2VjcmV0"
        },
        "stringData": {"webhook.gogs.secret": "plain"}
    });
    let s = WebhookSecrets::from_secret(&secret).unwrap();
    assert_eq!(s.github.as_deref(), Some(SECRET));
    assert_eq!(s.gitlab, None, "an empty value means no secret");
    assert_eq!(s.bitbucket_uuid.as_deref(), Some("{4d6c1b2a}"));
    assert_eq!(s.bitbucket_server, None);
    assert_eq!(s.gogs.as_deref(), Some("plain"));
    assert_eq!(s.azure_devops_username.as_deref(), Some("argocd"));
    assert_eq!(s.azure_devops_password, None);
    assert_eq!(s.max_payload_bytes, 50 * 1024 * 1024);
    assert!(!format!("{s:?}").contains(SECRET), "Debug must not print secrets");

    let broken = json!({"data": {"webhook.github.secret": "%%%"}});
    let err = WebhookSecrets::from_secret(&broken).unwrap_err();
    assert!(err.to_string().contains("webhook.github.secret"), "{err}");
}
