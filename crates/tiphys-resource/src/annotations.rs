//! Annotation and label names users already write for Argo CD. They are part of the
//! compatibility contract (DESIGN.md §1) and must stay spelled exactly as upstream spells them.

/// Orders resources within a sync phase; an integer, default 0.
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Marks a resource as a sync hook (`PreSync`, `Sync`, `PostSync`, `SyncFail`, `PostDelete`, `Skip`).
pub const HOOK: &str = "argocd.argoproj.io/hook";
/// When a hook is deleted (`HookSucceeded`, `HookFailed`, `BeforeHookCreation`).
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Per-resource sync options, comma separated (`Prune=false`, `Replace=true`, ...).
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Per-resource compare options (`IgnoreExtraneous`, `ServerSideDiff=true`, ...).
pub const COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";
/// Annotation-based resource tracking: `<app>:<group>/<kind>:<namespace>/<name>`.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Which Argo CD / Tiphys installation manages an object (argocd-cm `installationID`), so
/// several instances can share a cluster; written next to [`TRACKING_ID`].
pub const INSTALLATION_ID: &str = "argocd.argoproj.io/installation-id";
/// Requests a refresh of an Application (`normal` or `hard`).
pub const REFRESH: &str = "argocd.argoproj.io/refresh";
/// Label-based resource tracking (the upstream default label).
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Label on repository, repo-creds and cluster Secrets saying which kind of Secret it is.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";
/// What `kubectl apply` records for its three-way merge.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Helm's hook annotation, mapped to Argo hooks.
pub const HELM_HOOK: &str = "helm.sh/hook";
/// Helm's hook ordering annotation, mapped to sync waves.
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// Helm's hook delete policy annotation.
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
/// `;`-separated repository paths whose changes refresh an Application (webhook and
/// manifest-cache decisions); relative entries are relative to each source's `path`.
pub const MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";
/// Finalizer that makes deleting an Application delete its resources (cascade).
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Foreground variant of [`RESOURCES_FINALIZER`].
pub const RESOURCES_FINALIZER_FOREGROUND: &str = "resources-finalizer.argocd.argoproj.io/foreground";
/// Background variant of [`RESOURCES_FINALIZER`].
pub const RESOURCES_FINALIZER_BACKGROUND: &str = "resources-finalizer.argocd.argoproj.io/background";
