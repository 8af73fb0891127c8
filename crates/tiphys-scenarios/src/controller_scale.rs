//! The controller scale scenario: N apps × R resources from one Git repository, all with
//! automated sync (prune, self-heal, CreateNamespace). It measures, in order:
//!
//! 1. the anchor: `kubectl apply --server-side` of the same manifests into a fresh sandbox,
//!    and the time until every Deployment is Available;
//! 2. initial sync: from registering the Applications to all Synced/Healthy;
//! 3. a steady-state full refresh: every app annotated `argocd.argoproj.io/refresh: normal`,
//!    controller CPU until every app has a new `reconciledAt`;
//! 4. self-heal latency: drift one ConfigMap at a time, time until the controller reverts it;
//! 5. webhook-to-apply latency: commit a change to one app, POST the GitHub push webhook, time
//!    until the object changes in the cluster;
//! 6. peak RSS of the scenario process (the controller plus the small driver).
//!
//! The sandbox and the Git server run in a child process ([`crate::host`]); the controller
//! runs on its own runtime in this process, and the driver's own CPU (one thread) is
//! subtracted from the controller's figures.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tiphys_controller::ControllerConfig;
use tiphys_git::testsupport::TestRepo;
use tiphys_kube::{ApplyMode, Cluster, PatchBody, WriteOptions};
use tiphys_resource::ResourceKey;
use tiphys_resource::annotations::{MANIFEST_GENERATE_PATHS, REFRESH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::api::{ApiReader, AppSummary, AppWatch};
use crate::host::Host;
use crate::measure::{CpuMark, Latency, load_average, peak_rss_mib, thread_cpu_s};
use crate::workload::{self, INITIAL_COLOR, PROBE_CONFIGMAP, app_name, app_path};
use crate::{Error, Result, io_error};

/// The namespace holding Applications (upstream's default).
const NAMESPACE: &str = "argocd";

/// Requests the driver keeps in flight when creating or annotating many apps.
const CONCURRENCY: usize = 8;

/// How often latency probes look at the object.
const PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of Applications.
    pub apps: usize,
    /// Resources per Application.
    pub resources: usize,
    /// Self-heal samples (one per app, spread over the apps).
    pub self_heal: usize,
    /// Webhook samples.
    pub webhooks: usize,
    /// Interval of the Application LIST while waiting for a phase to finish.
    pub poll: Duration,
    /// Limit for each waiting phase.
    pub timeout: Duration,
    /// The executable that serves the sandbox host (this binary).
    pub host_exe: PathBuf,
    /// kubectl for the anchor.
    pub kubectl: PathBuf,
    /// Skip the kubectl anchor (a quicker run while investigating the controller's figures;
    /// the initial-sync ratio is then absent).
    pub skip_anchor: bool,
    /// Where to write the controller phase's sandbox kubeconfig, to watch a run with kubectl.
    pub kubeconfig_out: Option<PathBuf>,
}

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPUs available.
    pub cpus: usize,
    /// 1-minute load average when the scenario started and ended.
    pub load_average: [f64; 2],
}

/// The `kubectl apply --server-side` anchor.
#[derive(Debug, Clone, Serialize)]
pub struct Anchor {
    /// Objects applied (each app's Namespace plus its resources).
    pub objects: usize,
    /// Wall seconds of `kubectl apply --server-side -f`.
    pub apply_s: f64,
    /// Wall seconds until every Deployment is Available (apply included; one LIST per poll
    /// interval): the comparable end point to Synced/Healthy.
    pub ready_s: f64,
}

/// Initial sync of every app.
#[derive(Debug, Clone, Serialize)]
pub struct InitialSync {
    /// Wall seconds from the first Application write to all Synced/Healthy.
    pub seconds: f64,
    /// Controller CPU seconds in that time (driver thread excluded).
    pub controller_cpu_s: f64,
    /// CPU seconds of waited-for child processes (the controller's `git` runs).
    pub children_cpu_s: f64,
    /// The controller's counters over the phase.
    pub counters: Counters,
    /// `seconds / anchor.ready_s` (absent without the anchor).
    pub over_anchor_ready: Option<f64>,
    /// `seconds / anchor.apply_s` (absent without the anchor).
    pub over_anchor_apply: Option<f64>,
}

/// One forced full refresh of every app.
#[derive(Debug, Clone, Serialize)]
pub struct FullRefresh {
    /// Wall seconds from the first refresh annotation to every app reconciled again.
    pub seconds: f64,
    /// Controller CPU seconds in that time (driver thread excluded).
    pub controller_cpu_s: f64,
    /// CPU seconds of waited-for child processes in that time.
    pub children_cpu_s: f64,
    /// The controller's counters over the refresh.
    pub counters: Counters,
    /// Controller CPU seconds per wall second while idle just before (the baseline).
    pub idle_controller_cpu_per_s: f64,
    /// The controller's counters over that idle window.
    pub idle_counters: Counters,
}

/// Whether each target of the issue was met.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    /// Full refresh ≤ 2 CPU-seconds.
    pub full_refresh_cpu_le_2s: bool,
    /// Peak RSS ≤ 300 MB (MiB as measured; 300 MB = 286 MiB).
    pub peak_rss_le_300mb: bool,
    /// Self-heal p99 ≤ 1 s.
    pub self_heal_p99_le_1s: bool,
    /// Webhook-to-apply p99 ≤ 300 ms.
    pub webhook_p99_le_300ms: bool,
    /// Initial sync within 1.5× of the anchor (apply + Available); absent without the anchor.
    pub initial_sync_le_1_5x_anchor: Option<bool>,
}

/// Every figure of one run, printed as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Which scenario.
    pub scenario: &'static str,
    /// Applications.
    pub apps: usize,
    /// Resources per app.
    pub resources: usize,
    /// Where it ran.
    pub machine: Machine,
    /// The kubectl anchor (absent with `skip_anchor`).
    pub anchor: Option<Anchor>,
    /// Initial sync.
    pub initial_sync: InitialSync,
    /// Steady-state full refresh.
    pub full_refresh: FullRefresh,
    /// Peak RSS of the scenario process in MiB (controller plus driver).
    pub peak_rss_mib: f64,
    /// Drift-to-revert latency.
    pub self_heal: Latency,
    /// Webhook-POST-to-object-changed latency.
    pub webhook_to_apply: Latency,
    /// CPU seconds of the sandbox host process (API server, simulator, Git server) during the
    /// controller phases: context, not the controller's cost.
    pub sandbox_cpu_s: f64,
    /// CPU seconds of the driver thread (polling, patches, commits): excluded above.
    pub driver_cpu_s: f64,
    /// Targets met.
    pub targets: Targets,
}

fn writer() -> WriteOptions {
    WriteOptions { field_manager: "tiphys-scenario".into(), dry_run: false }
}

/// Runs the scenario; the controller is spawned onto `controller_rt`, the driver runs on the
/// calling thread.
pub async fn run(opts: &Options, controller_rt: tokio::runtime::Handle) -> Result<Report> {
    let load_start = load_average();
    let driver_start = thread_cpu_s();
    let work = tempfile::tempdir().map_err(io_error(Path::new("temporary directory")))?;
    let git_root = work.path().join("git");
    let repo = TestRepo::create(&git_root, "repo");
    let files = workload::repo_files(opts.apps, opts.resources);
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    repo.commit(&refs, "generated apps");
    drop(files);

    let anchor = if opts.skip_anchor {
        None
    } else {
        eprintln!("anchor: kubectl apply --server-side of {} apps", opts.apps);
        Some(run_anchor(opts, work.path()).await?)
    };

    let host = Host::spawn(&opts.host_exe, Some(&git_root))?;
    let cluster = Cluster::from_kubeconfig_text(&host.endpoints.kubeconfig, None).await?;
    let reader = Arc::new(ApiReader::new(&host.endpoints)?);
    if let Some(path) = &opts.kubeconfig_out {
        std::fs::write(path, &host.endpoints.kubeconfig).map_err(io_error(path))?;
    }
    let sandbox_start = host.cpu_s();
    install_control_plane(&cluster).await?;
    let watch = reader.watch_applications(NAMESPACE).await?;
    let repo_url = format!("{}/repo.git", host.endpoints.git_base.as_deref().unwrap_or_default());
    let config = ControllerConfig {
        kubeconfig: host.endpoints.kubeconfig.clone(),
        context: None,
        namespace: NAMESPACE.into(),
        data_dir: work.path().join("controller"),
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        leader_election: false,
        identity: "scenario".into(),
    };
    let controller = controller_rt
        .spawn(tiphys_controller::start(config))
        .await
        .map_err(|e| Error::Process { what: "controller".into(), message: e.to_string() })?
        .map_err(|e| Error::Process { what: "controller".into(), message: e.to_string() })?;
    let webhook_addr = controller
        .addr()
        .ok_or_else(|| Error::Process { what: "controller".into(), message: "no HTTP endpoint".into() })?;

    eprintln!("initial sync of {} apps × {} resources", opts.apps, opts.resources);
    let counters_start = Counters::read(webhook_addr).await?;
    let mark = CpuMark::now();
    let started = Instant::now();
    futures::stream::iter(0..opts.apps)
        .map(|i| {
            let cluster = &cluster;
            let app = application(i, &repo_url);
            async move { cluster.apply(&app, ApplyMode::ServerSide { force: true }, &writer()).await }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    wait_apps(&watch, opts, "every app Synced and Healthy", |apps| {
        let done = apps.iter().filter(|a| a.synced_healthy()).count();
        (apps.len() == opts.apps && done == opts.apps, format!("{done}/{} Synced and Healthy", opts.apps))
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let (controller_cpu_s, children_cpu_s) = mark.since();
    let initial_sync = InitialSync {
        seconds,
        controller_cpu_s,
        children_cpu_s,
        counters: Counters::read(webhook_addr).await?.since(counters_start),
        over_anchor_ready: anchor.as_ref().map(|a| seconds / a.ready_s),
        over_anchor_apply: anchor.as_ref().map(|a| seconds / a.apply_s),
    };

    let full_refresh = full_refresh(opts, &cluster, &reader, &watch, webhook_addr).await?;
    eprintln!("self-heal: {} samples", opts.self_heal);
    let self_heal = self_heal(opts, &cluster).await?;
    eprintln!("webhook: {} samples", opts.webhooks);
    let webhook_to_apply = webhooks(opts, &cluster, &repo, &repo_url, webhook_addr).await?;
    let peak_rss_mib = peak_rss_mib();
    let sandbox_cpu_s = host.cpu_s() - sandbox_start;
    controller.shutdown().await;
    host.stop();

    let targets = Targets {
        full_refresh_cpu_le_2s: full_refresh.controller_cpu_s <= 2.0,
        peak_rss_le_300mb: peak_rss_mib * 1024.0 * 1024.0 <= 300e6,
        self_heal_p99_le_1s: self_heal.p99_ms <= 1000.0,
        webhook_p99_le_300ms: webhook_to_apply.p99_ms <= 300.0,
        initial_sync_le_1_5x_anchor: initial_sync.over_anchor_ready.map(|r| r <= 1.5),
    };
    Ok(Report {
        scenario: "controller-scale",
        apps: opts.apps,
        resources: opts.resources,
        machine: Machine {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            load_average: [load_start, load_average()],
        },
        anchor,
        initial_sync,
        full_refresh,
        peak_rss_mib,
        self_heal,
        webhook_to_apply,
        sandbox_cpu_s,
        driver_cpu_s: thread_cpu_s() - driver_start,
        targets,
    })
}

/// The Argo CRDs, the `argocd` namespace, a permissive default AppProject, an `argocd-cm`
/// whose periodic refresh (1 h) stays out of the measured phases, and the processor counts
/// upstream recommends for 1,000 apps.
async fn install_control_plane(cluster: &Cluster) -> Result<()> {
    for crd in tiphys_model::crd::crds() {
        cluster.apply(&crd, ApplyMode::ServerSide { force: true }, &writer()).await?;
    }
    cluster.refresh_discovery().await?;
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm", "namespace": NAMESPACE},
            "data": {"timeout.reconciliation": "1h"}}),
        // Upstream's high-availability guide sizes a controller for 1,000 applications with
        // 50 status and 25 operation processors (defaults 20 and 10); the scenario runs that
        // documented setup.
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cmd-params-cm", "namespace": NAMESPACE},
            "data": {"controller.status.processors": "50", "controller.operation.processors": "25"}}),
    ];
    for object in &objects {
        cluster.apply(object, ApplyMode::ServerSide { force: true }, &writer()).await?;
    }
    Ok(())
}

/// Application `i`: its own directory and namespace, automated sync with prune and self-heal,
/// and `manifest-generate-paths: .` so a push refreshes only the apps whose files changed
/// (the usual monorepo setting).
fn application(i: usize, repo_url: &str) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": app_name(i), "namespace": NAMESPACE, "annotations": {MANIFEST_GENERATE_PATHS: "."}},
        "spec": {"project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": app_path(i)},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": app_name(i)},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}}})
}

/// Looks at the watched Applications every poll interval (the anchor's interval, so both
/// end points have the same resolution) until `check` says done; `check` also returns a
/// progress line.
async fn wait_apps(
    watch: &AppWatch,
    opts: &Options,
    what: &str,
    check: impl Fn(&[AppSummary]) -> (bool, String),
) -> Result<()> {
    let started = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let apps = watch.snapshot()?;
        let (done, progress) = check(&apps);
        if done {
            return Ok(());
        }
        if started.elapsed() > opts.timeout {
            return Err(Error::Timeout {
                what: what.into(),
                seconds: opts.timeout.as_secs(),
                last: progress,
            });
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  {:.0}s: {progress}", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        tokio::time::sleep(opts.poll).await;
    }
}

/// Measures an idle baseline, then annotates every app for a normal refresh and waits until
/// each has a new `reconciledAt` and the annotation is gone.
async fn full_refresh(
    opts: &Options,
    cluster: &Cluster,
    reader: &ApiReader,
    watch: &AppWatch,
    addr: SocketAddr,
) -> Result<FullRefresh> {
    // reconciledAt has one-second resolution: let it tick before refreshing again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = Duration::from_secs(5);
    let counters = Counters::read(addr).await?;
    let mark = CpuMark::now();
    tokio::time::sleep(idle).await;
    let idle_controller_cpu_per_s = mark.since().0 / idle.as_secs_f64();
    let idle_counters = Counters::read(addr).await?.since(counters);
    let before: HashMap<String, String> = reader
        .applications(NAMESPACE)
        .await?
        .into_iter()
        .map(|a| (a.metadata.name.clone(), a.reconciled_at().to_string()))
        .collect();
    eprintln!("full refresh of {} apps", opts.apps);
    let counters = Counters::read(addr).await?;
    let mark = CpuMark::now();
    let started = Instant::now();
    futures::stream::iter(0..opts.apps)
        .map(|i| async move {
            let key = ResourceKey::new("argoproj.io", "Application", NAMESPACE, app_name(i));
            let patch = json!({"metadata": {"annotations": {REFRESH: "normal"}}});
            cluster.patch(&key, PatchBody::Merge(patch), &writer()).await
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    wait_apps(watch, opts, "every app refreshed", |apps| {
        let done = apps
            .iter()
            .filter(|a| {
                !a.metadata.annotations.contains_key(REFRESH)
                    && before.get(&a.metadata.name).is_some_and(|old| old != a.reconciled_at())
            })
            .count();
        (done == opts.apps, format!("{done}/{} refreshed", opts.apps))
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let (controller_cpu_s, children_cpu_s) = mark.since();
    let counters = Counters::read(addr).await?.since(counters);
    Ok(FullRefresh {
        seconds,
        controller_cpu_s,
        children_cpu_s,
        counters,
        idle_controller_cpu_per_s,
        idle_counters,
    })
}

fn probe_key(i: usize) -> ResourceKey {
    ResourceKey::new("", "ConfigMap", app_name(i), PROBE_CONFIGMAP)
}

/// Polls app `i`'s probe ConfigMap every [`PROBE_INTERVAL`] until `data.color` is `color`;
/// returns the time since `since`.
/// Fails after `limit` (the phase timeout).
async fn wait_color(
    cluster: &Cluster,
    i: usize,
    color: &str,
    since: Instant,
    limit: Duration,
) -> Result<Duration> {
    let key = probe_key(i);
    loop {
        let object = cluster.get(&key).await?;
        let current = object.as_ref().and_then(|o| o["data"]["color"].as_str()).unwrap_or_default();
        if current == color {
            return Ok(since.elapsed());
        }
        if since.elapsed() > limit {
            return Err(Error::Timeout {
                what: format!("{key} to have data.color={color}"),
                seconds: limit.as_secs(),
                last: current.to_string(),
            });
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

/// The `k`-th of `n` sample apps, spread evenly; `offset` (in 0..1) shifts the spread so two
/// phases use different apps.
fn sample_app(k: usize, n: usize, apps: usize, offset: f64) -> usize {
    ((k as f64 + offset) * apps as f64 / n.max(1) as f64) as usize % apps.max(1)
}

/// Drifts each sample app's probe ConfigMap and times the revert from the patch response.
async fn self_heal(opts: &Options, cluster: &Cluster) -> Result<Latency> {
    let mut samples = Vec::new();
    for k in 0..opts.self_heal.min(opts.apps) {
        let i = sample_app(k, opts.self_heal, opts.apps, 0.0);
        let drift = json!({"data": {"color": "drifted"}});
        cluster.patch(&probe_key(i), PatchBody::Merge(drift), &writer()).await?;
        samples.push(wait_color(cluster, i, INITIAL_COLOR, Instant::now(), opts.timeout).await?);
    }
    Ok(Latency::of(&samples))
}

/// Commits a new probe value for one app, posts the push webhook and times until the object
/// carries it (the commit is made before the clock starts).
async fn webhooks(
    opts: &Options,
    cluster: &Cluster,
    repo: &TestRepo,
    repo_url: &str,
    addr: SocketAddr,
) -> Result<Latency> {
    let mut samples = Vec::new();
    for k in 0..opts.webhooks {
        let i = sample_app(k, opts.webhooks, opts.apps, 0.5);
        let color = format!("push-{k}");
        let path = workload::probe_path(i);
        let sha = repo.commit(&[(&path, &workload::manifest(0, None, &color))], &format!("app {i}: {color}"));
        let body = json!({"ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000",
            "after": sha,
            "repository": {"html_url": repo_url.trim_end_matches(".git"), "clone_url": repo_url, "default_branch": "main"},
            "commits": [{"added": [], "modified": [path], "removed": []}]})
        .to_string();
        let started = Instant::now();
        let response = post_push(addr, &body).await?;
        if !response.starts_with("HTTP/1.1 200") {
            return Err(Error::Request { what: "POST /api/webhook".into(), message: response });
        }
        samples.push(wait_color(cluster, i, &color, started, opts.timeout).await?);
    }
    Ok(Latency::of(&samples))
}

/// Sends one HTTP/1.1 request to the controller's endpoint; returns the raw response.
async fn controller_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Result<String> {
    let fail = |e: std::io::Error| Error::Request {
        what: format!("{method} http://{addr}{path}"),
        message: e.to_string(),
    };
    let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(fail)?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(fail)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(fail)?;
    Ok(response)
}

/// POSTs a GitHub push event to the controller's `/api/webhook`; returns the raw response.
async fn post_push(addr: SocketAddr, body: &str) -> Result<String> {
    let headers = "Content-Type: application/json\r\nX-GitHub-Event: push\r\n";
    controller_http(addr, "POST", "/api/webhook", headers, body).await
}

/// The controller's own counters (from `/metrics`), to show where the work went in a phase.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counters {
    /// Refreshes completed (`argocd_app_reconcile_count`).
    pub reconciles: f64,
    /// Seconds spent in refreshes, summed over concurrent ones (`argocd_app_reconcile_sum`).
    pub reconcile_seconds: f64,
    /// Sync operations finished (`argocd_app_sync_total`).
    pub syncs: f64,
    /// Kubernetes requests made by refreshes and syncs (`argocd_app_k8s_request_total`).
    pub k8s_requests: f64,
    /// Objects in the live cache (`argocd_cluster_api_resource_objects`, a gauge).
    pub cache_objects: f64,
}

impl Counters {
    /// Sums each family over its label sets in Prometheus text.
    fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (Some(name), Some(value)) =
                (line.split(['{', ' ']).next(), line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            else {
                continue;
            };
            let slot = match name {
                "argocd_app_reconcile_count" => &mut c.reconciles,
                "argocd_app_reconcile_sum" => &mut c.reconcile_seconds,
                "argocd_app_sync_total" => &mut c.syncs,
                "argocd_app_k8s_request_total" => &mut c.k8s_requests,
                "argocd_cluster_api_resource_objects" => &mut c.cache_objects,
                _ => continue,
            };
            *slot += value;
        }
        c
    }

    /// Reads the controller's `/metrics`.
    async fn read(addr: SocketAddr) -> Result<Counters> {
        Ok(Counters::parse(&controller_http(addr, "GET", "/metrics", "", "").await?))
    }

    /// The change since `earlier` (the cache gauge keeps its current value).
    fn since(self, earlier: Counters) -> Counters {
        Counters {
            reconciles: self.reconciles - earlier.reconciles,
            reconcile_seconds: self.reconcile_seconds - earlier.reconcile_seconds,
            syncs: self.syncs - earlier.syncs,
            k8s_requests: self.k8s_requests - earlier.k8s_requests,
            cache_objects: self.cache_objects,
        }
    }
}

/// Runs kubectl with `args`, failing with its stderr.
fn kubectl(opts: &Options, args: &[&str]) -> Result<()> {
    let out = Command::new(&opts.kubectl).args(args).stdout(Stdio::null()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::ToolMissing {
                tool: opts.kubectl.display().to_string(),
                hint: "run scripts/install-test-tools.sh (pinned kubectl in ~/.cache/tiphys-tools) or pass --kubectl PATH"
                    .into(),
            }
        } else {
            Error::Process { what: "kubectl".into(), message: e.to_string() }
        }
    })?;
    if !out.status.success() {
        return Err(Error::Process {
            what: format!("kubectl {}", args.join(" ")),
            message: String::from_utf8_lossy(&out.stderr).chars().take(2000).collect(),
        });
    }
    Ok(())
}

/// The anchor against a fresh sandbox: apply every manifest server-side, then wait for every
/// Deployment to be Available. Readiness is polled by LIST: `kubectl wait --all` waits for one
/// object after the other and measured itself (about 0.1 s per Deployment) rather than the
/// cluster.
async fn run_anchor(opts: &Options, dir: &Path) -> Result<Anchor> {
    let host = Host::spawn(&opts.host_exe, None)?;
    let reader = ApiReader::new(&host.endpoints)?;
    let kubeconfig = dir.join("anchor-kubeconfig");
    std::fs::write(&kubeconfig, &host.endpoints.kubeconfig).map_err(io_error(&kubeconfig))?;
    let manifests = dir.join("anchor.yaml");
    std::fs::write(&manifests, workload::anchor_stream(opts.apps, opts.resources))
        .map_err(io_error(&manifests))?;
    let started = Instant::now();
    let kc = kubeconfig.to_string_lossy();
    kubectl(opts, &["--kubeconfig", &kc, "apply", "--server-side", "-f", &manifests.to_string_lossy()])?;
    let apply_s = started.elapsed().as_secs_f64();
    let expected = workload::deployments(opts.apps, opts.resources);
    loop {
        let available = reader.deployments().await?.iter().filter(|d| d.available()).count();
        if available >= expected {
            break;
        }
        if started.elapsed() > opts.timeout {
            return Err(Error::Timeout {
                what: "every anchor Deployment Available".into(),
                seconds: opts.timeout.as_secs(),
                last: format!("{available}/{expected}"),
            });
        }
        tokio::time::sleep(opts.poll).await;
    }
    let ready_s = started.elapsed().as_secs_f64();
    host.stop();
    Ok(Anchor { objects: opts.apps * (opts.resources + 1), apply_s, ready_s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_label_sets_and_skip_comments() {
        let text = "# HELP x\nargocd_app_reconcile_count{dest_server=\"a\"} 3\nargocd_app_reconcile_count{dest_server=\"b\"} 2\n\
                    argocd_app_reconcile_sum{dest_server=\"a\"} 0.5\nargocd_app_sync_total{name=\"x\"} 1\nother 9\n\
                    argocd_app_k8s_request_total{verb=\"Get\"} 7\nargocd_cluster_api_resource_objects{server=\"s\"} 40\n";
        let c = Counters::parse(text);
        assert_eq!(
            (c.reconciles, c.reconcile_seconds, c.syncs, c.k8s_requests, c.cache_objects),
            (5.0, 0.5, 1.0, 7.0, 40.0)
        );
        let d = c.since(Counters { reconciles: 1.0, cache_objects: 10.0, ..Default::default() });
        assert_eq!((d.reconciles, d.cache_objects), (4.0, 40.0));
    }

    #[test]
    fn sample_apps_are_distinct_and_in_range() {
        let picks: Vec<usize> = (0..50).map(|k| sample_app(k, 50, 1000, 0.0)).collect();
        assert_eq!(picks[..3], [0, 20, 40]);
        let mut sorted = picks.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 50);
        let shifted: Vec<usize> = (0..20).map(|k| sample_app(k, 20, 1000, 0.5)).collect();
        assert_eq!(shifted[..2], [25, 75]);
        assert!((0..9).map(|k| sample_app(k, 9, 3, 0.5)).all(|i| i < 3));
    }

    #[test]
    fn applications_point_at_their_own_directory_and_namespace() {
        let app = application(7, "http://git/repo.git");
        assert_eq!(app["spec"]["source"]["path"], "apps/app-0007");
        assert_eq!(app["spec"]["destination"]["namespace"], "app-0007");
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["selfHeal"], true);
    }
}
