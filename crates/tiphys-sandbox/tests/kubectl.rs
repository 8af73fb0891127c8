//! The real `kubectl` against a sandbox: every command a user or a GitOps controller's
//! operator types must behave as against a real API server.

#[path = "support/kubectl.rs"]
mod support;

use serde_json::Value;
use support::Kubectl;

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: {app: demo}
data:
  a: \"1\"
  b: \"2\"
";

#[test]
fn api_resources_lists_the_builtin_kinds() {
    let k = Kubectl::start();
    let out = k.ok(&["api-resources", "-o", "name"]);
    for name in [
        "configmaps",
        "deployments.apps",
        "jobs.batch",
        "ingresses.networking.k8s.io",
        "clusterroles.rbac.authorization.k8s.io",
        "customresourcedefinitions.apiextensions.k8s.io",
        "leases.coordination.k8s.io",
    ] {
        assert!(out.lines().any(|l| l == name), "{name} missing from:\n{out}");
    }
    let wide = k.ok(&["api-resources", "--api-group=apps"]);
    assert!(wide.contains("deploy") && wide.contains("Deployment"), "{wide}");
}

#[test]
fn client_side_apply_is_idempotent_and_prunes_removed_fields() {
    let k = Kubectl::start();
    assert!(k.apply(CONFIGMAP).contains("configmap/cfg created"));
    let rv = k.ok(&["get", "cm", "cfg", "-o", "jsonpath={.metadata.resourceVersion}"]);
    assert!(k.apply(CONFIGMAP).contains("configmap/cfg unchanged"));
    let rv_again = k.ok(&["get", "cm", "cfg", "-o", "jsonpath={.metadata.resourceVersion}"]);
    assert_eq!(rv, rv_again, "a no-op apply writes nothing");
    let without_b = CONFIGMAP.replace("  b: \"2\"\n", "");
    let diff = k.run(&["diff", "-f", "-"], Some(&without_b));
    assert_eq!(diff.status.code(), Some(1), "diff reports the removal");
    assert!(String::from_utf8_lossy(&diff.stdout).contains("-  b: \"2\""));
    assert!(k.apply(&without_b).contains("configured"));
    let data = k.json(&["get", "cm", "cfg"]);
    assert_eq!(data["data"], serde_json::json!({"a": "1"}), "last-applied drives field removal");
    let diff = k.run(&["diff", "-f", "-"], Some(&without_b));
    assert_eq!(
        diff.status.code(),
        Some(0),
        "diff is empty after apply: {}",
        String::from_utf8_lossy(&diff.stdout)
    );
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
";

#[test]
fn apply_of_a_deployment_merges_containers_and_diffs_clean() {
    let k = Kubectl::start();
    k.apply(DEPLOYMENT);
    assert!(k.apply(DEPLOYMENT).contains("unchanged"));
    let diff = k.run(&["diff", "-f", "-"], Some(DEPLOYMENT));
    assert_eq!(diff.status.code(), Some(0), "{}", String::from_utf8_lossy(&diff.stdout));
    let changed = DEPLOYMENT.replace("nginx:1.25", "nginx:1.26");
    assert!(k.apply(&changed).contains("configured"));
    let d = k.json(&["get", "deploy", "web"]);
    let images: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .collect();
    assert_eq!(images, ["nginx:1.26", "busybox:1.36"]);
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%", "server defaults applied");
}

#[test]
fn server_side_apply_reports_conflicts_and_force_takes_ownership() {
    let k = Kubectl::start();
    assert!(k.ok_stdin(&["apply", "--server-side", "-f", "-"], CONFIGMAP).contains("serverside-applied"));
    let other = CONFIGMAP.replace("a: \"1\"", "a: \"changed\"");
    let conflict = k.run(&["apply", "--server-side", "--field-manager=other", "-f", "-"], Some(&other));
    assert!(!conflict.status.success());
    let stderr = String::from_utf8_lossy(&conflict.stderr);
    assert!(stderr.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .data.a"), "{stderr}");
    k.ok_stdin(&["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"], &other);
    let cm = k.json(&["get", "cm", "cfg", "--show-managed-fields"]);
    assert_eq!(cm["data"]["a"], "changed");
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"other"), "{managers:?}");
}

#[test]
fn get_yaml_and_watch() {
    let k = Kubectl::start();
    k.apply(CONFIGMAP);
    let yaml = k.ok(&["get", "cm", "cfg", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: ConfigMap") && yaml.contains("resourceVersion:") && yaml.contains("uid:"),
        "{yaml}"
    );
    let mut watch = k.spawn(&["get", "cm", "-w", "-o", "name", "--request-timeout=20s"]);
    let stdout = watch.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    // The first line is the initial list: the watch is established after it.
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("configmap/cfg"));
    k.apply(&CONFIGMAP.replace("name: cfg", "name: second"));
    k.ok(&["delete", "cm", "second"]);
    let mut second = 0;
    for line in lines.by_ref() {
        if line.as_deref().ok() == Some("configmap/second") {
            second += 1;
        }
        if second == 2 {
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(second, 2, "the watch saw the object added and deleted");
}

#[test]
fn patch_label_annotate_and_scale() {
    let k = Kubectl::start();
    k.apply(DEPLOYMENT);
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"}]}}}}"#,
    ]);
    k.ok(&["patch", "deploy", "web", "--type=merge", "-p", r#"{"metadata":{"labels":{"merged":"yes"}}}"#]);
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ]);
    k.ok(&["label", "deploy", "web", "team=a"]);
    k.ok(&["annotate", "deploy", "web", "note=hello"]);
    let d = k.json(&["get", "deploy", "web"]);
    let containers = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        (containers[0]["image"].as_str(), containers[1]["image"].as_str()),
        (Some("nginx:1.25"), Some("busybox:1.37"))
    );
    assert_eq!(d["metadata"]["labels"]["merged"], "yes");
    assert_eq!(d["metadata"]["labels"]["team"], "a");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");
    assert_eq!(d["spec"]["replicas"], 4);
    assert!(k.ok(&["scale", "deploy", "web", "--replicas=7"]).contains("scaled"));
    assert_eq!(k.json(&["get", "deploy", "web"])["spec"]["replicas"], 7);
    let selected = k.ok(&["get", "deploy", "-l", "team=a", "-o", "name"]);
    assert_eq!(selected.trim(), "deployment.apps/web");
    let none = k.ok(&["get", "deploy", "-l", "team notin (a)", "-o", "name"]);
    assert_eq!(none.trim(), "");
}

fn owned(name: &str, owner: &str, uid: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: {owner}\n    uid: {uid}\n"
    )
}

#[test]
fn delete_honours_each_cascade_mode() {
    let k = Kubectl::start();
    for (mode, child_survives) in [("background", false), ("foreground", false), ("orphan", true)] {
        k.apply(&CONFIGMAP.replace("name: cfg", "name: owner"));
        let uid = k.ok(&["get", "cm", "owner", "-o", "jsonpath={.metadata.uid}"]);
        k.apply(&owned("child", "owner", &uid));
        k.ok(&["delete", "cm", "owner", &format!("--cascade={mode}")]);
        let child = k.run(&["get", "cm", "child", "-o", "json"], None);
        assert_eq!(child.status.success(), child_survives, "{mode}");
        if child_survives {
            let v: Value = serde_json::from_slice(&child.stdout).expect("json");
            assert!(v["metadata"]["ownerReferences"].is_null(), "orphaned child loses its owner: {v}");
            k.ok(&["delete", "cm", "child"]);
        }
    }
}

#[test]
fn finalizers_block_deletion_until_released() {
    let k = Kubectl::start();
    let held = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n";
    k.apply(held);
    k.ok(&["delete", "cm", "held", "--wait=false"]);
    let v = k.json(&["get", "cm", "held"]);
    assert!(v["metadata"]["deletionTimestamp"].is_string(), "{v}");
    k.ok(&["patch", "cm", "held", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    let gone = k.run(&["get", "cm", "held"], None);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("configmaps \"held\" not found"));
}

#[test]
fn namespace_deletion_removes_its_contents() {
    let k = Kubectl::start();
    // kubectl's generators post protobuf bodies.
    k.ok(&["create", "namespace", "team"]);
    k.ok(&["create", "configmap", "generated", "-n", "team", "--from-literal=k=v"]);
    k.ok(&["create", "secret", "generic", "pw", "-n", "team", "--from-literal=password=s3cret"]);
    assert_eq!(k.json(&["get", "cm", "generated", "-n", "team"])["data"]["k"], "v");
    assert_eq!(k.json(&["get", "secret", "pw", "-n", "team"])["data"]["password"], "czNjcmV0");
    k.ok_stdin(&["apply", "-n", "team", "-f", "-"], CONFIGMAP);
    k.ok(&["delete", "namespace", "team"]);
    let ns = k.run(&["get", "ns", "team"], None);
    assert!(!ns.status.success(), "namespace is gone");
    let cms = k.ok(&["get", "cm", "-A", "-o", "name"]);
    assert!(!cms.contains("cfg"), "{cms}");
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
";

#[test]
fn crds_serve_custom_resources_by_plural_and_short_name() {
    let k = Kubectl::start();
    k.apply(CRD);
    k.ok(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"]);
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n";
    assert!(k.apply(widget).contains("widget.example.com/w1 created"));
    assert!(k.apply(widget).contains("unchanged"));
    assert!(k.apply(&widget.replace("size: 3", "size: 4")).contains("configured"));
    assert_eq!(k.ok(&["get", "widgets", "-o", "name"]).trim(), "widget.example.com/w1");
    assert_eq!(k.ok(&["get", "wd", "-o", "name"]).trim(), "widget.example.com/w1");
    assert_eq!(k.json(&["get", "widget", "w1"])["spec"]["size"], 4);
    k.ok(&["delete", "crd", "widgets.example.com"]);
    assert!(!k.run(&["get", "widgets"], None).status.success(), "kind is gone with its CRD");
}

#[test]
fn server_dry_run_stores_nothing() {
    let k = Kubectl::start();
    assert!(k.ok_stdin(&["apply", "--dry-run=server", "-f", "-"], CONFIGMAP).contains("(server dry run)"));
    assert!(!k.run(&["get", "cm", "cfg"], None).status.success());
    k.apply(CONFIGMAP);
    k.ok_stdin(&["apply", "--dry-run=server", "-f", "-"], &CONFIGMAP.replace("\"1\"", "\"dry\""));
    assert_eq!(k.json(&["get", "cm", "cfg"])["data"]["a"], "1");
    k.ok(&["delete", "cm", "cfg", "--dry-run=server"]);
    assert!(k.run(&["get", "cm", "cfg"], None).status.success());
}

#[test]
fn tiphys_crds_apply_client_dry_run_then_for_real() {
    let k = Kubectl::start();
    let stream = tiphys_resource::yaml::to_yaml_stream(&tiphys_model::crd::crds());
    let dry = k.ok_stdin(&["apply", "--dry-run=client", "-f", "-"], &stream);
    assert!(dry.contains("applications.argoproj.io created (dry run)"), "{dry}");
    let real = k.ok_stdin(&["apply", "-f", "-"], &stream);
    assert!(real.contains("applications.argoproj.io created"), "{real}");
    k.ok(&["wait", "--for=condition=Established", "crd/applications.argoproj.io", "--timeout=10s"]);
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: guestbook\nspec:\n  project: default\n  source: {repoURL: 'https://example.com/repo.git', path: guestbook, targetRevision: HEAD}\n  destination: {server: 'https://kubernetes.default.svc', namespace: default}\n";
    assert!(k.apply(app).contains("application.argoproj.io/guestbook created"));
    assert_eq!(k.ok(&["get", "applications", "-o", "name"]).trim(), "application.argoproj.io/guestbook");
    // The CRD's additionalPrinterColumns are what `kubectl get` shows (priority 10 only with -o wide).
    let status = "{\"status\":{\"sync\":{\"status\":\"Synced\",\"revision\":\"abc123\"},\"health\":{\"status\":\"Healthy\"}}}";
    k.ok(&["patch", "application", "guestbook", "--type", "merge", "-p", status]);
    let table = k.ok(&["get", "applications"]);
    let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SYNC", "STATUS", "HEALTH", "STATUS", "AGE"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(&row[..3], ["guestbook", "Synced", "Healthy"], "{table}");
    let wide = k.ok(&["get", "applications", "-o", "wide"]);
    assert!(wide.contains("REVISION") && wide.contains("abc123") && wide.contains("PROJECT"), "{wide}");
}

#[test]
fn rollout_status_and_wait_for_available() {
    let k = Kubectl::start();
    k.apply(DEPLOYMENT);
    let out = k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    k.ok(&["wait", "--for=condition=Available", "deployment/web", "--timeout=30s"]);
    k.apply(&DEPLOYMENT.replace("nginx:1.25", "nginx:1.26"));
    let out = k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let pods = k.json(&["get", "pods", "-l", "app=web"]);
    let images: Vec<&str> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["spec"]["containers"][0]["image"].as_str())
        .collect();
    assert_eq!(images, ["nginx:1.26", "nginx:1.26"]);
    assert_eq!(k.ok(&["get", "nodes", "-o", "name"]).trim(), "node/sandbox-node");
}

#[test]
fn failure_knobs_show_in_kubectl() {
    let k = Kubectl::start();
    let stuck = DEPLOYMENT
        .replace("name: web\n", "name: stuck\n  annotations: {sandbox.tiphys.io/never-ready: \"true\"}\n")
        .replace("replicas: 2", "replicas: 1\n  progressDeadlineSeconds: 1");
    k.apply(&stuck);
    let out = k.run(&["rollout", "status", "deployment/stuck", "--timeout=30s"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exceeded its progress deadline"), "{out:?}");
    let crash = DEPLOYMENT
        .replace("name: web\n", "name: crash\n  annotations: {sandbox.tiphys.io/crash-loop: \"true\"}\n")
        .replace("app: web", "app: crash");
    k.apply(&crash);
    let mut table = String::new();
    for _ in 0..150 {
        table = k.ok(&["get", "pods", "-l", "app=crash"]);
        if table.contains("CrashLoopBackOff") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(table.contains("CrashLoopBackOff"), "{table}");
}

#[test]
fn rollout_history_and_undo() {
    let k = Kubectl::start();
    k.apply(DEPLOYMENT);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    k.apply(&DEPLOYMENT.replace("nginx:1.25", "nginx:1.26"));
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");
    k.ok(&["rollout", "undo", "deployment/web"]);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    let d = k.json(&["get", "deploy", "web"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
}
