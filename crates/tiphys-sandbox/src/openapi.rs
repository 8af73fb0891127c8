//! `/openapi/v3`: the schema documents kubectl downloads before `apply`, `diff` and
//! `create`.
//!
//! What kubectl needs (measured against kubectl 1.32): for each group/version a document whose
//! PATCH operations carry `x-kubernetes-group-version-kind` and a `fieldValidation` query
//! parameter (then kubectl leaves validation to the server instead of downloading the
//! protobuf `/openapi/v2`). The PATCH request bodies deliberately do not list
//! `application/strategic-merge-patch+json`: kubectl then computes client-side-apply patches
//! from its compiled-in types (exact merge keys for built-ins) and uses JSON merge patches
//! for custom resources, exactly as against a real server's CRDs. Schemas are permissive
//! (`x-kubernetes-preserve-unknown-fields`): the sandbox validates on the server.
//! `/openapi/v2` answers 404, which kubectl tolerates.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use axum::response::Response;
use serde_json::{Value, json};

use crate::error::Error;
use crate::server::json_response;
use crate::store::Store;
use crate::types::ResourceType;

/// `GET /openapi/v2`: not served (kubectl falls back gracefully).
pub fn v2(_store: &Store, _accept: &str) -> Response {
    let err = Error::no_route("/openapi/v2");
    json_response(404, err.to_status().to_string(), "application/json")
}

fn gv_path(t: &ResourceType) -> String {
    if t.group.is_empty() { format!("api/{}", t.version) } else { format!("apis/{}/{}", t.group, t.version) }
}

fn docs(store: &Store) -> BTreeMap<String, Value> {
    let mut by_gv: BTreeMap<String, Vec<&ResourceType>> = BTreeMap::new();
    for t in store.types() {
        by_gv.entry(gv_path(t)).or_default().push(t);
    }
    by_gv.into_iter().map(|(gv, types)| (gv.clone(), gv_doc(&gv, &types))).collect()
}

fn schema_name(t: &ResourceType) -> String {
    let group = if t.group.is_empty() { "core" } else { t.group.as_str() };
    format!("{group}.{}.{}", t.version, t.kind)
}

fn gv_doc(gv: &str, types: &[&ResourceType]) -> Value {
    let query =
        |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for t in types {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(t))});
        let body = |r: &Value| json!({"schema": r});
        let patch = json!({
            "operationId": format!("patch{}", t.kind),
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation"), query("force")],
            "requestBody": {"content": {
                "application/json-patch+json": body(&json!({"type": "object"})),
                "application/merge-patch+json": body(&json!({"type": "object"})),
                "application/apply-patch+yaml": body(&json!({"type": "object"})),
            }},
            "responses": {"200": {"description": "OK", "content": {"application/json": body(&reference)}}},
        });
        let item = if t.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("/{gv}/{}/{{name}}", t.plural)
        };
        paths.insert(item, json!({"patch": patch}));
        schemas.insert(
            schema_name(t),
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [gvk]}),
        );
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths, "components": {"schemas": schemas}})
}

/// `GET /openapi/v3` (index) or `/openapi/v3/{group-version path}`.
pub fn v3(store: &Store, path: Option<&str>) -> Response {
    let docs = docs(store);
    match path {
        None => {
            let index: serde_json::Map<String, Value> = docs
                .iter()
                .map(|(gv, doc)| {
                    let mut h = DefaultHasher::new();
                    doc.to_string().hash(&mut h);
                    (
                        gv.clone(),
                        json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={:016X}", h.finish())}),
                    )
                })
                .collect();
            json_response(200, json!({"paths": index}).to_string(), "application/json")
        }
        Some(p) => match docs.get(p) {
            Some(doc) => json_response(200, doc.to_string(), "application/json"),
            None => {
                let err = Error::no_route(&format!("/openapi/v3/{p}"));
                json_response(404, err.to_status().to_string(), "application/json")
            }
        },
    }
}
