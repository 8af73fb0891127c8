//! Webhook cost on the request path: verifying and reading a signed GitHub push, and deciding
//! which of 1,000 Applications it refreshes (the controller does both per delivery, so their
//! sum is our share of the webhook-to-apply-start latency).
//! Run: `cargo bench -p tiphys-webhook --bench webhook`.

use criterion::Criterion;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tiphys_model::Application;
use tiphys_webhook::{EventMatcher, Received, WebhookSecrets, parse};

const GITHUB_PUSH: &[u8] = include_bytes!("../tests/fixtures/github-push.json");

/// 1,000 Applications over 100 repositories (10 apps each, different paths), half of them
/// with a `manifest-generate-paths` annotation, a third following `HEAD`.
fn apps() -> Vec<Application> {
    (0..1000)
        .map(|i| {
            let repo = if i % 100 == 0 {
                "https://github.com/Octo-Org/Guestbook.git".to_string()
            } else {
                format!("git@github.com:Octo-Org/service-{}.git", i % 100)
            };
            let revision = ["HEAD", "main", "release-1"][i % 3];
            let mut meta = json!({"name": format!("app-{i}"), "namespace": "argocd"});
            if i % 2 == 0 {
                meta["annotations"] = json!({"argocd.argoproj.io/manifest-generate-paths": "."});
            }
            serde_json::from_value(json!({
                "metadata": meta,
                "spec": {"source": {"repoURL": repo, "targetRevision": revision, "path": format!("apps/app-{i}")}}
            }))
            .expect("an Application")
        })
        .collect()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let secret = "It$s-a-Secret!";
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(GITHUB_PUSH);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-GitHub-Event".to_string(), "push".to_string()),
        ("X-Hub-Signature-256".to_string(), signature),
    ];
    let secrets = WebhookSecrets { github: Some(secret.into()), ..WebhookSecrets::default() };
    c.bench_function("parse signed GitHub push (2.6 KB)", |b| {
        b.iter(|| parse(&headers, GITHUB_PUSH, &secrets).expect("valid"))
    });

    let Ok(Received::Push(event)) = parse(&headers, GITHUB_PUSH, &secrets) else { panic!("a push") };
    let apps = apps();
    c.bench_function("match 1,000 apps (matcher built per event)", |b| {
        b.iter(|| {
            let matcher = EventMatcher::new(&event);
            apps.iter().filter(|a| matcher.affects(a)).count()
        })
    });
    c.final_summary();
}
