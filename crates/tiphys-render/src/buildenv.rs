//! The build environment upstream exposes to renders (`$ARGOCD_APP_NAME`, ...) and the
//! `$VAR` substitution it applies to Jsonnet variables, Kustomize images/labels and plugin env.

use serde::{Deserialize, Serialize};

/// Who the render is for: the Application and the revision being rendered. Part of the render
/// cache key, because the build environment can change the output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AppContext {
    /// Application name.
    pub name: String,
    /// Application's destination namespace.
    pub namespace: String,
    /// The AppProject name.
    pub project: String,
    /// Full commit SHA being rendered.
    pub revision: String,
    /// Repository URL as written in the source.
    pub repo_url: String,
    /// Source path as written in the source.
    pub path: String,
    /// `targetRevision` as written in the source.
    pub target_revision: String,
    /// Kubernetes version of the destination cluster (`KUBE_VERSION`), when known.
    pub kube_version: String,
    /// API versions of the destination cluster (`KUBE_API_VERSIONS`), when known.
    pub api_versions: Vec<String>,
}

impl AppContext {
    /// The build environment as name/value pairs, in upstream's names.
    pub fn build_env(&self) -> Vec<(String, String)> {
        let short = |n: usize| self.revision.chars().take(n).collect::<String>();
        vec![
            ("ARGOCD_APP_NAME".into(), self.name.clone()),
            ("ARGOCD_APP_NAMESPACE".into(), self.namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME".into(), self.project.clone()),
            ("ARGOCD_APP_REVISION".into(), self.revision.clone()),
            ("ARGOCD_APP_REVISION_SHORT".into(), short(7)),
            ("ARGOCD_APP_REVISION_SHORT_8".into(), short(8)),
            ("ARGOCD_APP_SOURCE_REPO_URL".into(), self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH".into(), self.path.clone()),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION".into(), self.target_revision.clone()),
            ("KUBE_VERSION".into(), self.kube_version.clone()),
            ("KUBE_API_VERSIONS".into(), self.api_versions.join(",")),
        ]
    }

    /// Substitutes build-environment variables in `s` the way upstream does (Go's
    /// `os.Expand`): `$NAME` and `${NAME}`, unknown names become empty, `$$` is a literal `$`.
    pub fn envsubst(&self, s: &str) -> String {
        let env = self.build_env();
        expand(s, |name| {
            if name == "$" {
                return "$".to_string();
            }
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
        })
    }
}

fn is_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9')
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// Finds the variable name after a `$`: returns the name and how many bytes it used. An empty
/// name with a non-zero width is bad syntax (the bytes are dropped, as Go does).
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    if b.first() == Some(&b'{') {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        return match s[1..].find('}') {
            Some(0) => ("", 2),
            Some(end) => (&s[1..1 + end], end + 2),
            None => ("", 1),
        };
    }
    if b.first().is_some_and(|c| is_special(*c)) {
        return (&s[0..1], 1);
    }
    let n = b.iter().take_while(|c| is_name_char(**c)).count();
    (&s[..n], n)
}

/// Go's `os.Expand`.
fn expand(s: &str, mapping: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            out.push_str(&s[copied..i]);
            let (name, width) = shell_name(&s[i + 1..]);
            if name.is_empty() && width == 0 {
                out.push('$');
            } else if !name.is_empty() {
                out.push_str(&mapping(name));
            }
            i += 1 + width;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> AppContext {
        AppContext {
            name: "guestbook".into(),
            namespace: "prod".into(),
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
            ..AppContext::default()
        }
    }

    #[test]
    fn substitutes_like_go_os_expand() {
        let c = ctx();
        assert_eq!(c.envsubst("$ARGOCD_APP_NAME-${ARGOCD_APP_NAMESPACE}"), "guestbook-prod");
        assert_eq!(c.envsubst("rev-$ARGOCD_APP_REVISION_SHORT"), "rev-0123456");
        assert_eq!(c.envsubst("cost: $$5"), "cost: $5");
        assert_eq!(c.envsubst("$UNKNOWN|${NOPE}|x"), "||x");
        assert_eq!(c.envsubst("trailing $"), "trailing $");
        assert_eq!(c.envsubst("a $ b"), "a $ b");
        assert_eq!(c.envsubst("${}x"), "x");
        assert_eq!(c.envsubst("${unterminated"), "unterminated");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = ctx().envsubst(&s);
        }
    }
}
