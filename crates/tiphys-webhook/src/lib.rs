//! tiphys-webhook: Git push webhooks, the way Argo CD's `/api/webhook` reads them (layer L1:
//! pure and synchronous).
//!
//! What it does:
//! - [`parse`] turns one HTTP request (headers and body) from GitHub, GitLab, Bitbucket Cloud,
//!   Bitbucket Server, Gitea, Gogs or Azure DevOps into a verified, provider-independent [`PushEvent`], or
//!   says the delivery is not a push ([`Received::Ignored`], e.g. a ping). When a secret is
//!   configured for the provider ([`WebhookSecrets`], from the `argocd-secret` Secret) an
//!   unsigned or mis-signed request is refused; when none is, requests are accepted, as
//!   upstream does. Bodies above the payload cap are refused before anything else is read.
//! - [`affects`] / [`EventMatcher`] decide which Applications the push must refresh: a source
//!   whose `repoURL` names the pushed repository, whose `targetRevision` is the pushed branch or
//!   tag (or `HEAD`/empty when the push touched the default branch), and, with the
//!   `argocd.argoproj.io/manifest-generate-paths` annotation, only when a changed file lies
//!   under one of the listed paths.
//!
//! What it deliberately does not do: serve HTTP, read request bodies from a socket, call a Git
//! provider's API (upstream asks Bitbucket's API for changed files; we refresh instead), or
//! touch the cluster. The server/controller owns those and calls this crate with bytes.

mod affects;
mod error;
mod parse;
mod secrets;

pub use affects::{EventMatcher, affects, refresh_paths};
pub use error::WebhookError;
pub use parse::{Provider, PushEvent, Received, parse};
pub use secrets::{DEFAULT_MAX_PAYLOAD_BYTES, WebhookSecrets};
