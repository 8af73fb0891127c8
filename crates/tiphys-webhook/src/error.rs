//! The crate's one error type: why a webhook delivery was refused.

use crate::parse::Provider;

/// Why a webhook request was refused. [`WebhookError::http_status`] gives the answer the HTTP
/// layer should send; the messages name the provider, the header and the fix, and never
/// contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The body is larger than the configured cap (`webhook.maxPayloadSizeMB` in argocd-cm).
    #[error(
        "webhook payload of {size} bytes exceeds the limit of {limit} bytes; raise webhook.maxPayloadSizeMB in argocd-cm if such pushes are expected"
    )]
    PayloadTooLarge {
        /// Size of the body received.
        size: usize,
        /// The configured limit.
        limit: u64,
    },
    /// No header identifies a supported Git provider.
    #[error(
        "unknown webhook event: no X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Gogs-Event, X-Hook-UUID, X-Event-Key or X-Vss-ActivityId header; configure the Git provider to send push events as JSON"
    )]
    UnknownProvider,
    /// A secret is configured for the provider but the request carries no signature/token.
    #[error(
        "{provider} webhook: missing {header} header although a webhook secret is configured; set the same secret in the {provider} webhook settings"
    )]
    MissingSignature {
        /// The provider the request claims to come from.
        provider: Provider,
        /// The header that should carry the signature or token.
        header: &'static str,
    },
    /// The signature/token does not match the configured secret.
    #[error(
        "{provider} webhook: {header} does not match the configured secret ({key} in argocd-secret); check that both sides use the same secret"
    )]
    BadSignature {
        /// The provider the request claims to come from.
        provider: Provider,
        /// The header that carried the signature or token.
        header: &'static str,
        /// The `argocd-secret` key holding the expected secret.
        key: &'static str,
    },
    /// The push event has no body.
    #[error("{provider} webhook: the push event has an empty body")]
    EmptyPayload {
        /// The provider.
        provider: Provider,
    },
    /// The body is not the JSON push payload the provider documents.
    #[error(
        "{provider} webhook: the payload is not a valid push event ({message}); set the webhook's content type to application/json"
    )]
    InvalidPayload {
        /// The provider.
        provider: Provider,
        /// What could not be read.
        message: String,
    },
    /// The `argocd-secret` Secret has a webhook key that is not valid base64.
    #[error("argocd-secret: data key {key} is not valid base64: {message}; store the secret base64-encoded")]
    BadSecret {
        /// The offending key.
        key: String,
        /// The decoder's message.
        message: String,
    },
}

impl WebhookError {
    /// The HTTP status the webhook endpoint should answer with: 413 for an oversized body, 401
    /// for failed verification, 400 for a malformed or unknown request, 500 for a broken
    /// `argocd-secret` (the server's fault, not the sender's).
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::PayloadTooLarge { .. } => 413,
            WebhookError::MissingSignature { .. } | WebhookError::BadSignature { .. } => 401,
            WebhookError::UnknownProvider
            | WebhookError::EmptyPayload { .. }
            | WebhookError::InvalidPayload { .. } => 400,
            WebhookError::BadSecret { .. } => 500,
        }
    }
}
