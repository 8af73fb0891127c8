//! Sync operations end to end: hooks, sync windows, restarts mid-sync, the push webhook and
//! app-of-apps waves.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use tiphys_resource::ResourceKey;
use tiphys_sandbox::simulator::SimulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn job(name: &str, hook: &str, extra_annotations: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {hook}\n{extra_annotations}spec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: run\n        image: busybox:1.36\n"
    )
}

fn deployment(name: &str, wave: i32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
    )
}

fn wave_cm(name: &str, wave: i32) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\ndata: {{k: v}}\n"
    )
}

fn results(app: &Value) -> Vec<Value> {
    app["status"]["operationState"]["syncResult"]["resources"].as_array().cloned().unwrap_or_default()
}

fn result_of<'a>(results: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    results.iter().find(|r| r["kind"] == kind && r["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_hook_lifecycle_runs_and_a_failing_presync_job_stops_the_sync_and_runs_syncfail() {
    let fail = "    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation\n    argocd.argoproj.io/sync-wave: \"-1\"\n    sandbox.tiphys.io/fail-job: \"true\"\n";
    let ok = "    argocd.argoproj.io/hook-delete-policy: HookSucceeded\n";
    let notify = "    argocd.argoproj.io/hook-delete-policy: HookSucceeded,BeforeHookCreation\n";
    let good_files = [
        ("good/migrate.yaml", job("db-migrate", "PreSync", ok)),
        ("good/config.yaml", wave_cm("app-config", -1)),
        ("good/app.yaml", deployment("my-app", 0)),
        ("good/smoke.yaml", job("smoke-test", "PostSync", ok)),
        ("bad/migrate.yaml", job("db-migrate", "PreSync", fail)),
        ("bad/config.yaml", wave_cm("app-config", -1)),
        ("bad/app.yaml", deployment("my-app", 0)),
        ("bad/notify.yaml", job("notify-sync-failure", "SyncFail", notify)),
    ];
    let files: Vec<(&str, &str)> = good_files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let w = World::start(&files, json!({})).await;
    w.create_app("good", "good", "good", json!({"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}))
        .await;
    w.create_app("bad", "bad", "bad", json!({"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}})).await;
    w.wait_app("good", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.wait_app("bad", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("good", json!({})).await;
    w.sync("bad", json!({})).await;

    let good =
        w.wait_app("good", "sync over", WAIT, |a| phase(a) == "Succeeded" || phase(a) == "Failed").await;
    assert_eq!(phase(&good), "Succeeded", "{}", good["status"]["operationState"]);
    let r = results(&good);
    let migrate = result_of(&r, "Job", "db-migrate").expect("PreSync hook result");
    assert_eq!(
        (migrate["hookType"].as_str(), migrate["hookPhase"].as_str()),
        (Some("PreSync"), Some("Succeeded"))
    );
    let smoke = result_of(&r, "Job", "smoke-test").expect("PostSync hook result");
    assert_eq!(
        (smoke["hookType"].as_str(), smoke["hookPhase"].as_str()),
        (Some("PostSync"), Some("Succeeded"))
    );
    assert_eq!(result_of(&r, "Deployment", "my-app").expect("deployment result")["status"], "Synced");
    w.wait_app("good", "Synced/Healthy", WAIT, synced_healthy).await;
    // HookSucceeded: both hooks are deleted once the operation succeeded.
    for name in ["db-migrate", "smoke-test"] {
        w.wait_object(&ResourceKey::new("batch", "Job", "good", name), "hook deleted", WAIT, |o| o.is_none())
            .await;
    }

    let bad = w.wait_app("bad", "sync over", WAIT, |a| phase(a) == "Succeeded" || phase(a) == "Failed").await;
    assert_eq!(phase(&bad), "Failed", "{}", bad["status"]["operationState"]);
    let r = results(&bad);
    assert_eq!(result_of(&r, "Job", "db-migrate").expect("PreSync result")["hookPhase"], "Failed");
    let notify = result_of(&r, "Job", "notify-sync-failure").expect("SyncFail hook ran");
    assert_eq!(notify["hookType"], "SyncFail");
    assert!(w.get(&cm_key("bad", "app-config")).await.is_none(), "the Sync phase never ran");
    assert!(
        w.get(&ResourceKey::new("apps", "Deployment", "bad", "my-app")).await.is_none(),
        "the Deployment is never updated"
    );
}

fn deny_window_project(name: &str, manual_sync: bool) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
            "syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h",
                "applications": ["*"], "manualSync": manual_sync}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_window_blocks_automated_sync_and_manual_sync_true_allows_a_manual_one() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    w.apply(deny_window_project("frozen", true)).await;
    w.apply(deny_window_project("sealed", false)).await;
    w.create_app(
        "frozen-app",
        "app",
        "frozen-ns",
        json!({"project": "frozen",
        "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}),
    )
    .await;
    w.create_app(
        "sealed-app",
        "app",
        "sealed-ns",
        json!({"project": "sealed",
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}),
    )
    .await;
    w.wait_app("frozen-app", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let app = w.app("frozen-app").await;
    assert!(
        app["status"]["operationState"].is_null(),
        "no automated sync in a deny window: {}",
        app["status"]
    );
    assert!(w.get(&cm_key("frozen-ns", "settings")).await.is_none());

    w.sync("frozen-app", json!({})).await;
    w.wait_app("frozen-app", "manual sync allowed by manualSync", WAIT, |a| phase(a) == "Succeeded").await;
    assert!(w.get(&cm_key("frozen-ns", "settings")).await.is_some());

    w.wait_app("sealed-app", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("sealed-app", json!({})).await;
    let app = w
        .wait_app("sealed-app", "blocked by the window", WAIT, |a| {
            a["status"]["operationState"]["message"].as_str().is_some_and(|m| m.contains("sync window"))
        })
        .await;
    assert_eq!(phase(&app), "Running");
    assert!(w.get(&cm_key("sealed-ns", "settings")).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_sync_finishes_the_operation_after_restart_without_rerunning_the_hook() {
    let slow_jobs = SimulatorConfig { job_duration: Duration::from_secs(3), ..SimulatorConfig::default() };
    let files =
        [("app/migrate.yaml", job("migrate", "PreSync", "")), ("app/config.yaml", wave_cm("after-hook", 0))];
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let mut w = World::start_with(&refs, json!({}), slow_jobs).await;
    w.create_app("resumed", "app", "default", json!({})).await;
    w.wait_app("resumed", "compared", WAIT, |a| sync_status(a) == "OutOfSync").await;
    w.sync("resumed", json!({})).await;
    w.wait_app("resumed", "the hook running", WAIT, |a| {
        result_of(&results(a), "Job", "migrate").is_some_and(|r| r["hookPhase"] == "Running")
    })
    .await;
    let job_key = ResourceKey::new("batch", "Job", "default", "migrate");
    let uid = w.get(&job_key).await.expect("hook job exists")["metadata"]["uid"].clone();
    w.stop_controller().await;
    assert!(w.get(&cm_key("default", "after-hook")).await.is_none(), "stopped before the Sync phase");
    w.start_controller().await;
    let app = w.wait_app("resumed", "the operation finished", WAIT, |a| phase(a) == "Succeeded").await;
    assert!(w.get(&cm_key("default", "after-hook")).await.is_some(), "{}", app["status"]["operationState"]);
    let job = w.get(&job_key).await.expect("hook kept (no delete policy)");
    assert_eq!(job["metadata"]["uid"], uid, "the hook was not re-created");
}

async fn post_webhook(addr: std::net::SocketAddr, event: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST /api/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-GitHub-Event: {event}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_webhook_syncs_at_once_without_waiting_for_the_periodic_refresh() {
    let w = World::start(
        &[("app/cm.yaml", &configmap("settings", json!({"color": "blue"})))],
        json!({"timeout.reconciliation": "1h"}),
    )
    .await;
    w.create_app("hooked", "app", "default", json!({"syncPolicy": {"automated": {}}})).await;
    w.wait_app("hooked", "Synced", WAIT, synced_healthy).await;
    let sha = w.repo.commit(&[("app/cm.yaml", &configmap("settings", json!({"color": "green"})))], "green");
    let url = w.repo_url();
    let body =
        json!({"ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000", "after": sha,
        "repository": {"html_url": url.trim_end_matches(".git"), "clone_url": url, "default_branch": "main"},
        "commits": [{"added": [], "modified": ["app/cm.yaml"], "removed": []}]})
        .to_string();
    let started = Instant::now();
    let response = post_webhook(w.controller_addr(), "push", &body).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("hooked"), "names the refreshed app: {response}");
    w.wait_object(&cm_key("default", "settings"), "green applied", Duration::from_secs(10), |o| {
        o.is_some_and(|o| o["data"]["color"] == "green")
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let ping = post_webhook(w.controller_addr(), "ping", "{}").await;
    assert!(ping.starts_with("HTTP/1.1 200"), "{ping}");
}

const APP_HEALTH_LUA: &str = r#"hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"#;

fn child_app(name: &str, path: &str, wave: i32, repo: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  project: default\n  source:\n    repoURL: {repo}\n    targetRevision: main\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n  syncPolicy:\n    automated: {{}}\n    syncOptions: [CreateNamespace=true]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_of_apps_waves_wait_for_child_apps_to_become_healthy() {
    let w = World::start(
        &[("placeholder", "")],
        json!({"resource.customizations.health.argoproj.io_Application": APP_HEALTH_LUA}),
    )
    .await;
    app_of_apps_waves(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_waiting_for_its_children_does_not_hold_the_only_operation_processor() {
    // With one processor, a parent that kept it while waiting for wave 0's child to become
    // healthy would starve that child's own sync: both would wait forever.
    let mut w = World::start(
        &[("placeholder", "")],
        json!({"resource.customizations.health.argoproj.io_Application": APP_HEALTH_LUA}),
    )
    .await;
    w.apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-cmd-params-cm", "namespace": NS},
        "data": {"controller.operation.processors": "1"}}))
        .await;
    w.stop_controller().await;
    w.start_controller().await;
    app_of_apps_waves(&w).await;
}

/// A root app whose two child apps sync in waves 0 and 1 (each child automated): the second
/// child must only appear once the first is Healthy, and all three end Synced/Healthy.
async fn app_of_apps_waves(w: &World) {
    let repo = w.repo_url();
    let files = [
        ("apps/first.yaml", child_app("first", "first", 0, &repo)),
        ("apps/second.yaml", child_app("second", "second", 1, &repo)),
        ("first/app.yaml", deployment("web", 0)),
        ("second/cm.yaml", configmap("settings", json!({"k": "v"}))),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    w.repo.commit(&refs, "apps");
    w.create_app("root", "apps", NS, json!({"syncPolicy": {"automated": {}}})).await;
    // When the second child appears, the first must already be Healthy (wave order + health).
    let deadline = Instant::now() + WAIT;
    loop {
        if w.get(&app_key("second")).await.is_some() {
            let first = w.app("first").await;
            assert_eq!(
                health(&first),
                "Healthy",
                "wave 1 started before wave 0 was healthy: {}",
                first["status"]
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second child app never appeared: {}",
            w.app("root").await["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for name in ["root", "first", "second"] {
        w.wait_app(name, "Synced/Healthy", WAIT, synced_healthy).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_webhook_secret_configured_an_unsigned_push_is_refused() {
    let w = World::start(&[("app/cm.yaml", &configmap("settings", json!({"k": "v"})))], json!({})).await;
    w.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "argocd-secret", "namespace": NS},
        "stringData": {"webhook.github.secret": "s3cret"}}),
    )
    .await;
    let url = w.repo_url();
    let body = json!({"ref": "refs/heads/main", "repository": {"html_url": url.trim_end_matches(".git"),
        "default_branch": "main"}, "commits": []})
    .to_string();
    let deadline = Instant::now() + WAIT;
    // The controller sees the Secret through its cache: retry until it does.
    loop {
        let response = post_webhook(w.controller_addr(), "push", &body).await;
        if response.starts_with("HTTP/1.1 401") {
            assert!(response.contains("X-Hub-Signature-256"), "says what is missing: {response}");
            break;
        }
        assert!(Instant::now() < deadline, "never refused: {response}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
