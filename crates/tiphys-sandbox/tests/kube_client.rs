//! The sandbox through the real kube-rs client over HTTPS: watch semantics, optimistic
//! concurrency, authentication and the API server's error bodies.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, Config};
use serde_json::{Value, json};
use tiphys_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

async fn client_with(sandbox: &SandboxHandle, token: &str) -> Client {
    let text = sandbox.kubeconfig().replace(sandbox.token(), token);
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("config");
    Client::try_from(config).expect("client")
}

async fn start() -> (SandboxHandle, Client) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
    let token = sandbox.token().to_string();
    let client = client_with(&sandbox, &token).await;
    (sandbox, client)
}

fn cm(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        data: Some(BTreeMap::from([("v".to_string(), value.to_string())])),
        ..Default::default()
    }
}

fn api_code(err: kube::Error) -> (u16, String, String) {
    match err {
        kube::Error::Api(status) => (status.code, status.reason.clone(), status.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_loopback_and_requires_the_token() {
    let (sandbox, client) = start().await;
    assert!(sandbox.url().starts_with("https://127.0.0.1:"), "{}", sandbox.url());
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.list(&ListParams::default()).await.expect("authorized list");
    let wrong = client_with(&sandbox, "not-the-token").await;
    let api: Api<ConfigMap> = Api::namespaced(wrong, "default");
    let (code, reason, _) = api_code(api.list(&ListParams::default()).await.expect_err("401"));
    assert_eq!((code, reason.as_str()), (401, "Unauthorized"));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_updates_get_exactly_one_conflict() {
    let (sandbox, first) = start().await;
    let token = sandbox.token().to_string();
    let second = client_with(&sandbox, &token).await;
    let a: Api<ConfigMap> = Api::namespaced(first, "default");
    let b: Api<ConfigMap> = Api::namespaced(second, "default");
    a.create(&PostParams::default(), &cm("race", "0")).await.expect("create");
    let mut from_a = a.get("race").await.expect("get a");
    let mut from_b = b.get("race").await.expect("get b");
    from_a.data = Some(BTreeMap::from([("v".to_string(), "a".to_string())]));
    from_b.data = Some(BTreeMap::from([("v".to_string(), "b".to_string())]));
    let pp = PostParams::default();
    let (ra, rb) = tokio::join!(a.replace("race", &pp, &from_a), b.replace("race", &pp, &from_b));
    let results = [ra, rb];
    let conflicts: Vec<(u16, String, String)> =
        results.into_iter().filter_map(|r| r.err()).map(api_code).collect();
    assert_eq!(conflicts.len(), 1, "exactly one writer loses");
    assert_eq!(conflicts[0].0, 409);
    assert_eq!(conflicts[0].1, "Conflict");
    assert_eq!(
        conflicts[0].2,
        "Operation cannot be fulfilled on configmaps \"race\": the object has been modified; please apply your changes to the latest version and try again"
    );
    sandbox.shutdown().await;
}

type Events = futures::stream::BoxStream<'static, watcher::Result<watcher::Event<ConfigMap>>>;

async fn next(stream: &mut Events) -> Option<watcher::Event<ConfigMap>> {
    next_result(stream).await.map(|r| r.expect("watch event"))
}

async fn next_result(stream: &mut Events) -> Option<watcher::Result<watcher::Event<ConfigMap>>> {
    tokio::time::timeout(Duration::from_secs(10), stream.next()).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sees_every_change_once_across_a_forced_relist() {
    let (sandbox, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &cm("w0", "0")).await.expect("seed");
    let mut stream: Events = watcher(api.clone(), watcher::Config::default()).boxed();
    // Initial list: Init, InitApply(w0), InitDone.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let record = |event: watcher::Event<ConfigMap>, seen: &mut BTreeMap<String, String>| match event {
        watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
            let name = o.metadata.name.clone().unwrap_or_default();
            let v = o.data.as_ref().and_then(|d| d.get("v").cloned()).unwrap_or_default();
            seen.insert(name, v);
        }
        watcher::Event::Delete(o) => {
            seen.remove(&o.metadata.name.clone().unwrap_or_default());
        }
        watcher::Event::Init | watcher::Event::InitDone => {}
    };
    while let Some(e) = next(&mut stream).await {
        let done = matches!(e, watcher::Event::InitDone);
        record(e, &mut seen);
        if done {
            break;
        }
    }
    assert_eq!(seen.get("w0").map(String::as_str), Some("0"));
    // Changes while watching arrive in order.
    api.create(&PostParams::default(), &cm("w1", "1")).await.expect("w1");
    let e = next(&mut stream).await.expect("event for w1");
    assert!(matches!(&e, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some("w1")));
    record(e, &mut seen);
    let mut w0 = api.get("w0").await.expect("w0");
    w0.data = Some(BTreeMap::from([("v".to_string(), "changed".to_string())]));
    api.replace("w0", &PostParams::default(), &w0).await.expect("update w0");
    let e = next(&mut stream).await.expect("event for w0");
    assert!(matches!(&e, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some("w0")));
    record(e, &mut seen);
    // Force 410 Gone: the server ends the watch and forgets its history, so the watcher's
    // resume point has expired and it must relist.
    sandbox.expire_watches();
    api.delete("w1", &DeleteParams::default()).await.expect("delete w1");
    let (mut gone, mut relisted) = (false, false);
    let mut fresh: BTreeMap<String, String> = BTreeMap::new();
    while let Some(e) = next_result(&mut stream).await {
        match e {
            Err(watcher::Error::WatchError(status)) if status.code == 410 => gone = true,
            Err(other) => panic!("unexpected watch error {other:?}"),
            Ok(watcher::Event::Init) => relisted = true,
            Ok(watcher::Event::InitDone) => break,
            Ok(other) => record(other, &mut fresh),
        }
    }
    assert!(gone && relisted, "a 410 Gone forced a relist");
    let expected: BTreeMap<String, String> =
        [("w0", "changed")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(fresh, expected, "the relist shows exactly the live objects");
    // After the relist, each further change is delivered exactly once.
    api.create(&PostParams::default(), &cm("w2", "2")).await.expect("w2");
    let e = next(&mut stream).await.expect("event for w2");
    assert!(matches!(&e, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some("w2")));
    let quiet = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(quiet.is_err(), "no duplicate event: {quiet:?}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_watch_reports_410_as_an_error_event() {
    let (sandbox, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..3 {
        api.create(&PostParams::default(), &cm(&format!("g{i}"), "x")).await.expect("create");
    }
    sandbox.set_event_window(1);
    let req = http::Request::get(
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=2",
    )
    .body(Vec::new())
    .expect("request");
    let text = client.request_text(req).await.expect("watch answers 200");
    let first: Value = serde_json::from_str(text.lines().next().unwrap_or_default()).expect("json line");
    assert_eq!(first["type"], "ERROR");
    assert_eq!(first["object"]["code"], 410);
    assert_eq!(first["object"]["reason"], "Expired");
    sandbox.shutdown().await;
}

async fn raw(client: &Client, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(body)
        .expect("request");
    match client.request::<Value>(req).await {
        Ok(v) => (200, v),
        Err(kube::Error::Api(s)) => (s.code, json!({"reason": s.reason, "message": s.message})),
        Err(other) => panic!("transport error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_gets_the_api_servers_status() {
    let (sandbox, client) = start().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let (code, s) = raw(&client, "POST", cms, "application/json", b"{not json".to_vec()).await;
    assert_eq!((code, s["reason"].as_str()), (400, Some("BadRequest")));
    let (code, _) = raw(&client, "GET", "/apis/example.com/v1/widgets", "application/json", vec![]).await;
    assert_eq!(code, 404);
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}});
    let (code, s) = raw(&client, "POST", cms, "application/json", bad.to_string().into_bytes()).await;
    assert_eq!((code, s["reason"].as_str()), (422, Some("Invalid")));
    assert!(
        s["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ConfigMap \"Not_Valid\" is invalid: metadata.name")
    );
    let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}});
    let (code, _) = raw(&client, "POST", cms, "application/json", ok.to_string().into_bytes()).await;
    assert_eq!(code, 200);
    let stale =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "resourceVersion": "1"}});
    let (code, s) =
        raw(&client, "PUT", &format!("{cms}/ok"), "application/json", stale.to_string().into_bytes()).await;
    assert_eq!((code, s["reason"].as_str()), (409, Some("Conflict")));
    let huge = vec![b' '; 4 * 1024 * 1024];
    let (code, s) = raw(&client, "POST", cms, "application/json", huge).await;
    assert_eq!((code, s["message"].as_str()), (413, Some("Request entity too large: limit is 3145728")));
    let (code, s) = raw(&client, "PATCH", &format!("{cms}/ok"), "text/plain", b"{}".to_vec()).await;
    assert_eq!((code, s["reason"].as_str()), (415, Some("UnsupportedMediaType")));
    let (code, _) = raw(
        &client,
        "PATCH",
        &format!("{cms}/ok"),
        "application/json-patch+json",
        b"[{\"op\":\"boom\"}]".to_vec(),
    )
    .await;
    assert_eq!(code, 400);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_keeps_objects_and_versions_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SandboxConfig { data_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    let first = Sandbox::start(config.clone()).await.expect("first start");
    let token = first.token().to_string();
    let api: Api<ConfigMap> = Api::namespaced(client_with(&first, &token).await, "default");
    let kept = api.create(&PostParams::default(), &cm("kept", "1")).await.expect("create");
    api.create(&PostParams::default(), &cm("dropped", "1")).await.expect("create");
    api.delete("dropped", &DeleteParams::default()).await.expect("delete");
    let rv_before = first.resource_version();
    first.shutdown().await;

    let second = Sandbox::start(config).await.expect("restart");
    let token = second.token().to_string();
    let api: Api<ConfigMap> = Api::namespaced(client_with(&second, &token).await, "default");
    let again = api.get("kept").await.expect("object survived");
    assert_eq!(again.metadata.uid, kept.metadata.uid);
    assert_eq!(again.metadata.resource_version, kept.metadata.resource_version);
    assert!(api.get("dropped").await.is_err(), "deletions survive too");
    let newer = api.create(&PostParams::default(), &cm("newer", "1")).await.expect("create after restart");
    let rv: u64 = newer.metadata.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(rv > rv_before, "resourceVersion {rv} continues after {rv_before}");
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_discovery_finds_builtins_and_crds() {
    let (sandbox, client) = start().await;
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    let crd = serde_json::from_value(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}))
    .expect("crd");
    crds.create(&PostParams::default(), &crd).await.expect("create crd");
    let discovery = kube::discovery::Discovery::new(client.clone()).run().await.expect("discovery");
    let (deploy, caps) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .expect("apps/v1 Deployment discovered");
    assert_eq!(deploy.plural, "deployments");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let (widget, caps) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk("example.com", "v1", "Widget"))
        .expect("CRD kind discovered");
    assert_eq!(caps.scope, kube::discovery::Scope::Cluster);
    let widgets: Api<kube::api::DynamicObject> = Api::all_with(client, &widget);
    let obj: kube::api::DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 1}}))
        .expect("widget");
    widgets.create(&PostParams::default(), &obj).await.expect("create widget");
    assert_eq!(widgets.list(&ListParams::default()).await.expect("list").items.len(), 1);
    sandbox.shutdown().await;
}
