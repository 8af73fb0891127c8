//! The crate's error enum and the Kubernetes `Status` objects that failed API calls return.

use serde_json::{Value, json};

use crate::types::ResourceType;

/// Everything that can go wrong in the sandbox. API failures carry the exact HTTP code,
/// `reason` and message a real API server would send, so clients take the same code paths.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request the API server refuses; becomes a `Status` body with `code`.
    #[error("{message}")]
    Api {
        /// HTTP status code (404, 409, 422, ...).
        code: u16,
        /// `Status.reason`, e.g. `NotFound`.
        reason: &'static str,
        /// Human-readable message, worded like the real API server's.
        message: String,
        /// `Status.details`, when the server names the object.
        details: Option<Value>,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another --port or free the address")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading or writing the `--data` directory failed.
    #[error("sandbox data {path}: {message}")]
    Data {
        /// The file or directory.
        path: String,
        /// What went wrong and how to fix it.
        message: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn api(code: u16, reason: &'static str, message: String, details: Option<Value>) -> Self {
        Error::Api { code, reason, message, details }
    }

    fn details(rt: &ResourceType, name: &str) -> Value {
        let mut d = json!({"name": name, "kind": rt.plural});
        if !rt.group.is_empty() {
            d["group"] = json!(rt.group);
        }
        d
    }

    /// 404 for a missing object: `configmaps "x" not found`.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::api(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.qualified_plural()),
            Some(Self::details(rt, name)),
        )
    }

    /// 404 for a URL that names no served resource.
    pub fn no_route(path: &str) -> Self {
        Self::api(404, "NotFound", format!("the server could not find the requested resource ({path})"), None)
    }

    /// 409 when creating an object that exists.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::api(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.qualified_plural()),
            Some(Self::details(rt, name)),
        )
    }

    /// 409 for a stale `resourceVersion` (optimistic concurrency).
    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        Self::api(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                rt.qualified_plural()
            ),
            Some(Self::details(rt, name)),
        )
    }

    /// 409 for a failed precondition other than resourceVersion (e.g. uid).
    pub fn precondition(rt: &ResourceType, name: &str, message: String) -> Self {
        Self::api(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} \"{name}\": {message}", rt.qualified_plural()),
            Some(Self::details(rt, name)),
        )
    }

    /// 422 with field causes: `Kind "name" is invalid: field: Invalid value: ...`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<FieldError>) -> Self {
        let list: Vec<String> = causes.iter().map(FieldError::to_string).collect();
        let joined = if list.len() == 1 { list.join("") } else { format!("[{}]", list.join(", ")) };
        let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
        let mut details = json!({
            "name": name,
            "kind": kind,
            "causes": causes.iter().map(|c| json!({"reason": c.reason, "message": c.message(), "field": c.field})).collect::<Vec<_>>(),
        });
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        Self::api(422, "Invalid", format!("{qualified} \"{name}\" is invalid: {joined}"), Some(details))
    }

    /// 400 for a body or parameter the server cannot use.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::api(400, "BadRequest", message.into(), None)
    }

    /// 401 for a missing or wrong bearer token.
    pub fn unauthorized() -> Self {
        Self::api(401, "Unauthorized", "Unauthorized".into(), None)
    }

    /// 403 when creating in a namespace that is being deleted.
    pub fn namespace_terminating(rt: &ResourceType, name: &str, namespace: &str) -> Self {
        let mut details = Self::details(rt, name);
        details["causes"] = json!([{"reason": "NamespaceTerminating",
            "message": format!("namespace {namespace} is being terminated"), "field": "metadata.namespace"}]);
        Self::api(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                rt.qualified_plural()
            ),
            Some(details),
        )
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::api(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
            None,
        )
    }

    /// 410 for a watch or continue token older than the retained history.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::api(410, "Expired", format!("too old resource version: {requested} ({oldest})"), None)
    }

    /// 413 for a body above the size limit.
    pub fn too_large(limit: usize) -> Self {
        Self::api(413, "RequestEntityTooLarge", format!("Request entity too large: limit is {limit}"), None)
    }

    /// 415 for a PATCH content type the server does not know.
    pub fn unsupported_patch(content_type: &str) -> Self {
        Self::api(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
            ),
            None,
        )
    }

    /// 500 for a broken invariant (never expected; reported instead of panicking).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::api(500, "InternalError", format!("Internal error occurred: {}", message.into()), None)
    }

    /// HTTP status code for this error.
    pub fn code(&self) -> u16 {
        match self {
            Error::Api { code, .. } => *code,
            _ => 500,
        }
    }

    /// The `Status` object a client receives.
    pub fn to_status(&self) -> Value {
        let (code, reason, details) = match self {
            Error::Api { code, reason, details, .. } => (*code, *reason, details.clone()),
            _ => (500, "InternalError", None),
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": reason,
            "code": code,
        });
        if let Some(d) = details {
            status["details"] = d;
        }
        status
    }
}

/// One field problem of a 422 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON field path, e.g. `metadata.name`.
    pub field: String,
    /// `FieldValueInvalid`, `FieldValueRequired`, ...
    pub reason: &'static str,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// Why it is wrong.
    pub detail: String,
}

impl FieldError {
    /// An `Invalid value` error.
    pub fn invalid(field: &str, value: &str, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            reason: "FieldValueInvalid",
            value: Some(value.into()),
            detail: detail.into(),
        }
    }

    /// A `Required value` error.
    pub fn required(field: &str, detail: impl Into<String>) -> Self {
        FieldError { field: field.into(), reason: "FieldValueRequired", value: None, detail: detail.into() }
    }

    fn message(&self) -> String {
        match (&self.value, self.reason) {
            (Some(v), _) => format!("Invalid value: {}: {}", json!(v), self.detail),
            (None, "FieldValueRequired") if self.detail.is_empty() => "Required value".to_string(),
            (None, "FieldValueRequired") => format!("Required value: {}", self.detail),
            (None, _) => self.detail.clone(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}
