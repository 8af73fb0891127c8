//! Argo CD's configuration as typed values, read in one place.
//!
//! Users configure Argo CD through ConfigMaps and Secrets in the control-plane namespace, and a
//! drop-in must read them exactly as they are written today. This crate turns them into typed
//! snapshots that the controller, the diff and health engines and the CLI share, instead of
//! each re-reading the raw keys:
//!
//! - [`Settings::from_configmap`]: `argocd-cm` — reconciliation timeouts, resource tracking
//!   (method, instance label key, installation id), `resource.exclusions` / `inclusions`
//!   ([`ResourceFilter`]), `resource.compareoptions`, every `resource.customizations*` key form
//!   ([`ResourceOverride`]: Lua health checks, actions, ignoreDifferences,
//!   ignoreResourceUpdates, knownTypeFields), and a few switches. A bad value never fails the
//!   load: it becomes a [`SettingsProblem`] naming the key and the fix, and the default applies.
//! - [`ControllerParams::from_configmap`]: the controller's keys of `argocd-cmd-params-cm`
//!   (processors, self-heal backoff, resource health persistence, server-side diff, app
//!   namespaces), with the same never-fail rule.
//! - [`ClusterSecret::from_secret`]: a cluster Secret (`argocd.argoproj.io/secret-type:
//!   cluster`), with [`ClusterSecret::kubeconfig`] rendering a kubeconfig any Kubernetes client
//!   can load.
//!
//! # Keys read, with upstream's defaults
//!
//! | ConfigMap | key | field | default |
//! |---|---|---|---|
//! | argocd-cm | `timeout.reconciliation` | [`Settings::reconciliation_timeout`] | `180s` (`0` = no periodic refresh) |
//! | argocd-cm | `timeout.reconciliation.jitter` | [`Settings::reconciliation_jitter`] | `0` |
//! | argocd-cm | `timeout.hard.reconciliation` | [`Settings::hard_reconciliation_timeout`] | `0` (off) |
//! | argocd-cm | `application.resourceTrackingMethod` | `tracking.method` | `annotation` |
//! | argocd-cm | `application.instanceLabelKey` | `tracking.label_key` | `app.kubernetes.io/instance` |
//! | argocd-cm | `installationID` | `tracking.installation_id` | none |
//! | argocd-cm | `resource.exclusions`, `resource.inclusions` | [`Settings::resource_filter`] | only [`ALWAYS_EXCLUDED`] |
//! | argocd-cm | `resource.compareoptions` | [`Settings::compare_options`] | status ignored for all kinds |
//! | argocd-cm | `resource.customizations`, `resource.customizations.<type>.<group>_<Kind>` | [`Settings::resource_overrides`] | none |
//! | argocd-cm | `resource.ignoreResourceUpdatesEnabled` | [`Settings::ignore_resource_updates_enabled`] | `true` |
//! | argocd-cm | `application.sync.impersonation.enabled` | [`Settings::impersonation_enabled`] | `false` |
//! | argocd-cm | `kustomize.buildOptions` | [`Settings::kustomize_build_options`] | empty |
//! | argocd-cm | `cluster.inClusterEnabled` | [`Settings::in_cluster_enabled`] | `true` |
//! | argocd-cmd-params-cm | `controller.status.processors` / `controller.operation.processors` | [`ControllerParams`] | 20 / 10 |
//! | argocd-cmd-params-cm | `controller.self.heal.timeout.seconds`, `controller.self.heal.backoff.{timeout.seconds,factor,cap.seconds}` | [`ControllerParams`] | 0; 2 s, ×3, 300 s |
//! | argocd-cmd-params-cm | `controller.resource.health.persist`, `controller.diff.server.side`, `application.namespaces` | [`ControllerParams`] | `true`, `false`, none |
//!
//! Durations are Go durations (`90s`, `1h30m`); like upstream, a bare number other than `0`
//! (`180`) is not a duration and falls back to the default with a problem.
//!
//! # Known differences from upstream (deliberate)
//!
//! - A bad `resource.customizations*` entry is skipped on its own; upstream fails every
//!   customization when one key is malformed.
//! - Values upstream silently ignores or misreads (an unknown tracking method, `cluster.inClusterEnabled:
//!   no`, a non-boolean switch) are reported as problems; the resulting behaviour is upstream's
//!   (the default applies, and only `false` disables the in-cluster destination).
//! - Cluster Secrets with `execProviderConfig` or `awsAuthConfig` are refused with an error
//!   saying so, rather than connecting without those credentials.
//!
//! What it deliberately does not do: compile Lua or jq, build diff or health engines (they
//! build their own compiled forms from these values, so this crate depends on neither), or read
//! anything from a cluster. It is L1: synchronous, deterministic, no I/O.

mod argocd_cm;
mod cluster;
mod cmd_params;
mod customizations;
mod filter;

pub use argocd_cm::{
    ARGOCD_CM, CompareOptions, DEFAULT_RECONCILIATION_TIMEOUT, Settings, SettingsProblem, StatusFieldMode,
};
pub use cluster::{ClusterConfig, ClusterSecret, IN_CLUSTER_NAME, IN_CLUSTER_SERVER, TlsClientConfig};
pub use cmd_params::{ARGOCD_CMD_PARAMS_CM, ControllerParams, SelfHealBackoff};
pub use customizations::{
    KnownTypeField, OverrideIgnoreDiff, RESOURCE_CUSTOMIZATIONS_KEY, ResourceOverride, override_key,
    split_override_key,
};
pub use filter::{ALWAYS_EXCLUDED, FilteredResource, ResourceFilter};

/// Why a Secret could not be read as a cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The Secret lacks the `argocd.argoproj.io/secret-type: cluster` label.
    #[error(
        "Secret {secret}: not a cluster Secret; label it `argocd.argoproj.io/secret-type: cluster` to register a cluster"
    )]
    NotAClusterSecret {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// A required field is absent or empty.
    #[error("cluster Secret {secret}: field {field:?} is missing; {hint}")]
    MissingField {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The `data` key (or `config` field).
        field: String,
        /// What to write.
        hint: &'static str,
    },
    /// A field is present but cannot be read.
    #[error("cluster Secret {secret}: field {field:?} is invalid: {message}")]
    InvalidField {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The `data` key (or `config` field).
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The Secret asks for an authentication method Tiphys does not implement yet.
    #[error(
        "cluster Secret {secret}: {field} is not supported yet; use bearerToken, username/password or a client certificate (tlsClientConfig.certData/keyData) instead"
    )]
    Unsupported {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The `config` field (`execProviderConfig`, `awsAuthConfig`).
        field: String,
    },
}
