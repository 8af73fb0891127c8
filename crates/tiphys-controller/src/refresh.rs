//! One refresh of one Application: compare, decide on automated sync, write status.
//!
//! The comparison itself is `tiphys-compare` (blocking: Git and tools), run on the blocking
//! pool with a snapshot of everything it reads. The status write is one merge patch that also
//! carries an automated sync's `operation` and the removal of the refresh annotation, so a
//! refresh costs at most one API write, and none when nothing changed.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use tiphys_compare::{CompareInput, Comparison, LiveLookup, RefreshLevel, ResolvedDestination};
use tiphys_kube::{PatchBody, WriteOptions};
use tiphys_model::application::{Application, ApplicationStatus};
use tiphys_model::project::AppProject;
use tiphys_model::source::ApplicationSource;
use tiphys_policy::project::Destination as PolicyDestination;
use tiphys_policy::windows::{self, AppFacts, Verdict};
use tiphys_resource::annotations::REFRESH as REFRESH_ANNOTATION;
use tiphys_resource::tracking::app_instance_name;
use tiphys_resource::{GroupKind, ResourceKey};

use crate::automation::{self, Compared, Decision};
use crate::config::Snapshot;
use crate::destinations::Destination;
use crate::orphans;
use crate::queue::Level;
use crate::runtime::Controller;
use crate::status::{self, COMPARISON_CONDITIONS};

/// Status fields a refresh owns.
const REFRESH_FIELDS: &[&str] = &[
    "sync",
    "resources",
    "health",
    "conditions",
    "summary",
    "sourceType",
    "sourceTypes",
    "reconciledAt",
    "observedAt",
    "controllerNamespace",
];

/// A revision (and optionally sources) to compare instead of the spec's: a sync operation's
/// revision or a rollback's history entry.
#[derive(Debug, Clone, Default)]
pub struct Pin {
    /// One revision per source.
    pub revisions: Vec<String>,
    /// Sources replacing the spec's.
    pub sources: Option<Vec<ApplicationSource>>,
}

/// Discovery, untracked objects and argocd-cm's resource filter for one destination.
struct DestinationLookup(Arc<Destination>, Arc<Snapshot>);

impl LiveLookup for DestinationLookup {
    fn is_excluded(&self, group: &str, kind: &str) -> bool {
        self.1.settings.is_excluded(group, kind, &self.0.server)
    }

    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        let gk = GroupKind { group: group.to_string(), kind: kind.to_string() };
        self.0.cluster.catalog().resolve(&gk).map(|info| info.namespaced)
    }

    fn live_object(&self, key: &ResourceKey) -> Option<Value> {
        self.0.cache.index().get(key).map(|o| o.object())
    }
}

/// The result of comparing one app, with the destination it was compared against.
pub struct AppComparison {
    /// What the comparison found.
    pub comparison: Comparison,
    /// The destination, when it resolved.
    pub destination: Option<Arc<Destination>>,
    /// The app's project, when it exists.
    pub project: Option<AppProject>,
}

fn level_of(level: Level) -> RefreshLevel {
    match level {
        Level::CompareOnly => RefreshLevel::CompareOnly,
        Level::Normal => RefreshLevel::Normal,
        Level::Hard => RefreshLevel::Hard,
    }
}

fn previous_revisions(app: &Application) -> Option<Vec<String>> {
    let sync = app.status.as_ref()?.sync.as_ref()?;
    sync.revisions.clone().or_else(|| sync.revision.clone().map(|r| vec![r])).filter(|r| !r.is_empty())
}

impl Controller {
    /// The app instance name objects are tracked under.
    pub fn instance_of(&self, app: &Application) -> String {
        let name = app.metadata.name.as_deref().unwrap_or_default();
        let ns = app.metadata.namespace.as_deref().unwrap_or(&self.namespace);
        app_instance_name(name, ns, &self.namespace)
    }

    /// Top-level live objects of `destination` tracked by `instance` (children such as Pods
    /// of a Deployment belong to the tree, not to the app's resources).
    pub fn tracked_live(&self, destination: &Destination, instance: &str) -> Vec<Value> {
        let tracking = self.snapshot().tracking.clone();
        let index = destination.cache.index();
        index
            .tracked_by(instance)
            .filter(|o| o.owners().is_empty())
            .map(|o| o.object())
            .filter(|obj| tracking.tracked_app(obj).as_deref() == Some(instance))
            .collect()
    }

    /// Compares `app` (at `pin` when given) on the blocking pool.
    pub async fn compare(&self, app: &Application, level: Level, pin: Option<Pin>) -> AppComparison {
        let project_name =
            app.spec.project.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "default".into());
        let project = self.project(&project_name);
        let dest_spec = app.spec.destination.clone().unwrap_or_default();
        let resolved = match self.destinations.server_of(&dest_spec) {
            Ok(server) => self.destinations.connect(&server, &self.snapshot().settings).await,
            Err(e) => Err(e),
        };
        let destination = resolved.as_ref().ok().cloned();
        let namespace = dest_spec.namespace.clone().unwrap_or_default();
        let resolved_dest = destination.as_ref().map(|d| ResolvedDestination {
            server: d.server.clone(),
            name: self.destinations.name_of(&d.server),
            namespace: namespace.clone(),
            kube_version: d.cluster.catalog().server_version().to_string(),
            api_versions: d.cluster.catalog().api_versions().to_vec(),
        });
        let instance = self.instance_of(app);
        let live = destination.as_ref().map(|d| self.tracked_live(d, &instance)).unwrap_or_default();
        let snapshot = self.snapshot();
        let creds = self.creds();
        let comparer = self.comparer.clone();
        let control_namespace = self.namespace.clone();
        let app_owned = app.clone();
        let project_owned = project.clone();
        let error = resolved.as_ref().err().cloned().unwrap_or_default();
        let lookup = destination.clone();
        let previous = previous_revisions(app);
        let _slot = self.compare_slots.acquire().await;
        let task = tokio::task::spawn_blocking(move || {
            let fallback;
            let lookup: &dyn LiveLookup = match &lookup {
                Some(d) => {
                    fallback = DestinationLookup(d.clone(), snapshot.clone());
                    &fallback
                }
                None => &NoCluster,
            };
            let tracking = tiphys_compare::TrackingConfig::from_tracking(&snapshot.tracking, instance);
            let input = CompareInput {
                app: &app_owned,
                control_namespace: &control_namespace,
                project: project_owned.as_ref(),
                destination: resolved_dest.as_ref().ok_or(error.as_str()),
                creds: &creds,
                live: &live,
                lookup,
                diff: &snapshot.diff,
                health: &snapshot.health,
                tracking,
                render: &snapshot.render,
                revisions: pin.as_ref().map(|p| p.revisions.as_slice()).filter(|r| !r.is_empty()),
                sources: pin.as_ref().and_then(|p| p.sources.as_deref()),
                previous_revisions: previous.as_deref(),
                refresh: level_of(level),
                now: jiff::Timestamp::now(),
            };
            comparer.compare(&input)
        });
        let comparison = match task.await {
            Ok(c) => c,
            Err(e) => Comparison {
                conditions: vec![("UnknownError".into(), format!("comparison stopped: {e}"))],
                errored: true,
                ..Default::default()
            },
        };
        AppComparison { comparison, destination, project }
    }

    /// What the project's sync windows say about `app` at `now`.
    pub fn windows(&self, app: &Application, project: &AppProject, now: chrono::DateTime<Utc>) -> Verdict {
        let dest = app.spec.destination.clone().unwrap_or_default();
        let server = self.destinations.server_of(&dest).unwrap_or_default();
        let cluster_name = self.destinations.name_of(&server);
        let facts = AppFacts {
            name: app.metadata.name.as_deref().unwrap_or_default(),
            destination: PolicyDestination {
                server: &server,
                name: &cluster_name,
                namespace: dest.namespace.as_deref().unwrap_or_default(),
            },
        };
        windows::evaluate(project.spec.sync_windows.as_deref().unwrap_or_default(), &facts, now)
    }

    /// Refreshes one app: compare, orphans, automation, one status write.
    pub async fn refresh(self: &Arc<Self>, name: &str, level: Level) {
        let app = match self.app(name) {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(app = name, error = %e, "cannot read application");
                return;
            }
            Some(Ok(app)) => app,
        };
        if app.metadata.deletion_timestamp.is_some() {
            self.finalize(name, &app).await;
            return;
        }
        let now = Utc::now();
        let refresh_requested =
            app.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(REFRESH_ANNOTATION));
        if refresh_requested {
            // An explicit refresh looks at Git now, not at refs cached a few seconds ago.
            for source in app.spec.effective_sources() {
                if let Some(url) = source.repo_url.as_deref() {
                    self.comparer.invalidate_repo(url);
                }
            }
        }
        let level = self.effective_level(name, level);
        let AppComparison { comparison, destination, project } = self.compare(&app, level, None).await;
        if *self.stop.borrow() {
            // Shutting down: the comparison may have been cut short; write nothing.
            return;
        }
        let mut wanted = comparison.conditions.clone();
        if let (Some(project), Some(destination)) = (&project, &destination) {
            let namespace =
                app.spec.destination.as_ref().and_then(|d| d.namespace.as_deref()).unwrap_or_default();
            if let Some(message) = orphans::warning(project, destination, namespace) {
                wanted.push(("OrphanedResourceWarning".into(), message));
            }
        }
        // Automated sync.
        let mut operation = None;
        if !comparison.errored && !self.operation_running(name) {
            let windows_allow = project.as_ref().is_none_or(|p| self.windows(&app, p, now).automated);
            let compared = Compared {
                sync_status: comparison.sync.status.as_deref().unwrap_or("Unknown"),
                revisions: &comparison.revisions,
                resources: &comparison.resources,
                windows_allow,
                heal: &self.heal,
            };
            match automation::decide(&app, &compared, now) {
                Decision::Skip(reason) => tracing::debug!(app = name, %reason, "skipping auto-sync"),
                Decision::Refuse(message) => wanted.push(("SyncError".into(), message)),
                Decision::RetryAfter(delay) => self.request(name, Level::CompareOnly, delay),
                Decision::Sync(op) => {
                    tracing::info!(app = name, revision = ?comparison.revisions, "initiated automated sync");
                    operation = Some(op);
                }
            }
        }
        let old = app.status.clone().unwrap_or_default();
        let mut new = old.clone();
        apply_comparison(&mut new, &comparison, &self.namespace);
        let owned: Vec<&str> = COMPARISON_CONDITIONS.iter().copied().chain(["SyncError"]).collect();
        let conditions =
            status::merge_conditions(old.conditions.as_deref().unwrap_or_default(), &owned, &wanted, now);
        new.conditions = (!conditions.is_empty()).then_some(conditions);
        let compared_with_git = level != Level::CompareOnly || refresh_requested;
        // A refresh that compared with Git always writes (reconciledAt moves), so it skips
        // the first, "did anything change" diff.
        let mut patch =
            if compared_with_git { None } else { status::patch_fields(&old, &new, REFRESH_FIELDS) };
        if patch.is_some() || compared_with_git {
            // reconciledAt: the last comparison with Git; observedAt (deprecated upstream, kept
            // for tools that read it): the last time the status was written.
            new.observed_at = Some(status::timestamp(now));
            if compared_with_git {
                new.reconciled_at = Some(status::timestamp(now));
            }
            patch = status::patch_fields(&old, &new, REFRESH_FIELDS);
        }
        let mut patch = patch.unwrap_or_else(|| json!({}));
        if let Some(op) = &operation {
            patch["operation"] = serde_json::to_value(op).unwrap_or(Value::Null);
        }
        if refresh_requested {
            patch["metadata"] = json!({"annotations": {REFRESH_ANNOTATION: null}});
        }
        if patch.as_object().is_some_and(|m| !m.is_empty()) {
            self.patch_app(name, patch).await;
        }
        self.metrics.record_app(
            &app,
            &new,
            destination.as_ref().map(|d| d.server.as_str()).unwrap_or_default(),
        );
        if operation.is_some() {
            self.start_operation(name);
        }
        if level != Level::CompareOnly {
            self.schedule_periodic(name);
        }
    }

    /// Merge-patches the Application; failures are logged (the next refresh writes again).
    pub async fn patch_app(&self, name: &str, patch: Value) -> Option<Value> {
        let key = ResourceKey::new("argoproj.io", "Application", &self.namespace, name);
        let cluster = &self.destinations.in_cluster().cluster;
        let result = cluster.patch(&key, PatchBody::Merge(patch), &WriteOptions::default()).await;
        let code = match &result {
            Ok(_) => 200,
            Err(tiphys_kube::Error::Conflict { .. }) => 409,
            Err(tiphys_kube::Error::NotFound { .. }) => 404,
            Err(tiphys_kube::Error::Forbidden { .. }) => 403,
            Err(tiphys_kube::Error::Invalid { .. }) => 422,
            Err(tiphys_kube::Error::Api { code, .. }) => *code,
            Err(_) => 0,
        };
        self.metrics.record_request(name, &self.namespace, cluster.server(), "Patch", "Application", code);
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(app = name, error = %e, "status write failed");
                None
            }
        }
    }
}

/// Writes a comparison's fields into a status.
fn apply_comparison(status: &mut ApplicationStatus, comparison: &Comparison, namespace: &str) {
    status.sync = Some(comparison.sync.clone());
    status.resources = Some(comparison.resources.clone());
    status.health = Some(comparison.health.clone());
    status.summary = Some(comparison.summary.clone()).filter(|s| s != &Default::default());
    if comparison.sources.len() > 1 {
        status.source_types = Some(comparison.source_types.clone());
        status.source_type = None;
    } else {
        status.source_type = comparison.source_types.first().cloned();
        status.source_types = None;
    }
    status.controller_namespace = Some(namespace.to_string());
}

/// The lookup used when the destination did not resolve (the comparison reports why).
struct NoCluster;

impl LiveLookup for NoCluster {
    fn is_namespaced(&self, _: &str, _: &str) -> Option<bool> {
        None
    }

    fn live_object(&self, _: &ResourceKey) -> Option<Value> {
        None
    }
}
