//! Our generated CRDs against upstream Argo CD's (`../shared/fixtures/argocd-crds/`):
//! structural, same names and columns, and at least as permissive — every field upstream
//! declares exists with the same type, and we never require what upstream does not. Together
//! with the validator sharing these schemas, that is what makes "accepted upstream ⇒
//! accepted by us" hold.

use std::path::PathBuf;

use serde_json::Value;
use tiphys_model::crd::crds;
use tiphys_resource::yaml::parse_document;

fn upstream(file: &str) -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/argocd-crds").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (shared/ must sit beside the repository)", path.display()));
    parse_document(&text).unwrap()
}

/// (upstream, ours) for the three kinds, built once per test binary.
fn pairs() -> Vec<(Value, Value)> {
    static PAIRS: std::sync::OnceLock<Vec<(Value, Value)>> = std::sync::OnceLock::new();
    PAIRS
        .get_or_init(|| {
            ["application-crd.yaml", "appproject-crd.yaml", "applicationset-crd.yaml"]
                .iter()
                .zip(crds())
                .map(|(f, o)| (upstream(f), o))
                .collect()
        })
        .clone()
}

fn schema_of(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

/// Walks upstream's schema and reports every way ours is stricter or different.
fn compare(up: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    let preserve = |s: &Value| s["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    if preserve(ours) && ours.get("properties").is_none() {
        return; // ours accepts anything here
    }
    if up["x-kubernetes-int-or-string"] == Value::Bool(true) {
        if ours["x-kubernetes-int-or-string"] != Value::Bool(true) {
            out.push(format!("{path}: upstream is int-or-string, ours is not"));
        }
        return;
    }
    if let Some(t) = up.get("type")
        && ours.get("type") != Some(t)
    {
        out.push(format!("{path}: type {t} upstream, {:?} ours", ours.get("type")));
        return;
    }
    if preserve(up) && !preserve(ours) {
        out.push(format!("{path}: upstream preserves unknown fields, ours does not"));
    }
    let required = |s: &Value| -> Vec<String> {
        s["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    for r in required(ours) {
        if !required(up).contains(&r) {
            out.push(format!("{path}: we require {r:?}, upstream does not"));
        }
    }
    if let Some(ours_enum) = ours["enum"].as_array() {
        for v in up["enum"].as_array().into_iter().flatten() {
            if !ours_enum.contains(v) {
                out.push(format!("{path}: upstream allows {v}, our enum does not"));
            }
        }
    }
    if let Some(props) = up["properties"].as_object() {
        for (k, sub) in props {
            match ours["properties"].get(k) {
                Some(o) => compare(sub, o, &format!("{path}.{k}"), out),
                None => out.push(format!("{path}.{k}: missing in ours")),
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = up.get(key).filter(|s| s.is_object()) {
            match ours.get(key) {
                Some(o) => compare(sub, o, &format!("{path}[{key}]"), out),
                None => out.push(format!("{path}: upstream has {key}, ours does not")),
            }
        }
    }
}

#[test]
fn ours_accepts_everything_upstream_accepts() {
    for (up, ours) in pairs() {
        let mut problems = Vec::new();
        compare(schema_of(&up), schema_of(&ours), "", &mut problems);
        assert!(problems.is_empty(), "{}: {problems:#?}", ours["metadata"]["name"]);
    }
}

#[test]
fn names_scope_columns_and_subresources_match_upstream() {
    for (up, ours) in pairs() {
        let name = &ours["metadata"]["name"];
        assert_eq!(up["metadata"]["name"], ours["metadata"]["name"]);
        assert_eq!(up["spec"]["group"], ours["spec"]["group"], "{name}");
        assert_eq!(up["spec"]["names"], ours["spec"]["names"], "{name}");
        assert_eq!(up["spec"]["scope"], ours["spec"]["scope"], "{name}");
        let (uv, ov) = (&up["spec"]["versions"][0], &ours["spec"]["versions"][0]);
        for key in ["name", "served", "storage", "additionalPrinterColumns"] {
            assert_eq!(uv[key], ov[key], "{name}: versions[0].{key}");
        }
        let norm = |v: &Value| if v.is_null() { serde_json::json!({}) } else { v.clone() };
        assert_eq!(norm(&uv["subresources"]), norm(&ov["subresources"]), "{name}: subresources");
    }
}

/// The rules the API server applies to CRD schemas (structural schema).
fn structural_problems(s: &Value, path: &str, out: &mut Vec<String>) {
    let Some(map) = s.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    for banned in ["$ref", "oneOf", "allOf", "not", "$defs", "definitions", "nullable", "title"] {
        if map.contains_key(banned) {
            out.push(format!("{path}: has {banned}"));
        }
    }
    let int_or_string = map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("anyOf") && !int_or_string {
        out.push(format!("{path}: anyOf outside int-or-string"));
    }
    if !map.get("type").is_some_and(Value::is_string) && !int_or_string && !preserve {
        out.push(format!("{path}: no single type"));
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        out.push(format!("{path}: properties and additionalProperties together"));
    }
    for (k, sub) in map.get("properties").and_then(Value::as_object).into_iter().flatten() {
        structural_problems(sub, &format!("{path}.{k}"), out);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = map.get(key) {
            structural_problems(sub, &format!("{path}[{key}]"), out);
        }
    }
}

#[test]
fn schemas_are_structural() {
    for (_, crd) in pairs() {
        let mut problems = Vec::new();
        structural_problems(schema_of(&crd), "", &mut problems);
        assert!(problems.is_empty(), "{}: {problems:#?}", crd["metadata"]["name"]);
    }
}

#[test]
fn applicationset_crd_fits_the_last_applied_annotation_like_upstream_does_not() {
    // Upstream strips descriptions from the ApplicationSet CRD to keep it small; so do we.
    let (up, ours) = pairs().swap_remove(2);
    let size = serde_json::to_string(&ours).unwrap().len();
    let upstream_size = serde_json::to_string(&up).unwrap().len();
    assert!(size <= upstream_size * 11 / 10, "ours {size} bytes, upstream {upstream_size}");
}

#[test]
fn the_comparison_notices_a_stricter_or_smaller_schema() {
    let (up, mut ours) = pairs().swap_remove(0);
    let spec = &mut ours["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    spec["properties"].as_object_mut().unwrap().remove("project");
    spec["required"] = serde_json::json!(["destination", "project", "sources"]);
    let mut problems = Vec::new();
    compare(schema_of(&up), schema_of(&ours), "", &mut problems);
    assert!(problems.contains(&".spec.project: missing in ours".to_string()), "{problems:#?}");
    assert!(
        problems.contains(&".spec: we require \"sources\", upstream does not".to_string()),
        "{problems:#?}"
    );
}
