//! Sync planning, the way upstream Argo CD's sync engine orders work: given desired objects,
//! live objects, what the diff found and the sync options, produce the ordered [`SyncPlan`]
//! (phases, waves, kind order, hooks, prune tasks, per-resource apply options). The plan is a
//! serializable value the executor (`tiphys-executor`) walks and a user can read
//! (`tiphys admin sync-plan`).
//!
//! Deliberately not here: applying, waiting or deleting (the executor does that), health
//! (`tiphys-health`), and comparing (`tiphys-diff`). L1: synchronous, deterministic, no I/O;
//! the operation's start time is a parameter.

mod error;
pub mod hooks;
pub mod operation;
pub mod options;
pub mod plan;

pub use error::SyncError;
pub use operation::{Command, Observed, Operation, TaskState};
pub use options::AppSyncOptions;
pub use plan::{
    Action, ApplyStrategy, PlanInput, SelectedResource, Strategy, SyncOperation, SyncPhase, SyncPlan, Task,
    plan, plan_deletion,
};
