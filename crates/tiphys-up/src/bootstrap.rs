//! The objects a fresh Argo CD installation has, plus the example Applications, and applying
//! them to a cluster.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tiphys_kube::{ApplyMode, Cluster, WriteOptions};
use tiphys_resource::ResourceKey;

use crate::repo::{APPS, CHILD_APPS, ExampleApp};
use crate::{NAMESPACE, UpError};

/// The field manager of `tiphys up`'s writes.
pub const FIELD_MANAGER: &str = "tiphys-up";

/// The in-cluster destination server, as upstream names it.
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// How often apps are refreshed in the demo (upstream's default is 180 s): a commit to the
/// example repository shows up within this time.
pub const RECONCILIATION: &str = "15s";

/// An Application's health from its own `status.health`, so an app-of-apps parent's sync
/// waves wait for each child to be Healthy (upstream removed the built-in check in 1.8 and
/// documents restoring it this way). Until the child reports health it is Progressing.
pub const APPLICATION_HEALTH_LUA: &str = r#"local result = { status = "Progressing", message = "" }
local health = obj.status ~= nil and obj.status.health or nil
if health ~= nil then
  result.status = health.status
  if health.message ~= nil then
    result.message = health.message
  end
end
return result
"#;

/// The controller namespace, every destination namespace (created up front so the apps work
/// whether or not the controller honours `CreateNamespace=true`), and `argocd-cm` with the
/// Application health check and the demo's refresh interval.
pub fn platform() -> Vec<Value> {
    let mut namespaces: Vec<&str> = vec![NAMESPACE];
    for app in APPS.iter().chain(CHILD_APPS) {
        if !namespaces.contains(&app.namespace) {
            namespaces.push(app.namespace);
        }
    }
    let mut objects: Vec<Value> = namespaces
        .into_iter()
        .map(|name| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        .collect();
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "argocd-cm",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
        },
        "data": {
            "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
            "timeout.reconciliation": RECONCILIATION,
        },
    }));
    objects.push(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "default", "namespace": NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }));
    objects
}

/// The Application for one example, automated with prune and self-heal.
pub fn application(app: &ExampleApp, repo_url: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": app.name, "namespace": NAMESPACE},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "HEAD", "path": app.path},
            "destination": {"server": IN_CLUSTER, "namespace": app.namespace},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    })
}

/// Every example Application.
pub fn applications(repo_url: &str) -> Vec<Value> {
    APPS.iter().map(|app| application(app, repo_url)).collect()
}

fn apply_error(object: &Value, e: tiphys_kube::Error) -> UpError {
    let what = ResourceKey::of(object).map(|k| k.to_string()).unwrap_or_else(|_| "object".into());
    UpError::Bootstrap { object: what, message: e.to_string() }
}

async fn apply(cluster: &Cluster, object: &Value) -> Result<(), UpError> {
    let options = WriteOptions { field_manager: FIELD_MANAGER.to_string(), dry_run: false };
    cluster
        .apply(object, ApplyMode::ServerSide { force: true }, &options)
        .await
        .map_err(|e| apply_error(object, e))?;
    Ok(())
}

/// Applies the CRDs and [`platform`] (server-side apply: re-running changes nothing), then
/// creates each example Application that does not exist yet, so a restart keeps the user's
/// edits to them. CRDs take a moment to be served; kinds are retried until `patience` ends.
pub async fn install(cluster: &Cluster, repo_url: &str, patience: Duration) -> Result<(), UpError> {
    for crd in tiphys_model::crd::crds() {
        apply(cluster, &crd).await?;
    }
    let deadline = Instant::now() + patience;
    for object in platform() {
        loop {
            match apply(cluster, &object).await {
                Err(UpError::Bootstrap { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = cluster.refresh_discovery().await;
                }
                done => break done?,
            }
        }
    }
    for app in applications(repo_url) {
        let key = ResourceKey::of(&app)
            .map_err(|e| UpError::Bootstrap { object: "Application".into(), message: e.to_string() })?;
        if cluster.get(&key).await.map_err(|e| apply_error(&app, e))?.is_none() {
            apply(cluster, &app).await?;
        }
    }
    Ok(())
}
