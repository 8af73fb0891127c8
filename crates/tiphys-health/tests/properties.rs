//! No object and no script makes the crate panic; every outcome is a status.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tiphys_health::{AssessOptions, HealthAssessor, Limits, ManagedResource, ResourceOverrides, RunContext};

const KINDS: [(&str, &str); 14] = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("v1", "PersistentVolumeClaim"),
    ("batch/v1", "Job"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("argoproj.io/v1alpha1", "Application"),
    ("example.com/v1", "Widget"),
];

/// Field names the checks read, so random objects reach deep into the rules.
const FIELDS: [&str; 24] = [
    "status",
    "spec",
    "metadata",
    "replicas",
    "updatedReplicas",
    "availableReplicas",
    "readyReplicas",
    "observedGeneration",
    "generation",
    "conditions",
    "type",
    "reason",
    "message",
    "phase",
    "containerStatuses",
    "state",
    "waiting",
    "terminated",
    "restartPolicy",
    "paused",
    "loadBalancer",
    "ingress",
    "annotations",
    "health",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        prop_oneof![
            Just("True".to_string()),
            Just("Running".to_string()),
            Just("CrashLoopBackOff".to_string()),
            ".{0,8}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    (prop::sample::select(KINDS.to_vec()), json_value(), json_value(), json_value()).prop_map(
        |((api, kind), spec, status, meta)| {
            let mut o =
                json!({"apiVersion": api, "kind": kind, "spec": spec, "status": status, "metadata": meta});
            if !o["metadata"].is_object() {
                o["metadata"] = json!({"name": "x"});
            }
            o
        },
    )
}

/// Lua fragments that combine into syntactically odd, erroring, looping or valid scripts.
const FRAGMENTS: [&str; 24] = [
    "hs = {}",
    "hs.status = 'Healthy'",
    "hs.status = obj.kind",
    "hs.message = tostring(obj.status)",
    "return hs",
    "return obj",
    "return",
    "if obj.status then",
    "else",
    "end",
    "for k, v in pairs(obj) do",
    "while false do",
    "error('x')",
    "local t = {}",
    "t[#t+1] = t",
    "return t",
    "obj.status.x.y = 1",
    "goto done",
    "::done::",
    "return {status = 1}",
    "return {1, 2, 3}",
    "(",
    "'unterminated",
    "string.rep('x', 100)",
];

fn script() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS.to_vec()), 0..12).prop_map(|parts| parts.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_object_panics_the_built_in_checks(o in object()) {
        let a = HealthAssessor::new(ResourceOverrides::default(), AssessOptions { assess_applications: true, ..Default::default() });
        let _ = a.resource_health(&o, &RunContext::default());
        let resources = [ManagedResource { target: Some(&o), live: Some(&o) }, ManagedResource { target: Some(&o), live: None }];
        let _ = a.application_health(&resources, None, &RunContext::default());
    }

    #[test]
    fn no_script_panics_and_every_outcome_is_a_status(s in script(), o in object(), open in any::<bool>()) {
        let mut data = std::collections::BTreeMap::new();
        for (_, kind) in KINDS {
            data.insert(format!("resource.customizations.health.{kind}"), s.clone());
        }
        data.insert("resource.customizations.health.example.com_Widget".to_string(), s.clone());
        data.insert("resource.customizations.useOpenLibs.example.com_Widget".to_string(), open.to_string());
        data.insert(
            "resource.customizations.actions.example.com_Widget".to_string(),
            format!("discovery.lua: {s:?}\ndefinitions:\n- name: a\n  action.lua: {s:?}\n"),
        );
        let overrides = ResourceOverrides::from_data(&data).unwrap();
        let limits = Limits { instructions: 100_000, memory_bytes: 4 * 1024 * 1024 };
        let a = HealthAssessor::new(overrides, AssessOptions { limits, ..Default::default() });
        let ctx = RunContext::default();
        let _ = a.resource_health(&o, &ctx);
        let _ = a.list_actions(&o, &ctx);
        let _ = a.run_action(&o, "a", &[], &ctx);
    }

    #[test]
    fn no_argocd_cm_panics_the_settings_parser(keys in prop::collection::vec(("[a-zA-Z._*/-]{0,40}", ".{0,40}"), 0..6)) {
        let data = keys.into_iter().map(|(k, v)| (format!("resource.customizations{k}"), v)).collect();
        let _ = ResourceOverrides::from_data(&data);
    }
}
