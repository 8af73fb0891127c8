//! Provider detection, verification and payload extraction.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::WebhookError;
use crate::secrets::{
    AZURE_DEVOPS_PASSWORD_KEY, BITBUCKET_KEY, BITBUCKET_SERVER_KEY, GITHUB_KEY, GITLAB_KEY, GOGS_KEY,
    WebhookSecrets,
};

/// The Git hosting product a delivery came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// GitHub and GitHub Enterprise.
    GitHub,
    /// GitLab (SaaS and self-managed), including system hooks.
    GitLab,
    /// Bitbucket Cloud.
    Bitbucket,
    /// Bitbucket Server / Data Center.
    BitbucketServer,
    /// Gitea (and Forgejo, which sends the same headers).
    Gitea,
    /// Gogs.
    Gogs,
    /// Azure DevOps (Services and Server) service hooks.
    AzureDevOps,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::GitHub => "GitHub",
            Provider::GitLab => "GitLab",
            Provider::Bitbucket => "Bitbucket",
            Provider::BitbucketServer => "Bitbucket Server",
            Provider::Gitea => "Gitea",
            Provider::Gogs => "Gogs",
            Provider::AzureDevOps => "Azure DevOps",
        })
    }
}

/// A verified push, independent of the provider that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Who sent it.
    pub provider: Provider,
    /// Every URL form of the pushed repository found in the payload (web page, HTTPS clone,
    /// SSH clone), in payload order, without duplicates.
    pub repo_urls: Vec<String>,
    /// The pushed branch or tag name (`refs/heads/` / `refs/tags/` stripped), as upstream's
    /// `ParseRevision` computes it. Empty when the payload names no ref (a deleted branch on
    /// Bitbucket Cloud).
    pub revision: String,
    /// The commit before the push, when the payload says.
    pub before: Option<String>,
    /// The commit after the push, when the payload says.
    pub after: Option<String>,
    /// Files added, modified or removed by the pushed commits. Empty when the provider does
    /// not list them (Bitbucket), which means "assume everything changed".
    pub changed_files: Vec<String>,
    /// Whether a tag (not a branch) was pushed.
    pub is_tag: bool,
    /// The repository's default branch when the payload names it (GitHub, GitLab, Gitea,
    /// Gogs). `None` means unknown: the push is then assumed to touch `HEAD`, as upstream does
    /// for Bitbucket.
    pub default_branch: Option<String>,
}

impl PushEvent {
    /// Whether the push moved the repository's default branch, i.e. what `targetRevision:
    /// HEAD` (or an empty one) follows.
    pub fn touched_head(&self) -> bool {
        self.default_branch.as_deref().is_none_or(|d| d == self.revision)
    }
}

/// What a verified delivery turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A push (branch or tag): refresh the Applications it [affects](crate::affects).
    Push(PushEvent),
    /// A delivery that is not a push (ping, issue, pull request, …): answer 200 and do
    /// nothing.
    Ignored {
        /// Who sent it.
        provider: Provider,
        /// The provider's event name, e.g. `ping` or `diagnostics:ping`.
        event: String,
    },
}

/// Reads one webhook request. `headers` are (name, value) pairs in any letter case; `body` is
/// the raw request body (the signature covers these exact bytes).
///
/// Order of checks: size cap, provider detection, secret verification, event kind, payload.
/// A request is refused when its provider has a secret configured and the request does not
/// prove knowledge of it; with no secret configured, it is accepted (as upstream).
pub fn parse(
    headers: &[(String, String)],
    body: &[u8],
    secrets: &WebhookSecrets,
) -> Result<Received, WebhookError> {
    if body.len() as u64 > secrets.max_payload_bytes {
        return Err(WebhookError::PayloadTooLarge { size: body.len(), limit: secrets.max_payload_bytes });
    }
    let header = |name: &str| -> Option<&str> {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    };
    // Upstream's order: Azure DevOps first (its deliveries carry no provider event header).
    if header("X-Vss-ActivityId").is_some() {
        let p = Provider::AzureDevOps;
        verify_basic_auth(secrets, header("Authorization"))?;
        let payload = json(p, body)?;
        let event = payload.get("eventType").and_then(Value::as_str).unwrap_or_default();
        if event != "git.push" {
            return Ok(ignored(p, event));
        }
        return Ok(Received::Push(azure_devops(&payload)));
    }
    // Gitea also sends Gogs and GitHub headers, and Gogs GitHub-like ones, so the most
    // specific header wins (upstream checks Gogs before GitHub for the same reason).
    if let Some(event) = header("X-Gitea-Event") {
        let sent = header("X-Gitea-Signature").or_else(|| header("X-Gogs-Signature"));
        guard(Provider::Gitea, &secrets.gogs, GOGS_KEY, "X-Gitea-Signature").hmac(sent, "", body)?;
        return gogs_like(Provider::Gitea, event, body);
    }
    if let Some(event) = header("X-Gogs-Event") {
        let sent = header("X-Gogs-Signature");
        guard(Provider::Gogs, &secrets.gogs, GOGS_KEY, "X-Gogs-Signature").hmac(sent, "", body)?;
        return gogs_like(Provider::Gogs, event, body);
    }
    if let Some(event) = header("X-GitHub-Event") {
        let p = Provider::GitHub;
        let sent = header("X-Hub-Signature-256");
        guard(p, &secrets.github, GITHUB_KEY, "X-Hub-Signature-256").hmac(sent, "sha256=", body)?;
        if event != "push" {
            return Ok(ignored(p, event));
        }
        let urls = ["html_url", "clone_url", "ssh_url", "git_url"];
        return github_like(p, &json(p, body)?, "repository", &urls);
    }
    if let Some(event) = header("X-Gitlab-Event") {
        let p = Provider::GitLab;
        guard(p, &secrets.gitlab, GITLAB_KEY, "X-Gitlab-Token").token(header("X-Gitlab-Token"))?;
        let payload = match event {
            "Push Hook" | "Tag Push Hook" => json(p, body)?,
            "System Hook" => {
                let payload = json(p, body)?;
                let kind = payload.get("object_kind").and_then(Value::as_str).unwrap_or_default();
                if kind != "push" && kind != "tag_push" {
                    return Ok(ignored(p, &format!("System Hook ({kind})")));
                }
                payload
            }
            other => return Ok(ignored(p, other)),
        };
        return github_like(p, &payload, "project", &["web_url", "git_http_url", "git_ssh_url"]);
    }
    if let Some(uuid) = header("X-Hook-UUID") {
        let p = Provider::Bitbucket;
        guard(p, &secrets.bitbucket_uuid, BITBUCKET_KEY, "X-Hook-UUID").token(Some(uuid))?;
        let event = header("X-Event-Key").unwrap_or_default();
        if event != "repo:push" {
            return Ok(ignored(p, event));
        }
        return Ok(Received::Push(bitbucket(&json(p, body)?)));
    }
    if let Some(event) = header("X-Event-Key") {
        let p = Provider::BitbucketServer;
        // Upstream answers diagnostics:ping (the "Test connection" button) before verifying:
        // it has no body to sign.
        if event == "diagnostics:ping" {
            return Ok(ignored(p, event));
        }
        let sent = header("X-Hub-Signature");
        guard(p, &secrets.bitbucket_server, BITBUCKET_SERVER_KEY, "X-Hub-Signature")
            .hmac(sent, "sha256=", body)?;
        if event != "repo:refs_changed" {
            return Ok(ignored(p, event));
        }
        return Ok(Received::Push(bitbucket_server(&json(p, body)?)));
    }
    Err(WebhookError::UnknownProvider)
}

fn ignored(provider: Provider, event: &str) -> Received {
    Received::Ignored { provider, event: event.to_string() }
}

/// What authenticates one provider's deliveries: its secret (if configured), where that secret
/// lives in `argocd-secret`, and the header that must prove knowledge of it.
struct Guard<'a> {
    provider: Provider,
    secret: Option<&'a str>,
    key: &'static str,
    header: &'static str,
}

fn guard<'a>(
    provider: Provider,
    secret: &'a Option<String>,
    key: &'static str,
    header: &'static str,
) -> Guard<'a> {
    Guard { provider, secret: secret.as_deref(), key, header }
}

impl Guard<'_> {
    /// The proof sent in `self.header`, required when a secret is configured.
    fn proof<'h>(&self, sent: Option<&'h str>) -> Result<&'h str, WebhookError> {
        sent.filter(|s| !s.is_empty())
            .ok_or(WebhookError::MissingSignature { provider: self.provider, header: self.header })
    }

    fn mismatch(&self) -> WebhookError {
        WebhookError::BadSignature { provider: self.provider, header: self.header, key: self.key }
    }

    /// Checks `sent` = `prefix` + hex(HMAC-SHA256(secret, body)) in constant time.
    fn hmac(&self, sent: Option<&str>, prefix: &str, body: &[u8]) -> Result<(), WebhookError> {
        let Some(secret) = self.secret else { return Ok(()) };
        let hex_digest = self.proof(sent)?.strip_prefix(prefix).ok_or_else(|| self.mismatch())?;
        let digest = hex::decode(hex_digest.trim()).map_err(|_| self.mismatch())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| self.mismatch())?;
        mac.update(body);
        mac.verify_slice(&digest).map_err(|_| self.mismatch())
    }

    /// Checks a shared token (GitLab's secret token, Bitbucket's hook UUID) in constant time.
    fn token(&self, sent: Option<&str>) -> Result<(), WebhookError> {
        let Some(secret) = self.secret else { return Ok(()) };
        let token = self.proof(sent)?;
        if bool::from(token.as_bytes().ct_eq(secret.as_bytes())) { Ok(()) } else { Err(self.mismatch()) }
    }
}

/// Azure DevOps service hooks authenticate with HTTP basic auth when a user or password is
/// configured (upstream checks both, exactly).
fn verify_basic_auth(secrets: &WebhookSecrets, authorization: Option<&str>) -> Result<(), WebhookError> {
    let (user, password) = (&secrets.azure_devops_username, &secrets.azure_devops_password);
    if user.is_none() && password.is_none() {
        return Ok(());
    }
    let provider = Provider::AzureDevOps;
    let header = "Authorization";
    let encoded = authorization
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim())
        .ok_or(WebhookError::MissingSignature { provider, header })?;
    let mismatch = WebhookError::BadSignature { provider, header, key: AZURE_DEVOPS_PASSWORD_KEY };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| mismatch.clone())?;
    let (sent_user, sent_password) = match decoded.iter().position(|b| *b == b':') {
        Some(i) => (&decoded[..i], &decoded[i + 1..]),
        None => return Err(mismatch),
    };
    let want = |s: &Option<String>| s.as_deref().unwrap_or_default().as_bytes().to_vec();
    let user_ok = sent_user.ct_eq(&want(user));
    let password_ok = sent_password.ct_eq(&want(password));
    if bool::from(user_ok & password_ok) { Ok(()) } else { Err(mismatch) }
}

fn json(provider: Provider, body: &[u8]) -> Result<Value, WebhookError> {
    if body.is_empty() {
        return Err(WebhookError::EmptyPayload { provider });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::InvalidPayload { provider, message: e.to_string() })?;
    if !value.is_object() {
        return Err(WebhookError::InvalidPayload { provider, message: "expected a JSON object".into() });
    }
    Ok(value)
}

fn gogs_like(provider: Provider, event: &str, body: &[u8]) -> Result<Received, WebhookError> {
    if event != "push" {
        return Ok(ignored(provider, event));
    }
    github_like(provider, &json(provider, body)?, "repository", &["html_url", "clone_url", "ssh_url"])
}

/// GitHub, GitLab, Gitea and Gogs share a payload shape: `ref`, `before`, `after`, a
/// repository object with URL fields and `default_branch`, and `commits[]` listing
/// added/modified/removed files.
fn github_like(
    provider: Provider,
    payload: &Value,
    repo_key: &str,
    url_keys: &[&str],
) -> Result<Received, WebhookError> {
    let git_ref = str_at(payload, "/ref")
        .ok_or_else(|| WebhookError::InvalidPayload { provider, message: "no \"ref\" field".into() })?;
    let repo = payload.get(repo_key);
    let mut repo_urls = Vec::new();
    for key in url_keys {
        if let Some(url) = repo.and_then(|r| r.get(*key)).and_then(Value::as_str) {
            push_unique(&mut repo_urls, url);
        }
    }
    if repo_urls.is_empty() {
        return Err(WebhookError::InvalidPayload { provider, message: format!("no URL in \"{repo_key}\"") });
    }
    let mut changed_files = Vec::new();
    for commit in payload.get("commits").and_then(Value::as_array).into_iter().flatten() {
        for list in ["added", "modified", "removed"] {
            for file in commit.get(list).and_then(Value::as_array).into_iter().flatten() {
                if let Some(file) = file.as_str() {
                    changed_files.push(file.to_string());
                }
            }
        }
    }
    Ok(Received::Push(PushEvent {
        provider,
        repo_urls,
        revision: parse_revision(git_ref).to_string(),
        before: non_empty(str_at(payload, "/before")),
        after: non_empty(str_at(payload, "/after")),
        changed_files,
        is_tag: git_ref.starts_with("refs/tags/"),
        default_branch: non_empty(repo.and_then(|r| r.get("default_branch")).and_then(Value::as_str)),
    }))
}

/// Bitbucket Cloud `repo:push`: the first change's new branch/tag. The payload lists no files
/// and no default branch (upstream asks Bitbucket's API for both; we assume HEAD was touched
/// and everything changed, which only costs a refresh).
fn bitbucket(payload: &Value) -> PushEvent {
    let change = payload.pointer("/push/changes/0");
    let new = change.and_then(|c| c.get("new"));
    let mut repo_urls = Vec::new();
    if let Some(url) = str_at(payload, "/repository/links/html/href") {
        push_unique(&mut repo_urls, url);
    }
    PushEvent {
        provider: Provider::Bitbucket,
        repo_urls,
        revision: new.and_then(|n| n.get("name")).and_then(Value::as_str).unwrap_or_default().to_string(),
        before: non_empty(change.and_then(|c| str_at(c, "/old/target/hash"))),
        after: non_empty(new.and_then(|n| str_at(n, "/target/hash"))),
        changed_files: Vec::new(),
        is_tag: new.and_then(|n| n.get("type")).and_then(Value::as_str) == Some("tag"),
        default_branch: None,
    }
}

/// Bitbucket Server `repo:refs_changed`: the first change's ref, and the HTTP and SSH clone
/// links.
fn bitbucket_server(payload: &Value) -> PushEvent {
    let change = payload.pointer("/changes/0");
    let mut repo_urls = Vec::new();
    for link in payload.pointer("/repository/links/clone").and_then(Value::as_array).into_iter().flatten() {
        let name = link.get("name").and_then(Value::as_str);
        if let (Some("http" | "ssh"), Some(href)) = (name, link.get("href").and_then(Value::as_str)) {
            push_unique(&mut repo_urls, href);
        }
    }
    let ref_id =
        change.and_then(|c| str_at(c, "/ref/id")).or_else(|| change.and_then(|c| str_at(c, "/refId")));
    let ref_type = change.and_then(|c| str_at(c, "/ref/type"));
    PushEvent {
        provider: Provider::BitbucketServer,
        repo_urls,
        revision: ref_id.map(parse_revision).unwrap_or_default().to_string(),
        before: non_empty(change.and_then(|c| str_at(c, "/fromHash"))),
        after: non_empty(change.and_then(|c| str_at(c, "/toHash"))),
        changed_files: Vec::new(),
        is_tag: ref_type == Some("TAG") || ref_id.is_some_and(|r| r.starts_with("refs/tags/")),
        default_branch: None,
    }
}

/// Azure DevOps `git.push`: the first ref update, the repository's remote URL, and its
/// default branch (a full ref in the payload). Files are not listed (upstream asks the API).
fn azure_devops(payload: &Value) -> PushEvent {
    let update = payload.pointer("/resource/refUpdates/0");
    let name = update.and_then(|u| str_at(u, "/name")).unwrap_or_default();
    let mut repo_urls = Vec::new();
    if let Some(url) = str_at(payload, "/resource/repository/remoteUrl") {
        push_unique(&mut repo_urls, url);
    }
    PushEvent {
        provider: Provider::AzureDevOps,
        repo_urls,
        revision: parse_revision(name).to_string(),
        before: non_empty(update.and_then(|u| str_at(u, "/oldObjectId"))),
        after: non_empty(update.and_then(|u| str_at(u, "/newObjectId"))),
        changed_files: Vec::new(),
        is_tag: name.starts_with("refs/tags/"),
        default_branch: non_empty(str_at(payload, "/resource/repository/defaultBranch").map(parse_revision)),
    }
}

/// Upstream's `ParseRevision`: the part after the second `/` (`refs/heads/a/b` → `a/b`), or
/// after the first when there are only two parts, or the whole string.
pub(crate) fn parse_revision(git_ref: &str) -> &str {
    git_ref.splitn(3, '/').last().unwrap_or(git_ref)
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn push_unique(urls: &mut Vec<String>, url: &str) {
    if !url.is_empty() && !urls.iter().any(|u| u == url) {
        urls.push(url.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::parse_revision;

    #[test]
    fn parse_revision_strips_like_upstream() {
        assert_eq!(parse_revision("refs/heads/main"), "main");
        assert_eq!(parse_revision("refs/heads/feature/x"), "feature/x");
        assert_eq!(parse_revision("refs/tags/v1.0"), "v1.0");
        assert_eq!(parse_revision("main"), "main");
        assert_eq!(parse_revision("release/1.0"), "1.0");
    }
}
