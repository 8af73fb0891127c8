//! tiphys-executor: runs a sync operation against a cluster (layer L3).
//!
//! The plan (`tiphys_sync::plan`) says what to do and in which order; the sans-IO state
//! machine (`tiphys_sync::Operation`) says what to do *next*. This crate does it: every
//! command is carried out with `tiphys_kube` writes, health is read back with `GET`s and
//! assessed by `tiphys_health`, and the observations go back into the state machine. One
//! [`Execution`] is one sync operation; [`Execution::advance`] does as much as it can without
//! waiting and returns, so the controller can persist [`Execution::results`] (the
//! `operationState.syncResult.resources` of the Application) after every call and a restarted
//! controller can build a new [`Execution`] from them and finish the same operation.
//!
//! What happens, as upstream Argo CD's sync engine does it:
//! - a server-side dry run of every task first (skipped for custom resources whose CRD is
//!   created by the same sync, `SkipDryRunOnMissingResource=true`, objects in a namespace the
//!   sync creates, and hooks about to be re-created); a failure stops before anything is
//!   written;
//! - apply per (phase, wave) with the task's strategy: client-side apply (last-applied
//!   annotation), server-side apply (field manager, conflicts forced as upstream does),
//!   `Replace=true`, `Force=true` (delete and re-create when the update is refused);
//!   retryable API errors are retried a few times inside the step;
//! - between steps, wait until the step's resources are healthy (Progressing/Suspended: wait;
//!   Degraded: the task failed) and its hooks completed;
//! - hooks get upstream's hook finalizer while they run, `BeforeHookCreation` deletes the old
//!   object first, and `HookSucceeded`/`HookFailed` delete them when the operation ends;
//! - prune with the plan's propagation policy, waiting until the object is gone;
//! - `CreateNamespace=true` with `managedNamespaceMetadata` (server-side applied, so labels
//!   and annotations others set stay; also applied to an existing namespace);
//! - on failure the SyncFail hooks run, then the operation fails with upstream's messages.
//!
//! Deliberately not here: deciding whether to sync (automated sync, windows, retries: the
//! controller), planning (`tiphys-sync`), comparing (`tiphys-diff`), and persisting state.
//!
//! Known differences from upstream (deliberate): the dry run is a server-side dry run (upstream
//! uses kubectl's client-side one), so it also catches what admission would refuse; a hook
//! deleted by `terminate` is reported `Failed` ("Deleted (operation terminated)") where
//! upstream reports it `Succeeded`.

mod commands;
mod execution;
mod record;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tiphys_health::HealthAssessor;
use tiphys_kube::Cluster;
use tiphys_model::application::ManagedNamespaceMetadata;

pub use execution::{Execution, Progress, Timings};

/// Settings of an [`Executor`]; the defaults suit a controller on a small machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// The field manager of every write (`argocd-controller`, as upstream).
    pub field_manager: String,
    /// How long the controller should wait before calling [`Execution::advance`] again when
    /// a step waits on health or hooks (returned in [`Progress::Running`]).
    pub poll_interval: Duration,
    /// Pause after applying a step before its health is first read (upstream's
    /// `ARGOCD_SYNC_WAVE_DELAY`, 2 s there). Small here: the built-in health checks compare
    /// `observedGeneration`, so a stale status is not mistaken for a healthy one.
    pub wave_delay: Duration,
    /// How long one [`Execution::advance`] call may keep working before it returns so the
    /// controller can persist progress.
    pub step_budget: Duration,
    /// Attempts for a write that fails with a retryable error (conflict, 429, 5xx, transport).
    pub write_attempts: u32,
    /// Delay before the first retry of a write; doubled for each further one.
    pub write_retry_delay: Duration,
    /// Parallel requests at most while dry-running, applying a batch or reading health.
    pub concurrency: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            field_manager: tiphys_kube::DEFAULT_FIELD_MANAGER.to_string(),
            poll_interval: Duration::from_millis(250),
            wave_delay: Duration::from_millis(100),
            step_budget: Duration::from_secs(1),
            write_attempts: 3,
            write_retry_delay: Duration::from_millis(50),
            concurrency: 16,
        }
    }
}

/// Runs executions against one destination cluster. Cheap to share: the cluster handle and
/// the health assessor are reference counted.
#[derive(Debug, Clone)]
pub struct Executor {
    cluster: Cluster,
    health: Arc<HealthAssessor>,
    config: ExecutorConfig,
}

impl Executor {
    /// An executor with the default settings.
    pub fn new(cluster: Cluster, health: Arc<HealthAssessor>) -> Self {
        Self::with_config(cluster, health, ExecutorConfig::default())
    }

    /// An executor with explicit settings.
    pub fn with_config(cluster: Cluster, health: Arc<HealthAssessor>, config: ExecutorConfig) -> Self {
        Executor { cluster, health, config }
    }

    /// The destination cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The settings in use.
    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }
}

/// What an execution needs besides the plan: the objects the plan's tasks point into and the
/// Application settings that shape writes.
#[derive(Debug, Clone, Default)]
pub struct ExecutionContext {
    /// The Application's name, for logs.
    pub app_name: String,
    /// The desired objects the plan was built from (`Task::desired_index` points here), with
    /// the tracking label/annotation already set, hooks included (as compare produces them).
    pub desired: Vec<Value>,
    /// The destination namespace.
    pub namespace: String,
    /// `CreateNamespace=true`: the destination namespace is managed by the sync.
    pub create_namespace: bool,
    /// `spec.syncPolicy.managedNamespaceMetadata`: labels and annotations put on the
    /// destination namespace when `create_namespace` is set, whether it is new or not.
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
}
