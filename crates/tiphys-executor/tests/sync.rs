//! Sync operations against the sandbox over HTTPS, with its workload simulator: hooks and
//! waves in order, failures and SyncFail hooks, delete policies, prune, namespaces, apply
//! strategies, the dry run, resume after a restart, terminate.

mod support;

use serde_json::{Value, json};
use support::{Sync, assert_result, config_map, context, get, key, run, summary, sync, world, yaml};
use tiphys_executor::{Execution, Progress};
use tiphys_health::HOOK_FINALIZER;
use tiphys_resource::annotations::LAST_APPLIED;

const LIFECYCLE: &str = include_str!("fixtures/hook-lifecycle.yaml");

fn with_annotation(mut docs: Vec<Value>, name: &str, annotation: &str, value: &str) -> Vec<Value> {
    for d in docs.iter_mut().filter(|d| d["metadata"]["name"] == name) {
        d["metadata"]["annotations"][annotation] = json!(value);
    }
    docs
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_hook_lifecycle_runs_in_order_and_cleans_up_per_policy() {
    let w = world().await;
    let (execution, ok, message) = sync(&w, &Sync::new(yaml(LIFECYCLE)), &[]).await;
    assert!(ok, "{message}: {:#?}", execution.results());
    assert_eq!(message, "successfully synced (no more tasks)", "upstream's wording when hooks ran last");
    assert_eq!(
        summary(&execution),
        vec![
            "Job/db-migrate PreSync Succeeded -",
            "Job/seed-data PreSync Succeeded -",
            "ConfigMap/app-config Sync Succeeded Synced",
            "Service/my-app Sync Succeeded Synced",
            "Deployment/my-app Sync Succeeded Synced",
            "Job/smoke-test PostSync Succeeded -",
        ],
        "PreSync waves, then Sync (healthy before PostSync), then PostSync; no SyncFail hook"
    );
    let results = execution.results();
    assert_eq!(results[0].hook_type.as_deref(), Some("PreSync"));
    assert_eq!(results[2].message.as_deref(), Some("configmap/app-config created"));
    assert_eq!(results[2].version.as_deref(), Some("v1"));
    assert_eq!(results[2].namespace.as_deref(), Some("default"));
    let images =
        |kind: &str| results.iter().find(|r| r.kind.as_deref() == Some(kind)).and_then(|r| r.images.clone());
    assert_eq!(
        images("Deployment"),
        Some(vec!["myapp:latest".to_string()]),
        "a workload's result lists its images"
    );
    assert_eq!(images("ConfigMap"), None, "other kinds have none");
    // BeforeHookCreation only: the hook stays, without the hook finalizer once it completed.
    let migrate = get(&w, &key("batch", "Job", "default", "db-migrate")).await.expect("db-migrate kept");
    assert!(!finalizers(&migrate).contains(&HOOK_FINALIZER.to_string()), "{:?}", finalizers(&migrate));
    // HookSucceeded: deleted once the operation succeeded.
    assert!(get(&w, &key("batch", "Job", "default", "smoke-test")).await.is_none(), "smoke-test deleted");
    assert!(
        get(&w, &key("batch", "Job", "default", "notify-sync-failure")).await.is_none(),
        "SyncFail never ran"
    );
    let deploy = get(&w, &key("apps", "Deployment", "default", "my-app")).await.expect("deployment");
    assert_eq!(deploy["status"]["readyReplicas"], 2, "PostSync ran after the Deployment became healthy");

    // A second sync re-creates db-migrate (BeforeHookCreation) and leaves resources unchanged.
    let old_uid = migrate["metadata"]["uid"].clone();
    let (execution, ok, message) = sync(&w, &Sync::new(yaml(LIFECYCLE)), &[]).await;
    assert!(ok, "{message}");
    let again = get(&w, &key("batch", "Job", "default", "db-migrate")).await.expect("db-migrate re-created");
    assert_ne!(again["metadata"]["uid"], old_uid, "BeforeHookCreation deleted the old Job first");
    let messages: Vec<String> = execution.results().iter().filter_map(|r| r.message.clone()).collect();
    assert!(messages.contains(&"configmap/app-config unchanged".to_string()), "{messages:?}");
    let migrate =
        execution.results().into_iter().find(|r| r.name.as_deref() == Some("db-migrate")).expect("result");
    assert_eq!(migrate.hook_phase.as_deref(), Some("Succeeded"));
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pre_sync_job_runs_the_sync_fail_hook_and_fails_before_the_sync_phase() {
    let w = world().await;
    let desired = with_annotation(yaml(LIFECYCLE), "db-migrate", "sandbox.tiphys.io/fail-job", "true");
    let (execution, ok, message) = sync(&w, &Sync::new(desired), &[]).await;
    assert!(!ok);
    assert!(message.starts_with("one or more synchronization tasks completed unsuccessfully"), "{message}");
    assert!(message.contains("db-migrate"), "{message}");
    let summary = summary(&execution);
    assert_eq!(summary[0], "Job/db-migrate PreSync Failed -");
    assert_eq!(summary.last().map(String::as_str), Some("Job/notify-sync-failure SyncFail Succeeded -"));
    assert!(get(&w, &key("apps", "Deployment", "default", "my-app")).await.is_none(), "Sync phase never ran");
    assert!(
        get(&w, &key("batch", "Job", "default", "seed-data")).await.is_none(),
        "later PreSync wave never ran"
    );
    // HookSucceeded is judged by the operation's outcome (failed): the SyncFail hook stays.
    assert!(get(&w, &key("batch", "Job", "default", "notify-sync-failure")).await.is_some());
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_failed_policy_deletes_a_failed_hook_and_degraded_resources_fail_the_wave() {
    let w = world().await;
    let desired = yaml(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: check
  annotations:
    argocd.argoproj.io/hook: PostSync
    argocd.argoproj.io/hook-delete-policy: HookFailed
    sandbox.tiphys.io/fail-job: "true"
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
"#,
    );
    let (execution, ok, message) = sync(&w, &Sync::new(desired), &[]).await;
    assert!(!ok, "{message}");
    assert!(message.contains("batch/Job/default/check"), "{message}");
    assert_result(&execution, "Job/check PostSync Failed -");
    assert!(get(&w, &key("batch", "Job", "default", "check")).await.is_none(), "HookFailed deleted it");

    let crashing = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crashy
  annotations: {sandbox.tiphys.io/crash-loop: "true"}
spec:
  replicas: 1
  progressDeadlineSeconds: 1
  selector: {matchLabels: {app: crashy}}
  template:
    metadata:
      labels: {app: crashy}
      annotations: {sandbox.tiphys.io/crash-loop: "true"}
    spec:
      containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: after
  annotations: {argocd.argoproj.io/sync-wave: "1"}
data: {a: "1"}
"#,
    );
    let (execution, ok, message) = sync(&w, &Sync::new(crashing), &[]).await;
    assert!(!ok, "{message}");
    assert!(message.starts_with("one or more synchronization tasks completed unsuccessfully"), "{message}");
    assert_result(&execution, "Deployment/crashy Sync Failed Synced");
    assert!(get(&w, &key("", "ConfigMap", "default", "after")).await.is_none(), "wave 1 never ran");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_extraneous_objects_only_when_asked_and_prune_last_goes_last() {
    let w = world().await;
    let old = vec![
        config_map("old", None),
        config_map("old-last", Some("PruneLast=true")),
        config_map("kept", Some("Prune=false")),
    ];
    let (_, ok, message) = sync(&w, &Sync::new(old), &[]).await;
    assert!(ok, "{message}");
    let extraneous = [
        key("", "ConfigMap", "default", "old"),
        key("", "ConfigMap", "default", "old-last"),
        key("", "ConfigMap", "default", "kept"),
    ];
    let desired = vec![config_map("new", None)];

    let (execution, ok, message) = sync(&w, &Sync::new(desired.clone()), &extraneous).await;
    assert!(ok, "{message}");
    assert!(get(&w, &extraneous[0]).await.is_some(), "not pruned without prune");
    let statuses: Vec<String> = execution
        .results()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.name.clone().unwrap_or_default(),
                r.status.clone().unwrap_or_default(),
                r.message.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(statuses.contains(&"old PruneSkipped ignored (requires pruning)".to_string()), "{statuses:?}");

    let mut pruning = Sync::new(desired);
    pruning.prune = true;
    let (execution, ok, message) = sync(&w, &pruning, &extraneous).await;
    assert!(ok, "{message}");
    assert!(get(&w, &extraneous[0]).await.is_none(), "pruned");
    assert!(get(&w, &extraneous[1]).await.is_none(), "pruned last");
    assert!(get(&w, &extraneous[2]).await.is_some(), "Prune=false keeps it");
    let order: Vec<String> = execution
        .results()
        .iter()
        .map(|r| format!("{} {}", r.name.clone().unwrap_or_default(), r.status.clone().unwrap_or_default()))
        .collect();
    let position = |name: &str| order.iter().position(|o| o.starts_with(&format!("{name} "))).expect(name);
    assert!(
        order.contains(&"old Pruned".to_string()) && order.contains(&"kept PruneSkipped".to_string()),
        "{order:?}"
    );
    assert!(position("old-last") > position("new"), "PruneLast after the last Sync wave: {order:?}");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_with_managed_metadata_new_and_existing() {
    let w = world().await;
    let desired = vec![config_map("c", None)];
    let mut s = Sync::new(desired);
    s.namespace = "fresh".into();
    s.options = vec!["CreateNamespace=true"];
    let plan = support::plan(&w, &s, &[]).await;
    let mut ctx = context(&s);
    ctx.managed_namespace_metadata = Some(
        serde_json::from_value(json!({
            "labels": {"team": "shop"}, "annotations": {"owner": "ops"}
        }))
        .expect("metadata"),
    );
    let mut execution = Execution::new(plan, ctx.clone(), None);
    let (ok, message) = run(&w, &mut execution).await;
    assert!(ok, "{message}: {:#?}", execution.results());
    let ns = get(&w, &key("", "Namespace", "", "fresh")).await.expect("created");
    assert_eq!(ns["metadata"]["labels"]["team"], "shop");
    assert_eq!(ns["metadata"]["annotations"]["owner"], "ops");
    assert!(
        get(&w, &key("", "ConfigMap", "fresh", "c")).await.is_some(),
        "dry run passed before the namespace existed"
    );
    assert_eq!(summary(&execution)[0], "Namespace/fresh PreSync Running Synced");

    // Existing namespace with someone else's label: the managed metadata is applied, theirs stays.
    let mut ns = ns;
    ns["metadata"]["labels"]["other"] = json!("x");
    w.cluster.replace(&ns, &Default::default()).await.expect("labelled");
    ctx.managed_namespace_metadata =
        Some(serde_json::from_value(json!({"labels": {"team": "web"}})).expect("metadata"));
    let plan = support::plan(&w, &s, &[]).await;
    let mut execution = Execution::new(plan, ctx, None);
    let (ok, message) = run(&w, &mut execution).await;
    assert!(ok, "{message}");
    let ns = get(&w, &key("", "Namespace", "", "fresh")).await.expect("exists");
    assert_eq!(ns["metadata"]["labels"]["team"], "web");
    assert_eq!(ns["metadata"]["labels"]["other"], "x");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_server_side_and_replace_strategies() {
    let w = world().await;
    let desired = vec![
        config_map("csa", None),
        config_map("ssa", Some("ServerSideApply=true")),
        config_map("replaced", Some("Replace=true")),
    ];
    let (execution, ok, message) = sync(&w, &Sync::new(desired.clone()), &[]).await;
    assert!(ok, "{message}");
    let csa = get(&w, &key("", "ConfigMap", "default", "csa")).await.expect("csa");
    assert!(csa["metadata"]["annotations"][LAST_APPLIED].is_string(), "client-side apply keeps last-applied");
    let ssa = get(&w, &key("", "ConfigMap", "default", "ssa")).await.expect("ssa");
    assert!(ssa["metadata"]["annotations"][LAST_APPLIED].is_null(), "no last-applied with SSA");
    let managers: Vec<&str> = ssa["metadata"]["managedFields"]
        .as_array()
        .map(|m| m.iter().filter_map(|e| e["manager"].as_str()).collect())
        .unwrap_or_default();
    assert!(managers.contains(&"argocd-controller"), "{managers:?}");
    assert_eq!(
        ssa["metadata"]["managedFields"][0]["operation"], "Apply",
        "server-side apply records an Apply operation"
    );
    let messages: Vec<String> = execution.results().iter().filter_map(|r| r.message.clone()).collect();
    assert!(messages.contains(&"configmap/replaced created".to_string()), "{messages:?}");

    // Changed data: CSA configures, SSA applies, Replace replaces (dropping fields not given).
    let mut changed = desired;
    for d in &mut changed {
        d["data"] = json!({"b": "2"});
    }
    let (execution, ok, message) = sync(&w, &Sync::new(changed), &[]).await;
    assert!(ok, "{message}");
    let messages: Vec<String> = execution.results().iter().filter_map(|r| r.message.clone()).collect();
    for expected in
        ["configmap/csa configured", "configmap/ssa serverside-applied", "configmap/replaced replaced"]
    {
        assert!(messages.contains(&expected.to_string()), "{expected}: {messages:?}");
    }
    let csa = get(&w, &key("", "ConfigMap", "default", "csa")).await.expect("csa");
    assert_eq!(csa["data"], json!({"b": "2"}), "the three-way patch removed a, added b");
    let replaced = get(&w, &key("", "ConfigMap", "default", "replaced")).await.expect("replaced");
    assert_eq!(replaced["data"], json!({"b": "2"}));
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_failure_stops_before_any_write_and_a_crd_in_the_same_sync_is_fine() {
    let w = world().await;
    let desired = yaml(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: first}
data: {a: "1"}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: 1}
"#,
    );
    let (execution, ok, message) = sync(&w, &Sync::new(desired.clone()), &[]).await;
    assert!(!ok);
    assert!(message.starts_with("one or more synchronization tasks are not valid, reason:"), "{message}");
    assert!(message.contains("Widget"), "{message}");
    assert!(get(&w, &key("", "ConfigMap", "default", "first")).await.is_none(), "nothing was applied");
    assert_eq!(execution.timings().first_write, None);
    assert!(
        summary(&execution).iter().any(|s| s.starts_with("Widget/w Sync - SyncFailed")),
        "{:?}",
        summary(&execution)
    );

    let mut with_crd = desired;
    with_crd.push(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }));
    // A dry-run operation (`argocd app sync --dry-run`) validates everything and writes nothing.
    let mut validate_only = Sync::new(with_crd.clone());
    validate_only.dry_run = true;
    let (execution, ok, message) = sync(&w, &validate_only, &[]).await;
    assert!(ok, "{message}: {:#?}", execution.results());
    assert_result(&execution, "ConfigMap/first Sync Succeeded Synced");
    let first = execution.results().into_iter().find(|r| r.name.as_deref() == Some("first")).expect("result");
    assert_eq!(first.message.as_deref(), Some("configmap/first created (server dry run)"));
    assert!(get(&w, &key("", "ConfigMap", "default", "first")).await.is_none(), "a dry run writes nothing");

    let (execution, ok, message) = sync(&w, &Sync::new(with_crd), &[]).await;
    assert!(ok, "{message}: {:#?}", execution.results());
    assert!(get(&w, &key("example.com", "Widget", "default", "w")).await.is_some());
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_execution_finishes_without_re_running_a_finished_hook() {
    let w = world().await;
    let s = Sync::new(yaml(LIFECYCLE));
    let plan = support::plan(&w, &s, &[]).await;
    let mut first = Execution::new(plan.clone(), context(&s), None);
    // Advance until both PreSync hooks finished, then "crash".
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let progress = first.advance(&w.executor).await;
        assert!(matches!(progress, Progress::Running { .. }), "finished too early: {progress:?}");
        let done = summary(&first).iter().filter(|s| s.contains("PreSync Succeeded")).count();
        if done == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "PreSync hooks never finished");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let persisted = first.results();
    drop(first);
    let migrate = get(&w, &key("batch", "Job", "default", "db-migrate")).await.expect("hook ran");
    let uid = migrate["metadata"]["uid"].clone();

    let mut resumed = Execution::new(plan, context(&s), Some(&persisted));
    let (ok, message) = run(&w, &mut resumed).await;
    assert!(ok, "{message}: {:#?}", resumed.results());
    let migrate = get(&w, &key("batch", "Job", "default", "db-migrate")).await.expect("hook kept");
    assert_eq!(migrate["metadata"]["uid"], uid, "the finished PreSync hook was not re-created");
    assert!(get(&w, &key("apps", "Deployment", "default", "my-app")).await.is_some(), "Sync phase ran");
    assert_result(&resumed, "Job/smoke-test PostSync Succeeded -");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_deletes_a_running_hook_and_fails_the_operation() {
    let w = world().await;
    let desired = yaml(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: forever
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  restartPolicy: Never
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: never}
data: {a: "1"}
"#,
    );
    let s = Sync::new(desired);
    let plan = support::plan(&w, &s, &[]).await;
    let mut execution = Execution::new(plan, context(&s), None);
    // The controller runs executions on spawned tasks: the future must be `Send`.
    fn send<T: Send>(future: T) -> T {
        future
    }
    for _ in 0..5 {
        assert!(matches!(send(execution.advance(&w.executor)).await, Progress::Running { .. }));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(execution.message(), "waiting for completion of hook /Pod/forever");
    let pod = get(&w, &key("", "Pod", "default", "forever")).await.expect("hook running");
    assert!(finalizers(&pod).contains(&HOOK_FINALIZER.to_string()), "a running hook carries the finalizer");
    execution.terminate(&w.executor).await;
    assert_eq!(execution.outcome(), Some((false, "Operation terminated")));
    assert_eq!(
        execution.advance(&w.executor).await,
        Progress::Finished { succeeded: false, message: "Operation terminated".into() }
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while get(&w, &key("", "Pod", "default", "forever")).await.is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the hook Pod was not deleted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(get(&w, &key("", "ConfigMap", "default", "never")).await.is_none());
    assert_eq!(summary(&execution), vec!["Pod/forever PreSync Failed -"]);
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_replace_recreates_and_skip_dry_run_defers_a_missing_kind_to_the_apply() {
    let w = world().await;
    let forced = vec![config_map("forced", Some("Replace=true,Force=true"))];
    let (_, ok, message) = sync(&w, &Sync::new(forced.clone()), &[]).await;
    assert!(ok, "{message}");
    let uid = get(&w, &key("", "ConfigMap", "default", "forced")).await.expect("created")["metadata"]["uid"]
        .clone();
    let (execution, ok, message) = sync(&w, &Sync::new(forced), &[]).await;
    assert!(ok, "{message}");
    let again = get(&w, &key("", "ConfigMap", "default", "forced")).await.expect("re-created");
    assert_ne!(again["metadata"]["uid"], uid, "Force=true with Replace deletes and re-creates");
    assert_eq!(execution.results()[0].message.as_deref(), Some("configmap/forced replaced"));

    let missing = yaml(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: before-gadget}
data: {a: "1"}
---
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g
  annotations: {argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true}
"#,
    );
    let (execution, ok, message) = sync(&w, &Sync::new(missing), &[]).await;
    assert!(!ok);
    assert!(message.starts_with("one or more objects failed to apply, reason: "), "{message}");
    assert!(message.contains("Gadget"), "{message}");
    assert!(get(&w, &key("", "ConfigMap", "default", "before-gadget")).await.is_some(), "the dry run passed");
    assert_result(&execution, "Gadget/g Sync Failed SyncFailed");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_deletion_plan_runs_pre_delete_hooks_then_deletes_and_keeps_delete_false() {
    let w = world().await;
    let objects = vec![config_map("gone", None), config_map("kept", Some("Delete=false"))];
    let (_, ok, message) = sync(&w, &Sync::new(objects), &[]).await;
    assert!(ok, "{message}");
    let hooks = yaml(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: cleanup
  annotations: {argocd.argoproj.io/hook: PreDelete}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    );
    let live = support::live_of(
        &w,
        &[key("", "ConfigMap", "default", "gone"), key("", "ConfigMap", "default", "kept")],
    )
    .await;
    let plan = tiphys_sync::plan_deletion(&hooks, &live, "default", &Default::default(), "foreground")
        .expect("plan");
    let mut s = Sync::new(hooks);
    s.namespace = "default".into();
    let mut execution = Execution::new(plan, context(&s), None);
    let (ok, message) = run(&w, &mut execution).await;
    assert!(ok, "{message}: {:#?}", execution.results());
    assert!(get(&w, &key("", "ConfigMap", "default", "gone")).await.is_none(), "deleted");
    assert!(get(&w, &key("", "ConfigMap", "default", "kept")).await.is_some(), "Delete=false keeps it");
    let summary = summary(&execution);
    assert_eq!(summary[0], "Job/cleanup PreDelete Succeeded -", "{summary:?}");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreground_prune_waits_until_the_object_and_its_dependents_are_gone() {
    let w = world().await;
    let web = yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: old-web}
spec:
  replicas: 2
  selector: {matchLabels: {app: old-web}}
  template:
    metadata: {labels: {app: old-web}}
    spec:
      containers: [{name: c, image: nginx}]
"#,
    );
    let (_, ok, message) = sync(&w, &Sync::new(web), &[]).await;
    assert!(ok, "{message}");
    let old = key("apps", "Deployment", "default", "old-web");
    // Wait for the simulator's ReplicaSet, so the foreground deletion has a dependent to wait on.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while get(&w, &old).await.is_none_or(|d| d["status"]["readyReplicas"] != 2) {
        assert!(tokio::time::Instant::now() < deadline, "old-web never became ready");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut pruning = Sync::new(vec![config_map("other", None)]);
    pruning.prune = true;
    let (execution, ok, message) = sync(&w, &pruning, std::slice::from_ref(&old)).await;
    assert!(ok, "{message}: {:#?}", execution.results());
    assert!(get(&w, &old).await.is_none(), "the operation ended only once the Deployment was gone");
    assert_result(&execution, "Deployment/old-web Sync Succeeded Pruned");
    w.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_the_sync_fail_hook_runs_finishes_the_failed_operation() {
    let w = world().await;
    let desired = with_annotation(yaml(LIFECYCLE), "db-migrate", "sandbox.tiphys.io/fail-job", "true");
    let s = Sync::new(desired);
    let plan = support::plan(&w, &s, &[]).await;
    let mut first = Execution::new(plan.clone(), context(&s), None);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !summary(&first).iter().any(|l| l.starts_with("Job/notify-sync-failure SyncFail Running")) {
        assert!(matches!(first.advance(&w.executor).await, Progress::Running { .. }), "finished too early");
        assert!(tokio::time::Instant::now() < deadline, "the SyncFail hook never started");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let persisted = first.results();
    drop(first);
    let mut resumed = Execution::new(plan, context(&s), Some(&persisted));
    let (ok, message) = run(&w, &mut resumed).await;
    assert!(!ok);
    assert!(message.starts_with("one or more synchronization tasks completed unsuccessfully"), "{message}");
    assert!(message.contains("db-migrate"), "{message}");
    assert_result(&resumed, "Job/notify-sync-failure SyncFail Succeeded -");
    assert!(get(&w, &key("apps", "Deployment", "default", "my-app")).await.is_none(), "Sync phase never ran");
    w.sandbox.shutdown().await;
}
