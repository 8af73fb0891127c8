//! The one error type of the crate, shaped so an API server can turn it into a `Status`.

use std::fmt;

/// Why a patch or an apply could not be performed. The sandbox maps [`PatchError::Conflicts`]
/// to `409 Conflict` and every other variant to `422 Unprocessable Entity` / `400 Bad Request`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The body of a JSON patch is not an array of RFC 6902 operations.
    #[error("the JSON patch is malformed: {0}; send a JSON array of RFC 6902 operations")]
    MalformedJsonPatch(String),
    /// One operation of a JSON patch failed (missing path, failed `test`, ...).
    #[error("JSON patch operation {operation} on {path:?} failed: {message}")]
    JsonPatchFailed {
        /// Index of the failing operation in the patch array.
        operation: usize,
        /// JSON pointer of the failing operation.
        path: String,
        /// What went wrong, e.g. "value did not match".
        message: String,
    },
    /// A strategic merge patch is not applicable: a bad `$patch` directive, a list element
    /// without its merge key, a directive of the wrong type.
    #[error("the strategic merge patch is invalid at {path}: {message}")]
    InvalidStrategicPatch {
        /// Field path inside the object, e.g. `.spec.template.spec.containers`.
        path: String,
        /// What is wrong and what to send instead.
        message: String,
    },
    /// A patch or applied configuration is not a JSON object where one is required.
    #[error("{what} must be a JSON object, found {found}")]
    NotAnObject {
        /// Which input, e.g. "the applied configuration".
        what: &'static str,
        /// JSON type found instead.
        found: &'static str,
    },
    /// `metadata.managedFields` of the live object cannot be decoded.
    #[error("metadata.managedFields is invalid: {0}; remove or fix the entry")]
    InvalidManagedFields(String),
    /// Server-side apply found fields owned by other managers with different values.
    #[error("{0}")]
    Conflicts(Conflicts),
}

/// One field another manager owns and the apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager as the API server prints it: `"kubectl-edit" using apps/v1` for an
    /// `Update` entry, `"argocd"` for an `Apply` entry.
    pub manager: String,
    /// The contested field, in structured-merge-diff notation, e.g. `.spec.replicas` or
    /// `.spec.template.spec.containers[name="nginx"].image`.
    pub field: String,
}

/// All conflicts of one apply; its `Display` is the API server's `Status.message`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflicts {
    /// The `Status.details.causes` entries the API server sends: `(message, field)` pairs with
    /// reason `FieldManagerConflict`, e.g. `("conflict with \"mgr\"", ".spec.replicas")`.
    pub fn causes(&self) -> Vec<(String, String)> {
        self.0.iter().map(|c| (format!("conflict with {}", c.manager), c.field.clone())).collect()
    }
}

impl fmt::Display for Conflicts {
    /// `Apply failed with 1 conflict: conflict with "mgr": .spec.replicas`, or for several,
    /// the API server's grouped form: `Apply failed with 2 conflicts: conflicts with "a":\n- .x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.0.as_slice() {
            return write!(f, "Apply failed with 1 conflict: conflict with {}: {}", only.manager, only.field);
        }
        let mut managers: Vec<&str> = self.0.iter().map(|c| c.manager.as_str()).collect();
        managers.sort_unstable();
        managers.dedup();
        let mut lines = Vec::new();
        for manager in managers {
            lines.push(format!("conflicts with {manager}:"));
            lines.extend(self.0.iter().filter(|c| c.manager == manager).map(|c| format!("- {}", c.field)));
        }
        write!(f, "Apply failed with {} conflicts: {}", self.0.len(), lines.join("\n"))
    }
}

/// JSON type name for error messages.
pub(crate) fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
