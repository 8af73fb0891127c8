//! The generated GitOps repository: `apps/<app>/` directories of plain manifests with a
//! realistic mix of kinds, plus the same manifests rendered into one stream for the
//! `kubectl apply --server-side` anchor.

/// The kinds each app cycles through, so 10 resources give 4 ConfigMaps, 2 Services,
/// 2 Deployments, a Secret and a ServiceAccount (what a small service typically ships).
const KINDS: [Kind; 10] = [
    Kind::ConfigMap,
    Kind::Service,
    Kind::Deployment,
    Kind::ConfigMap,
    Kind::Secret,
    Kind::ServiceAccount,
    Kind::ConfigMap,
    Kind::Service,
    Kind::Deployment,
    Kind::ConfigMap,
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    ConfigMap,
    Service,
    Deployment,
    Secret,
    ServiceAccount,
}

/// The value of `data.color` in every app's first ConfigMap until a scenario changes it.
pub const INITIAL_COLOR: &str = "blue";

/// The ConfigMap every app has (resource 0) and scenarios change: drift and new commits.
pub const PROBE_CONFIGMAP: &str = "config-0";

/// Name (and destination namespace) of app `i`.
pub fn app_name(i: usize) -> String {
    format!("app-{i:04}")
}

/// Repository path of app `i`.
pub fn app_path(i: usize) -> String {
    format!("apps/{}", app_name(i))
}

/// The name of resource `j`, used by the workload Service selectors too.
fn resource_name(j: usize) -> String {
    match KINDS[j % KINDS.len()] {
        Kind::ConfigMap => format!("config-{j}"),
        Kind::Service => format!("svc-{j}"),
        Kind::Deployment => format!("web-{j}"),
        Kind::Secret => format!("secret-{j}"),
        Kind::ServiceAccount => format!("sa-{j}"),
    }
}

/// Manifest of resource `j`; `namespace` is set for the anchor, omitted in Git (the
/// Application's destination namespace applies). `color` is the probe ConfigMap's value.
pub fn manifest(j: usize, namespace: Option<&str>, color: &str) -> String {
    let name = resource_name(j);
    let ns = namespace.map(|n| format!("  namespace: {n}\n")).unwrap_or_default();
    match KINDS[j % KINDS.len()] {
        Kind::ConfigMap => format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n  color: {color}\n  index: \"{j}\"\n"
        ),
        Kind::Service => {
            // Each Service selects the Deployment that follows it in the kind cycle.
            let target = resource_name(j + 1);
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n{ns}spec:\n  selector:\n    app: {target}\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n"
            )
        }
        Kind::Deployment => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{ns}spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports:\n        - containerPort: 8080\n        resources:\n          requests:\n            cpu: 10m\n            memory: 16Mi\n"
        ),
        Kind::Secret => format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{ns}type: Opaque\ndata:\n  token: c2NhbGU=\n"
        ),
        Kind::ServiceAccount => {
            format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n{ns}")
        }
    }
}

/// The repository files of `apps` apps with `resources` resources each: (path, content).
pub fn repo_files(apps: usize, resources: usize) -> Vec<(String, String)> {
    (0..apps)
        .flat_map(|i| {
            (0..resources).map(move |j| {
                (format!("{}/{}.yaml", app_path(i), resource_name(j)), manifest(j, None, INITIAL_COLOR))
            })
        })
        .collect()
}

/// The repository path of app `i`'s probe ConfigMap.
pub fn probe_path(i: usize) -> String {
    format!("{}/{PROBE_CONFIGMAP}.yaml", app_path(i))
}

/// How many Deployments `apps` apps of `resources` resources hold.
pub fn deployments(apps: usize, resources: usize) -> usize {
    apps * (0..resources).filter(|j| matches!(KINDS[j % KINDS.len()], Kind::Deployment)).count()
}

/// The anchor's stream: each app's Namespace, then its resources with the namespace set.
pub fn anchor_stream(apps: usize, resources: usize) -> String {
    let mut out = String::new();
    for i in 0..apps {
        let ns = app_name(i);
        out.push_str(&format!("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"));
        for j in 0..resources {
            out.push_str("---\n");
            out.push_str(&manifest(j, Some(&ns), INITIAL_COLOR));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_resources_mix_kinds_and_every_service_selects_a_deployment() {
        let files = repo_files(2, 10);
        assert_eq!(files.len(), 20);
        let app0: Vec<&str> =
            files.iter().filter(|(p, _)| p.starts_with("apps/app-0000/")).map(|(_, c)| c.as_str()).collect();
        let count = |kind: &str| app0.iter().filter(|c| c.contains(&format!("kind: {kind}\n"))).count();
        assert_eq!(
            (
                count("ConfigMap"),
                count("Service"),
                count("Deployment"),
                count("Secret"),
                count("ServiceAccount")
            ),
            (4, 2, 2, 1, 1)
        );
        assert!(manifest(1, None, "x").contains("app: web-2"));
        assert!(manifest(7, None, "x").contains("app: web-8"));
        assert_eq!(probe_path(3), "apps/app-0003/config-0.yaml");
        assert_eq!((deployments(2, 10), deployments(10, 3), deployments(5, 2)), (4, 10, 0));
    }

    #[test]
    fn every_anchor_document_parses_and_is_namespaced_except_namespaces() {
        let stream = anchor_stream(3, 10);
        let docs = tiphys_resource::yaml::parse_stream(&stream).expect("stream parses");
        assert_eq!(docs.len(), 33);
        for doc in &docs {
            let ns = &doc["metadata"]["namespace"];
            assert_eq!(doc["kind"] == "Namespace", ns.is_null(), "{doc}");
        }
    }
}
