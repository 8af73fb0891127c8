//! Repository credentials from Argo CD's Secrets: `argocd.argoproj.io/secret-type:
//! repository` (matched by exact URL) and `repo-creds` (templates matched by the longest URL
//! prefix), with upstream's field names. Secrets are taken as JSON values so this crate needs
//! no Kubernetes client. `Debug` never prints a secret.

use base64::Engine;
use serde_json::Value;

use crate::GitError;
use crate::url::normalize;

/// The label marking repository and repo-creds Secrets (one definition, in tiphys-resource).
pub use tiphys_resource::annotations::SECRET_TYPE_LABEL;

/// Credentials and connection options for one repository.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// HTTPS user name.
    pub username: String,
    /// HTTPS password or token.
    pub password: String,
    /// Bearer token (sent as an `Authorization` header instead of basic auth).
    pub bearer_token: String,
    /// SSH private key (PEM/OpenSSH).
    pub ssh_private_key: String,
    /// Skip TLS verification (`insecure: "true"`).
    pub insecure: bool,
    /// Skip SSH host key verification (`insecureIgnoreHostKey: "true"`).
    pub insecure_ignore_host_key: bool,
    /// HTTP(S) proxy.
    pub proxy: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &set(&self.password))
            .field("bearer_token", &set(&self.bearer_token))
            .field("ssh_private_key", &set(&self.ssh_private_key))
            .field("insecure", &self.insecure)
            .field("insecure_ignore_host_key", &self.insecure_ignore_host_key)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Credentials {
    /// Whether anything that authenticates is set.
    pub fn has_secret(&self) -> bool {
        !(self.username.is_empty()
            && self.password.is_empty()
            && self.bearer_token.is_empty()
            && self.ssh_private_key.is_empty())
    }

    /// The secret strings, so error text can be scrubbed of them.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        [self.password.as_str(), self.bearer_token.as_str(), self.ssh_private_key.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    url: String,
    creds: Credentials,
}

/// All repository and repo-creds Secrets, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    repositories: Vec<Entry>,
    templates: Vec<Entry>,
}

/// Reads a field from `stringData` or base64 `data`.
fn field(secret: &Value, name: &str) -> Result<Option<String>, String> {
    if let Some(s) = secret.pointer(&format!("/stringData/{name}")).and_then(Value::as_str) {
        return Ok(Some(s.to_string()));
    }
    let Some(encoded) = secret.pointer(&format!("/data/{name}")).and_then(Value::as_str) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| format!("data.{name} is not base64"))?;
    String::from_utf8(bytes).map(Some).map_err(|_| format!("data.{name} is not UTF-8"))
}

impl CredentialStore {
    /// Builds the store from Secrets (any other Secret is skipped). A malformed repository
    /// Secret is an error naming the Secret, never its contents.
    pub fn from_secrets(secrets: &[Value]) -> Result<Self, GitError> {
        let mut store = CredentialStore::default();
        for secret in secrets {
            let kind = secret
                .pointer(&format!("/metadata/labels/{}", SECRET_TYPE_LABEL.replace('/', "~1")))
                .and_then(Value::as_str);
            let Some(kind @ ("repository" | "repo-creds")) = kind else { continue };
            let name =
                secret.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("<unnamed>").to_string();
            let bad = |message: String| GitError::BadSecret { secret: name.clone(), message };
            let get = |f: &str| field(secret, f).map_err(bad).map(Option::unwrap_or_default);
            let url = get("url")?;
            if url.is_empty() {
                return Err(bad("url is missing".into()));
            }
            let creds = Credentials {
                username: get("username")?,
                password: get("password")?,
                bearer_token: get("bearerToken")?,
                ssh_private_key: get("sshPrivateKey")?,
                insecure: get("insecure")? == "true",
                insecure_ignore_host_key: get("insecureIgnoreHostKey")? == "true",
                proxy: get("proxy")?,
            };
            let entry = Entry { name, url, creds };
            if kind == "repository" { store.repositories.push(entry) } else { store.templates.push(entry) }
        }
        Ok(store)
    }

    /// Credentials for `url`: the repository Secret with the same (normalised) URL if it has
    /// credentials, else the repo-creds Secret with the longest matching URL prefix (keeping
    /// the repository's connection flags). Also returns the Secret name, for messages.
    pub fn lookup(&self, url: &str) -> Option<(String, Credentials)> {
        let wanted = normalize(url);
        let repo = self.repositories.iter().find(|e| normalize(&e.url) == wanted);
        if let Some(r) = repo
            && r.creds.has_secret()
        {
            return Some((r.name.clone(), r.creds.clone()));
        }
        let lower = url.to_lowercase();
        let template = self
            .templates
            .iter()
            .filter(|t| lower.starts_with(&t.url.to_lowercase()))
            .max_by_key(|t| t.url.len());
        match (repo, template) {
            (Some(r), Some(t)) => {
                let mut creds = t.creds.clone();
                creds.insecure |= r.creds.insecure;
                creds.insecure_ignore_host_key |= r.creds.insecure_ignore_host_key;
                if !r.creds.proxy.is_empty() {
                    creds.proxy = r.creds.proxy.clone();
                }
                Some((t.name.clone(), creds))
            }
            (None, Some(t)) => Some((t.name.clone(), t.creds.clone())),
            (Some(r), None) => Some((r.name.clone(), r.creds.clone())),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(name: &str, kind: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": name, "labels": {SECRET_TYPE_LABEL: kind}}, "stringData": data})
    }

    #[test]
    fn exact_repository_then_longest_prefix_template() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cret");
        let store = CredentialStore::from_secrets(&[
            secret("org", "repo-creds", json!({"url": "https://git.example.com/org", "username": "org", "password": "p1"})),
            secret("team", "repo-creds", json!({"url": "https://git.example.com/org/team", "username": "team", "password": "p2"})),
            secret("exact", "repository", json!({"url": "https://git.example.com/org/team/app.git", "username": "app", "password": "p3"})),
            secret("flags", "repository", json!({"url": "https://git.example.com/org/other", "insecure": "true"})),
            json!({"metadata": {"name": "b64", "labels": {SECRET_TYPE_LABEL: "repository"}},
                   "data": {"url": base64::engine::general_purpose::STANDARD.encode("https://h/r"), "password": b64}}),
            json!({"metadata": {"name": "unrelated"}, "stringData": {"url": "https://git.example.com"}}),
        ])
        .unwrap();
        assert_eq!(store.lookup("https://git.example.com/org/team/app").unwrap().1.username, "app");
        assert_eq!(store.lookup("https://git.example.com/org/team/other").unwrap().1.username, "team");
        assert_eq!(store.lookup("https://git.example.com/org/x").unwrap().1.username, "org");
        let (name, flags) = store.lookup("https://git.example.com/org/other").unwrap();
        assert_eq!((name.as_str(), flags.username.as_str(), flags.insecure), ("org", "org", true));
        assert_eq!(store.lookup("https://h/r").unwrap().1.password, "s3cret");
        assert!(store.lookup("https://elsewhere/r").is_none());
    }

    #[test]
    fn debug_and_errors_hide_secrets() {
        let c = Credentials { username: "u".into(), password: "hunter2".into(), ..Default::default() };
        assert!(!format!("{c:?}").contains("hunter2"));
        let err = CredentialStore::from_secrets(&[json!({
            "metadata": {"name": "broken", "labels": {SECRET_TYPE_LABEL: "repository"}},
            "data": {"url": "not base64!", "password": "aHVudGVyMg=="}})])
        .unwrap_err();
        assert_eq!(err.to_string(), "secret broken: data.url is not base64; fix the repository Secret");
    }
}
