//! The comparison pipeline of one Application: everything the controller writes to `status`
//! and everything a sync needs, from the Application, its project, its destination and the
//! live objects it tracks.
//!
//! [`Comparer::compare`] runs, in upstream's order:
//! 1. **project checks** (`tiphys-policy`): the project exists, the app may use it, every
//!    source repository and the destination are permitted → otherwise `InvalidSpecError`,
//!    sync and health `Unknown`, nothing else done;
//! 2. **per source**: credentials, the revision (a pinned one, the previous one for
//!    [`RefreshLevel::CompareOnly`], or `targetRevision` through a short-lived, single-flight
//!    `ls-remote` cache shared by every app of the repository), then the manifests through
//!    `tiphys_render::RenderCache` (checkout, `$ref` sources, Helm in process, kustomize and
//!    plugins as subprocesses — only on a miss); failures → `ComparisonError` naming the
//!    repository, sync `Unknown`, health from the live objects, [`Comparison::errored`];
//! 3. **desired state**: kinds argocd-cm excludes dropped (`ExcludedResourceWarning`),
//!    namespaces defaulted for namespaced kinds only (`InvalidSpecError` "Namespace for … is
//!    missing" when there is none), duplicates folded (`RepeatedResourceWarning`), the
//!    tracking label/annotation set;
//! 4. **live state**: the tracked objects plus any untracked object at a desired key
//!    ([`LiveLookup::live_object`]); objects another app tracks → `SharedResourceWarning`;
//!    live objects of kinds the project forbids are left out;
//! 5. **diff** (`tiphys_diff::Differ`, compiled once per app and reused; server-side when the
//!    app's compare-options ask), per-resource sync status with upstream's rules (hooks and
//!    `Skip` have none, extraneous `IgnoreExtraneous` objects do not make the app OutOfSync,
//!    kinds the project forbids are `Unknown` and listed in [`Comparison::not_permitted`] with
//!    upstream's sync-error text), **health** (`tiphys_health`), **summary** (images, external
//!    URLs); with `RespectIgnoreDifferences=true` the desired objects keep the live values of
//!    ignored fields.
//!
//! Refresh levels: [`RefreshLevel::CompareOnly`] reuses the previous revisions when the last
//! comparison was of the same sources (no git call at all on a render-cache hit);
//! [`RefreshLevel::Normal`] resolves through the ref cache; [`RefreshLevel::Hard`] runs a fresh
//! `ls-remote` and starts a new render generation for the app (rendered afresh, then reused).
//!
//! It is synchronous and blocking (git and tools run as subprocesses): the controller calls
//! it inside `spawn_blocking`. It never panics on user input; every failure is a condition.
//!
//! Deliberate differences from upstream: Helm repository (`chart:`) and OCI sources are not
//! supported yet (a clear `ComparisonError`); a kind the cluster does not know and no CRD in
//! the desired set defines keeps the namespace it was rendered with (upstream assumes
//! namespaced); while the desired state cannot be produced, live objects are listed `Unknown`
//! without `requiresPruning` (upstream marks them for pruning, which only the UI shows).

mod assess;
mod desired;
mod refs;
mod sources;
mod summary;
pub mod tracking;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tiphys_diff::DiffSettings;
use tiphys_git::{CredentialStore, GitCache};
use tiphys_health::HealthAssessor;
use tiphys_model::application::{
    ApplicationSummary, ComparedTo, ResourceIgnoreDifferences, ResourceStatus, SyncStatus,
};
use tiphys_model::meta::HealthStatus;
use tiphys_model::source::ApplicationSource;
use tiphys_model::{AppProject, Application};
use tiphys_render::{Limits, PluginDefinition, RenderCache, RenderKey, SourceType};
use tiphys_resource::ResourceKey;
use tiphys_tools::{ProcessRunner, RunOptions};

pub use tracking::{Tracking, TrackingConfig, TrackingMethod, app_instance_name};

/// Condition type: the desired state could not be produced (git, render, diff).
pub const COMPARISON_ERROR: &str = "ComparisonError";
/// Condition type: the Application's spec is invalid or not permitted by its project.
pub const INVALID_SPEC_ERROR: &str = "InvalidSpecError";
/// Condition type: a desired object is tracked by another Application.
pub const SHARED_RESOURCE_WARNING: &str = "SharedResourceWarning";
/// Condition type: the same object appears more than once among the rendered manifests.
pub const REPEATED_RESOURCE_WARNING: &str = "RepeatedResourceWarning";

/// Condition type: a desired object's kind is excluded by argocd-cm's resource filter.
pub const EXCLUDED_RESOURCE_WARNING: &str = "ExcludedResourceWarning";

/// Sync status codes as upstream writes them.
pub const SYNCED: &str = "Synced";
/// See [`SYNCED`].
pub const OUT_OF_SYNC: &str = "OutOfSync";
/// See [`SYNCED`].
pub const UNKNOWN: &str = "Unknown";

/// Why one source could not be turned into manifests; becomes a `ComparisonError` (or
/// `InvalidSpecError`) message. Messages name the repository (credentials redacted).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A git call failed (unreachable server, authentication, unknown revision).
    #[error("{message}")]
    Git {
        /// tiphys-git's message, naming the repository.
        message: String,
    },
    /// Rendering failed.
    #[error("{repo}: {message}")]
    Render {
        /// The repository, redacted.
        repo: String,
        /// The renderer's message (file, line, tool output).
        message: String,
    },
    /// A Helm repository or OCI source.
    #[error(
        "chart {chart:?} from {repo}: Helm repository and OCI sources are not supported yet; use a Git repository that contains the chart (spec.source.path)"
    )]
    HelmRepository {
        /// The chart name.
        chart: String,
        /// The repository, redacted.
        repo: String,
    },
    /// A source without `repoURL`.
    #[error("spec.source.repoURL is required")]
    NoRepo,
    /// A rendered manifest is not a Kubernetes object.
    #[error("invalid manifest {object}: {message}")]
    InvalidManifest {
        /// `apiVersion kind name` as far as readable.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// The scratch directory for tools could not be created.
    #[error("scratch directory {path}: {message}; check CompareConfig.scratch_dir")]
    Scratch {
        /// The configured directory.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The diff failed (an ignoreDifferences rule does not compile, an invalid object).
    #[error("{0}")]
    Diff(#[from] tiphys_diff::DiffError),
}

/// How much of the comparison to redo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshLevel {
    /// Live state changed: reuse the previous revisions (no git call) and cached renders.
    CompareOnly,
    /// Periodic refresh: resolve revisions through the short-lived ref cache, cached renders.
    #[default]
    Normal,
    /// `argocd.argoproj.io/refresh: hard`: fresh `ls-remote` and a fresh render.
    Hard,
}

/// Settings of a [`Comparer`], fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// How long an `ls-remote` answer is reused for every app of the repository.
    pub ref_ttl: Duration,
    /// Renders kept in memory (one per app source and commit).
    pub render_cache_capacity: usize,
    /// Render size limits.
    pub limits: Limits,
    /// How kustomize and plugins run.
    pub tools: ProcessRunner,
    /// Where scratch copies for tools are made (one temporary directory per render).
    pub scratch_dir: PathBuf,
    /// Seed for Helm's random functions (`randAlphaNum`, `uuidv4`).
    pub helm_seed: u64,
    /// Server-side diff for every app (`controller.diff.server.side` in
    /// `argocd-cmd-params-cm`); an app's `ServerSideDiff=` compare option overrides it.
    pub server_side_diff: bool,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            ref_ttl: Duration::from_secs(3),
            render_cache_capacity: 4096,
            limits: Limits::default(),
            tools: ProcessRunner::new(RunOptions::default()),
            scratch_dir: std::env::temp_dir(),
            helm_seed: 0,
            server_side_diff: false,
        }
    }
}

/// The destination cluster as the controller resolved it from `spec.destination` and the
/// cluster Secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedDestination {
    /// API server URL.
    pub server: String,
    /// Cluster name.
    pub name: String,
    /// Target namespace (may be empty).
    pub namespace: String,
    /// Kubernetes version of the cluster (`KUBE_VERSION`, Helm's `.Capabilities`), when known.
    pub kube_version: String,
    /// API versions of the cluster (`KUBE_API_VERSIONS`), when known.
    pub api_versions: Vec<String>,
}

/// Rendering settings from `argocd-cm` (plugins, `kustomize.buildOptions`).
#[derive(Debug, Clone, Default)]
pub struct RenderSettings {
    /// Config management plugins.
    pub plugins: Vec<PluginDefinition>,
    /// Extra `kustomize build` arguments.
    pub kustomize_build_options: Vec<String>,
}

/// What the comparison needs to know about the destination cluster's live state beyond the
/// objects the app tracks.
pub trait LiveLookup {
    /// Whether a kind is namespaced, from discovery; `None` when the cluster does not know it.
    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool>;
    /// The live object at `key` when it exists (called only for desired keys the tracked
    /// objects do not cover: objects created by hand or tracked by another app).
    fn live_object(&self, key: &ResourceKey) -> Option<Value>;
    /// Whether argocd-cm's `resource.exclusions` / `resource.inclusions` leave this kind out
    /// on the destination cluster; excluded desired objects are dropped with an
    /// `ExcludedResourceWarning`, as upstream.
    fn is_excluded(&self, _group: &str, _kind: &str) -> bool {
        false
    }
}

/// Everything one comparison reads.
pub struct CompareInput<'a> {
    /// The Application.
    pub app: &'a Application,
    /// Where Applications live (`argocd`).
    pub control_namespace: &'a str,
    /// The app's project; `None` → `InvalidSpecError` "...project X which does not exist".
    pub project: Option<&'a AppProject>,
    /// The resolved destination, or why it could not be resolved (→ `InvalidSpecError`).
    pub destination: Result<&'a ResolvedDestination, &'a str>,
    /// Repository credentials.
    pub creds: &'a CredentialStore,
    /// Live objects tracked by this app.
    pub live: &'a [Value],
    /// Discovery and untracked objects.
    pub lookup: &'a dyn LiveLookup,
    /// argocd-cm diff settings.
    pub diff: &'a DiffSettings,
    /// Health checks (built-in and argocd-cm Lua).
    pub health: &'a HealthAssessor,
    /// How desired objects are marked as this app's.
    pub tracking: TrackingConfig,
    /// argocd-cm rendering settings.
    pub render: &'a RenderSettings,
    /// Pinned revision(s), one per source (sync operation, rollback).
    pub revisions: Option<&'a [String]>,
    /// Sources to compare instead of the spec's (rollback).
    pub sources: Option<&'a [ApplicationSource]>,
    /// `status.sync.revision(s)` of the previous comparison, one per source (CompareOnly).
    pub previous_revisions: Option<&'a [String]>,
    /// How much to redo.
    pub refresh: RefreshLevel,
    /// The clock (Helm's `now`, Lua's `os.time`).
    pub now: jiff::Timestamp,
}

impl CompareInput<'_> {
    fn destination_namespace(&self) -> &str {
        match self.destination {
            Ok(d) => &d.namespace,
            Err(_) => self.app.spec.destination.as_ref().and_then(|d| d.namespace.as_deref()).unwrap_or(""),
        }
    }

    fn project_name(&self) -> &str {
        self.app.spec.project.as_deref().filter(|p| !p.is_empty()).unwrap_or("default")
    }

    fn cluster_version(&self) -> (&str, &[String]) {
        match self.destination {
            Ok(d) => (&d.kube_version, &d.api_versions),
            Err(_) => ("", &[]),
        }
    }

    fn app_name(&self) -> &str {
        self.app.metadata.name.as_deref().unwrap_or("")
    }
}

/// Everything the controller writes to `status` after a comparison, and what a sync needs.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// `status.sync`: Synced / OutOfSync / Unknown, revision(s), comparedTo.
    pub sync: SyncStatus,
    /// `status.resources`, in upstream's order (`group/kind/namespace/name` compared as one
    /// string).
    pub resources: Vec<ResourceStatus>,
    /// `status.health` (aggregated with upstream's precedence).
    pub health: HealthStatus,
    /// Conditions this comparison owns: (type, message).
    pub conditions: Vec<(String, String)>,
    /// `status.summary`.
    pub summary: ApplicationSummary,
    /// `status.sourceTypes` (one per rendered source): Helm, Kustomize, Directory, Plugin.
    pub source_types: Vec<String>,
    /// Resolved commit per source (spec order, `ref` sources included); empty when resolution
    /// failed. Also filled when rendering then failed, but `sync.revision(s)` is only set for a
    /// comparison that succeeded, as upstream.
    pub revisions: Vec<String>,
    /// The sources compared.
    pub sources: Vec<ApplicationSource>,
    /// Desired objects (namespace defaulted, tracking set; with `RespectIgnoreDifferences=true`
    /// ignored fields carry their live values): what a sync applies.
    pub desired: Vec<Value>,
    /// Live objects compared (tracked, plus untracked ones at desired keys).
    pub live: Vec<Value>,
    /// Per-resource diffs, parallel to `resources` (normalized desired/live pair, unified
    /// diff): what `app diff` and the UI show. Empty when the desired state is unknown.
    pub diffs: Vec<tiphys_diff::ResourceDiff>,
    /// Desired keys whose live object is in sync (for `ApplyOutOfSyncOnly`).
    pub in_sync: HashSet<ResourceKey>,
    /// Desired keys whose live object another app tracks → that app's instance name.
    pub shared: HashMap<ResourceKey, String>,
    /// Desired keys the project does not permit (kind, or namespace outside the project's
    /// destinations) → upstream's sync error message; the sync must fail them.
    pub not_permitted: HashMap<ResourceKey, String>,
    /// The desired state could not be produced or the spec is invalid: a sync must not run.
    pub errored: bool,
}

/// Counters for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompareStats {
    /// `ls-remote` calls made (cache misses of the ref cache).
    pub ls_remotes: u64,
    /// Fetches made by the git cache.
    pub fetches: u64,
    /// Render cache hits.
    pub render_hits: u64,
    /// Render cache misses.
    pub render_misses: u64,
}

/// The comparison pipeline with its caches; one per controller, shared by worker threads.
pub struct Comparer {
    git: Arc<GitCache>,
    config: CompareConfig,
    renders: RenderCache,
    refs: refs::RefCache,
    source_types: Mutex<HashMap<RenderKey, SourceType>>,
    epochs: Mutex<HashMap<(String, String), u64>>,
    differs: Mutex<HashMap<(String, String), assess::CachedDiffer>>,
    checked_out: Mutex<HashSet<(String, String)>>,
}

impl Comparer {
    /// A comparer over `git` (shared with whoever else fetches, e.g. the webhook).
    pub fn new(git: Arc<GitCache>, config: CompareConfig) -> Self {
        // The scratch directory is created on first use; a failure shows up per render.
        let _ = std::fs::create_dir_all(&config.scratch_dir);
        Comparer {
            git,
            renders: RenderCache::new(config.render_cache_capacity),
            refs: refs::RefCache::new(config.ref_ttl),
            source_types: Mutex::new(HashMap::new()),
            epochs: Mutex::new(HashMap::new()),
            differs: Mutex::new(HashMap::new()),
            checked_out: Mutex::new(HashSet::new()),
            config,
        }
    }

    /// Forgets cached ref resolutions for this repository (push webhook, hard refresh), so the
    /// next Normal refresh of its apps runs a fresh `ls-remote`.
    pub fn invalidate_repo(&self, repo_url: &str) {
        self.refs.invalidate(repo_url);
    }

    /// Drops what this comparer keeps per Application (compiled differ, render generation);
    /// call it when the Application is deleted. Its renders age out of the render cache.
    pub fn forget_app(&self, app: &Application) {
        let id = Self::app_id(app);
        self.differs.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        self.epochs.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }

    /// Counters since creation.
    pub fn stats(&self) -> CompareStats {
        let (render_hits, render_misses) = self.renders.stats();
        CompareStats {
            ls_remotes: self.refs.calls(),
            fetches: self.git.fetch_count(),
            render_hits,
            render_misses,
        }
    }

    fn app_id(app: &Application) -> (String, String) {
        (app.metadata.namespace.clone().unwrap_or_default(), app.metadata.name.clone().unwrap_or_default())
    }

    /// The app's render generation: part of every render key, bumped by a hard refresh, so
    /// a hard refresh renders afresh and the Normal refreshes after it reuse that render
    /// (the older one ages out of the cache).
    fn epoch(&self, app: &Application) -> u64 {
        self.epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&Self::app_id(app))
            .copied()
            .unwrap_or(0)
    }

    fn bump_epoch(&self, app: &Application) {
        *self.epochs.lock().unwrap_or_else(PoisonError::into_inner).entry(Self::app_id(app)).or_insert(0) +=
            1;
    }

    fn source_type_of(&self, key: &RenderKey) -> Option<SourceType> {
        self.source_types.lock().unwrap_or_else(PoisonError::into_inner).get(key).copied()
    }

    fn remember_source_type(&self, key: RenderKey, t: SourceType) {
        let mut types = self.source_types.lock().unwrap_or_else(PoisonError::into_inner);
        // Bounded like the render cache; forgetting only costs one extra render.
        if types.len() >= self.config.render_cache_capacity.max(1) * 2 {
            types.clear();
        }
        types.insert(key, t);
    }

    /// Compares one Application. Never panics; every failure becomes a condition and, when
    /// the desired state is unknown, [`Comparison::errored`].
    pub fn compare(&self, input: &CompareInput<'_>) -> Comparison {
        let _span =
            tracing::debug_span!("compare", app = input.app_name(), refresh = ?input.refresh).entered();
        let sources: Vec<ApplicationSource> = match input.sources {
            Some(s) => s.to_vec(),
            None => input.app.spec.effective_sources().into_iter().cloned().collect(),
        };
        // Upstream's HasMultipleSources: the spec decides, also for a rollback's sources.
        let multi = input.app.spec.sources.as_ref().is_some_and(|s| !s.is_empty());
        let mut out = Comparison {
            sync: SyncStatus {
                status: Some(UNKNOWN.into()),
                compared_to: Some(compared_to(input, &sources, multi)),
                ..SyncStatus::default()
            },
            health: assess::health_code(UNKNOWN),
            sources: sources.clone(),
            ..Comparison::default()
        };
        let invalid = self.check_spec(input, &sources);
        if !invalid.is_empty() {
            out.conditions = invalid.into_iter().map(|m| (INVALID_SPEC_ERROR.to_string(), m)).collect();
            out.errored = true;
            tracing::debug!(conditions = ?out.conditions, "invalid spec");
            return out;
        }
        if input.refresh == RefreshLevel::Hard {
            self.bump_epoch(input.app);
        }
        let project = input.project.map(|p| &p.spec);
        let rendered = self.render_all(input, &sources, &mut out);
        let live = self.live_objects(
            input,
            project,
            rendered.as_ref().map(|r| r.objects.as_slice()).unwrap_or(&[]),
            &mut out,
        );
        // The differ compiles the ignore rules; a bad rule is a comparison error like a bad
        // manifest (the live objects still give health).
        let rendered = rendered.and_then(|prepared| match self.differ(input) {
            Ok(differ) => Ok((prepared, differ)),
            Err(e) => Err(format!("Failed to load target state: {e}")),
        });
        match rendered {
            Ok((prepared, differ)) => {
                out.conditions.extend(
                    prepared.missing_namespace.iter().map(|m| (INVALID_SPEC_ERROR.to_string(), m.clone())),
                );
                out.conditions.extend(
                    prepared.repeated.iter().map(|m| (REPEATED_RESOURCE_WARNING.to_string(), m.clone())),
                );
                let mut desired = prepared.objects;
                let ns = input.destination_namespace();
                if let Some(managed) =
                    desired::managed_namespace(input.app, ns, &desired, &live, &input.tracking)
                {
                    desired.push(managed);
                }
                let assessed = self.diff_and_assess(input, &differ, desired, live, &mut out);
                if assessed.is_ok() && desired::managed_namespace_metadata_changed(input.app) {
                    out.sync.status = Some(OUT_OF_SYNC.into());
                }
                if let Err(e) = assessed {
                    out.conditions.push((COMPARISON_ERROR.into(), e.to_string()));
                    out.errored = true;
                }
            }
            Err(e) => {
                out.conditions.push((COMPARISON_ERROR.into(), e));
                out.errored = true;
                self.assess_live_only(input, live, &mut out);
            }
        }
        // As upstream, a comparison that produced no desired state reports no revision.
        if !out.errored && multi {
            out.sync.revisions = Some(out.revisions.clone()).filter(|r| !r.is_empty());
        } else if !out.errored {
            out.sync.revision = out.revisions.first().cloned();
        }
        tracing::debug!(
            sync = out.sync.status.as_deref(),
            health = out.health.status.as_deref(),
            resources = out.resources.len(),
            errored = out.errored,
            "compared"
        );
        out
    }

    /// Project and destination checks; each failure is one `InvalidSpecError` message.
    fn check_spec(&self, input: &CompareInput<'_>, sources: &[ApplicationSource]) -> Vec<String> {
        let project_name = input.project_name();
        let Some(project) = input.project else {
            return vec![format!("Application referencing project {project_name} which does not exist")];
        };
        let mut errors = Vec::new();
        let app_namespace = input.app.metadata.namespace.as_deref().unwrap_or(input.control_namespace);
        if !tiphys_policy::project::is_app_namespace_permitted(
            &project.spec,
            app_namespace,
            input.control_namespace,
        ) {
            errors.push(format!(
                "application '{}' in namespace '{app_namespace}' is not allowed to use project {project_name}",
                input.app_name()
            ));
            return errors;
        }
        if sources.is_empty() {
            errors.push("spec.source or spec.sources is required".into());
        }
        for source in sources {
            let repo = source.repo_url.as_deref().unwrap_or("");
            if !tiphys_policy::project::is_source_permitted(&project.spec, repo) {
                errors.push(format!("application repo {repo} is not permitted in project '{project_name}'"));
            }
        }
        match input.destination {
            Err(message) => errors.push(message.to_string()),
            Ok(dest) => {
                let dst = tiphys_policy::project::Destination {
                    server: &dest.server,
                    name: &dest.name,
                    namespace: &dest.namespace,
                };
                if !tiphys_policy::project::is_destination_permitted(&project.spec, &dst) {
                    errors.push(format!(
                        "application destination server '{}' and namespace '{}' do not match any of the allowed destinations in project '{project_name}'",
                        dest.server, dest.namespace
                    ));
                }
            }
        }
        errors
    }

    /// Resolves and renders every source, then prepares the desired objects. Records the
    /// revisions and source types in `out`; the error is the `ComparisonError` message.
    fn render_all(
        &self,
        input: &CompareInput<'_>,
        sources: &[ApplicationSource],
        out: &mut Comparison,
    ) -> Result<desired::Prepared, String> {
        let n = sources.len();
        // The previous revisions only stand for these sources if the last comparison was of
        // these sources (upstream: a changed spec forces a comparison with the latest).
        let previous = input.previous_revisions.filter(|_| same_sources_as_last_time(input.app, sources));
        let mut resolved = Vec::with_capacity(n);
        for (i, source) in sources.iter().enumerate() {
            let r = self
                .resolve_source(input, source, nth(input.revisions, i), nth(previous, i))
                .map_err(|e| source_failure(i, n, &e))?;
            resolved.push(r);
        }
        out.revisions = resolved.iter().map(|r| r.sha.clone()).collect();
        let mut rendered = Vec::new();
        for (i, r) in resolved.iter().enumerate() {
            if !r.is_rendered() {
                continue;
            }
            let (objects, t) =
                self.render_source(input, r, &resolved).map_err(|e| source_failure(i, n, &e))?;
            out.source_types.push(sources::source_type_name(t).to_string());
            // Each hit is a fresh parse from the render cache, so this moves, not copies.
            rendered.extend(Arc::unwrap_or_clone(objects));
        }
        rendered.retain(|obj| {
            let Ok(gvk) = tiphys_resource::GroupVersionKind::of(obj) else { return true };
            let excluded = input.lookup.is_excluded(&gvk.group, &gvk.kind);
            if excluded {
                let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                out.conditions.push((
                    EXCLUDED_RESOURCE_WARNING.into(),
                    format!("Resource {}/{} {name} is excluded in the settings", gvk.group, gvk.kind),
                ));
            }
            !excluded
        });
        let scopes = desired::Scopes::new(input.lookup, &rendered);
        desired::prepare(rendered, input.destination_namespace(), &scopes, &input.tracking)
            .map_err(|e| format!("Failed to load target state: {e}"))
    }
}

/// Whether `status.sync.comparedTo` recorded exactly these sources.
fn same_sources_as_last_time(app: &Application, sources: &[ApplicationSource]) -> bool {
    let Some(to) = app.status.as_ref().and_then(|s| s.sync.as_ref()).and_then(|s| s.compared_to.as_ref())
    else {
        return false;
    };
    match (&to.sources, &to.source) {
        (Some(many), _) if !many.is_empty() => many.as_slice() == sources,
        (_, Some(one)) => sources.len() == 1 && *one == sources[0],
        _ => false,
    }
}

/// Entry `i` of a per-source revision list, when present and non-empty.
fn nth(list: Option<&[String]>, i: usize) -> Option<&str> {
    list.and_then(|l| l.get(i)).map(String::as_str).filter(|s| !s.is_empty())
}

fn source_failure(i: usize, n: usize, e: &CompareError) -> String {
    format!("Failed to load target state: failed to generate manifest for source {} of {n}: {e}", i + 1)
}

fn compared_to(input: &CompareInput<'_>, sources: &[ApplicationSource], multi: bool) -> ComparedTo {
    ComparedTo {
        source: (!multi).then(|| sources.first().cloned()).flatten(),
        sources: multi.then(|| sources.to_vec()),
        destination: input.app.spec.destination.clone(),
        ignore_differences: input
            .app
            .spec
            .ignore_differences
            .clone()
            .filter(|v: &Vec<ResourceIgnoreDifferences>| !v.is_empty()),
        ..ComparedTo::default()
    }
}
