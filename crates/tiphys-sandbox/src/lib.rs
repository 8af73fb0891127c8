//! tiphys-sandbox: a Kubernetes-API-compatible server for development and tests.
//!
//! **This is a dev/test server, not a production cluster.** It keeps everything in memory
//! (optionally persisted to a directory), runs no containers, and has a single bearer token
//! instead of authentication and authorization. It plays the role envtest + kwok play in the
//! Go world: real clients (`kubectl`, kube-rs) talk to it over HTTP exactly as they would to a
//! real API server, and a workload simulator moves Deployments, Jobs, Services and friends
//! through realistic status transitions.
//!
//! Layout: [`store`] is a synchronous core (objects, resourceVersions, the event log,
//! finalizers, garbage collection) tested with plain `#[test]`s; the HTTP layer is a thin
//! axum wrapper over it.

pub mod defaults;
pub mod error;
pub mod patch;
pub mod selector;
pub mod store;
pub mod types;
pub mod validation;

pub use error::{Error, Result};
