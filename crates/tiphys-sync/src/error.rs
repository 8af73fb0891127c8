//! The one error type of this crate.

use tiphys_resource::ResourceKey;

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// A desired or live object cannot be identified.
    #[error(transparent)]
    Object(#[from] tiphys_diff::DiffError),
    /// `FailOnSharedResource=true` and another application tracks this resource.
    #[error(
        "shared resource found: {key} is part of application {other_app:?}; remove it from one application or drop FailOnSharedResource"
    )]
    SharedResource {
        /// The resource.
        key: ResourceKey,
        /// The other application.
        other_app: String,
    },
}
