//! Nothing panics on arbitrary JSON, and the algebraic properties the callers rely on hold.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tiphys_patch::{
    FieldSet, apply_json_patch, apply_merge_patch, apply_strategic_merge_patch, create_three_way_merge_patch,
    create_two_way_merge_patch, server_side_apply, update_managed_fields,
};
use tiphys_resource::GroupVersionKind;

mod support;
use support::random_deployment;

const KEYS: &[&str] = &[
    "spec",
    "template",
    "containers",
    "name",
    "image",
    "ports",
    "containerPort",
    "protocol",
    "env",
    "metadata",
    "labels",
    "finalizers",
    "strategy",
    "volumes",
    "a",
    "b",
    "type",
    "conditions",
];

const DIRECTIVES: &[&str] = &[
    "managedFields",
    "fieldsV1",
    "f:spec",
    "k:{\"name\":\"a\"}",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "operation",
    "manager",
    "Apply",
];

/// Arbitrary JSON biased towards the field names and directives the algorithms look at.
fn json_value() -> impl Strategy<Value = Value> {
    json_over(KEYS.iter().chain(DIRECTIVES).copied().collect(), true)
}

/// JSON over `keys`, with or without `null`s.
fn json_over(keys: Vec<&'static str>, nulls: bool) -> impl Strategy<Value = Value> {
    let key = prop::sample::select(keys);
    let null = if nulls { Just(Value::Null).boxed() } else { any::<bool>().prop_map(Value::Bool).boxed() };
    let leaf = prop_oneof![
        null,
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec!["a", "b", "replace", "delete", "merge", "Apply", "Update", "TCP", ""])
            .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| Value::Object(
                entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()
            )),
        ]
    })
}

fn kinds() -> impl Strategy<Value = GroupVersionKind> {
    prop::sample::select(vec![
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("batch/v1", "CronJob"),
        ("x.io/v1", "Widget"),
    ])
    .prop_map(|(v, k)| GroupVersionKind::from_api_version(v, k).expect("valid"))
}

/// Wraps a value so it reaches the pod template of a Deployment.
fn under_pod_spec(spec: Value) -> Value {
    let mut out = json!({"spec": {"template": {"spec": spec}}});
    if let Some(metadata) = spec.get("metadata") {
        out["metadata"] = metadata.clone();
    }
    out
}

/// Whether some list holds two elements with the same identity (equal scalars, or objects
/// with an equal merge key): Kubernetes rejects such lists, so no patch can describe them.
fn has_duplicates(value: &Value) -> bool {
    let same = |x: &Value, y: &Value| match (x, y) {
        (Value::Object(a), Value::Object(b)) => {
            ["name", "containerPort", "type"].iter().any(|k| a.get(*k).is_some() && a.get(*k) == b.get(*k))
        }
        (x, y) => x == y,
    };
    match value {
        Value::Array(items) => {
            items.iter().enumerate().any(|(i, x)| items[i + 1..].iter().any(|y| same(x, y)))
                || items.iter().any(has_duplicates)
        }
        Value::Object(map) => map.values().any(has_duplicates),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_global_rejects: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn nothing_panics(doc in json_value(), patch in json_value(), other in json_value(), gvk in kinds()) {
        let _ = apply_json_patch(&doc, &patch);
        let _ = apply_merge_patch(&doc, &patch);
        let _ = apply_strategic_merge_patch(&doc, &patch, &gvk);
        let _ = apply_strategic_merge_patch(&under_pod_spec(doc.clone()), &under_pod_spec(patch.clone()), &gvk);
        let _ = create_two_way_merge_patch(&doc, &patch, &gvk);
        let _ = create_three_way_merge_patch(&doc, &patch, &other, &gvk);
        let _ = server_side_apply(Some(&doc), &patch, "m", false, &gvk, "t");
        let _ = server_side_apply(Some(&under_pod_spec(doc.clone())), &under_pod_spec(patch.clone()), "m", true, &gvk, "t");
        let _ = update_managed_fields(Some(&doc), &patch, "m", &gvk, "t");
        let _ = FieldSet::from_fields_v1(&doc);
    }

    #[test]
    fn two_way_patch_turns_original_into_modified(
        a in json_over(KEYS.to_vec(), false),
        b in json_over(KEYS.to_vec(), false),
        gvk in kinds(),
    ) {
        // Objects without directives (keys starting with `$` are directives by definition) and
        // without nulls (a null in a patch means "delete").
        prop_assume!(a.is_object() && b.is_object() && !has_duplicates(&a) && !has_duplicates(&b));
        let (a, b) = if gvk.kind == "Deployment" { (under_pod_spec(a), under_pod_spec(b)) } else { (a, b) };
        if let Ok(patch) = create_two_way_merge_patch(&a, &b, &gvk)
            && let Ok(out) = apply_strategic_merge_patch(&a, &patch, &gvk)
        {
            prop_assert_eq!(out, b);
        }
    }

    #[test]
    fn fields_v1_round_trips(doc in json_value()) {
        if let Ok(set) = FieldSet::from_fields_v1(&doc) {
            let encoded = set.to_fields_v1();
            prop_assert_eq!(FieldSet::from_fields_v1(&encoded).ok(), Some(set));
        }
    }
}

fn without_managed_fields(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.remove("managedFields");
    }
    object
}

/// Whether every field of `part` is in `whole` with the same value (list elements matched
/// anywhere in the list).
fn contains(whole: &Value, part: &Value) -> bool {
    match (whole, part) {
        (Value::Object(w), Value::Object(p)) => {
            p.iter().all(|(k, v)| w.get(k).is_some_and(|wv| contains(wv, v)))
        }
        (Value::Array(w), Value::Array(p)) => {
            p.iter().all(|item| w.iter().any(|candidate| contains(candidate, item)))
        }
        (w, p) => w == p,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_sole_applier_gets_exactly_its_configuration(a in random_deployment(), b in random_deployment()) {
        let gvk = GroupVersionKind::from_api_version("apps/v1", "Deployment").expect("valid");
        let first = server_side_apply(None, &a, "x", false, &gvk, "t0").expect("create");
        prop_assert_eq!(without_managed_fields(&first), a.clone());
        let again = server_side_apply(Some(&first), &a, "x", false, &gvk, "t1").expect("re-apply");
        prop_assert_eq!(without_managed_fields(&again), a.clone());
        let changed = server_side_apply(Some(&first), &b, "x", false, &gvk, "t1").expect("own fields never conflict");
        prop_assert_eq!(without_managed_fields(&changed), b.clone());
    }

    #[test]
    fn a_forced_apply_always_lands(a in random_deployment(), b in random_deployment()) {
        let gvk = GroupVersionKind::from_api_version("apps/v1", "Deployment").expect("valid");
        let first = server_side_apply(None, &a, "x", false, &gvk, "t0").expect("create");
        let forced = server_side_apply(Some(&first), &b, "y", true, &gvk, "t1").expect("force never conflicts");
        prop_assert!(contains(&forced, &b), "{} does not contain {}", forced, b);
        if let Ok(polite) = server_side_apply(Some(&first), &b, "y", false, &gvk, "t1") {
            // Without conflicts, forcing changes nothing.
            prop_assert_eq!(polite, forced);
        }
    }
}
