//! Webhook secrets from the `argocd-secret` Secret, and the payload size cap.

use base64::Engine;
use serde_json::Value;

use crate::error::WebhookError;

/// Upstream's default for `webhook.maxPayloadSizeMB` (50 MiB).
pub const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// The shared secrets that authenticate webhook deliveries, one per provider, plus the body
/// size cap. A provider without a secret accepts unsigned requests (upstream's behaviour);
/// with one, every push must prove it knows the secret.
///
/// `Debug` never prints a secret, only whether it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    /// `webhook.github.secret`: HMAC-SHA256 key for `X-Hub-Signature-256`.
    pub github: Option<String>,
    /// `webhook.gitlab.secret`: the token GitLab sends in `X-Gitlab-Token`.
    pub gitlab: Option<String>,
    /// `webhook.bitbucket.uuid`: the webhook UUID Bitbucket Cloud sends in `X-Hook-UUID`.
    pub bitbucket_uuid: Option<String>,
    /// `webhook.bitbucketserver.secret`: HMAC-SHA256 key for `X-Hub-Signature`.
    pub bitbucket_server: Option<String>,
    /// `webhook.gogs.secret`: HMAC-SHA256 key for `X-Gogs-Signature`. Upstream has no Gitea
    /// key: Gitea deliveries also carry Gogs headers and are verified with this secret, so we
    /// use it for `X-Gitea-Signature` too.
    pub gogs: Option<String>,
    /// `webhook.azuredevops.username`: HTTP basic-auth user Azure DevOps service hooks send.
    pub azure_devops_username: Option<String>,
    /// `webhook.azuredevops.password`: HTTP basic-auth password Azure DevOps service hooks send.
    pub azure_devops_password: Option<String>,
    /// Largest body accepted, in bytes (`webhook.maxPayloadSizeMB` from argocd-cm × 1 MiB).
    pub max_payload_bytes: u64,
}

impl Default for WebhookSecrets {
    fn default() -> Self {
        WebhookSecrets {
            github: None,
            gitlab: None,
            bitbucket_uuid: None,
            bitbucket_server: None,
            gogs: None,
            azure_devops_username: None,
            azure_devops_password: None,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &Option<String>| if s.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("WebhookSecrets")
            .field("github", &set(&self.github))
            .field("gitlab", &set(&self.gitlab))
            .field("bitbucket_uuid", &set(&self.bitbucket_uuid))
            .field("bitbucket_server", &set(&self.bitbucket_server))
            .field("gogs", &set(&self.gogs))
            .field("azure_devops_username", &set(&self.azure_devops_username))
            .field("azure_devops_password", &set(&self.azure_devops_password))
            .field("max_payload_bytes", &self.max_payload_bytes)
            .finish()
    }
}

/// The `argocd-secret` keys, in the order of the fields above.
pub(crate) const GITHUB_KEY: &str = "webhook.github.secret";
pub(crate) const GITLAB_KEY: &str = "webhook.gitlab.secret";
pub(crate) const BITBUCKET_KEY: &str = "webhook.bitbucket.uuid";
pub(crate) const BITBUCKET_SERVER_KEY: &str = "webhook.bitbucketserver.secret";
pub(crate) const GOGS_KEY: &str = "webhook.gogs.secret";
pub(crate) const AZURE_DEVOPS_USERNAME_KEY: &str = "webhook.azuredevops.username";
pub(crate) const AZURE_DEVOPS_PASSWORD_KEY: &str = "webhook.azuredevops.password";

impl WebhookSecrets {
    /// Reads the webhook keys from the `argocd-secret` Secret object as the API returns it
    /// (base64 `data`; `stringData` is honoured too, for manifests that were never stored).
    /// Missing or empty keys mean "no secret"; the payload cap is the default.
    pub fn from_secret(secret: &Value) -> Result<Self, WebhookError> {
        let read = |key: &str| -> Result<Option<String>, WebhookError> {
            let from_data = secret.get("data").and_then(|d| d.get(key)).and_then(Value::as_str);
            let value = match from_data {
                Some(encoded) => {
                    let bytes =
                        base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|e| {
                            WebhookError::BadSecret { key: key.to_string(), message: e.to_string() }
                        })?;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                None => match secret.get("stringData").and_then(|d| d.get(key)).and_then(Value::as_str) {
                    Some(plain) => plain.to_string(),
                    None => return Ok(None),
                },
            };
            Ok(Some(value).filter(|v| !v.is_empty()))
        };
        Ok(WebhookSecrets {
            github: read(GITHUB_KEY)?,
            gitlab: read(GITLAB_KEY)?,
            bitbucket_uuid: read(BITBUCKET_KEY)?,
            bitbucket_server: read(BITBUCKET_SERVER_KEY)?,
            gogs: read(GOGS_KEY)?,
            azure_devops_username: read(AZURE_DEVOPS_USERNAME_KEY)?,
            azure_devops_password: read(AZURE_DEVOPS_PASSWORD_KEY)?,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        })
    }
}
