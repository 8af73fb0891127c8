//! A cluster Secret built from a running sandbox's URL, token and CA renders a kubeconfig that
//! `tiphys-kube` connects with: the controller needs no client code of its own for registered
//! clusters. Wrong credentials are refused by the real server.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tiphys_kube::{Cluster, WriteOptions};
use tiphys_resource::ResourceKey;
use tiphys_sandbox::{Sandbox, SandboxConfig};
use tiphys_settings::ClusterSecret;

fn cluster_secret(server: &str, config: Value) -> Value {
    let b64 = |s: &str| STANDARD.encode(s);
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "sandbox", "namespace": "argocd", "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "data": {"name": b64("sandbox"), "server": b64(server), "config": b64(&config.to_string())},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_from_a_cluster_secret_connects_to_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig { simulator: None, ..SandboxConfig::default() })
        .await
        .expect("sandbox starts");
    let config = json!({"bearerToken": sandbox.token(), "tlsClientConfig": {"caData": STANDARD.encode(sandbox.ca_pem())}});
    let secret = ClusterSecret::from_secret(&cluster_secret(&format!("{}/", sandbox.url()), config))
        .unwrap_or_else(|e| panic!("{e}"));
    let cluster =
        Cluster::from_kubeconfig_text(&secret.kubeconfig(), None).await.unwrap_or_else(|e| panic!("{e}"));

    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}});
    cluster.create(&namespace, &WriteOptions::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let got =
        cluster.get(&ResourceKey::new("", "Namespace", "", "team-a")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got.as_ref().and_then(|n| n.pointer("/metadata/name")).and_then(Value::as_str),
        Some("team-a")
    );

    // Without the CA, but with insecure: true, the connection still works.
    let insecure = json!({"bearerToken": sandbox.token(), "tlsClientConfig": {"insecure": true}});
    let secret = ClusterSecret::from_secret(&cluster_secret(sandbox.url(), insecure))
        .unwrap_or_else(|e| panic!("{e}"));
    let cluster =
        Cluster::from_kubeconfig_text(&secret.kubeconfig(), None).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(cluster.get(&ResourceKey::new("", "Namespace", "", "team-a")).await.is_ok_and(|n| n.is_some()));

    // A wrong token and an untrusted server are refused.
    let wrong_token =
        json!({"bearerToken": "nope", "tlsClientConfig": {"caData": STANDARD.encode(sandbox.ca_pem())}});
    let secret = ClusterSecret::from_secret(&cluster_secret(sandbox.url(), wrong_token))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(Cluster::from_kubeconfig_text(&secret.kubeconfig(), None).await.is_err(), "wrong token accepted");
    let untrusted = json!({"bearerToken": sandbox.token()});
    let secret = ClusterSecret::from_secret(&cluster_secret(sandbox.url(), untrusted))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(Cluster::from_kubeconfig_text(&secret.kubeconfig(), None).await.is_err(), "unknown CA trusted");
    sandbox.shutdown().await;
}
