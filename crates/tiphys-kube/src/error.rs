//! The crate's one error type. Every variant names the resource it is about, and
//! [`Error::is_retryable`] tells the controller whether trying again later can help.

/// What went wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig (or the in-cluster service account) could not be read or used.
    #[error("cannot load the cluster configuration from {source_name}: {message}")]
    Config {
        /// Where the configuration came from: a file path, "kubeconfig text" or "in-cluster".
        source_name: String,
        /// The loader's explanation.
        message: String,
    },
    /// API discovery failed (the server is unreachable or its discovery documents are broken).
    #[error("API discovery against {server} failed: {message}; check the server address and credentials")]
    Discovery {
        /// The API server URL.
        server: String,
        /// The cause.
        message: String,
    },
    /// The cluster serves no resource for a kind (its CRD is missing or discovery is stale).
    #[error(
        "the cluster has no API resource for {kind}: install its CustomResourceDefinition, or refresh discovery if it was just created"
    )]
    UnknownKind {
        /// `apiVersion, Kind=...` or `Kind.group`.
        kind: String,
    },
    /// The object given to a write is not a usable Kubernetes object.
    #[error("{resource}: {message}")]
    BadObject {
        /// The object's key as far as it could be read.
        resource: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// `409 Conflict` from a stale resourceVersion: re-read the object and try again.
    #[error("{resource}: conflict: {message}")]
    Conflict {
        /// The object.
        resource: String,
        /// The API server's message.
        message: String,
    },
    /// Server-side apply found fields owned by other field managers; apply with `force` to
    /// take them over.
    #[error("{resource}: server-side apply conflict: {message}")]
    FieldConflict {
        /// The object.
        resource: String,
        /// The API server's message (lists the managers and fields).
        message: String,
        /// The contested fields, e.g. `.spec.replicas`.
        fields: Vec<String>,
    },
    /// `404 Not Found`.
    #[error("{resource}: not found: {message}")]
    NotFound {
        /// The object.
        resource: String,
        /// The API server's message.
        message: String,
    },
    /// `409 AlreadyExists` on create.
    #[error("{resource}: already exists: {message}")]
    AlreadyExists {
        /// The object.
        resource: String,
        /// The API server's message.
        message: String,
    },
    /// `401`/`403`: the credentials may not do this; grant RBAC permissions.
    #[error("{resource}: forbidden: {message}; grant the controller's service account access")]
    Forbidden {
        /// The object.
        resource: String,
        /// The API server's message.
        message: String,
    },
    /// `400`/`422`: the object is rejected as invalid; fix the manifest.
    #[error("{resource}: invalid: {message}")]
    Invalid {
        /// The object.
        resource: String,
        /// The API server's message, naming the bad fields.
        message: String,
    },
    /// Any other API status (e.g. 429, 5xx, 410).
    #[error("{resource}: the API server answered {code} {reason}: {message}")]
    Api {
        /// The object.
        resource: String,
        /// HTTP status code.
        code: u16,
        /// `Status.reason`.
        reason: String,
        /// `Status.message`.
        message: String,
    },
    /// The request did not get an API answer (connection, TLS, timeout, undecodable body).
    #[error("{resource}: request failed: {message}")]
    Transport {
        /// The object.
        resource: String,
        /// The cause.
        message: String,
    },
}

impl Error {
    /// Whether the same request may succeed later without changing the input: conflicts,
    /// throttling, server errors and transport failures are; not-found, forbidden and invalid
    /// objects are not (something has to change first).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Conflict { .. } | Error::Transport { .. } | Error::Discovery { .. } => true,
            Error::Api { code, .. } => *code == 429 || *code >= 500 || *code == 410,
            Error::Config { .. }
            | Error::UnknownKind { .. }
            | Error::BadObject { .. }
            | Error::FieldConflict { .. }
            | Error::NotFound { .. }
            | Error::AlreadyExists { .. }
            | Error::Forbidden { .. }
            | Error::Invalid { .. } => false,
        }
    }

    /// Classifies a kube-rs error for the object `resource`.
    pub(crate) fn from_kube(resource: impl std::fmt::Display, error: kube::Error) -> Error {
        let resource = resource.to_string();
        let status = match error {
            kube::Error::Api(status) => status,
            other => return Error::Transport { resource, message: other.to_string() },
        };
        let message = status.message.clone();
        match (status.code, status.reason.as_str()) {
            (404, _) => Error::NotFound { resource, message },
            (409, "AlreadyExists") => Error::AlreadyExists { resource, message },
            (409, _) => {
                let fields: Vec<String> = status
                    .details
                    .iter()
                    .flat_map(|d| d.causes.iter())
                    .filter(|c| c.reason == "FieldManagerConflict")
                    .map(|c| c.field.clone())
                    .collect();
                if fields.is_empty() {
                    Error::Conflict { resource, message }
                } else {
                    Error::FieldConflict { resource, message, fields }
                }
            }
            (401 | 403, _) => Error::Forbidden { resource, message },
            (400 | 422, _) => Error::Invalid { resource, message },
            (code, reason) => Error::Api { resource, code, reason: reason.to_string(), message },
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
