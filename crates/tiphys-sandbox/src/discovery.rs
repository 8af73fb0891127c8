//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{g}`, `/api/v1`, `/apis/{g}/{v}`,
//! in both the legacy shape and the aggregated shape (`apidiscovery.k8s.io/v2`) that kubectl
//! and client-go ask for first.

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::server::json_response;
use crate::store::Store;
use crate::types::ResourceType;

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// The Kubernetes version the sandbox claims to be.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-tiphys-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        ["g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"].iter().all(|p| params.contains(p))
    })
}

/// Groups in discovery order: versions of each group, preferred first.
fn grouped(store: &Store) -> BTreeMap<String, Vec<&ResourceType>> {
    let mut groups: BTreeMap<String, Vec<&ResourceType>> = BTreeMap::new();
    for t in store.types() {
        groups.entry(t.group.clone()).or_default().push(t);
    }
    groups
}

fn versions_of(types: &[&ResourceType]) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for t in types.iter().filter(|t| t.preferred) {
        if !versions.contains(&t.version) {
            versions.push(t.version.clone());
        }
    }
    for t in types {
        if !versions.contains(&t.version) {
            versions.push(t.version.clone());
        }
    }
    versions
}

fn group_doc(name: &str, types: &[&ResourceType]) -> Value {
    let versions: Vec<Value> = versions_of(types)
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or(json!({}))})
}

/// `GET /api`.
pub fn core_versions(store: &Store, accept: &str, address: &str) -> Response {
    if wants_aggregated(accept) {
        let core: Vec<&ResourceType> = store.types().iter().filter(|t| t.group.is_empty()).collect();
        let doc = json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": [aggregated_group("", &core)]});
        return json_response(200, doc.to_string(), AGGREGATED_V2);
    }
    let doc = json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]});
    json_response(200, doc.to_string(), "application/json")
}

/// `GET /apis`.
pub fn groups(store: &Store, accept: &str) -> Response {
    let groups = grouped(store);
    let named = groups.iter().filter(|(g, _)| !g.is_empty());
    if wants_aggregated(accept) {
        let items: Vec<Value> = named.map(|(g, types)| aggregated_group(g, types)).collect();
        let doc = json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items});
        return json_response(200, doc.to_string(), AGGREGATED_V2);
    }
    let list: Vec<Value> = named.map(|(g, types)| group_doc(g, types)).collect();
    json_response(
        200,
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}).to_string(),
        "application/json",
    )
}

/// `GET /apis/{group}`.
pub fn group(store: &Store, name: &str) -> Result<Value> {
    let groups = grouped(store);
    let types = groups
        .get(name)
        .filter(|_| !name.is_empty())
        .ok_or_else(|| Error::no_route(&format!("/apis/{name}")))?;
    let mut doc = group_doc(name, types);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Ok(doc)
}

/// `GET /api/v1` or `/apis/{group}/{version}`.
pub fn resources(store: &Store, group: &str, version: &str) -> Result<Value> {
    let types: Vec<&ResourceType> =
        store.types().iter().filter(|t| t.group == group && t.version == version).collect();
    if types.is_empty() {
        return Err(Error::no_route(&format!("/apis/{group}/{version}")));
    }
    let mut resources = Vec::new();
    for t in &types {
        let mut r = json!({"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
            "kind": t.kind, "verbs": t.verbs()});
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.status_subresource {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "",
                "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
        if t.scale.is_some() {
            resources.push(json!({"name": format!("{}/scale", t.plural), "singularName": "",
                "namespaced": t.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale",
                "verbs": ["get", "patch", "update"]}));
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Ok(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

fn aggregated_group(name: &str, types: &[&ResourceType]) -> Value {
    let versions: Vec<Value> = versions_of(types)
        .iter()
        .map(|v| {
            let resources: Vec<Value> = types
                .iter()
                .filter(|t| &t.version == v)
                .map(|t| {
                    let kind = json!({"group": t.group, "version": t.version, "kind": t.kind});
                    let mut subs = Vec::new();
                    if t.status_subresource {
                        subs.push(json!({"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}));
                    }
                    if t.scale.is_some() {
                        subs.push(json!({"subresource": "scale",
                            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                            "verbs": ["get", "patch", "update"]}));
                    }
                    let mut r = json!({"resource": t.plural, "responseKind": kind,
                        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": t.singular, "verbs": t.verbs()});
                    if !t.short_names.is_empty() {
                        r["shortNames"] = json!(t.short_names);
                    }
                    if !t.categories.is_empty() {
                        r["categories"] = json!(t.categories);
                    }
                    if !subs.is_empty() {
                        r["subresources"] = json!(subs);
                    }
                    r
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": name, "creationTimestamp": null}, "versions": versions})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept_header_is_recognised() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(kubectl));
        assert!(!wants_aggregated("application/json, */*"));
    }

    #[test]
    fn resource_lists_name_subresources() {
        let store = Store::new(10, jiff::Timestamp::UNIX_EPOCH);
        let doc = resources(&store, "apps", "v1").expect("apps/v1");
        let names: Vec<&str> =
            doc["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"deployments/scale") && names.contains(&"deployments/status"), "{names:?}");
        assert!(resources(&store, "apps", "v9").is_err());
    }
}
