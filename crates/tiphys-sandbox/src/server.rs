//! The HTTP layer: authentication, URL routing and thin handlers over the [`Store`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::discovery;
use crate::error::{Error, Result};
use crate::patch::{self, PatchType};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{DeleteOptions, Deleted, Filter, Part, Propagation, Store, Stored, WriteOptions};
use crate::table;
use crate::types::{ResourceType, get_path, set_path};
use crate::watch;

/// State shared by every request.
pub(crate) struct Shared {
    /// The objects.
    pub store: Mutex<Store>,
    /// Carries the latest resourceVersion; watches wait on it.
    pub changed: tokio::sync::watch::Sender<u64>,
    /// The bearer token every request must carry.
    pub token: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How often idle watches get a bookmark.
    pub bookmark_interval: Duration,
    /// `host:port` the server listens on (for discovery's serverAddress).
    pub address: String,
    /// Appends every change to the data directory, when persistence is on.
    pub journal: Option<crate::persist::Journal>,
    /// Bumped to end every open watch.
    pub watch_epoch: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Locks the store; a poisoned lock (a panic elsewhere) still yields the data.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes the store's resourceVersion to watchers and persists the write's events.
    pub fn publish(&self, store: &mut Store) {
        let events = store.take_journal();
        if let Some(journal) = &self.journal
            && let Err(e) = journal.append(&events)
        {
            tracing::error!(error = %e, "could not persist sandbox changes");
        }
        self.changed.send_replace(store.resource_version());
    }
}

/// Parsed query parameters.
pub(crate) type Params = HashMap<String, String>;

/// What a resource URL addresses.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The resource type.
    pub rt: ResourceType,
    /// Namespace from the URL.
    pub namespace: Option<String>,
    /// Object name from the URL.
    pub name: Option<String>,
    /// Subresource (`status`, `scale`).
    pub sub: Option<String>,
}

enum Route {
    Root,
    Version,
    Health,
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    OpenApiV2,
    OpenApiV3(Option<String>),
    Resource(Box<Target>),
}

fn route(store: &Store, path: &str) -> Result<Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        [] => return Ok(Route::Root),
        ["version"] => return Ok(Route::Version),
        ["healthz" | "livez" | "readyz", ..] => return Ok(Route::Health),
        ["api"] => return Ok(Route::CoreVersions),
        ["apis"] => return Ok(Route::Groups),
        ["apis", g] => return Ok(Route::Group(g.to_string())),
        ["openapi", "v2"] => return Ok(Route::OpenApiV2),
        ["openapi", "v3"] => return Ok(Route::OpenApiV3(None)),
        ["openapi", "v3", rest @ ..] => return Ok(Route::OpenApiV3(Some(rest.join("/")))),
        ["api", v] => return Ok(Route::Resources(String::new(), v.to_string())),
        ["apis", g, v] => return Ok(Route::Resources(g.to_string(), v.to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(Error::no_route(path)),
    };
    let find = |plural: &str| store.find_type(group, version, plural).ok_or_else(|| Error::no_route(path));
    let target = |rt: ResourceType, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Ok(Route::Resource(Box::new(Target {
            rt,
            namespace: ns.map(String::from),
            name: name.map(String::from),
            sub: sub.map(String::from),
        })))
    };
    match rest {
        // `/api/v1/namespaces/{name}/status|finalize` address a Namespace, not a collection.
        ["namespaces", ns, plural, tail @ ..]
            if !(group.is_empty() && matches!(*plural, "status" | "finalize")) =>
        {
            let rt = find(plural)?;
            if !rt.namespaced {
                return Err(Error::no_route(path));
            }
            match tail {
                [] => target(rt, Some(ns), None, None),
                [name] => target(rt, Some(ns), Some(name), None),
                [name, sub] => target(rt, Some(ns), Some(name), Some(sub)),
                _ => Err(Error::no_route(path)),
            }
        }
        [plural] => target(find(plural)?, None, None, None),
        [plural, name] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(Error::no_route(path));
            }
            target(rt, None, Some(name), None)
        }
        [plural, name, sub] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(Error::no_route(path));
            }
            target(rt, None, Some(name), Some(sub))
        }
        _ => Err(Error::no_route(path)),
    }
}

/// A JSON response with a status code.
pub(crate) fn json_response(code: u16, body: String, content_type: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, content_type.to_string())], body).into_response()
}

fn ok_json(body: &Value) -> Response {
    json_response(200, body.to_string(), "application/json")
}

fn error_response(err: &Error) -> Response {
    json_response(err.code(), err.to_status().to_string(), "application/json")
}

/// The one handler: authenticates, routes and dispatches.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == shared.token);
    if !authorized {
        return error_response(&Error::unauthorized());
    }
    let params: Params = Query::try_from_uri(&uri).map(|q: Query<Params>| q.0).unwrap_or_default();
    // Read (and so drain) somewhat more than the limit, so a client still writing an
    // oversized body receives the 413 instead of a broken pipe.
    let body = match axum::body::to_bytes(body, shared.max_body_bytes.saturating_mul(8)).await {
        Ok(b) if b.len() <= shared.max_body_bytes => b,
        _ => return error_response(&Error::too_large(shared.max_body_bytes)),
    };
    let routed = route(&shared.lock(), uri.path());
    let result = match routed {
        Ok(Route::Resource(target)) => {
            return resource(&shared, &method, &headers, &params, *target, body)
                .await
                .unwrap_or_else(|e| error_response(&e));
        }
        Ok(r) if method != Method::GET => Err(Error::method_not_allowed(method.as_str())).map(|_: ()| r),
        other => other,
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match result {
        Err(e) => error_response(&e),
        Ok(Route::Root) => {
            ok_json(&json!({"paths": ["/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"]}))
        }
        Ok(Route::Version) => ok_json(&discovery::version()),
        Ok(Route::Health) => (StatusCode::OK, "ok").into_response(),
        Ok(Route::CoreVersions) => discovery::core_versions(&shared.lock(), accept, &shared.address),
        Ok(Route::Groups) => discovery::groups(&shared.lock(), accept),
        Ok(Route::Group(g)) => {
            discovery::group(&shared.lock(), &g).map(|v| ok_json(&v)).unwrap_or_else(|e| error_response(&e))
        }
        Ok(Route::Resources(g, v)) => discovery::resources(&shared.lock(), &g, &v)
            .map(|v| ok_json(&v))
            .unwrap_or_else(|e| error_response(&e)),
        Ok(Route::OpenApiV2) => crate::openapi::v2(&shared.lock(), accept),
        Ok(Route::OpenApiV3(path)) => crate::openapi::v3(&shared.lock(), path.as_deref()),
        Ok(Route::Resource(_)) => error_response(&Error::internal("unrouted resource")),
    }
}

fn write_options(params: &Params, headers: &HeaderMap) -> Result<WriteOptions> {
    let dry_run = match params.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Unsupported dryRun value: {other:?}; only \"All\" is supported"
            )));
        }
    };
    let field_manager = params.get("fieldManager").cloned().or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
    });
    Ok(WriteOptions { dry_run, field_manager })
}

fn parse_json_body(body: &Bytes, headers: &HeaderMap) -> Result<Value> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence == "application/vnd.kubernetes.protobuf" {
        return crate::protobuf::decode_object(body);
    }
    let text =
        std::str::from_utf8(body).map_err(|e| Error::bad_request(format!("the body is not UTF-8: {e}")))?;
    match essence {
        "application/json" | "" | "*/*" => serde_json::from_str(text).map_err(|e| {
            Error::bad_request(format!("the body of the request was in an unknown format: {e}"))
        }),
        "application/yaml" => tiphys_resource::yaml::parse_document(text).map_err(|e| {
            Error::bad_request(format!("the body of the request was in an unknown format: {e}"))
        }),
        other => Err(Error::Api {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {other})"
            ),
            details: None,
        }),
    }
}

fn filter_of(target: &Target, params: &Params) -> Result<Filter> {
    Ok(Filter {
        namespace: target.namespace.clone(),
        labels: LabelSelector::parse(params.get("labelSelector").map(String::as_str).unwrap_or_default())?,
        fields: FieldSelector::parse(
            params.get("fieldSelector").map(String::as_str).unwrap_or_default(),
            &target.rt,
        )?,
    })
}

/// The JSON of a stored object as served for `rt` (custom resources take the requested version).
pub fn render(rt: &ResourceType, stored: &Stored) -> String {
    if rt.custom
        && let Ok(mut v) = stored.value()
        && v["apiVersion"].as_str() != Some(rt.api_version().as_str())
    {
        v["apiVersion"] = json!(rt.api_version());
        return v.to_string();
    }
    stored.json.to_string()
}

fn delete_options(params: &Params, body: &Bytes) -> Result<DeleteOptions> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let policy = params
        .get("propagationPolicy")
        .cloned()
        .or_else(|| body["propagationPolicy"].as_str().map(String::from))
        .or_else(|| {
            let orphan = params
                .get("orphanDependents")
                .map(|v| v == "true")
                .or_else(|| body["orphanDependents"].as_bool());
            orphan.map(|o| if o { "Orphan".to_string() } else { "Background".to_string() })
        });
    let propagation = match policy.as_deref() {
        None => Propagation::Background,
        // The API server takes the exact spelling only.
        Some(text) => text.parse::<Propagation>().ok().filter(|p| p.as_str() == text).ok_or_else(|| {
            Error::bad_request(format!(
                "propagationPolicy {text:?} is not supported: use Background, Foreground or Orphan"
            ))
        })?,
    };
    let dry_run = params.get("dryRun").is_some_and(|v| v == "All")
        || body["dryRun"].as_array().is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        propagation,
        uid: body["preconditions"]["uid"].as_str().map(String::from),
        resource_version: body["preconditions"]["resourceVersion"].as_str().map(String::from),
        dry_run,
    })
}

fn part_of(target: &Target) -> Result<Part> {
    match target.sub.as_deref() {
        None => Ok(Part::Main),
        Some("status") if target.rt.status_subresource => Ok(Part::Status),
        Some("scale") if target.rt.scale.is_some() => Ok(Part::Main),
        Some(other) => Err(Error::no_route(&format!("{}/{other}", target.rt.plural))),
    }
}

fn scale_of(rt: &ResourceType, obj: &Value) -> Value {
    let paths = rt.scale.as_ref();
    let get = |p: Option<&str>| p.and_then(|p| get_path(obj, p)).cloned();
    let mut scale = json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "uid": obj["metadata"]["uid"],
            "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": get(paths.map(|p| p.spec_replicas.as_str())).unwrap_or(json!(0))},
        "status": {"replicas": get(paths.map(|p| p.status_replicas.as_str())).unwrap_or(json!(0))},
    });
    if let Some(sel) = get(paths.and_then(|p| p.label_selector.as_deref())) {
        scale["status"]["selector"] = sel;
    } else if let Some(sel) = obj["spec"]["selector"].as_object() {
        let labels = sel.get("matchLabels").and_then(Value::as_object);
        let text: Vec<String> = labels
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
            .collect();
        scale["status"]["selector"] = json!(text.join(","));
    }
    scale
}

/// Maps a (patched or replaced) Scale back onto its object.
fn unscale(rt: &ResourceType, obj: &Value, scale: &Value) -> Result<Value> {
    let replicas = scale["spec"]["replicas"].clone();
    if !replicas.is_i64() && !replicas.is_u64() || replicas.as_i64().is_some_and(|r| r < 0) {
        return Err(Error::invalid(
            "Scale",
            "autoscaling",
            obj["metadata"]["name"].as_str().unwrap_or_default(),
            vec![crate::error::FieldError::invalid(
                "spec.replicas",
                &replicas.to_string(),
                "must be greater than or equal to 0",
            )],
        ));
    }
    let mut new = obj.clone();
    if let Some(p) = &rt.scale {
        set_path(&mut new, &p.spec_replicas, replicas);
    }
    if let Some(rv) = scale["metadata"]["resourceVersion"].as_str().filter(|s| !s.is_empty()) {
        new["metadata"]["resourceVersion"] = json!(rv);
    }
    Ok(new)
}

async fn resource(
    shared: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    params: &Params,
    target: Target,
    body: Bytes,
) -> Result<Response> {
    let now = jiff::Timestamp::now();
    let ns = target.namespace.clone().unwrap_or_default();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let as_table = accept.contains("as=Table");
    match (method.clone(), target.name.clone()) {
        (Method::GET, None) => {
            let filter = filter_of(&target, params)?;
            if params.get("watch").is_some_and(|w| w == "true" || w == "1") {
                return Ok(watch::serve(shared.clone(), target, filter, params, as_table));
            }
            let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
            let store = shared.lock();
            let page = store.list(&target.rt, &filter, limit, params.get("continue").map(String::as_str))?;
            drop(store);
            if as_table {
                return Ok(ok_json(&table::list_table(&target.rt, &page, now)));
            }
            let out = page.to_json(&target.rt);
            Ok(json_response(200, out, "application/json"))
        }
        (Method::GET, Some(name)) => {
            part_of(&target)?;
            let stored = shared.lock().get(&target.rt, &ns, &name)?;
            if target.sub.as_deref() == Some("scale") {
                return Ok(ok_json(&scale_of(&target.rt, &stored.value()?)));
            }
            if as_table {
                return Ok(ok_json(&table::object_table(&target.rt, &[stored], now)));
            }
            Ok(json_response(200, render(&target.rt, &stored), "application/json"))
        }
        (Method::POST, None) => {
            let opts = write_options(params, headers)?;
            let obj = parse_json_body(&body, headers)?;
            let mut store = shared.lock();
            let created = store.create(&target.rt, target.namespace.as_deref(), obj, &opts, now)?;
            shared.publish(&mut store);
            Ok(json_response(201, created.to_string(), "application/json"))
        }
        (Method::PUT, Some(name)) => {
            let part = part_of(&target)?;
            let opts = write_options(params, headers)?;
            let obj = parse_json_body(&body, headers)?;
            let mut store = shared.lock();
            let updated = if target.sub.as_deref() == Some("scale") {
                let live = store.get(&target.rt, &ns, &name)?.value()?;
                let new = unscale(&target.rt, &live, &obj)?;
                let out = store.update(&target.rt, &ns, &name, new, Part::Main, &opts, now)?;
                scale_of(&target.rt, &out)
            } else {
                store.update(&target.rt, &ns, &name, obj, part, &opts, now)?
            };
            shared.publish(&mut store);
            Ok(ok_json(&updated))
        }
        (Method::PATCH, Some(name)) => {
            let part = part_of(&target)?;
            let mut opts = write_options(params, headers)?;
            let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let kind = PatchType::from_content_type(ct)?;
            let patch_body = patch::parse_body(kind, &body)?;
            let force = params.get("force").is_some_and(|f| f == "true");
            if kind == PatchType::Apply {
                if params.get("fieldManager").is_none_or(String::is_empty) {
                    return Err(Error::bad_request(
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    ));
                }
            } else if force {
                return Err(Error::bad_request("force may not be set for non-apply patch"));
            }
            if kind == PatchType::Apply {
                opts.field_manager = params.get("fieldManager").cloned();
            }
            let mut store = shared.lock();
            let live = match store.get(&target.rt, &ns, &name) {
                Ok(s) => Some(s.value()?),
                Err(e) if kind == PatchType::Apply && part == Part::Main && target.sub.is_none() => {
                    let _ = e;
                    None
                }
                Err(e) => return Err(e),
            };
            let Some(live) = live else {
                let mut obj =
                    patch::apply_create(&target.rt, &patch_body, opts.field_manager.as_deref(), now)?;
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.insert("name".into(), json!(name));
                }
                let created = store.create(&target.rt, target.namespace.as_deref(), obj, &opts, now)?;
                shared.publish(&mut store);
                return Ok(json_response(201, created.to_string(), "application/json"));
            };
            let result = if target.sub.as_deref() == Some("scale") {
                let scale = scale_of(&target.rt, &live);
                let patched = patch::apply(
                    kind,
                    &target.rt,
                    &scale,
                    &patch_body,
                    opts.field_manager.as_deref(),
                    force,
                    now,
                )?;
                let new = unscale(&target.rt, &live, &patched)?;
                check_rv(&target.rt, &name, &live, &new)?;
                let out = store.write(&target.rt, &ns, &name, live, new, Part::Main, &opts, now)?;
                scale_of(&target.rt, &out)
            } else {
                let patched = patch::apply(
                    kind,
                    &target.rt,
                    &live,
                    &patch_body,
                    opts.field_manager.as_deref(),
                    force,
                    now,
                )?;
                check_rv(&target.rt, &name, &live, &patched)?;
                store.write(&target.rt, &ns, &name, live, patched, part, &opts, now)?
            };
            shared.publish(&mut store);
            Ok(ok_json(&result))
        }
        (Method::DELETE, Some(name)) => {
            part_of(&target)?;
            let opts = delete_options(params, &body)?;
            let mut store = shared.lock();
            let result = store.delete(&target.rt, &ns, &name, &opts, now)?;
            shared.publish(&mut store);
            Ok(match result {
                Deleted::Pending(v) => json_response(200, v.to_string(), "application/json"),
                Deleted::Gone(v) => {
                    let mut details =
                        json!({"name": name, "kind": target.rt.plural, "uid": v["metadata"]["uid"]});
                    if !target.rt.group.is_empty() {
                        details["group"] = json!(target.rt.group);
                    }
                    ok_json(
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
                    )
                }
            })
        }
        (Method::DELETE, None) => {
            let filter = filter_of(&target, params)?;
            let opts = delete_options(params, &body)?;
            let mut store = shared.lock();
            let items = store.delete_collection(&target.rt, &filter, &opts, now)?;
            shared.publish(&mut store);
            Ok(ok_json(
                &json!({"kind": format!("{}List", target.rt.kind), "apiVersion": target.rt.api_version(),
                "metadata": {"resourceVersion": store.resource_version().to_string()}, "items": items}),
            ))
        }
        (m, _) => Err(Error::method_not_allowed(m.as_str())),
    }
}

/// A patch that sets a resourceVersion other than the live one is a conflict.
fn check_rv(rt: &ResourceType, name: &str, live: &Value, patched: &Value) -> Result<()> {
    match patched["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() && Some(rv) != live["metadata"]["resourceVersion"].as_str() => {
            Err(Error::conflict(rt, name))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts = (String, Option<String>, Option<String>, Option<String>);

    fn target(path: &str) -> Option<Parts> {
        let store = Store::new(10, jiff::Timestamp::UNIX_EPOCH);
        match route(&store, path) {
            Ok(Route::Resource(t)) => Some((t.rt.plural.clone(), t.namespace, t.name, t.sub)),
            _ => None,
        }
    }

    #[test]
    fn urls_route_to_resources() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            target("/api/v1/namespaces/team/configmaps"),
            Some(("configmaps".into(), s("team"), None, None))
        );
        assert_eq!(target("/api/v1/namespaces/team"), Some(("namespaces".into(), None, s("team"), None)));
        assert_eq!(
            target("/api/v1/namespaces/team/status"),
            Some(("namespaces".into(), None, s("team"), s("status")))
        );
        assert_eq!(
            target("/apis/apps/v1/namespaces/a/deployments/web/scale"),
            Some(("deployments".into(), s("a"), s("web"), s("scale")))
        );
        assert_eq!(target("/apis/apps/v1/deployments"), Some(("deployments".into(), None, None, None)));
        assert_eq!(target("/apis/apps/v1/deployments/web"), None, "namespaced kinds need a namespace");
        assert_eq!(target("/api/v1/namespaces/a/nodes"), None, "cluster kinds have none");
        assert_eq!(target("/apis/example.com/v1/widgets"), None);
    }
}
