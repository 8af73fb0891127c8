//! Dynamic Kubernetes objects as plain JSON values, and the vocabulary every layer shares
//! about them: which object a manifest is ([`ResourceKey`], [`GroupVersionKind`]), how a YAML
//! stream becomes documents ([`yaml`]), and the annotation and label names Argo CD users
//! already put on their manifests ([`annotations`]), and how objects are marked as managed by an
//! app ([`tracking`]), and where a workload keeps its pod template ([`workload`]).
//!
//! This crate is L0 (see ARCHITECTURE.md): no I/O, no clock, no Kubernetes client. It does not
//! know what any particular kind *means* beyond where its pod template sits: typed Argo
//! resources live in `tiphys-model`, and
//! Kubernetes semantics (health, diff normalisation, ordering) live in the engine crates.

pub mod annotations;
pub mod gopath;
mod key;
mod propagation;
pub mod repo_url;
pub mod tracking;
pub mod workload;
pub mod yaml;

pub use key::{GroupKind, GroupVersionKind, KeyError, ResourceKey};
pub use propagation::Propagation;
