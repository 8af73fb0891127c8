//! Prometheus metrics under upstream's names, so existing Argo CD dashboards and alerts work:
//! `argocd_app_info`, `argocd_app_condition`, `argocd_app_sync_total`, `argocd_app_reconcile`,
//! `argocd_app_k8s_request_total`, `argocd_cluster_api_resource_objects`,
//! `argocd_cluster_api_resources`. Served as OpenMetrics text on `/metrics`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tiphys_model::application::{Application, ApplicationStatus};

type Labels = Vec<(String, String)>;

/// Upstream's reconcile-duration buckets (seconds).
const RECONCILE_BUCKETS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// The controller's metrics.
pub struct Metrics {
    registry: Registry,
    app_info: Family<Labels, Gauge>,
    app_condition: Family<Labels, Gauge>,
    app_sync: Family<Labels, Counter>,
    app_reconcile: Family<Labels, Histogram>,
    k8s_requests: Family<Labels, Counter>,
    cluster_objects: Family<Labels, Gauge>,
    cluster_resources: Family<Labels, Gauge>,
    /// The label sets currently exported per app, so a changed app replaces its series.
    per_app: Mutex<HashMap<String, (Labels, Vec<Labels>)>>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
}

fn reconcile_histogram() -> Histogram {
    Histogram::new(RECONCILE_BUCKETS)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric declared.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let app_info = Family::<Labels, Gauge>::default();
        let app_condition = Family::<Labels, Gauge>::default();
        let app_sync = Family::<Labels, Counter>::default();
        let app_reconcile =
            Family::<Labels, Histogram>::new_with_constructor(reconcile_histogram as fn() -> Histogram);
        let k8s_requests = Family::<Labels, Counter>::default();
        let cluster_objects = Family::<Labels, Gauge>::default();
        let cluster_resources = Family::<Labels, Gauge>::default();
        registry.register("argocd_app_info", "Information about application.", app_info.clone());
        registry.register("argocd_app_condition", "Report application conditions.", app_condition.clone());
        registry.register("argocd_app_sync", "Number of application syncs.", app_sync.clone());
        registry.register(
            "argocd_app_reconcile",
            "Application reconciliation performance in seconds.",
            app_reconcile.clone(),
        );
        registry.register(
            "argocd_app_k8s_request",
            "Number of kubernetes requests executed during application reconciliation.",
            k8s_requests.clone(),
        );
        registry.register(
            "argocd_cluster_api_resource_objects",
            "Number of k8s resource objects in the cache.",
            cluster_objects.clone(),
        );
        registry.register(
            "argocd_cluster_api_resources",
            "Number of monitored kubernetes API resources.",
            cluster_resources.clone(),
        );
        Self {
            registry,
            app_info,
            app_condition,
            app_sync,
            app_reconcile,
            k8s_requests,
            cluster_objects,
            cluster_resources,
            per_app: Mutex::new(HashMap::new()),
        }
    }

    /// Updates `argocd_app_info` and `argocd_app_condition` after a refresh.
    pub fn record_app(&self, app: &Application, status: &ApplicationStatus, dest_server: &str) {
        let name = app.metadata.name.clone().unwrap_or_default();
        let namespace = app.metadata.namespace.clone().unwrap_or_default();
        let project = app.spec.project.clone().unwrap_or_else(|| "default".into());
        let repo = app.spec.source.as_ref().and_then(|s| s.repo_url.clone()).unwrap_or_default();
        let dest_ns = app.spec.destination.as_ref().and_then(|d| d.namespace.clone()).unwrap_or_default();
        let auto = app
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
            .is_some_and(|a| a.enabled != Some(false));
        let sync = status.sync.as_ref().and_then(|s| s.status.clone()).unwrap_or_else(|| "Unknown".into());
        let health =
            status.health.as_ref().and_then(|h| h.status.clone()).unwrap_or_else(|| "Unknown".into());
        let operation = if app.operation.is_some() { "sync" } else { "" };
        let info = labels(&[
            ("namespace", &namespace),
            ("name", &name),
            ("project", &project),
            ("autosync_enabled", if auto { "true" } else { "false" }),
            ("repo", &repo),
            ("dest_server", dest_server),
            ("dest_namespace", &dest_ns),
            ("sync_status", &sync),
            ("health_status", &health),
            ("operation", operation),
        ]);
        let conditions: Vec<Labels> = status
            .conditions
            .iter()
            .flatten()
            .filter_map(|c| c.r#type.as_deref())
            .map(|t| {
                labels(&[("namespace", &namespace), ("name", &name), ("project", &project), ("condition", t)])
            })
            .collect();
        let mut per_app = self.per_app.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((old_info, old_conditions)) = per_app.remove(&name) {
            if old_info != info {
                self.app_info.remove(&old_info);
            }
            for c in old_conditions.iter().filter(|c| !conditions.contains(c)) {
                self.app_condition.remove(c);
            }
        }
        self.app_info.get_or_create(&info).set(1);
        for c in &conditions {
            self.app_condition.get_or_create(c).set(1);
        }
        per_app.insert(name, (info, conditions));
    }

    /// Drops a deleted app's series.
    pub fn forget_app(&self, name: &str) {
        let mut per_app = self.per_app.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((info, conditions)) = per_app.remove(name) {
            self.app_info.remove(&info);
            for c in &conditions {
                self.app_condition.remove(c);
            }
        }
    }

    /// Counts a finished sync (`argocd_app_sync_total`).
    pub fn record_sync(&self, app: &Application, phase: &str) {
        let dest = app
            .spec
            .destination
            .as_ref()
            .and_then(|d| d.server.clone().or(d.name.clone()))
            .unwrap_or_default();
        self.app_sync
            .get_or_create(&labels(&[
                ("namespace", app.metadata.namespace.as_deref().unwrap_or_default()),
                ("name", app.metadata.name.as_deref().unwrap_or_default()),
                ("project", app.spec.project.as_deref().unwrap_or("default")),
                ("phase", phase),
                ("dest_server", &dest),
            ]))
            .inc();
    }

    /// Observes one refresh's duration (`argocd_app_reconcile`).
    pub fn observe_reconcile(&self, namespace: &str, took: Duration) {
        self.app_reconcile.get_or_create(&labels(&[("namespace", namespace)])).observe(took.as_secs_f64());
    }

    /// Counts one API request made for an app (`argocd_app_k8s_request_total`).
    pub fn record_request(
        &self,
        app: &str,
        namespace: &str,
        server: &str,
        verb: &str,
        kind: &str,
        code: u16,
    ) {
        self.k8s_requests
            .get_or_create(&labels(&[
                ("name", app),
                ("namespace", namespace),
                ("server", server),
                ("verb", verb),
                ("resource_kind", kind),
                ("response_code", &code.to_string()),
            ]))
            .inc();
    }

    /// Sets the cache gauges of one cluster.
    pub fn record_cluster(&self, server: &str, objects: usize, resources: usize) {
        let l = labels(&[("server", server)]);
        self.cluster_objects.get_or_create(&l).set(i64::try_from(objects).unwrap_or(i64::MAX));
        self.cluster_resources.get_or_create(&l).set(i64::try_from(resources).unwrap_or(i64::MAX));
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn app_series_use_upstream_names_and_a_changed_app_replaces_its_series() {
        let m = Metrics::new();
        let app: Application = serde_json::from_value(json!({"metadata": {"name": "guestbook", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": "gb"}}}))
        .expect("app");
        let mut status: ApplicationStatus =
            serde_json::from_value(json!({"sync": {"status": "OutOfSync"}, "health": {"status": "Missing"}}))
                .expect("status");
        m.record_app(&app, &status, "https://kubernetes.default.svc");
        status.sync = serde_json::from_value(json!({"status": "Synced"})).expect("sync");
        m.record_app(&app, &status, "https://kubernetes.default.svc");
        m.record_sync(&app, "Succeeded");
        m.observe_reconcile("argocd", Duration::from_millis(30));
        let text = m.render();
        assert!(text.contains("argocd_app_info{"), "{text}");
        assert!(text.contains("sync_status=\"Synced\""), "{text}");
        assert!(!text.contains("sync_status=\"OutOfSync\""), "{text}");
        assert!(text.contains("argocd_app_sync_total{"), "{text}");
        assert!(text.contains("argocd_app_reconcile_bucket{"), "{text}");
        m.forget_app("guestbook");
        assert!(!m.render().contains("name=\"guestbook\",project=\"default\",autosync"), "series dropped");
    }
}
