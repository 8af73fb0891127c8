//! The rules an AppProject puts around its Applications, evaluated the way upstream Argo CD
//! evaluates them: which repositories and destinations are permitted ([`project`]), which
//! kinds may be deployed, and whether a sync window currently allows a sync ([`windows`]).
//!
//! Pure (L1): the current time is a parameter, nothing here reads a clock, the network or
//! the cluster. The controller asks these questions; this crate only answers them.
//! RBAC (`argocd-rbac-cm` policies) is a separate concern and not here.

pub mod glob;
pub mod project;
pub mod windows;
