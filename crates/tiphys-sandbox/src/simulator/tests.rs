use super::*;
use crate::store::WriteOptions;

struct Cluster {
    store: Store,
    sim: Simulator,
    start: Instant,
    elapsed: Duration,
}

fn clock(elapsed: Duration) -> jiff::Timestamp {
    ts().checked_add(jiff::SignedDuration::from_millis(elapsed.as_millis() as i64)).unwrap_or(ts())
}

fn ts() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl Cluster {
    fn new() -> Self {
        Cluster {
            store: Store::new(10_000, ts()),
            sim: Simulator::new(SimulatorConfig::default()),
            start: Instant::now(),
            elapsed: Duration::ZERO,
        }
    }

    fn rt(&self, group: &str, plural: &str) -> ResourceType {
        self.store.types().iter().find(|t| t.group == group && t.plural == plural).cloned().expect("type")
    }

    fn create(&mut self, group: &str, plural: &str, obj: Value) {
        let rt = self.rt(group, plural);
        self.store.create(&rt, Some("default"), obj, &WriteOptions::default(), ts()).expect("create");
    }

    /// Runs the controllers for `secs` simulated seconds in 50 ms ticks.
    fn run(&mut self, secs: f64) {
        self.run_in(secs, 50);
    }

    /// Runs the controllers for `secs` simulated seconds in ticks of `tick_ms`.
    fn run_in(&mut self, secs: f64, tick_ms: u64) {
        let ticks = (secs * 1000.0) as u64 / tick_ms;
        for _ in 0..ticks {
            self.elapsed += Duration::from_millis(tick_ms);
            self.sim.step(&mut self.store, self.start + self.elapsed, clock(self.elapsed));
        }
    }

    fn get(&self, group: &str, plural: &str, name: &str) -> Value {
        let rt = self.rt(group, plural);
        self.store.get(&rt, "default", name).and_then(|s| s.value()).expect("object")
    }

    fn all(&self, group: &str, plural: &str) -> Vec<Value> {
        let rt = self.rt(group, plural);
        let page = self.store.list(&rt, &Default::default(), None, None).expect("list");
        page.items.iter().filter_map(|s| s.value().ok()).collect()
    }

    fn update(&mut self, group: &str, plural: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let rt = self.rt(group, plural);
        let mut obj = self.get(group, plural, name);
        change(&mut obj);
        self.store
            .update(&rt, "default", name, obj, Part::Main, &WriteOptions::default(), ts())
            .expect("update");
    }
}

fn deployment(name: &str, replicas: i64, annotations: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
}

fn condition_of<'a>(obj: &'a Value, kind: &str) -> &'a Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .unwrap_or(&Value::Null)
}

#[test]
fn deployment_rolls_out_and_becomes_available() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("web", 3, json!({})));
    c.run(2.0);
    let d = c.get("apps", "deployments", "web");
    assert_eq!(d["status"]["availableReplicas"], 3, "{d}");
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(d["status"]["observedGeneration"], 1);
    assert_eq!(condition_of(&d, "Available")["status"], "True");
    assert_eq!(condition_of(&d, "Progressing")["reason"], "NewReplicaSetAvailable");
    let pods = c.all("", "pods");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Running" && p["status"]["podIP"].is_string()));
    assert!(pods.iter().all(|p| p["metadata"]["labels"]["pod-template-hash"].is_string()));
}

#[test]
fn rolling_update_replaces_the_replicaset() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("web", 2, json!({})));
    c.run(2.0);
    c.update("apps", "deployments", "web", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26")
    });
    c.run(4.0);
    let d = c.get("apps", "deployments", "web");
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
    assert_eq!(
        (d["status"]["updatedReplicas"].clone(), d["status"]["availableReplicas"].clone()),
        (json!(2), json!(2))
    );
    let rs = c.all("apps", "replicasets");
    assert_eq!(rs.len(), 2);
    let replicas: Vec<i64> = rs.iter().map(|r| r["spec"]["replicas"].as_i64().unwrap_or(-1)).collect();
    assert!(replicas.contains(&0) && replicas.contains(&2), "{replicas:?}");
    let pods = c.all("", "pods");
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.26"));
}

#[test]
fn crash_loop_knob() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("crash", 1, json!({CRASH_LOOP: "true"})));
    c.run(2.0);
    let pod = &c.all("", "pods")[0];
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert!(cs["restartCount"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    let d = c.get("apps", "deployments", "crash");
    assert_eq!(condition_of(&d, "Available")["status"], "False");
}

#[test]
fn image_pull_fail_knob() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("pull", 1, json!({IMAGE_PULL_FAIL: "true"})));
    c.run(1.0);
    let pod = &c.all("", "pods")[0];
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "ImagePullBackOff");
}

#[test]
fn never_ready_knob_times_out_the_rollout() {
    let mut c = Cluster::new();
    let mut d = deployment("stuck", 1, json!({NEVER_READY: "true"}));
    d["spec"]["progressDeadlineSeconds"] = json!(1);
    c.create("apps", "deployments", d);
    c.run(2.5);
    let pod = &c.all("", "pods")[0];
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
    let d = c.get("apps", "deployments", "stuck");
    assert_eq!(condition_of(&d, "Progressing")["reason"], "ProgressDeadlineExceeded");
    assert_eq!(condition_of(&d, "Progressing")["status"], "False");
}

fn job(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
}

#[test]
fn jobs_complete_or_fail() {
    let mut c = Cluster::new();
    c.create("batch", "jobs", job("ok", json!({})));
    c.create("batch", "jobs", job("bad", json!({FAIL_JOB: "true"})));
    c.run(3.0);
    let ok = c.get("batch", "jobs", "ok");
    assert_eq!(condition_of(&ok, "Complete")["status"], "True", "{ok}");
    assert_eq!(ok["status"]["succeeded"], 1);
    assert!(ok["status"]["completionTime"].is_string());
    let bad = c.get("batch", "jobs", "bad");
    assert_eq!(condition_of(&bad, "Failed")["reason"], "BackoffLimitExceeded", "{bad}");
    assert_eq!(bad["status"]["failed"], 2);
}

#[test]
fn services_ingresses_and_claims() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("web", 2, json!({})));
    c.create("", "services", json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}));
    c.create(
        "networking.k8s.io",
        "ingresses",
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web"}, "spec": {"rules": [{"host": "web.example.com"}]}}),
    );
    c.create("", "persistentvolumeclaims", json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}));
    c.run(2.0);
    let ep = c.get("", "endpoints", "web");
    assert_eq!(ep["subsets"][0]["addresses"].as_array().map(Vec::len), Some(2), "{ep}");
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 8080);
    let svc = c.get("", "services", "web");
    assert!(svc["status"]["loadBalancer"]["ingress"][0]["ip"].is_string());
    let ing = c.get("networking.k8s.io", "ingresses", "web");
    assert!(ing["status"]["loadBalancer"]["ingress"][0]["ip"].is_string());
    let pvc = c.get("", "persistentvolumeclaims", "data");
    assert_eq!(pvc["status"]["phase"], "Bound");
    assert_eq!(pvc["status"]["capacity"]["storage"], "1Gi");
    let pv = c.store.get(
        &c.rt("", "persistentvolumes"),
        "",
        pvc["spec"]["volumeName"].as_str().unwrap_or_default(),
    );
    assert!(pv.is_ok());
}

#[test]
fn statefulsets_and_daemonsets_report_status() {
    let mut c = Cluster::new();
    let template = json!({"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "postgres:16"}]}});
    c.create("apps", "statefulsets", json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": template}}));
    c.create(
        "apps",
        "daemonsets",
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "db"}}, "template": template}}),
    );
    c.run(2.0);
    let sts = c.get("apps", "statefulsets", "db");
    assert_eq!(
        (sts["status"]["readyReplicas"].clone(), sts["status"]["updatedReplicas"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(sts["status"]["currentRevision"], sts["status"]["updateRevision"]);
    assert!(c.store.get(&c.rt("", "pods"), "default", "db-1").is_ok());
    let ds = c.get("apps", "daemonsets", "agent");
    assert_eq!(ds["status"]["numberReady"], 1, "{ds}");
    assert_eq!(ds["status"]["desiredNumberScheduled"], 1);
}

#[test]
fn cronjobs_create_jobs_on_schedule() {
    let mut c = Cluster::new();
    c.create("batch", "cronjobs", json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "* * * * *", "successfulJobsHistoryLimit": 1, "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}}}));
    c.run_in(30.0, 1000);
    assert!(c.all("batch", "jobs").is_empty(), "nothing is due before the first minute");
    c.run_in(35.0, 1000);
    let jobs = c.all("batch", "jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(condition_of(&jobs[0], "Complete")["status"], "True");
    let cj = c.get("batch", "cronjobs", "tick");
    assert!(
        cj["status"]["lastScheduleTime"].is_string() && cj["status"]["lastSuccessfulTime"].is_string(),
        "{cj}"
    );
    c.run_in(60.0, 1000);
    let jobs = c.all("batch", "jobs");
    assert_eq!(jobs.len(), 1, "history limit keeps only the newest successful Job");
    let name = jobs[0]["metadata"]["name"].as_str().unwrap_or_default().to_string();
    assert!(name.starts_with("tick-"), "{name}");
}

#[test]
fn rolling_back_revives_the_old_replicaset_under_a_new_revision() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("web", 1, json!({})));
    c.run(1.0);
    let image = |c: &mut Cluster, i: &str| {
        let i = i.to_string();
        c.update("apps", "deployments", "web", move |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(i)
        });
        c.run(2.0);
    };
    image(&mut c, "nginx:1.26");
    image(&mut c, "nginx:1.25");
    let d = c.get("apps", "deployments", "web");
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
    assert_eq!(c.all("apps", "replicasets").len(), 2, "the first ReplicaSet is reused");
    assert_eq!(d["status"]["availableReplicas"], 1);
}

#[test]
fn a_settled_cluster_wakes_only_for_simulated_kinds() {
    let mut c = Cluster::new();
    c.create("apps", "deployments", deployment("web", 1, json!({})));
    c.run(2.0);
    assert!(!c.sim.needs_step(&c.store), "a settled rollout leaves nothing to do");
    // An Application status write, a ConfigMap: nothing the simulator reads.
    c.create("", "configmaps", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}));
    assert!(!c.sim.needs_step(&c.store), "a ConfigMap must not wake the simulator");
    c.update("apps", "deployments", "web", |d| d["spec"]["replicas"] = json!(2));
    assert!(c.sim.needs_step(&c.store), "a Deployment change must");
    c.run(2.0);
    assert_eq!(c.get("apps", "deployments", "web")["status"]["availableReplicas"], 2);
}

#[test]
fn a_step_looks_only_at_namespaces_that_changed() {
    let mut c = Cluster::new();
    let ns_rt = c.rt("", "namespaces");
    let deploy_rt = c.rt("apps", "deployments");
    for ns in ["a", "b"] {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        c.store.create(&ns_rt, None, body, &WriteOptions::default(), ts()).expect("namespace");
        c.store
            .create(&deploy_rt, Some(ns), deployment("web", 1, json!({})), &WriteOptions::default(), ts())
            .expect("deployment");
    }
    c.run(2.0);
    let pod_rt = c.rt("", "pods");
    let pod_in_b =
        c.all("", "pods").into_iter().find(|p| p["metadata"]["namespace"] == "b").expect("pod in b");
    let name = pod_in_b["metadata"]["name"].as_str().unwrap_or_default().to_string();
    c.store.delete(&pod_rt, "b", &name, &Default::default(), ts()).expect("delete");
    assert_eq!(c.sim.scope(&c.store), Scope::Namespaces(BTreeSet::from(["b".to_string()])));
    c.run(2.0);
    let pods = c.all("", "pods");
    assert_eq!(pods.len(), 2, "the ReplicaSet in b replaced its pod: {pods:?}");
    assert!(!c.sim.needs_step(&c.store));
}

#[test]
fn a_compacted_event_log_makes_the_next_step_look_everywhere() {
    let mut c = Cluster::new();
    c.store.set_window(1);
    c.create("apps", "deployments", deployment("web", 1, json!({})));
    c.run(0.1);
    c.create("", "configmaps", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
    c.create("", "configmaps", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}));
    assert_eq!(c.sim.scope(&c.store), Scope::All);
    c.run(2.0);
    assert_eq!(c.get("apps", "deployments", "web")["status"]["availableReplicas"], 1);
}

#[test]
fn a_deleted_node_wakes_the_simulator_and_comes_back() {
    let mut c = Cluster::new();
    c.run(0.1);
    assert!(!c.sim.needs_step(&c.store));
    let node_rt = c.rt("", "nodes");
    c.store.delete(&node_rt, "", NODE_NAME, &Default::default(), ts()).expect("delete node");
    assert!(c.sim.needs_step(&c.store), "a cluster-scoped simulated kind changed");
    c.run(0.1);
    assert!(c.store.get(&node_rt, "", NODE_NAME).is_ok(), "the node is registered again");
}
