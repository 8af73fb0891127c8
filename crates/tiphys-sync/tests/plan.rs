//! Ordering rules and options of the planner, each asserted on a small set of objects.

use serde_json::{Value, json};
use tiphys_resource::ResourceKey;
use tiphys_sync::hooks::{HookDeletePolicy, HookType};
use tiphys_sync::{
    Action, AppSyncOptions, ApplyStrategy, PlanInput, SelectedResource, Strategy, SyncError, SyncOperation,
    SyncPhase, SyncPlan, plan, plan_deletion,
};

fn obj(api: &str, kind: &str, name: &str, annotations: Value) -> Value {
    json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "annotations": annotations}})
}

fn cm(name: &str, annotations: Value) -> Value {
    obj("v1", "ConfigMap", name, annotations)
}

fn input<'a>(desired: &'a [Value], live: &'a [Value]) -> PlanInput<'a> {
    PlanInput { desired, live, namespace: "shop".into(), namespace_exists: true, ..Default::default() }
}

fn order(p: &SyncPlan) -> Vec<String> {
    p.tasks.iter().map(|t| format!("{:?}/{} {}/{}", t.phase, t.wave, t.key.kind, t.key.name)).collect()
}

#[test]
fn seed_hook_lifecycle() {
    let desired = tiphys_resource::yaml::parse_stream(include_str!("fixtures/hook-lifecycle.yaml")).unwrap();
    let p = plan(&input(&desired, &[])).unwrap();
    assert_eq!(
        order(&p),
        vec![
            "PreSync/-1 Job/db-migrate",
            "PreSync/0 Job/seed-data",
            "Sync/0 ConfigMap/app-config",
            "Sync/0 Service/my-app",
            "Sync/0 Deployment/my-app",
            "PostSync/0 Job/smoke-test",
            "SyncFail/0 Job/notify-sync-failure",
        ]
    );
    let steps: Vec<(SyncPhase, i32)> = p.steps().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        steps,
        vec![
            (SyncPhase::PreSync, -1),
            (SyncPhase::PreSync, 0),
            (SyncPhase::Sync, 0),
            (SyncPhase::PostSync, 0)
        ]
    );
    assert_eq!(p.sync_fail_tasks().len(), 1);
    assert!(p.multi_step);
    let smoke = &p.tasks[5];
    let hook = smoke.hook.as_ref().unwrap();
    assert_eq!(hook.hook_type, HookType::PostSync);
    assert_eq!(
        hook.delete_policies,
        vec![HookDeletePolicy::HookSucceeded, HookDeletePolicy::BeforeHookCreation]
    );
    assert_eq!(
        p.tasks[1].hook.as_ref().unwrap().delete_policies,
        vec![HookDeletePolicy::BeforeHookCreation],
        "default policy"
    );
    assert_eq!(p.tasks[2].key.namespace, "shop");
    assert_eq!(p.tasks[2].target(&desired).unwrap()["metadata"]["namespace"], json!("shop"));
    assert_eq!(p.tasks[2].target(&desired).unwrap()["data"], json!({"a": "1"}));
}

#[test]
fn kind_order_inside_a_wave_then_name_and_unknown_kinds_last() {
    let desired = vec![
        obj("example.com/v1", "Widget", "a", json!({})),
        obj("apps/v1", "Deployment", "b", json!({})),
        obj("apps/v1", "Deployment", "a", json!({})),
        obj("v1", "Service", "z", json!({})),
        obj("v1", "ServiceAccount", "sa", json!({})),
        obj("v1", "Secret", "s", json!({})),
        obj("networking.k8s.io/v1", "NetworkPolicy", "np", json!({})),
        obj("networking.k8s.io/v1", "Ingress", "i", json!({})),
        obj("networking.k8s.io/v1", "IngressClass", "ic", json!({})),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr", json!({})),
        obj("v1", "PersistentVolumeClaim", "pvc", json!({})),
    ];
    let p = plan(&input(&desired, &[])).unwrap();
    let kinds: Vec<String> = p.tasks.iter().map(|t| format!("{}/{}", t.key.kind, t.key.name)).collect();
    assert_eq!(
        kinds,
        vec![
            "NetworkPolicy/np",
            "ServiceAccount/sa",
            "Secret/s",
            "PersistentVolumeClaim/pvc",
            "ClusterRole/cr",
            "Service/z",
            "Deployment/a",
            "Deployment/b",
            "IngressClass/ic",
            "Ingress/i",
            "Widget/a"
        ]
    );
    assert!(!p.multi_step);
}

#[test]
fn waves_order_before_kinds_and_bad_waves_are_zero() {
    let desired = vec![
        cm("late", json!({"argocd.argoproj.io/sync-wave": "5"})),
        obj("v1", "Namespace", "x", json!({"argocd.argoproj.io/sync-wave": "2"})),
        cm("early", json!({"argocd.argoproj.io/sync-wave": "-3"})),
        cm("bad", json!({"argocd.argoproj.io/sync-wave": "soon"})),
    ];
    let p = plan(&input(&desired, &[])).unwrap();
    assert_eq!(
        order(&p),
        vec![
            "Sync/-3 ConfigMap/early",
            "Sync/0 ConfigMap/bad",
            "Sync/2 Namespace/x",
            "Sync/5 ConfigMap/late"
        ]
    );
}

#[test]
fn namespace_and_crd_move_before_their_first_user() {
    let mut in_ns = cm("in-team", json!({"argocd.argoproj.io/sync-wave": "-5"}));
    in_ns["metadata"]["namespace"] = json!("team");
    let team = obj("v1", "Namespace", "team", json!({"argocd.argoproj.io/sync-wave": "3"}));
    let mut crd = obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "widgets.example.com",
        json!({"argocd.argoproj.io/sync-wave": "4"}),
    );
    crd["spec"] = json!({"group": "example.com", "names": {"kind": "Widget"}});
    let widget = obj("example.com/v1", "Widget", "w", json!({"argocd.argoproj.io/sync-wave": "-1"}));
    let desired = vec![in_ns, team, crd, widget];
    let p = plan(&input(&desired, &[])).unwrap();
    assert_eq!(
        order(&p),
        vec![
            "Sync/-5 Namespace/team",
            "Sync/-5 ConfigMap/in-team",
            "Sync/-1 CustomResourceDefinition/widgets.example.com",
            "Sync/-1 Widget/w"
        ]
    );
}

#[test]
fn helm_hooks_and_weights() {
    let desired = vec![
        obj(
            "batch/v1",
            "Job",
            "helm-pre",
            json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-2", "helm.sh/hook-delete-policy": "hook-succeeded"}),
        ),
        obj("batch/v1", "Job", "helm-post", json!({"helm.sh/hook": "post-install"})),
        obj("v1", "ConfigMap", "crds", json!({"helm.sh/hook": "crd-install"})),
        obj("v1", "Pod", "helm-test", json!({"helm.sh/hook": "test"})),
    ];
    let p = plan(&input(&desired, &[])).unwrap();
    assert_eq!(
        order(&p),
        vec![
            "PreSync/-2 Job/helm-pre",
            "Sync/0 ConfigMap/crds",
            "Sync/0 Pod/helm-test",
            "PostSync/0 Job/helm-post"
        ]
    );
    assert_eq!(p.tasks[0].hook.as_ref().unwrap().delete_policies, vec![HookDeletePolicy::HookSucceeded]);
}

#[test]
fn multi_phase_hooks_skip_and_generate_name() {
    let mut gen_hook = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "Migrate-", "annotations": {"argocd.argoproj.io/hook": "PreSync,PostSync"}}});
    gen_hook["spec"] = json!({});
    let desired = vec![gen_hook, cm("docs", json!({"argocd.argoproj.io/hook": "Skip"}))];
    let mut i = input(&desired, &[]);
    i.operation = SyncOperation {
        revision: "ABCDEF0123456789".into(),
        started_at_unix: 1_700_000_000,
        ..Default::default()
    };
    let p = plan(&i).unwrap();
    assert_eq!(
        order(&p),
        vec![
            "PreSync/0 Job/Migrate-abcdef0-presync-1700000000",
            "PostSync/0 Job/Migrate-abcdef0-postsync-1700000000"
        ]
    );
    let target = p.tasks[0].target(&desired).unwrap();
    assert_eq!(target["metadata"]["name"], json!("Migrate-abcdef0-presync-1700000000"));
    assert_eq!(target["metadata"]["namespace"], json!("shop"));
    assert!(p.tasks[0].hook.as_ref().unwrap().generated_name);
}

#[test]
fn apply_strategy_and_selective_sync_skip_hooks() {
    let desired = tiphys_resource::yaml::parse_stream(include_str!("fixtures/hook-lifecycle.yaml")).unwrap();
    let mut i = input(&desired, &[]);
    i.operation.strategy = Strategy::Apply;
    assert!(plan(&i).unwrap().tasks.iter().all(|t| t.hook.is_none()));
    let mut i = input(&desired, &[]);
    i.operation.resources = vec![SelectedResource {
        group: String::new(),
        kind: "ConfigMap".into(),
        name: "app-config".into(),
        namespace: String::new(),
    }];
    assert_eq!(order(&plan(&i).unwrap()), vec!["Sync/0 ConfigMap/app-config"]);
}

fn live(name: &str, annotations: Value) -> Value {
    let mut o = cm(name, annotations);
    o["metadata"]["namespace"] = json!("shop");
    o
}

#[test]
fn prune_tasks_need_prune_and_respect_prune_false() {
    let desired = vec![cm("keep", json!({}))];
    let lives = vec![
        live("keep", json!({})),
        live("old", json!({})),
        live("pinned", json!({"argocd.argoproj.io/sync-options": "Prune=false"})),
    ];
    let p = plan(&input(&desired, &lives)).unwrap();
    let actions: Vec<(String, Action)> =
        p.tasks.iter().map(|t| (t.key.name.clone(), t.action.clone())).collect();
    assert!(
        actions
            .contains(&("old".into(), Action::PruneSkipped { reason: "ignored (requires pruning)".into() }))
    );
    assert!(
        actions.contains(&("pinned".into(), Action::PruneSkipped { reason: "ignored (no prune)".into() }))
    );
    let mut i = input(&desired, &lives);
    i.operation.prune = true;
    i.options = AppSyncOptions(vec!["PrunePropagationPolicy=background".into()]);
    let p = plan(&i).unwrap();
    let old = p.tasks.iter().find(|t| t.key.name == "old").unwrap();
    assert_eq!(old.action, Action::Prune { propagation_policy: "background".into() });
    assert!(old.live_exists && old.target(&desired).is_none());
    let pinned = p.tasks.iter().find(|t| t.key.name == "pinned").unwrap();
    assert!(matches!(pinned.action, Action::PruneSkipped { .. }));
}

#[test]
fn prune_waves_are_mirrored_and_prune_last_goes_after_the_last_sync_wave() {
    let desired = vec![cm("app", json!({"argocd.argoproj.io/sync-wave": "4"}))];
    let lives = vec![
        live("w1", json!({"argocd.argoproj.io/sync-wave": "1"})),
        live("w2", json!({"argocd.argoproj.io/sync-wave": "2"})),
        live("w3", json!({"argocd.argoproj.io/sync-wave": "3"})),
        live(
            "last",
            json!({"argocd.argoproj.io/sync-wave": "1", "argocd.argoproj.io/sync-options": "PruneLast=true"}),
        ),
    ];
    let mut i = input(&desired, &lives);
    i.operation.prune = true;
    let p = plan(&i).unwrap();
    assert_eq!(
        order(&p),
        vec![
            "Sync/1 ConfigMap/w3",
            "Sync/2 ConfigMap/w2",
            "Sync/3 ConfigMap/w1",
            "Sync/4 ConfigMap/app",
            "Sync/5 ConfigMap/last"
        ]
    );
    i.options = AppSyncOptions(vec!["PruneLast=true".into()]);
    let p = plan(&i).unwrap();
    assert_eq!(order(&p)[0], "Sync/4 ConfigMap/app");
    assert!(p.tasks[1..].iter().all(|t| t.wave == 5));
}

#[test]
fn per_resource_and_app_level_apply_options() {
    let desired = vec![
        cm("plain", json!({})),
        cm("replace", json!({"argocd.argoproj.io/sync-options": "Replace=true,ServerSideApply=true"})),
        cm("ssa-off", json!({"argocd.argoproj.io/sync-options": "ServerSideApply=false"})),
        cm(
            "force",
            json!({"argocd.argoproj.io/sync-options": "Force=true,Replace=true,Validate=false,SkipDryRunOnMissingResource=true"}),
        ),
    ];
    let mut i = input(&desired, &[]);
    i.options = AppSyncOptions(vec!["ServerSideApply=true".into()]);
    let p = plan(&i).unwrap();
    let action = |n: &str| p.tasks.iter().find(|t| t.key.name == n).unwrap().action.clone();
    assert_eq!(
        action("plain"),
        Action::Apply {
            strategy: ApplyStrategy::ServerSideApply,
            force: false,
            validate: true,
            skip_dry_run: false
        }
    );
    assert_eq!(
        action("replace"),
        Action::Apply { strategy: ApplyStrategy::Replace, force: false, validate: true, skip_dry_run: false }
    );
    assert_eq!(
        action("ssa-off"),
        Action::Apply {
            strategy: ApplyStrategy::ClientSideApply,
            force: false,
            validate: true,
            skip_dry_run: false
        }
    );
    assert_eq!(
        action("force"),
        Action::Apply { strategy: ApplyStrategy::Replace, force: true, validate: false, skip_dry_run: true }
    );
    let mut forced = input(&desired[..1], &[]);
    forced.operation.force = true;
    assert!(matches!(plan(&forced).unwrap().tasks[0].action, Action::Apply { force: true, .. }));
}

#[test]
fn apply_out_of_sync_only_skips_synced_resources() {
    let desired = vec![cm("same", json!({})), cm("changed", json!({})), cm("new", json!({}))];
    let lives = vec![live("same", json!({})), live("changed", json!({}))];
    let mut i = input(&desired, &lives);
    i.in_sync.insert(ResourceKey::new("", "ConfigMap", "shop", "same"));
    assert_eq!(plan(&i).unwrap().tasks.len(), 3);
    i.options = AppSyncOptions(vec!["ApplyOutOfSyncOnly=true".into()]);
    let names: Vec<String> = plan(&i).unwrap().tasks.iter().map(|t| t.key.name.clone()).collect();
    assert_eq!(names, vec!["changed", "new"]);
}

#[test]
fn create_namespace_adds_a_presync_task_only_when_needed() {
    let desired = vec![cm("a", json!({}))];
    let mut i = input(&desired, &[]);
    i.options = AppSyncOptions(vec!["CreateNamespace=true".into()]);
    i.namespace_exists = false;
    let p = plan(&i).unwrap();
    assert_eq!(order(&p), vec!["PreSync/0 Namespace/shop", "Sync/0 ConfigMap/a"]);
    assert_eq!(p.tasks[0].action, Action::CreateNamespace);
    assert_eq!(
        p.tasks[0].target(&desired).unwrap(),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    );
    i.namespace_exists = true;
    assert_eq!(plan(&i).unwrap().tasks.len(), 1);
}

#[test]
fn fail_on_shared_resource() {
    let desired = vec![cm("shared", json!({}))];
    let mut i = input(&desired, &[]);
    i.shared.insert(ResourceKey::new("", "ConfigMap", "shop", "shared"), "other-app".into());
    assert!(plan(&i).is_ok(), "only with the option");
    i.options = AppSyncOptions(vec!["FailOnSharedResource=true".into()]);
    let err = plan(&i).unwrap_err();
    assert!(matches!(err, SyncError::SharedResource { ref other_app, .. } if other_app == "other-app"));
    assert!(err.to_string().contains("/ConfigMap/shop/shared"));
}

#[test]
fn dry_run_is_carried_in_the_plan() {
    let desired = vec![cm("a", json!({}))];
    let mut i = input(&desired, &[]);
    i.operation.dry_run = true;
    assert!(plan(&i).unwrap().dry_run);
}

#[test]
fn deletion_plan_runs_pre_and_post_delete_hooks_and_keeps_delete_false() {
    let desired = vec![
        obj("batch/v1", "Job", "before", json!({"argocd.argoproj.io/hook": "PreDelete"})),
        obj("batch/v1", "Job", "after", json!({"argocd.argoproj.io/hook": "PostDelete"})),
        cm("a", json!({})),
    ];
    let lives =
        vec![live("a", json!({})), live("kept", json!({"argocd.argoproj.io/sync-options": "Delete=false"}))];
    let p = plan_deletion(&desired, &lives, "shop", &AppSyncOptions::default(), "foreground").unwrap();
    assert_eq!(
        order(&p),
        vec![
            "PreDelete/0 Job/before",
            "Sync/0 ConfigMap/a",
            "Sync/0 ConfigMap/kept",
            "PostDelete/0 Job/after"
        ]
    );
    assert_eq!(p.tasks[2].action, Action::DeleteSkipped);
}

#[test]
fn plan_serializes_for_humans_and_executors() {
    let desired = tiphys_resource::yaml::parse_stream(include_str!("fixtures/hook-lifecycle.yaml")).unwrap();
    let p = plan(&input(&desired, &[])).unwrap();
    let text = serde_json::to_string(&p).unwrap();
    let back: SyncPlan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    assert!(text.contains("\"hookType\":\"PreSync\""));
}

#[test]
fn bad_objects_are_errors() {
    let desired = vec![json!({"kind": "ConfigMap"})];
    assert!(plan(&input(&desired, &[])).is_err());
}

#[test]
fn cluster_scoped_custom_resource_without_namespace_is_not_pruned() {
    let desired = vec![obj("cert-manager.io/v1", "ClusterIssuer", "letsencrypt", json!({}))];
    let live = vec![obj("cert-manager.io/v1", "ClusterIssuer", "letsencrypt", json!({}))];
    let mut i = input(&desired, &live);
    i.operation.prune = true;
    let p = plan(&i).unwrap();
    assert_eq!(p.tasks.len(), 1, "{:?}", order(&p));
    assert!(matches!(p.tasks[0].action, Action::Apply { .. }));
    // Without discovery a custom kind's scope is unknown: both sides get the destination
    // namespace in their key (and upstream sets it on every target), so they still match.
    assert_eq!(p.tasks[0].key.namespace, "shop");
    assert!(p.tasks[0].live_exists);
}
