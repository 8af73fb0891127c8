//! The controller's HTTP endpoint: `/metrics` (Prometheus), `/healthz`, and `/api/webhook`
//! (Git push events from GitHub, GitLab, Bitbucket, Gitea and Gogs: verified with the
//! secrets in `argocd-secret`, then every affected app is refreshed at once with its
//! repository's cached refs dropped, so the new commit is seen without waiting for the
//! periodic refresh).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tiphys_resource::ResourceKey;
use tiphys_webhook::{DEFAULT_MAX_PAYLOAD_BYTES, EventMatcher, Received, WebhookSecrets};

use crate::queue::Level;
use crate::runtime::Controller;

/// The routes, over the shared controller.
pub fn router(controller: Arc<Controller>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/webhook", post(webhook))
        // The webhook crate enforces argocd's payload cap itself; axum's 2 MB default would
        // refuse big pushes first.
        .layer(DefaultBodyLimit::max(
            usize::try_from(DEFAULT_MAX_PAYLOAD_BYTES).unwrap_or(usize::MAX).saturating_add(1),
        ))
        .with_state(controller)
}

async fn metrics(State(controller): State<Arc<Controller>>) -> (StatusCode, HeaderMap, String) {
    for destination in controller.destinations.all().await {
        let (objects, kinds) = (destination.cache.index().len(), destination.cache.watched_kinds().len());
        controller.metrics.record_cluster(&destination.server, objects, kinds);
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = "application/openmetrics-text; version=1.0.0; charset=utf-8".parse() {
        headers.insert(axum::http::header::CONTENT_TYPE, v);
    }
    (StatusCode::OK, headers, controller.metrics.render())
}

fn webhook_secrets(controller: &Controller) -> Result<WebhookSecrets, String> {
    let key = ResourceKey::new("", "Secret", &controller.namespace, "argocd-secret");
    let mut secrets = match controller.control().index().get(&key) {
        Some(secret) => WebhookSecrets::from_secret(&secret.object()).map_err(|e| e.to_string())?,
        None => WebhookSecrets::default(),
    };
    // argocd-cm `webhook.maxPayloadSizeMB`, capped by what the endpoint accepts at all.
    let configured = controller.snapshot().settings.webhook_max_payload_mb;
    secrets.max_payload_bytes = configured.saturating_mul(1024 * 1024).min(DEFAULT_MAX_PAYLOAD_BYTES);
    Ok(secrets)
}

async fn webhook(
    State(controller): State<Arc<Controller>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let secrets = match webhook_secrets(&controller) {
        Ok(s) => s,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("argocd-secret: {e}")),
    };
    let event = match tiphys_webhook::parse(&pairs, &body, &secrets) {
        Ok(Received::Push(event)) => event,
        Ok(Received::Ignored { provider, event }) => {
            return (StatusCode::OK, format!("ignored {provider:?} event {event:?}: not a push"));
        }
        Err(e) => {
            let code = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            tracing::warn!(error = %e, "webhook refused");
            return (code, e.to_string());
        }
    };
    let matcher = EventMatcher::new(&event);
    let mut refreshed = Vec::new();
    for name in controller.app_names() {
        let Some(Ok(app)) = controller.app(&name) else { continue };
        if !matcher.affects(&app) {
            continue;
        }
        for source in app.spec.effective_sources() {
            if let Some(url) = source.repo_url.as_deref() {
                controller.comparer.invalidate_repo(url);
            }
        }
        controller.request(&name, Level::Normal, Duration::ZERO);
        refreshed.push(name);
    }
    tracing::info!(revision = %event.revision, apps = ?refreshed, "push webhook");
    (StatusCode::OK, format!("refreshing {} application(s): {}", refreshed.len(), refreshed.join(", ")))
}
