//! tiphys-kube: the Kubernetes adapter (layer L2), the only crate that talks to an API
//! server through kube-rs.
//!
//! What it does, each behind a small API:
//! - [`Cluster`]: a connection from a kubeconfig (file or text) or the in-cluster service
//!   account, with API discovery ([`ApiCatalog`]: every group/version/resource with kind,
//!   plural, scope, verbs and preferred version; refreshed on demand);
//! - [`LiveCache`]: the live state of a cluster, kept by one watch per listable resource type
//!   (relist on `410 Gone`, periodic resync, excluded kinds) and stored in a pure
//!   [`LiveIndex`] that answers ownerReference trees and tracking lookups and reports
//!   [`Change`]s;
//! - writes on [`Cluster`]: server-side and client-side apply ([`ApplyMode`]), create
//!   (including `generateName`), replace, delete with a [`Propagation`] policy, and server
//!   dry-run for each, failing with typed [`Error`]s that name the resource and say whether a
//!   retry can help;
//! - [`LeaderElector`]: leader election over a `coordination.k8s.io/v1` Lease (client-go's
//!   semantics and defaults), reporting leadership through a `watch` channel.
//!
//! What it deliberately does not do: decide anything about GitOps (what to apply, when, in
//! which order, whether an object belongs to an app). The controller decides; this crate
//! does the I/O.

mod cache;
mod cluster;
mod discovery;
mod error;
mod index;
mod lease;
mod write;

pub use cache::{CacheConfig, Exclusion, LiveCache};
pub use cluster::Cluster;
pub use discovery::{ApiCatalog, ApiResourceInfo};
pub use error::{Error, Result};
pub use index::{CachedObject, Change, ChangeKind, IndexConfig, IndexEvent, LiveIndex, OwnerRef, TreeNode};
pub use lease::{LeaderElector, LeaseConfig};
pub use write::{ApplyMode, DEFAULT_FIELD_MANAGER, Deletion, PatchBody, Propagation, WriteOptions};
