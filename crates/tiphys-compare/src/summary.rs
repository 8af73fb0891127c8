//! `status.summary`: container images and external URLs of the app's live objects, as
//! upstream collects them (Ingress rules and load-balancer addresses, `link.argocd.argoproj.io/*`
//! annotations). Children the controller knows about (Pods of a Deployment) are not seen here;
//! the pod templates of workloads carry the same images.

use std::collections::BTreeSet;

use serde_json::Value;
use tiphys_model::application::ApplicationSummary;

const LINK_PREFIX: &str = "link.argocd.argoproj.io/";

fn ingress_urls(obj: &Value, out: &mut BTreeSet<String>) {
    let tls_hosts: BTreeSet<&str> = obj
        .pointer("/spec/tls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("hosts").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let lb: Vec<&str> = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("hostname").or_else(|| i.get("ip")).and_then(Value::as_str))
        .collect();
    for rule in obj.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
        let hosts: Vec<&str> = match rule.get("host").and_then(Value::as_str).filter(|h| !h.is_empty()) {
            Some(h) => vec![h],
            None => lb.clone(),
        };
        let paths: Vec<&str> = rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| p.get("path").and_then(Value::as_str).unwrap_or(""))
            .collect();
        for host in hosts {
            let scheme = if tls_hosts.contains(host) { "https" } else { "http" };
            if paths.is_empty() {
                out.insert(format!("{scheme}://{host}"));
            }
            for path in &paths {
                // Wildcard and regex paths are not browsable; keep the host only.
                let path = if path.contains('*') || path.contains('(') { "" } else { path };
                out.insert(format!("{scheme}://{host}{path}"));
            }
        }
    }
}

fn links(obj: &Value, out: &mut BTreeSet<String>) {
    let Some(annotations) = obj.pointer("/metadata/annotations").and_then(Value::as_object) else { return };
    for (k, v) in annotations {
        if k.starts_with(LINK_PREFIX)
            && let Some(url) = v.as_str().filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            out.insert(url.to_string());
        }
    }
}

/// The summary of `live` (the app's live objects).
pub(crate) fn summarize<'a>(live: impl IntoIterator<Item = &'a Value>) -> ApplicationSummary {
    let (mut imgs, mut urls) = (BTreeSet::new(), BTreeSet::new());
    for obj in live {
        imgs.extend(tiphys_resource::workload::container_images(obj));
        if obj.get("kind").and_then(Value::as_str) == Some("Ingress") {
            ingress_urls(obj, &mut urls);
        }
        links(obj, &mut urls);
    }
    let list = |s: BTreeSet<String>| (!s.is_empty()).then(|| s.into_iter().collect());
    ApplicationSummary { images: list(imgs), external_urls: list(urls), ..ApplicationSummary::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_and_urls() {
        let deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"image": "busybox:1"}], "containers": [{"image": "nginx:1.25"}, {"image": "nginx:1.25"}]}}}});
        let ing = json!({"kind": "Ingress", "metadata": {"annotations": {"link.argocd.argoproj.io/docs": "https://docs.example.com"}},
            "spec": {"tls": [{"hosts": ["secure.example.com"]}], "rules": [
                {"host": "secure.example.com", "http": {"paths": [{"path": "/app"}]}},
                {"host": "plain.example.com"},
                {"http": {"paths": [{"path": "/"}]}}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}});
        let s = summarize([&deploy, &ing]);
        assert_eq!(s.images.unwrap(), vec!["busybox:1", "nginx:1.25"]);
        assert_eq!(
            s.external_urls.unwrap(),
            vec![
                "http://10.0.0.1/",
                "http://plain.example.com",
                "https://docs.example.com",
                "https://secure.example.com/app"
            ]
        );
    }
}
