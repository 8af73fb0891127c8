//! The one error type of this crate.

/// Why a comparison could not be set up or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// A `jqPathExpressions` entry does not parse or compile.
    #[error(
        "ignoreDifferences for {rule}: jq path expression {expression:?} is invalid: {message}; fix the expression (it is wrapped as `del(<expr>)`)"
    )]
    InvalidJq {
        /// Which rule (`group/kind[/namespace/name]`).
        rule: String,
        /// The expression as written.
        expression: String,
        /// The parser's or compiler's explanation.
        message: String,
    },
    /// A `jsonPointers` entry is not an RFC 6901 pointer.
    #[error("ignoreDifferences for {rule}: JSON pointer {pointer:?} must be empty or start with `/`")]
    InvalidPointer {
        /// Which rule.
        rule: String,
        /// The pointer as written.
        pointer: String,
    },
    /// A group/kind pattern is not a valid glob.
    #[error("ignoreDifferences: group/kind pattern {pattern:?} is not a valid glob: {message}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// The glob parser's explanation.
        message: String,
    },
    /// An argocd-cm setting could not be read.
    #[error("argocd-cm key {key:?}: {message}")]
    InvalidSetting {
        /// The ConfigMap data key.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An input document is not a Kubernetes object.
    #[error("{what}: {message}")]
    InvalidObject {
        /// Which object (file/index or resource key).
        what: String,
        /// What is wrong.
        message: String,
    },
}
