//! Human-readable output: each side as YAML, then a unified diff from live to desired (the
//! direction `argocd app diff` prints), optionally coloured for a terminal.

use serde_json::Value;
use similar::TextDiff;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

fn yaml(v: Option<&Value>) -> String {
    v.map(tiphys_resource::yaml::to_yaml).unwrap_or_default()
}

/// A unified diff from `live` to `desired`; empty when they render the same.
pub(crate) fn unified(title: &str, live: Option<&Value>, desired: Option<&Value>, colour: bool) -> String {
    let (old, new) = (yaml(live), yaml(desired));
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(&old, &new);
    let body = diff.unified_diff().context_radius(3).header("live", "desired").to_string();
    let mut out = format!("===== {title} ======\n");
    for line in body.lines() {
        let paint = match line.as_bytes().first() {
            _ if !colour => None,
            Some(b'-') if !line.starts_with("---") => Some(RED),
            Some(b'+') if !line.starts_with("+++") => Some(GREEN),
            Some(b'@') => Some(CYAN),
            _ => None,
        };
        match paint {
            Some(c) => out.push_str(&format!("{c}{line}{RESET}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_and_coloured() {
        let live = json!({"spec": {"replicas": 1}});
        let desired = json!({"spec": {"replicas": 2}});
        let plain = unified("apps/Deployment ns/web", Some(&live), Some(&desired), false);
        assert!(plain.starts_with("===== apps/Deployment ns/web ======\n--- live\n+++ desired\n"), "{plain}");
        assert!(plain.contains("\n-  replicas: 1\n+  replicas: 2\n"), "{plain}");
        assert!(!plain.contains('\x1b'));
        let coloured = unified("x", Some(&live), Some(&desired), true);
        assert!(coloured.contains("\x1b[31m-  replicas: 1\x1b[0m"), "{coloured}");
        assert!(unified("x", Some(&live), Some(&live), true).is_empty());
    }

    #[test]
    fn missing_side_is_all_additions() {
        let d = json!({"a": 1});
        let out = unified("x", None, Some(&d), false);
        assert!(out.contains("+a: 1"), "{out}");
    }
}
