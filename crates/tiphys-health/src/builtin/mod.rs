//! Upstream's built-in health checks (gitops-engine `pkg/health`), reproduced rule for rule and
//! message for message.
//!
//! Each check reads only the fields upstream's typed conversion reads. Objects are deserialized
//! by reference into small serde structs (no clone of the object), and a field of the wrong
//! type gives `Unknown` with a conversion message, as upstream's
//! `DefaultUnstructuredConverter` failure does.

mod batch;
mod network;
mod pod;
mod workloads;

use serde::Deserialize;
use serde_json::Value;
use tiphys_resource::GroupVersionKind;

use crate::status::{HealthStatus, HealthStatusCode};

/// Finalizer Argo CD puts on hooks it is still watching; such objects are assessed normally
/// even while being deleted.
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// What a check concluded, before errors are turned into `Unknown`.
type CheckResult = Result<HealthStatus, String>;

/// A built-in check for one kind.
type Check = fn(&GroupVersionKind, &Value) -> CheckResult;

/// Which kinds have a built-in check: upstream's `GetHealthCheckFunc`. The Argo CD Application
/// check is separate because upstream does not run it by default.
fn check_for(gvk: &GroupVersionKind) -> Option<Check> {
    let check: Check = match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("apps", "Deployment") => workloads::deployment,
        ("apps", "StatefulSet") => workloads::statefulset,
        ("apps", "ReplicaSet") => workloads::replicaset,
        ("apps", "DaemonSet") => workloads::daemonset,
        ("extensions" | "networking.k8s.io", "Ingress") => network::ingress,
        ("apiregistration.k8s.io", "APIService") => network::apiservice,
        ("", "Service") => network::service,
        ("", "PersistentVolumeClaim") => batch::pvc,
        ("", "Pod") => pod::pod,
        ("batch", "Job") => batch::job,
        ("autoscaling", "HorizontalPodAutoscaler") => batch::hpa,
        ("argoproj.io", "Workflow") => batch::workflow,
        _ => return None,
    };
    Some(check)
}

/// Whether a built-in check exists for this kind (used to decide "no health" vs a result).
pub fn has_builtin_check(gvk: &GroupVersionKind) -> bool {
    check_for(gvk).is_some()
}

/// Runs the built-in check for the object's kind; `None` when upstream has none.
pub fn builtin_health(gvk: &GroupVersionKind, obj: &Value) -> Option<HealthStatus> {
    let check = check_for(gvk)?;
    Some(check(gvk, obj).unwrap_or_else(|message| HealthStatus::new(HealthStatusCode::Unknown, message)))
}

/// The opt-in Application check (upstream removed it in v1.8 and documents a Lua snippet to
/// restore it for app-of-apps): the child app's own `status.health`, `Progressing` until the
/// child reports one.
pub fn application_health(obj: &Value) -> HealthStatus {
    let health = obj.get("status").and_then(|s| s.get("health"));
    let Some(health) = health.filter(|h| !h.is_null()) else {
        return HealthStatus::bare(HealthStatusCode::Progressing);
    };
    let message = health.get("message").and_then(Value::as_str).unwrap_or_default();
    match health.get("status").and_then(Value::as_str).and_then(HealthStatusCode::parse) {
        Some(code) => HealthStatus::new(code, message),
        None => HealthStatus::new(HealthStatusCode::Unknown, crate::lua::INVALID_HEALTH_STATUS),
    }
}

/// Upstream's first rule for every object: deleted but not held by a hook finalizer means
/// `Progressing` / "Pending deletion".
pub fn pending_deletion(obj: &Value) -> Option<HealthStatus> {
    let meta = obj.get("metadata")?;
    if meta.get("deletionTimestamp").is_none_or(Value::is_null) {
        return None;
    }
    let held = meta
        .get("finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|v| v.as_str() == Some(HOOK_FINALIZER)));
    (!held).then(|| HealthStatus::new(HealthStatusCode::Progressing, "Pending deletion"))
}

/// Deserializes the fields a check needs, naming the kind on failure like upstream does.
fn typed<'a, T: Deserialize<'a>>(obj: &'a Value, kind: &str) -> Result<T, String> {
    T::deserialize(obj).map_err(|e| format!("failed to convert unstructured {kind} to typed: {e}"))
}

/// Refuses versions upstream's typed conversion does not know.
fn require_version(gvk: &GroupVersionKind, versions: &[&str], label: &str) -> Result<(), String> {
    if versions.contains(&gvk.version.as_str()) {
        Ok(())
    } else {
        Err(format!("unsupported {label} GVK: {gvk}"))
    }
}

/// Go's `%q` for the identifiers that appear in messages.
fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// `metadata` fields the checks read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Meta<'a> {
    #[serde(borrow)]
    name: Option<&'a str>,
    generation: Option<i64>,
    annotations: Option<std::collections::BTreeMap<&'a str, &'a str>>,
}

impl Meta<'_> {
    fn name(&self) -> &str {
        self.name.unwrap_or_default()
    }
    fn generation(&self) -> i64 {
        self.generation.unwrap_or_default()
    }
    fn has_annotation(&self, key: &str) -> bool {
        self.annotations.as_ref().is_some_and(|a| a.contains_key(key))
    }
}

/// A status condition in the shape every built-in kind shares.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    type_: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    message: Option<String>,
}

impl Condition {
    fn is(&self, type_: &str) -> bool {
        self.type_.as_deref() == Some(type_)
    }
    fn status(&self) -> &str {
        self.status.as_deref().unwrap_or_default()
    }
    fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }
    fn message(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }
}

fn find_condition<'c>(conditions: &'c Option<Vec<Condition>>, type_: &str) -> Option<&'c Condition> {
    conditions.as_deref().unwrap_or_default().iter().find(|c| c.is(type_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pending_deletion_unless_hook_finalizer() {
        let deleted = json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}});
        assert_eq!(
            pending_deletion(&deleted),
            Some(HealthStatus::new(HealthStatusCode::Progressing, "Pending deletion"))
        );
        let hook = json!({"metadata": {"deletionTimestamp": "x", "finalizers": [HOOK_FINALIZER]}});
        assert_eq!(pending_deletion(&hook), None);
        assert_eq!(pending_deletion(&json!({"metadata": {}})), None);
    }

    #[test]
    fn kinds_without_a_check_have_no_health() {
        for (api, kind) in [
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Namespace"),
            ("rbac.authorization.k8s.io/v1", "Role"),
        ] {
            let gvk = GroupVersionKind::from_api_version(api, kind).unwrap();
            assert_eq!(builtin_health(&gvk, &json!({})), None, "{kind}");
        }
    }

    #[test]
    fn application_opt_in_reads_child_health() {
        assert_eq!(application_health(&json!({})), HealthStatus::bare(HealthStatusCode::Progressing));
        let app = json!({"status": {"health": {"status": "Degraded", "message": "boom"}}});
        assert_eq!(application_health(&app), HealthStatus::new(HealthStatusCode::Degraded, "boom"));
        let odd = json!({"status": {"health": {"status": "Weird"}}});
        assert_eq!(application_health(&odd).status, HealthStatusCode::Unknown);
    }
}
