//! tiphys-patch: the patch algorithms of the Kubernetes API server and of `kubectl apply`,
//! as pure functions over `serde_json::Value`.
//!
//! Why a crate of its own: the sandbox API server must answer `PATCH` requests exactly like a
//! real API server, and the diff engine and the kube adapter must predict what an apply would
//! do without asking a server. All three need the same merge rules, so they live here once.
//!
//! What it does:
//! - RFC 6902 JSON patch ([`apply_json_patch`]) and RFC 7386 merge patch ([`apply_merge_patch`]);
//! - Kubernetes strategic merge patch ([`apply_strategic_merge_patch`]) with the merge keys and
//!   patch strategies of the built-in types ([`schema`]), and the patch computations kubectl
//!   does for client-side apply ([`create_two_way_merge_patch`], [`create_three_way_merge_patch`]);
//! - server-side apply ([`server_side_apply`]) and field ownership for ordinary writes
//!   ([`update_managed_fields`]), with `managedFields` in the `FieldsV1` encoding ([`FieldSet`]),
//!   and removal of a manager's fields from an object ([`remove_fields`], for diffs);
//! - kubectl's `last-applied-configuration` annotation ([`last_applied_configuration`]).
//!
//! What it deliberately does not do: I/O, defaulting, validation, resourceVersion or uid
//! handling, status-subresource splitting. Those belong to the caller (the sandbox). Time is a
//! parameter (`now`, RFC 3339), never read from a clock.
//!
//! How it is checked: strategic merge patch results, and the patches this crate computes, are
//! compared with the real `kubectl patch --local` (upstream's own implementation) in
//! `tests/kubectl_oracle.rs`, on fixed cases per directive and merge key and on random objects.
//!
//! Known differences from upstream, on purpose:
//! - a patch list element the live list lacks is merged into an empty object (its nulls and
//!   directives are processed); upstream copies it verbatim, so the API server stores a
//!   `{"$patch": "delete", ...}` element as a real one;
//! - for custom resources, [`apply_strategic_merge_patch`] is a merge patch, whereas the API
//!   server answers 415 (check [`schema::is_builtin`] to do the same);
//! - server-side apply does not cap the number of `Update` entries (upstream folds the oldest
//!   beyond ten into `ancient-changes`), and the entries it writes are for the main resource
//!   (`subresource` is read and kept, never set).

mod error;
mod fieldset;
mod json;
mod last_applied;
mod owned;
pub mod schema;
mod ssa;
mod strategic;

pub use error::{Conflict, Conflicts, PatchError};
pub use fieldset::{FieldPath, FieldSet, PathElement};
pub use json::{apply_json_patch, apply_merge_patch};
pub use last_applied::last_applied_configuration;
pub use schema::{FieldSchema, ListType, field_schema, is_builtin, merge_key};
pub use ssa::{
    BEFORE_FIRST_APPLY, ManagedFieldsEntry, Operation, managed_fields, remove_fields, server_side_apply,
    update_managed_fields,
};
pub use strategic::{apply_strategic_merge_patch, create_three_way_merge_patch, create_two_way_merge_patch};
