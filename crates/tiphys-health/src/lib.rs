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
//!
//! # Application health (app-of-apps)
//!
//! Upstream stopped assessing `argoproj.io/Application` children in v1.8. Two ways to turn it
//! back on: the Lua customization upstream documents (`resource.customizations.health.argoproj.io_Application`),
//! which works unchanged, or [`AssessOptions::assess_applications`] (`--assess-applications` on
//! `tiphys admin settings resource-overrides health`), which applies the same rule natively:
//! the child's `status.health`, `Progressing` until it reports one. A child that is `Missing`
//! or `Unknown` never lowers its parent, as upstream.
//!
//! # Known differences from upstream (deliberate)
//!
//! * Lua errors read `<string>:LINE: message` as in gopher-lua, but LuaJIT words some messages
//!   differently (`attempt to index field 'status' (a nil value)`).
//! * With `useOpenLibs`, scripts get `string` and `math` but not `io`, `debug`, `coroutine` or
//!   the full `os` that gopher-lua's open libraries would also expose; `os` is always the safe
//!   subset (`time`, `date`, `difftime`), evaluated in UTC from the caller's clock.
//!   Actions and discovery scripts get `string` and `math` too.
//! * An unsupported `resource.customizations.<type>.*` key (e.g. `signature`) is a warning, not
//!   a failure of every customization. Several wildcard keys matching one kind: the first in key
//!   order wins (upstream: Go map order, i.e. random).
//! * `pairs` iterates in LuaJIT's hash order, not gopher-lua's insertion order.
//! * Upstream's newest tree moves some built-in checks to Lua and changes PersistentVolumeClaim
//!   `Pending`; this crate follows the released Go checks (Pending is `Progressing`).
//! * Namespaces have no built-in check upstream, so they get no health (only "Pending
//!   deletion" while being deleted).

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
