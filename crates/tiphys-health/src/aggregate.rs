//! Application health from its resources, with upstream's precedence and exclusions
//! (`setApplicationHealth`):
//!
//! * hooks, and objects carrying a Helm/Argo hook annotation with no recognised hook type,
//!   are excluded; so are desired objects marked `hook: Skip`;
//! * `argocd.argoproj.io/ignore-healthcheck: "true"` excludes a live object;
//! * the Application itself (an app that manages itself) is excluded;
//! * a missing resource is reported `Missing` but does not lower the app's health (OutOfSync
//!   already says it); only when *no* resource exists at all is the app `Missing`;
//! * a child Application that is `Missing` or `Unknown` does not affect its parent;
//! * kinds without a health check are excluded;
//! * otherwise the worst status wins: Healthy < Suspended < Progressing < Missing < Degraded <
//!   Unknown.

use serde_json::Value;
use tiphys_resource::{ResourceKey, annotations};

use crate::{
    assess::HealthAssessor,
    lua::RunContext,
    status::{HealthStatus, HealthStatusCode},
};

/// Annotation that keeps a resource's health out of the app's health.
pub const IGNORE_HEALTHCHECK: &str = "argocd.argoproj.io/ignore-healthcheck";

/// Argo hook types upstream recognises.
const HOOK_TYPES: [&str; 6] = ["PreSync", "Sync", "PostSync", "SyncFail", "PostDelete", "Skip"];
/// Helm hook types upstream maps to Argo hooks.
const HELM_HOOK_TYPES: [&str; 4] = ["pre-install", "pre-upgrade", "post-upgrade", "post-install"];

/// One resource of an application: its desired and live objects (either may be absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct ManagedResource<'a> {
    /// The object from Git, if any.
    pub target: Option<&'a Value>,
    /// The object in the cluster, if any.
    pub live: Option<&'a Value>,
}

/// The app's health and each resource's (in input order; `None` when excluded or unassessed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHealth {
    /// The aggregate status.
    pub status: HealthStatusCode,
    /// Per-resource health, parallel to the input.
    pub resources: Vec<Option<HealthStatus>>,
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

fn csv(obj: &Value, key: &str) -> Vec<String> {
    let mut values: Vec<String> = annotation(obj, key)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Recognised hook types: Argo's annotation, else Helm's.
fn hook_types(obj: &Value) -> Vec<String> {
    let argo: Vec<String> =
        csv(obj, annotations::HOOK).into_iter().filter(|t| HOOK_TYPES.contains(&t.as_str())).collect();
    if !argo.is_empty() {
        return argo;
    }
    csv(obj, annotations::HELM_HOOK).into_iter().filter(|t| HELM_HOOK_TYPES.contains(&t.as_str())).collect()
}

/// `hook: Skip` alone: the object is never applied.
fn is_skipped(obj: &Value) -> bool {
    let types = hook_types(obj);
    types.len() == 1 && types[0] == "Skip"
}

fn is_hook(obj: &Value) -> bool {
    if annotation(obj, annotations::HOOK).is_some() {
        return !is_skipped(obj);
    }
    annotation(obj, annotations::HELM_HOOK).is_some_and(|v| v != "crd-install")
}

/// A hook annotation with no recognised type: upstream ignores the object.
fn is_ignored(obj: &Value) -> bool {
    is_hook(obj) && hook_types(obj).is_empty()
}

fn is_application(key: &ResourceKey) -> bool {
    key.group == "argoproj.io" && key.kind == "Application"
}

impl HealthAssessor {
    /// Assesses every resource and aggregates. `app` is the Application's own key, so an app
    /// that manages itself does not count its own health.
    pub fn application_health(
        &self,
        resources: &[ManagedResource<'_>],
        app: Option<&ResourceKey>,
        ctx: &RunContext,
    ) -> AppHealth {
        let mut status = HealthStatusCode::Healthy;
        let mut per_resource = Vec::with_capacity(resources.len());
        let mut contains_resources = false;
        let mut contains_live = false;
        for res in resources {
            per_resource.push(None);
            if res.target.is_some_and(is_skipped) || res.live.is_some_and(|l| is_hook(l) || is_ignored(l)) {
                continue;
            }
            contains_resources = true;
            let Some(live) = res.live else {
                if let Some(slot) = per_resource.last_mut() {
                    *slot = Some(HealthStatus::bare(HealthStatusCode::Missing));
                }
                continue;
            };
            contains_live = true;
            if annotation(live, IGNORE_HEALTHCHECK) == Some("true") {
                continue;
            }
            let key = ResourceKey::of(live).ok();
            if app.is_some() && key.as_ref() == app {
                continue;
            }
            let Some(health) = self.resource_health(live, ctx) else { continue };
            let child_app = key.as_ref().is_some_and(is_application);
            let neutral =
                child_app && matches!(health.status, HealthStatusCode::Missing | HealthStatusCode::Unknown);
            if !neutral && status.is_worse(health.status) {
                status = health.status;
            }
            if let Some(slot) = per_resource.last_mut() {
                *slot = Some(health);
            }
        }
        if contains_resources && !contains_live && status.is_worse(HealthStatusCode::Missing) {
            status = HealthStatusCode::Missing;
        }
        AppHealth { status, resources: per_resource }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_annotations(a: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": a}})
    }

    #[test]
    fn hook_classification() {
        assert!(is_hook(&with_annotations(json!({"argocd.argoproj.io/hook": "PreSync"}))));
        assert!(!is_hook(&with_annotations(json!({"argocd.argoproj.io/hook": "Skip"}))));
        assert!(is_skipped(&with_annotations(json!({"argocd.argoproj.io/hook": "Skip"}))));
        assert!(is_hook(&with_annotations(json!({"helm.sh/hook": "post-install"}))));
        assert!(!is_hook(&with_annotations(json!({"helm.sh/hook": "crd-install"}))));
        let unknown = with_annotations(json!({"helm.sh/hook": "test"}));
        assert!(is_hook(&unknown) && is_ignored(&unknown));
        assert!(!is_hook(&with_annotations(json!({}))));
    }
}
