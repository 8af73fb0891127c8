//! Steady-state cost of comparing one 10-resource app (4 Deployments, 3 Services,
//! 3 ConfigMaps) with warm caches, the figure behind the controller's target of 1,000 apps ×
//! 10 resources refreshed in ≤ 2 CPU-seconds (≤ 2 ms per app). The repository is served by a
//! real `git daemon` on loopback; live objects are the desired ones as an API server returns
//! them (server metadata, defaults, status), so the app is Synced and Healthy. The app has
//! two ignoreDifferences rules (one jq path expression, one JSON pointer), as many apps do.
//!
//! - `compare_only`: a live-state change (no git call, render cache hit);
//! - `normal`: the periodic refresh (ref cache within its TTL, render cache hit);
//! - `first_render_of_an_app`: another app of the same commit (initial load): a render-cache
//!   miss with the checkout on disk, nothing live yet.

#[path = "../../tiphys-diff/benches/support/cpu_time.rs"]
mod cpu_time;

use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, SamplingMode};
use serde_json::{Value, json};
use tiphys_compare::{
    CompareConfig, CompareInput, Comparer, LiveLookup, RefreshLevel, RenderSettings, ResolvedDestination,
    TrackingConfig, TrackingMethod,
};
use tiphys_diff::DiffSettings;
use tiphys_git::testsupport::{GitDaemon, TestRepo};
use tiphys_git::{CredentialStore, GitCache, GitConfig};
use tiphys_health::{AssessOptions, HealthAssessor, ResourceOverrides};
use tiphys_model::application::ApplicationStatus;
use tiphys_model::{AppProject, Application};
use tiphys_resource::ResourceKey;

struct Discovery;

impl LiveLookup for Discovery {
    fn is_namespaced(&self, _group: &str, _kind: &str) -> Option<bool> {
        Some(true)
    }

    fn live_object(&self, _key: &ResourceKey) -> Option<Value> {
        None
    }
}

fn manifests() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for i in 0..4 {
        files.push((
            format!("app/deploy-{i}.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  labels:\n    app: web-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web-{i}\n  template:\n    metadata:\n      labels:\n        app: web-{i}\n    spec:\n      containers:\n      - name: main\n        image: registry.example.com/web:1.2.{i}\n        ports:\n        - containerPort: 8080\n        resources:\n          requests:\n            cpu: 250m\n            memory: 256Mi\n"
            ),
        ));
    }
    for i in 0..3 {
        files.push((
            format!("app/svc-{i}.yaml"),
            format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: web-{i}\nspec:\n  selector:\n    app: web-{i}\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n"),
        ));
        files.push((
            format!("app/cm-{i}.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-{i}\ndata:\n  LOG_LEVEL: info\n  config.yaml: |\n    a: 1\n"),
        ));
    }
    files
}

/// The live object an API server returns for `desired` after a sync.
fn as_live(desired: &Value, i: usize) -> Value {
    let mut l = desired.clone();
    let meta = &mut l["metadata"];
    meta["uid"] = json!(format!("uid-{i}"));
    meta["resourceVersion"] = json!("100");
    meta["generation"] = json!(1);
    meta["creationTimestamp"] = json!("2026-11-22T10:00:00Z");
    match desired["kind"].as_str() {
        Some("Deployment") => {
            l["spec"]["revisionHistoryLimit"] = json!(10);
            l["spec"]["progressDeadlineSeconds"] = json!(600);
            l["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
            l["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
            l["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
            l["status"] = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2});
        }
        Some("Service") => {
            l["spec"]["type"] = json!("ClusterIP");
            l["spec"]["clusterIP"] = json!(format!("10.0.0.{i}"));
            l["spec"]["ports"][0]["protocol"] = json!("TCP");
        }
        _ => {}
    }
    l
}

fn bench<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let repo = TestRepo::create(&served, "apps");
    let files = manifests();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let sha = repo.commit(&refs, "apps");
    let daemon = GitDaemon::start(&served).unwrap_or_else(|e| panic!("git daemon: {e}"));
    let git = GitCache::new(GitConfig {
        root: dir.path().join("cache"),
        timeout: Duration::from_secs(30),
        known_hosts: String::new(),
    })
    .unwrap_or_else(|e| panic!("git cache: {e}"));
    let comparer = Comparer::new(
        Arc::new(git),
        CompareConfig {
            ref_ttl: Duration::from_secs(3600),
            scratch_dir: dir.path().join("scratch"),
            ..CompareConfig::default()
        },
    );
    let mut app: Application = serde_json::from_value(json!({
        "metadata": {"name": "bench", "namespace": "argocd"},
        "spec": {"project": "default", "source": {"repoURL": daemon.url("apps"), "path": "app", "targetRevision": "main"},
                 "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.replicas"]},
                                       {"kind": "ConfigMap", "jsonPointers": ["/data/LOG_LEVEL"]}],
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "bench"}}
    }))
    .unwrap_or_else(|e| panic!("app: {e}"));
    let project: AppProject = serde_json::from_value(json!({"metadata": {"name": "default"},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}}))
    .unwrap_or_else(|e| panic!("project: {e}"));
    let destination = ResolvedDestination {
        server: "https://kubernetes.default.svc".into(),
        namespace: "bench".into(),
        ..ResolvedDestination::default()
    };
    let (creds, diff, render) =
        (CredentialStore::default(), DiffSettings::default(), RenderSettings::default());
    let health = HealthAssessor::new(ResourceOverrides::default(), AssessOptions::default());
    let previous = [sha];
    let input = |app: &'static Application, live: &'static [Value], refresh| CompareInput {
        app,
        control_namespace: "argocd",
        project: Some(&project),
        destination: Ok(&destination),
        creds: &creds,
        live,
        lookup: &Discovery,
        diff: &diff,
        health: &health,
        tracking: TrackingConfig::new(TrackingMethod::Annotation, "bench"),
        render: &render,
        revisions: None,
        sources: None,
        previous_revisions: Some(&previous),
        refresh,
        now: jiff::Timestamp::UNIX_EPOCH,
    };
    let first = comparer.compare(&input(Box::leak(Box::new(app.clone())), &[], RefreshLevel::Normal));
    assert_eq!(first.desired.len(), 10, "{:?}", first.conditions);
    // As the controller would have written it: CompareOnly trusts the previous revision only
    // for the sources it was compared with.
    app.status = Some(ApplicationStatus { sync: Some(first.sync.clone()), ..ApplicationStatus::default() });
    let app: &'static Application = Box::leak(Box::new(app));
    let live: &'static [Value] =
        Vec::leak(first.desired.iter().enumerate().map(|(i, d)| as_live(d, i)).collect());
    let warm = comparer.compare(&input(app, live, RefreshLevel::Normal));
    assert_eq!(
        (warm.sync.status.as_deref(), warm.health.status.as_deref()),
        (Some("Synced"), Some("Healthy")),
        "{:?}",
        warm.resources
    );

    let mut group = c.benchmark_group(format!("compare_10_resources_{clock}"));
    group.sampling_mode(SamplingMode::Flat);
    for (name, level) in [("compare_only", RefreshLevel::CompareOnly), ("normal", RefreshLevel::Normal)] {
        let input = input(app, live, level);
        group.bench_function(name, |b| b.iter(|| comparer.compare(&input)));
    }
    let stats = comparer.stats();
    assert_eq!(stats.ls_remotes, 1, "the warm loop must not call git");

    // Another app of the same repository and commit (an initial load): a render-cache miss,
    // the checkout already on disk, the YAML parsed again, the live objects not there yet.
    let mut n = 0u64;
    let base = app.clone();
    group.bench_function("first_render_of_an_app", |b| {
        b.iter_batched(
            || {
                n += 1;
                let mut fresh = base.clone();
                fresh.metadata.name = Some(format!("app-{n}"));
                fresh.status = None;
                fresh
            },
            |fresh| {
                let c =
                    comparer.compare(&CompareInput { app: &fresh, ..input(app, &[], RefreshLevel::Normal) });
                assert_eq!(c.desired.len(), 10);
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

cpu_time::main_wall_and_cpu!(bench);
