//! Compares desired manifests with live Kubernetes objects the way Argo CD does, so that a
//! team switching from Argo CD sees the same Synced/OutOfSync answers for the same objects.
//!
//! What it does:
//! - normalizes both sides ([`normalize`]): server-populated metadata, `status`, Secret
//!   `stringData`, empty RBAC rules, the tracking annotation;
//! - predicts the live object after an apply ([`predict`]): a three-way merge that uses the
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation (client-side apply, list
//!   merge keys from `tiphys-patch`'s schema of the built-in types), treating API-server
//!   defaults, resource quantities (`1000m` = `1`), int-or-string ports and empty-vs-absent
//!   collections as equal; for a server-side diff (`ServerSideDiff=true`), `tiphys-patch`'s
//!   server-side apply by the `argocd-controller` manager, so only fields that manager owns or
//!   sets can differ;
//! - removes ignored fields ([`ignore`]): `ignoreDifferences` rules from the Application and
//!   from `argocd-cm` (`jsonPointers`, `jqPathExpressions`, `managedFieldsManagers`);
//! - reports per resource a [`DiffStatus`], the normalized pair and a unified diff, with
//!   Secret values masked ([`mask`]).
//!
//! What it deliberately does not do: talk to an API server (a server-side diff here is
//! computed from `managedFields`, not by a dry-run apply), decide health, or plan a sync.
//! It is L1: synchronous, deterministic, no I/O.

pub mod compare;
mod defaults;
mod error;
pub mod ignore;
mod managed_fields;
pub mod mask;
pub mod normalize;
pub mod predict;
mod quantity;
mod render;
pub mod settings;

pub use compare::{AppDiff, CompareOptions, DiffStatus, Differ, ResourceDiff, StatusFieldMode};
pub use error::DiffError;
pub use ignore::{IgnoreRule, ResourceIgnoreDifferences};
pub use quantity::Quantity;
pub use settings::DiffSettings;
