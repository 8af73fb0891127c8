//! Git repositories as rendering needs them, through the `git` CLI (what upstream's
//! repo-server does, so behaviour matches for free).
//!
//! - [`GitCache`]: `ls-remote` ("did it move?"), fetch into one bare repository per
//!   normalised URL, one fetch at a time per repository (concurrent callers wait and then find
//!   the commit present), immutable checkouts per commit, a timeout on every git call.
//!   Checkouts are incremental: the tree of a new commit starts as a hard-link copy of the
//!   last tree written for the repository (made in the background right after that tree was
//!   written, so a webhook's checkout usually finds it ready; after a restart, the newest tree
//!   on disk), and only the paths `git diff-tree` lists are rewritten (unlinked first, never
//!   written through a link, blobs from one `git cat-file --batch`). A checkout with
//!   submodules, a repository with no tree on disk yet, a diff touching more than half the
//!   paths, a `.gitattributes` anywhere, or any failure on the way takes the full
//!   `git read-tree` instead, so the result is always the tree `read-tree` writes. Old
//!   checkouts are not garbage-collected.
//! - [`resolve_revision`]: branch, tag, `HEAD`, full or short SHA, semver constraints over
//!   tags, as upstream resolves `targetRevision`.
//! - [`CredentialStore`]: `repository` / `repo-creds` Secrets. Secrets reach git only through
//!   the environment (`GIT_ASKPASS`, `GIT_CONFIG_*`, `GIT_SSH_COMMAND` naming a 0600 key
//!   file), never its arguments, and are scrubbed from every error.
//!
//! - [`serve::GitHttpServer`]: a smart-HTTP server over `git http-backend`, for `tiphys up`
//!   and for tests.
//!
//! Not done here: shallow/partial fetches, GPG verification, Git LFS.

mod cache;
mod creds;
mod incremental;
mod refs;
mod resolve;
pub mod semver;
pub mod serve;
#[cfg(feature = "test-support")]
pub mod testsupport;
mod url;

use std::path::PathBuf;
use std::time::Duration;

pub use cache::{GitCache, GitConfig};
pub use creds::{CredentialStore, Credentials, SECRET_TYPE_LABEL};
pub use resolve::{Resolved, resolve_revision};
pub use url::{normalize, redact};

/// Why a git operation failed. Messages name the repository (credentials redacted) and never
/// contain a password, token or key.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The server refused the credentials (or none were configured).
    #[error(
        "{repo}: authentication failed; check the username/password, token or SSH key in the repository Secret"
    )]
    Auth {
        /// The repository URL, redacted.
        repo: String,
    },
    /// A git command did not finish in time and was killed.
    #[error("{repo}: git {operation} timed out after {after:?}; is the server reachable?")]
    Timeout {
        /// The repository URL, redacted.
        repo: String,
        /// Which git operation.
        operation: String,
        /// The configured timeout.
        after: Duration,
    },
    /// A git command failed for another reason (unreachable host, missing repository, ...).
    #[error("{repo}: git {operation} failed: {message}")]
    Command {
        /// The repository URL, redacted.
        repo: String,
        /// Which git operation.
        operation: String,
        /// git's error output, scrubbed of secrets.
        message: String,
    },
    /// The revision does not name a branch, tag or commit of the repository.
    #[error("{repo}: unable to resolve {revision:?} to a commit; {hint}")]
    RevisionNotFound {
        /// The repository URL, redacted.
        repo: String,
        /// The requested revision.
        revision: String,
        /// What to check.
        hint: String,
    },
    /// A repository Secret is malformed.
    #[error("secret {secret}: {message}; fix the repository Secret")]
    BadSecret {
        /// The Secret's name.
        secret: String,
        /// What is wrong (never its contents).
        message: String,
    },
    /// The git HTTP server could not start.
    #[error("git server on {addr}: {message}")]
    Serve {
        /// The address it was asked to listen on.
        addr: String,
        /// Why, and what to do.
        message: String,
    },
    /// The on-disk cache could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The cache path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
