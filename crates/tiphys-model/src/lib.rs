//! The `argoproj.io/v1alpha1` resources Tiphys shares with Argo CD — [`Application`],
//! [`AppProject`] and [`ApplicationSet`] — with JSON field names exactly as upstream spells
//! them, the admission rules upstream enforces ([`validate`]), and the CRDs generated from
//! these types ([`crd`]).
//!
//! Compatibility rules the types follow:
//! - every field is `Option` unless upstream's CRD requires it, so what a user wrote is what
//!   we write back (no defaults are injected on serialization);
//! - every struct keeps fields it does not know in `extra`, so a read-modify-write by an older
//!   Tiphys never drops fields a newer Argo CD wrote.
//!
//! This crate is L0: no I/O, no clock. Interpreting the resources (diff, health, sync) is the
//! engine crates' job.

pub mod application;
pub mod applicationset;
pub mod crd;
pub mod duration;
pub mod meta;
pub mod project;
pub mod schema;
pub mod source;
pub mod validate;

pub use application::{Application, ApplicationSpec};
pub use applicationset::ApplicationSet;
pub use project::AppProject;
