//! No input panics the planner: random annotations, names and kinds, random options.

use proptest::prelude::*;
use serde_json::{Value, json};
use tiphys_sync::{AppSyncOptions, PlanInput, SyncOperation, plan, plan_deletion};

fn annotation_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("PreSync,PostSync".to_string()),
        Just("Skip".to_string()),
        Just("SyncFail".to_string()),
        Just("pre-install".to_string()),
        Just("-3".to_string()),
        Just("99999999999999".to_string()),
        Just("Prune=false,PruneLast=true".to_string()),
        Just("Replace=true".to_string()),
        ".{0,12}",
    ]
}

fn object() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["Namespace", "ConfigMap", "Job", "CustomResourceDefinition", "Widget", ""]),
        prop::sample::select(vec!["v1", "batch/v1", "apiextensions.k8s.io/v1", "x.io/v1", "/bad"]),
        "[a-z]{0,3}",
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "argocd.argoproj.io/hook",
                    "argocd.argoproj.io/sync-wave",
                    "argocd.argoproj.io/sync-options",
                    "argocd.argoproj.io/hook-delete-policy",
                    "helm.sh/hook",
                    "helm.sh/hook-weight",
                ]),
                annotation_value(),
            ),
            0..4,
        ),
        prop::option::of("[a-z]{0,2}"),
    )
        .prop_map(|(kind, api, name, anns, ns)| {
            let a: serde_json::Map<String, Value> = anns.into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect();
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns, "annotations": a, "generateName": "g-"},
                "spec": {"group": "x.io", "names": {"kind": "Widget"}}})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn planner_never_panics(desired in prop::collection::vec(object(), 0..8), live in prop::collection::vec(object(), 0..8),
                            opts in prop::collection::vec(annotation_value(), 0..4), prune in any::<bool>(), rev in ".{0,10}") {
        let options = AppSyncOptions(opts);
        let input = PlanInput { desired: &desired, live: &live, options: options.clone(), namespace: "ns".into(),
            operation: SyncOperation { prune, revision: rev, started_at_unix: -5, ..Default::default() }, ..Default::default() };
        if let Ok(p) = plan(&input) {
            let _ = p.steps();
            let _ = serde_json::to_string(&p);
        }
        let _ = plan_deletion(&desired, &live, "ns", &options, "foreground");
    }
}
