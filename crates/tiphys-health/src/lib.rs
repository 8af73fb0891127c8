//! Resource health, as Argo CD users know it.
//!
//! * [`HealthAssessor::resource_health`]: one live object → [`HealthStatus`], using (in
//!   upstream's order) the pending-deletion rule, the `argocd-cm` Lua customization for its
//!   kind, then upstream's built-in checks (Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod,
//!   Service, Ingress, PersistentVolumeClaim, Job, HorizontalPodAutoscaler, APIService, Argo
//!   Workflow). Namespaces and other kinds without a check get no health, as upstream.
//!   Application children are assessed only with [`AssessOptions::assess_applications`].
//! * [`HealthAssessor::application_health`]: the app's aggregate with upstream's exclusions
//!   and precedence.
//! * [`HealthAssessor::list_actions`] / [`HealthAssessor::run_action`]: custom resource
//!   actions.
//! * [`ResourceOverrides`]: the `resource.customizations*` keys of `argocd-cm`.
//!
//! This crate is L1: synchronous and deterministic. The clock (`os.time()`) and an optional
//! deadline come in through [`RunContext`]; Lua is sandboxed and limited (see [`lua`]).

mod actions;
mod aggregate;
mod assess;
mod builtin;
pub mod lua;
mod overrides;
mod status;

pub use actions::{
    ActionDefinition, ImpactedResource, Operation, ResourceAction, ResourceActions, clean_returned,
};
pub use aggregate::{AppHealth, IGNORE_HEALTHCHECK, ManagedResource};
pub use assess::{AssessOptions, HealthAssessor};
pub use builtin::{HOOK_FINALIZER, has_builtin_check};
pub use lua::{Deadline, Limits, RunContext};
pub use overrides::{RESOURCE_CUSTOMIZATIONS_KEY, ResourceOverride, ResourceOverrides, override_key};
pub use status::{HealthStatus, HealthStatusCode};

/// Everything that can go wrong in this crate that is not a health verdict.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// An `argocd-cm` key could not be understood.
    #[error("argocd-cm key {key:?}: {message}")]
    Settings {
        /// The ConfigMap key.
        key: String,
        /// What is wrong and how to write it.
        message: String,
    },
    /// The object is not a Kubernetes object.
    #[error("the resource cannot be identified: {0}")]
    Object(#[from] tiphys_resource::KeyError),
    /// An action name that the kind's actions do not define.
    #[error("action {action:?} is not defined for {kind}; defined actions: {known}")]
    UnknownAction {
        /// The requested action.
        action: String,
        /// `Kind.group` of the object.
        kind: String,
        /// The names that are defined.
        known: String,
    },
    /// A discovery or action script failed or returned something unusable.
    #[error("{script} failed: {message}")]
    Script {
        /// Which script (`discovery.lua of Rollout.argoproj.io`, ...).
        script: String,
        /// The Lua error or the problem with the result.
        message: String,
    },
}
