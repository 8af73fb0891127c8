//! Cluster Secrets (`argocd.argoproj.io/secret-type: cluster`): the destination clusters users
//! register with Argo CD, read into [`ClusterSecret`] and rendered as a kubeconfig so the
//! controller connects to them with the same client code as to any cluster.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use tiphys_resource::annotations::{LAST_APPLIED, SECRET_TYPE_LABEL};

use crate::SettingsError;

/// The name upstream gives the cluster the controller runs in.
pub const IN_CLUSTER_NAME: &str = "in-cluster";
/// The server URL that means "the cluster the controller runs in".
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// TLS settings of a cluster connection (upstream's `TLSClientConfig`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsClientConfig {
    /// Skip server certificate verification.
    pub insecure: bool,
    /// The name to verify the server certificate against, when not the URL's host.
    pub server_name: String,
    /// PEM CA certificate(s) to trust; empty uses the system roots.
    pub ca_data: Vec<u8>,
    /// PEM client certificate.
    pub cert_data: Vec<u8>,
    /// PEM client key.
    pub key_data: Vec<u8>,
}

impl fmt::Debug for TlsClientConfig {
    /// Never prints the client key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("insecure", &self.insecure)
            .field("server_name", &self.server_name)
            .field("ca_data_bytes", &self.ca_data.len())
            .field("cert_data_bytes", &self.cert_data.len())
            .field("key_data", &if self.key_data.is_empty() { "" } else { "<redacted>" })
            .finish()
    }
}

/// How to authenticate to a cluster: the Secret's `config` JSON (upstream's `ClusterConfig`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// Bearer token (usually a ServiceAccount token).
    pub bearer_token: String,
    /// TLS settings.
    pub tls_client_config: TlsClientConfig,
    /// HTTP(S) proxy URL for this cluster.
    pub proxy_url: String,
    /// Ask the server not to compress responses.
    pub disable_compression: bool,
}

impl fmt::Debug for ClusterConfig {
    /// Never prints the password or token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("ClusterConfig")
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("bearer_token", &redacted(&self.bearer_token))
            .field("tls_client_config", &self.tls_client_config)
            .field("proxy_url", &self.proxy_url)
            .field("disable_compression", &self.disable_compression)
            .finish()
    }
}

/// One destination cluster, as registered by a cluster Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSecret {
    /// `namespace/name` of the Secret it came from (empty for [`ClusterSecret::in_cluster`]).
    pub secret: String,
    /// The cluster's name (`spec.destination.name` refers to it).
    pub name: String,
    /// The API server URL without a trailing `/` (`spec.destination.server` refers to it).
    pub server: String,
    /// When set, the controller only manages these namespaces on the cluster.
    pub namespaces: Vec<String>,
    /// With `namespaces` set: whether cluster-scoped resources may still be managed.
    pub cluster_resources: bool,
    /// The project the cluster is scoped to, if any.
    pub project: Option<String>,
    /// The controller shard that owns the cluster, if pinned.
    pub shard: Option<i64>,
    /// The Secret's labels, minus the secret-type label.
    pub labels: BTreeMap<String, String>,
    /// The Secret's annotations, minus kubectl's last-applied copy.
    pub annotations: BTreeMap<String, String>,
    /// Credentials and TLS.
    pub config: ClusterConfig,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawTls {
    insecure: bool,
    server_name: String,
    ca_data: Option<String>,
    cert_data: Option<String>,
    key_data: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawConfig {
    username: String,
    password: String,
    bearer_token: String,
    tls_client_config: RawTls,
    proxy_url: String,
    disable_compression: bool,
    exec_provider_config: Option<Value>,
    aws_auth_config: Option<Value>,
}

impl ClusterSecret {
    /// The cluster the controller runs in, as upstream names it when no Secret registers it.
    pub fn in_cluster() -> Self {
        Self {
            secret: String::new(),
            name: IN_CLUSTER_NAME.to_string(),
            server: IN_CLUSTER_SERVER.to_string(),
            namespaces: Vec::new(),
            cluster_resources: false,
            project: None,
            shard: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            config: ClusterConfig::default(),
        }
    }

    /// Reads a cluster Secret (a `v1/Secret` object as the API returns it: `data` base64,
    /// `stringData` plain and winning over `data`).
    pub fn from_secret(secret: &Value) -> Result<Self, SettingsError> {
        let meta = secret.get("metadata");
        let meta_str = |f: &str| meta.and_then(|m| m.get(f)).and_then(Value::as_str).unwrap_or_default();
        let id = format!("{}/{}", meta_str("namespace"), meta_str("name"));
        let string_map = |f: &str| -> BTreeMap<String, String> {
            meta.and_then(|m| m.get(f))
                .and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                .unwrap_or_default()
        };
        let mut labels = string_map("labels");
        if labels.remove(SECRET_TYPE_LABEL).as_deref() != Some("cluster") {
            return Err(SettingsError::NotAClusterSecret { secret: id });
        }
        let mut annotations = string_map("annotations");
        annotations.remove(LAST_APPLIED);
        let data = secret_data(secret, &id)?;
        let field = |f: &str| data.get(f).map(|v| v.trim().to_string()).unwrap_or_default();
        let invalid = |field: &str, message: String| SettingsError::InvalidField {
            secret: id.clone(),
            field: field.into(),
            message,
        };

        let server = field("server").trim_end_matches('/').to_string();
        if server.is_empty() {
            return Err(SettingsError::MissingField {
                secret: id,
                field: "server".into(),
                hint: "add the API server URL, e.g. server: https://cluster.example.com:6443",
            });
        }
        let shard = match field("shard") {
            s if s.is_empty() => None,
            s => Some(s.parse::<i64>().map_err(|_| invalid("shard", format!("{s:?} is not a number")))?),
        };
        let config_text = data.get("config").map(String::as_str).unwrap_or_default();
        let raw: RawConfig = if config_text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_json::from_str(config_text).map_err(|e| {
                invalid("config", format!("not the JSON Argo CD expects ({e}); see the cluster Secret docs"))
            })?
        };
        for (present, name) in [
            (raw.exec_provider_config.as_ref().is_some_and(|v| !v.is_null()), "config.execProviderConfig"),
            (raw.aws_auth_config.as_ref().is_some_and(|v| !v.is_null()), "config.awsAuthConfig"),
        ] {
            if present {
                return Err(SettingsError::Unsupported { secret: id, field: name.into() });
            }
        }
        let pem = |name: &str, value: Option<String>| -> Result<Vec<u8>, SettingsError> {
            let Some(text) = value.filter(|t| !t.is_empty()) else { return Ok(Vec::new()) };
            STANDARD.decode(text.trim()).map_err(|e| {
                invalid(
                    &format!("config.tlsClientConfig.{name}"),
                    format!("not base64 ({e}); it holds the base64 of the PEM text"),
                )
            })
        };
        let tls = raw.tls_client_config;
        let config = ClusterConfig {
            username: raw.username,
            password: raw.password,
            bearer_token: raw.bearer_token,
            tls_client_config: TlsClientConfig {
                insecure: tls.insecure,
                server_name: tls.server_name,
                ca_data: pem("caData", tls.ca_data)?,
                cert_data: pem("certData", tls.cert_data)?,
                key_data: pem("keyData", tls.key_data)?,
            },
            proxy_url: raw.proxy_url,
            disable_compression: raw.disable_compression,
        };
        if config.tls_client_config.cert_data.is_empty() != config.tls_client_config.key_data.is_empty() {
            return Err(invalid(
                "config.tlsClientConfig",
                "certData and keyData go together: set both for client-certificate authentication, or neither".into(),
            ));
        }
        let project = Some(field("project")).filter(|p| !p.is_empty());
        let namespaces = field("namespaces")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect();
        Ok(Self {
            secret: id,
            name: field("name"),
            server,
            namespaces,
            cluster_resources: field("clusterResources") == "true",
            project,
            shard,
            labels,
            annotations,
            config,
        })
    }

    /// Whether the controller may manage objects in `namespace` on this cluster (`""` for
    /// cluster-scoped objects): a Secret listing `namespaces` limits it to those, and to
    /// cluster-scoped objects only with `clusterResources: "true"`.
    pub fn allows(&self, namespace: &str) -> bool {
        if self.namespaces.is_empty() {
            return true;
        }
        if namespace.is_empty() {
            self.cluster_resources
        } else {
            self.namespaces.iter().any(|n| n == namespace)
        }
    }

    /// A kubeconfig (one cluster, user and context, all named after the cluster) with this
    /// cluster's server, TLS settings and credentials, for any kubeconfig-reading client.
    pub fn kubeconfig(&self) -> String {
        let name = if self.name.is_empty() { "cluster" } else { self.name.as_str() };
        let tls = &self.config.tls_client_config;
        let mut cluster = json!({"server": self.server});
        if !tls.ca_data.is_empty() {
            cluster["certificate-authority-data"] = json!(STANDARD.encode(&tls.ca_data));
        }
        if tls.insecure {
            cluster["insecure-skip-tls-verify"] = json!(true);
        }
        if !tls.server_name.is_empty() {
            cluster["tls-server-name"] = json!(tls.server_name);
        }
        if !self.config.proxy_url.is_empty() {
            cluster["proxy-url"] = json!(self.config.proxy_url);
        }
        if self.config.disable_compression {
            cluster["disable-compression"] = json!(true);
        }
        let mut user = json!({});
        if !self.config.bearer_token.is_empty() {
            user["token"] = json!(self.config.bearer_token);
        }
        if !self.config.username.is_empty() || !self.config.password.is_empty() {
            user["username"] = json!(self.config.username);
            user["password"] = json!(self.config.password);
        }
        if !tls.cert_data.is_empty() {
            user["client-certificate-data"] = json!(STANDARD.encode(&tls.cert_data));
            user["client-key-data"] = json!(STANDARD.encode(&tls.key_data));
        }
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        });
        tiphys_resource::yaml::to_yaml(&kubeconfig)
    }
}

/// The Secret's values as text: `data` decoded from base64, then `stringData` over it.
fn secret_data(secret: &Value, id: &str) -> Result<BTreeMap<String, String>, SettingsError> {
    let mut out = BTreeMap::new();
    let invalid = |key: &str, message: String| SettingsError::InvalidField {
        secret: id.to_string(),
        field: key.to_string(),
        message,
    };
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (key, value) in data {
            let Some(encoded) = value.as_str() else { continue };
            let bytes = STANDARD.decode(encoded.trim()).map_err(|e| {
                invalid(key, format!("data values must be base64 ({e}); use stringData for plain text"))
            })?;
            let text = String::from_utf8(bytes)
                .map_err(|_| invalid(key, "the decoded value is not UTF-8 text".into()))?;
            out.insert(key.clone(), text);
        }
    }
    if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
        for (key, value) in data {
            if let Some(text) = value.as_str() {
                out.insert(key.clone(), text.to_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn secret(data: Value) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "prod", "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": "cluster", "env": "prod"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"}},
            "type": "Opaque",
            "data": data,
        })
    }

    #[test]
    fn reads_every_field() {
        let config = json!({"bearerToken": "tok", "tlsClientConfig": {"insecure": false, "caData": b64("CA PEM"), "serverName": "api.internal"}}).to_string();
        let s = ClusterSecret::from_secret(&secret(json!({
            "name": b64("prod"), "server": b64("https://prod.example.com:6443/"),
            "namespaces": b64("a, b,,c"), "clusterResources": b64("true"), "project": b64("team-a"),
            "shard": b64("2"), "config": b64(&config),
        })))
        .unwrap();
        assert_eq!(s.secret, "argocd/prod");
        assert_eq!(s.name, "prod");
        assert_eq!(s.server, "https://prod.example.com:6443");
        assert_eq!(s.namespaces, vec!["a", "b", "c"]);
        assert!(s.cluster_resources);
        assert_eq!(s.project.as_deref(), Some("team-a"));
        assert_eq!(s.shard, Some(2));
        assert_eq!(s.labels, BTreeMap::from([("env".to_string(), "prod".to_string())]));
        assert_eq!(s.annotations, BTreeMap::from([("team".to_string(), "a".to_string())]));
        assert_eq!(s.config.bearer_token, "tok");
        assert_eq!(s.config.tls_client_config.ca_data, b"CA PEM");
        assert_eq!(s.config.tls_client_config.server_name, "api.internal");
        let debug = format!("{s:?}");
        assert!(!debug.contains("tok\""), "token must not be printed: {debug}");
    }

    #[test]
    fn string_data_wins_and_config_is_optional() {
        let mut sec = secret(json!({"server": b64("https://a"), "name": b64("a")}));
        sec["stringData"] = json!({"name": "b"});
        let s = ClusterSecret::from_secret(&sec).unwrap();
        assert_eq!(s.name, "b");
        assert_eq!(s.config, ClusterConfig::default());
        assert!(!s.cluster_resources);
        assert!(s.namespaces.is_empty());
    }

    #[test]
    fn kubeconfig_carries_credentials_and_tls() {
        let config = json!({"username": "admin", "password": "pw", "proxyUrl": "http://proxy:3128",
            "tlsClientConfig": {"insecure": true, "certData": b64("CERT"), "keyData": b64("KEY")}})
        .to_string();
        let s = ClusterSecret::from_secret(&secret(
            json!({"name": b64("edge"), "server": b64("https://edge:6443"), "config": b64(&config)}),
        ))
        .unwrap();
        let doc = tiphys_resource::yaml::parse_document(&s.kubeconfig()).unwrap();
        assert_eq!(doc["current-context"], "edge");
        assert_eq!(doc["clusters"][0]["cluster"]["server"], "https://edge:6443");
        assert_eq!(doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"], true);
        assert_eq!(doc["clusters"][0]["cluster"]["proxy-url"], "http://proxy:3128");
        assert_eq!(doc["users"][0]["user"]["username"], "admin");
        assert_eq!(doc["users"][0]["user"]["password"], "pw");
        assert_eq!(doc["users"][0]["user"]["client-certificate-data"], b64("CERT"));
        assert_eq!(doc["users"][0]["user"]["client-key-data"], b64("KEY"));
        assert_eq!(doc["contexts"][0]["context"]["user"], "edge");
    }

    #[test]
    fn errors_name_the_secret_and_field() {
        let cases = [
            (json!({"name": b64("x")}), "server"),
            (json!({"server": "%%%"}), "server"),
            (json!({"server": b64("https://a"), "shard": b64("two")}), "shard"),
            (json!({"server": b64("https://a"), "config": b64("{not json")}), "config"),
            (
                json!({"server": b64("https://a"), "config": b64(r#"{"tlsClientConfig":{"caData":"***"}}"#)}),
                "caData",
            ),
            (
                json!({"server": b64("https://a"), "config": b64(r#"{"tlsClientConfig":{"certData":"QQ=="}}"#)}),
                "keyData",
            ),
            (
                json!({"server": b64("https://a"), "config": b64(r#"{"execProviderConfig":{"command":"aws"}}"#)}),
                "execProviderConfig",
            ),
            (
                json!({"server": b64("https://a"), "config": b64(r#"{"awsAuthConfig":{"clusterName":"x"}}"#)}),
                "awsAuthConfig",
            ),
        ];
        for (data, field) in cases {
            let err = ClusterSecret::from_secret(&secret(data.clone())).unwrap_err().to_string();
            assert!(err.contains("argocd/prod") && err.contains(field), "{data}: {err}");
        }
        let mut unlabelled = secret(json!({"server": b64("https://a")}));
        unlabelled["metadata"]["labels"] = json!({"argocd.argoproj.io/secret-type": "repository"});
        assert!(matches!(
            ClusterSecret::from_secret(&unlabelled),
            Err(SettingsError::NotAClusterSecret { .. })
        ));
        let unsupported = ClusterSecret::from_secret(&secret(
            json!({"server": b64("https://a"), "config": b64(r#"{"awsAuthConfig":{}}"#)}),
        ));
        assert!(unsupported.unwrap_err().to_string().contains("not supported yet"));
    }

    #[test]
    fn namespace_scoped_clusters_limit_what_is_managed() {
        let open = ClusterSecret::from_secret(&secret(json!({"server": b64("https://a")}))).unwrap();
        assert!(open.allows("any") && open.allows(""));
        let scoped = ClusterSecret::from_secret(&secret(
            json!({"server": b64("https://a"), "namespaces": b64("a,b")}),
        ))
        .unwrap();
        assert!(scoped.allows("a") && scoped.allows("b"));
        assert!(!scoped.allows("c"));
        assert!(!scoped.allows(""), "cluster-scoped objects need clusterResources");
        let with_cluster = ClusterSecret::from_secret(&secret(
            json!({"server": b64("https://a"), "namespaces": b64("a"), "clusterResources": b64("true")}),
        ))
        .unwrap();
        assert!(with_cluster.allows("") && !with_cluster.allows("b"));
    }

    #[test]
    fn in_cluster_is_upstreams_default_destination() {
        let c = ClusterSecret::in_cluster();
        assert_eq!((c.name.as_str(), c.server.as_str()), ("in-cluster", "https://kubernetes.default.svc"));
    }
}
