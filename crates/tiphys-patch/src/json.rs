//! RFC 6902 JSON patch and RFC 7386 merge patch, the two patch types that need no schema.

use serde_json::Value;

use crate::PatchError;

/// Applies an RFC 6902 JSON patch (`application/json-patch+json`), including `test`
/// operations. The patch is all-or-nothing: on error `doc` is untouched, as on the API server.
pub fn apply_json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| PatchError::MalformedJsonPatch(e.to_string()))?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| PatchError::JsonPatchFailed {
        operation: e.operation,
        path: e.path.to_string(),
        message: e.kind.to_string(),
    })?;
    Ok(out)
}

/// Applies an RFC 7386 merge patch (`application/merge-patch+json`): objects merge key by
/// key, `null` deletes, everything else (lists included) replaces. Never fails.
pub fn apply_merge_patch(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    json_patch::merge(&mut out, patch);
    out
}
