//! The one place PATCH bodies are interpreted: content type → patch algorithm.
//!
//! The algorithms themselves live in `tiphys-patch`; this module only maps HTTP content
//! types, managedFields bookkeeping and patch errors onto API responses, so the server never
//! grows merge logic of its own.

use serde_json::{Value, json};
use tiphys_patch::PatchError;
use tiphys_resource::GroupVersionKind;

use crate::error::{Error, Result};
use crate::store::format_time;
use crate::types::ResourceType;

/// The four PATCH content types an API server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// Picks the patch type from a `Content-Type` header; unknown types are 415.
    pub fn from_content_type(content_type: &str) -> Result<Self> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        match essence {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            other => Err(Error::unsupported_patch(other)),
        }
    }
}

/// Parses a patch body: JSON for the first three types, YAML (a JSON superset) for apply.
pub fn parse_body(kind: PatchType, body: &[u8]) -> Result<Value> {
    let text =
        std::str::from_utf8(body).map_err(|e| Error::bad_request(format!("the patch is not UTF-8: {e}")))?;
    match kind {
        PatchType::Apply => tiphys_resource::yaml::parse_document(text)
            .map_err(|e| Error::bad_request(format!("error decoding YAML: {e}"))),
        _ => serde_json::from_str(text).map_err(|e| Error::bad_request(format!("error decoding patch: {e}"))),
    }
}

fn gvk(rt: &ResourceType) -> GroupVersionKind {
    GroupVersionKind { group: rt.group.clone(), version: rt.version.clone(), kind: rt.kind.clone() }
}

fn map_error(rt: &ResourceType, name: &str, err: PatchError) -> Error {
    match err {
        PatchError::Conflicts(conflicts) => {
            let causes: Vec<Value> = conflicts
                .causes()
                .into_iter()
                .map(|(message, field)| json!({"reason": "FieldManagerConflict", "message": message, "field": field}))
                .collect();
            let mut details = json!({"name": name, "kind": rt.plural, "causes": causes});
            if !rt.group.is_empty() {
                details["group"] = json!(rt.group);
            }
            Error::Api {
                code: 409,
                reason: "Conflict",
                message: conflicts.to_string(),
                details: Some(details),
            }
        }
        PatchError::MalformedJsonPatch(_) | PatchError::NotAnObject { .. } => {
            Error::bad_request(err.to_string())
        }
        other => Error::Api {
            code: 422,
            reason: "Invalid",
            message: format!("the server rejected our request due to an error in our request: {other}"),
            details: None,
        },
    }
}

/// Applies a patch to the live object (for apply: server-side apply by `manager`).
pub fn apply(
    kind: PatchType,
    rt: &ResourceType,
    live: &Value,
    patch: &Value,
    manager: Option<&str>,
    force: bool,
    now: jiff::Timestamp,
) -> Result<Value> {
    let name = live["metadata"]["name"].as_str().unwrap_or_default();
    let gvk = gvk(rt);
    let result = match kind {
        PatchType::Json => tiphys_patch::apply_json_patch(live, patch),
        PatchType::Merge => Ok(tiphys_patch::apply_merge_patch(live, patch)),
        PatchType::Strategic => tiphys_patch::apply_strategic_merge_patch(live, patch, &gvk),
        PatchType::Apply => {
            check_applied(rt, patch)?;
            tiphys_patch::server_side_apply(
                Some(live),
                patch,
                manager.unwrap_or_default(),
                force,
                &gvk,
                &format_time(now),
            )
        }
    };
    result.map_err(|e| map_error(rt, name, e))
}

/// The object a server-side apply creates when nothing is live yet.
pub fn apply_create(
    rt: &ResourceType,
    applied: &Value,
    manager: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Value> {
    check_applied(rt, applied)?;
    let name = applied["metadata"]["name"].as_str().unwrap_or_default();
    tiphys_patch::server_side_apply(
        None,
        applied,
        manager.unwrap_or_default(),
        false,
        &gvk(rt),
        &format_time(now),
    )
    .map_err(|e| map_error(rt, name, e))
}

/// An applied configuration must name its apiVersion and kind, like the API server requires.
fn check_applied(rt: &ResourceType, applied: &Value) -> Result<()> {
    let av = applied["apiVersion"].as_str().unwrap_or_default();
    let kind = applied["kind"].as_str().unwrap_or_default();
    if av.is_empty() || kind.is_empty() {
        return Err(Error::bad_request(format!(
            "invalid object type: /, Kind=: the applied configuration must set apiVersion: {} and kind: {}",
            rt.api_version(),
            rt.kind
        )));
    }
    Ok(())
}

/// Records field ownership of an ordinary write in `metadata.managedFields`. Writes
/// without a manager (the sandbox's own simulator and GC) change no ownership.
pub fn record_managed_fields(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    manager: Option<&str>,
    now: jiff::Timestamp,
) {
    let Some(manager) = manager.filter(|m| !m.is_empty()) else { return };
    match tiphys_patch::update_managed_fields(old, new, manager, &gvk(rt), &format_time(now)) {
        Ok(v) => *new = v,
        Err(e) => tracing::warn!(error = %e, "managedFields left unchanged"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::builtin_types;

    fn deployments() -> ResourceType {
        builtin_types().into_iter().find(|t| t.plural == "deployments").expect("deployments")
    }

    #[test]
    fn content_types_map_to_patch_types() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8").ok(),
            Some(PatchType::Merge)
        );
        let err = PatchType::from_content_type("text/plain").err().map(|e| e.code());
        assert_eq!(err, Some(415));
    }

    #[test]
    fn strategic_patch_merges_containers_by_name() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}});
        let out = apply(
            PatchType::Strategic,
            &deployments(),
            &live,
            &patch,
            None,
            false,
            jiff::Timestamp::UNIX_EPOCH,
        )
        .expect("patch");
        let images: Vec<&str> = (0..2)
            .filter_map(|i| out["spec"]["template"]["spec"]["containers"][i]["image"].as_str())
            .collect();
        assert_eq!(images, ["a:1", "b:2"]);
    }

    #[test]
    fn apply_conflicts_are_409_with_causes() {
        let rt = deployments();
        let now = jiff::Timestamp::UNIX_EPOCH;
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}});
        let live = apply_create(&rt, &applied, Some("first"), now).expect("create");
        let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2}});
        let err = apply(PatchType::Apply, &rt, &live, &other, Some("second"), false, now)
            .err()
            .map(|e| e.to_status());
        let status = err.unwrap_or_default();
        assert_eq!(status["code"], 409);
        assert_eq!(status["details"]["causes"][0]["field"], ".spec.replicas");
        let forced = apply(PatchType::Apply, &rt, &live, &other, Some("second"), true, now).expect("force");
        assert_eq!(forced["spec"]["replicas"], 2);
    }
}
