//! Broken variants of valid documents: each must be rejected with a message that names the
//! YAML path and says what to do. Plus: no input, however malformed, makes validation panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use tiphys_model::validate::{Outcome, Problem, validate_document};
use tiphys_resource::yaml::parse_stream_lenient;

fn application() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/argoproj/argocd-example-apps.git", "targetRevision": "HEAD", "path": "guestbook"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true", "PrunePropagationPolicy=foreground"],
                "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
            }
        }
    })
}

fn project() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "team-a", "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["https://github.com/org/*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-a-*"}],
            "roles": [{"name": "dev", "policies": ["p, proj:team-a:dev, applications, sync, team-a/*, allow"]}],
            "syncWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "8h", "applications": ["*"], "timeZone": "Europe/Berlin"}]
        }
    })
}

fn appset() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": "envs", "namespace": "argocd"},
        "spec": {
            "goTemplate": true,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}}],
            "template": {
                "metadata": {"name": "app-{{.env}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://github.com/org/repo.git", "path": "envs/{{.env}}", "targetRevision": "HEAD"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{.env}}"}
                }
            }
        }
    })
}

fn problems(doc: &Value) -> Vec<Problem> {
    match validate_document(doc) {
        Outcome::Checked { problems, .. } => problems,
        Outcome::Skipped(note) => panic!("skipped: {note}"),
    }
}

/// Applies `edit` to a copy of `base` and asserts one reported problem is at `path` and
/// mentions `hint`.
fn rejects(base: Value, edit: impl FnOnce(&mut Value), path: &str, hint: &str) {
    let mut doc = base;
    edit(&mut doc);
    let found = problems(&doc);
    assert!(
        found.iter().any(|p| p.path == path && p.message.contains(hint)),
        "expected a problem at {path} mentioning {hint:?}, got {found:#?}"
    );
}

#[test]
fn the_valid_bases_are_valid() {
    for doc in [application(), project(), appset()] {
        assert_eq!(problems(&doc), vec![], "{doc}");
    }
}

#[test]
fn source_and_sources_both_set() {
    rejects(
        application(),
        |d| d["spec"]["sources"] = json!([{"repoURL": "https://x/y.git"}]),
        "spec.sources",
        "not both",
    );
}

#[test]
fn no_source_at_all() {
    rejects(
        application(),
        |d| d["spec"].as_object_mut().unwrap().remove("source").map(drop).unwrap_or(()),
        "spec.source",
        "set `source`",
    );
}

#[test]
fn destination_with_server_and_name() {
    rejects(
        application(),
        |d| d["spec"]["destination"]["name"] = json!("in-cluster"),
        "spec.destination",
        "keep one",
    );
}

#[test]
fn destination_without_server_or_name() {
    rejects(
        application(),
        |d| d["spec"]["destination"] = json!({"namespace": "x"}),
        "spec.destination",
        "neither server nor name",
    );
}

#[test]
fn unknown_sync_option() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["syncOptions"][1] = json!("CreateNamspace=true"),
        "spec.syncPolicy.syncOptions[1]",
        "unknown sync option",
    );
}

#[test]
fn sync_option_with_a_bad_value() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["syncOptions"][1] = json!("PrunePropagationPolicy=later"),
        "spec.syncPolicy.syncOptions[1]",
        "foreground, background, orphan",
    );
}

#[test]
fn sync_option_without_a_value() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["syncOptions"][0] = json!("CreateNamespace"),
        "spec.syncPolicy.syncOptions[0]",
        "Name=value",
    );
}

#[test]
fn backoff_duration_that_does_not_parse() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["retry"]["backoff"]["duration"] = json!("5 seconds"),
        "spec.syncPolicy.retry.backoff.duration",
        "write e.g.",
    );
}

#[test]
fn backoff_factor_below_one() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["retry"]["backoff"]["factor"] = json!(0),
        "spec.syncPolicy.retry.backoff.factor",
        "at least 1",
    );
}

#[test]
fn misspelled_field_gets_a_suggestion() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["automated"]["selfheal"] = json!(true),
        "spec.syncPolicy.automated.selfheal",
        "did you mean \"selfHeal\"",
    );
}

#[test]
fn wrong_type() {
    rejects(
        application(),
        |d| d["spec"]["syncPolicy"]["automated"]["prune"] = json!("yes please"),
        "spec.syncPolicy.automated.prune",
        "expected boolean",
    );
}

#[test]
fn missing_project() {
    rejects(
        application(),
        |d| d["spec"].as_object_mut().unwrap().remove("project").map(drop).unwrap_or(()),
        "spec.project",
        "add it",
    );
}

#[test]
fn invalid_name() {
    rejects(application(), |d| d["metadata"]["name"] = json!("Guest_Book"), "metadata.name", "lower case");
}

#[test]
fn wrong_api_group() {
    rejects(
        application(),
        |d| d["apiVersion"] = json!("argocd.io/v1alpha1"),
        "apiVersion",
        "argoproj.io/v1alpha1",
    );
}

#[test]
fn two_source_tools() {
    rejects(
        application(),
        |d| {
            d["spec"]["source"]["helm"] = json!({});
            d["spec"]["source"]["kustomize"] = json!({});
        },
        "spec.source",
        "multiple source types",
    );
}

#[test]
fn path_escaping_the_repository() {
    rejects(
        application(),
        |d| d["spec"]["source"]["path"] = json!("../other"),
        "spec.source.path",
        "leaves the repository",
    );
}

#[test]
fn value_file_from_an_unknown_ref() {
    rejects(
        application(),
        |d| {
            let source = d["spec"].as_object_mut().unwrap().remove("source").unwrap();
            let mut chart = source.clone();
            chart["helm"] = json!({"valueFiles": ["$values/envs/prod.yaml"]});
            d["spec"]["sources"] = json!([chart, {"repoURL": "https://x/values.git", "ref": "vals"}]);
        },
        "spec.sources[0].helm.valueFiles[0]",
        "no source has `ref: values`",
    );
}

#[test]
fn json_pointer_without_slash() {
    rejects(
        application(),
        |d| {
            d["spec"]["ignoreDifferences"] =
                json!([{"kind": "Deployment", "jsonPointers": ["spec/replicas"]}])
        },
        "spec.ignoreDifferences[0].jsonPointers[0]",
        "start it with '/'",
    );
}

#[test]
fn sync_window_schedule_that_is_not_cron() {
    rejects(
        project(),
        |d| d["spec"]["syncWindows"][0]["schedule"] = json!("every night"),
        "spec.syncWindows[0].schedule",
        "cannot parse schedule",
    );
}

#[test]
fn sync_window_schedule_with_six_fields() {
    rejects(
        project(),
        |d| d["spec"]["syncWindows"][0]["schedule"] = json!("0 0 22 * * *"),
        "spec.syncWindows[0].schedule",
        "expected 5 fields",
    );
}

#[test]
fn sync_window_schedule_descriptor() {
    rejects(
        project(),
        |d| d["spec"]["syncWindows"][0]["schedule"] = json!("@daily"),
        "spec.syncWindows[0].schedule",
        "0 0 * * *",
    );
}

#[test]
fn sync_window_duration_that_does_not_parse() {
    rejects(
        project(),
        |d| d["spec"]["syncWindows"][0]["duration"] = json!("8 hours"),
        "spec.syncWindows[0].duration",
        "invalid duration",
    );
}

#[test]
fn sync_window_kind() {
    rejects(
        project(),
        |d| d["spec"]["syncWindows"][0]["kind"] = json!("block"),
        "spec.syncWindows[0].kind",
        "allow or deny",
    );
}

#[test]
fn sync_window_time_zone() {
    rejects(
        project(),
        |d| d["spec"]["syncWindows"][0]["timeZone"] = json!("Mars/Olympus"),
        "spec.syncWindows[0].timeZone",
        "IANA name",
    );
}

#[test]
fn sync_window_matching_nothing() {
    rejects(
        project(),
        |d| {
            d["spec"]["syncWindows"][0]
                .as_object_mut()
                .unwrap()
                .remove("applications")
                .map(drop)
                .unwrap_or(())
        },
        "spec.syncWindows[0]",
        "matches nothing",
    );
}

#[test]
fn role_policy_for_another_project() {
    rejects(
        project(),
        |d| {
            d["spec"]["roles"][0]["policies"][0] =
                json!("p, proj:team-a:dev, applications, sync, team-b/*, allow")
        },
        "spec.roles[0].policies[0]",
        "must start with \"team-a/\"",
    );
}

#[test]
fn role_policy_with_a_wrong_subject() {
    rejects(
        project(),
        |d| d["spec"]["roles"][0]["policies"][0] = json!("p, role:dev, applications, sync, team-a/*, allow"),
        "spec.roles[0].policies[0]",
        "proj:team-a:dev",
    );
}

#[test]
fn appset_matrix_with_one_generator() {
    rejects(
        appset(),
        |d| d["spec"]["generators"][0] = json!({"matrix": {"generators": [{"list": {"elements": []}}]}}),
        "spec.generators[0].matrix.generators",
        "exactly 2",
    );
}

#[test]
fn appset_generator_with_two_types() {
    rejects(
        appset(),
        |d| d["spec"]["generators"][0]["clusters"] = json!({}),
        "spec.generators[0]",
        "exactly one type",
    );
}

#[test]
fn appset_unknown_go_template_option() {
    rejects(
        appset(),
        |d| d["spec"]["goTemplateOptions"][0] = json!("missingkey=ignore"),
        "spec.goTemplateOptions[0]",
        "missingkey=error",
    );
}

#[test]
fn appset_without_generators() {
    rejects(appset(), |d| d["spec"]["generators"] = json!([]), "spec.generators", "at least one");
}

#[test]
fn appset_sync_policy_enum() {
    rejects(
        appset(),
        |d| d["spec"]["syncPolicy"] = json!({"applicationsSync": "create-all"}),
        "spec.syncPolicy.applicationsSync",
        "create-only",
    );
}

#[test]
fn other_kinds_are_skipped_with_a_note() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"}});
    assert!(matches!(validate_document(&cm), Outcome::Skipped(note) if note.contains("ConfigMap")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes through the whole pipeline (YAML parse, then validation).
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        for doc in parse_stream_lenient(&text).into_iter().flatten() {
            let _ = validate_document(&doc.value);
        }
    }

    /// Valid documents with one field replaced by an arbitrary JSON value.
    #[test]
    fn arbitrary_values_in_valid_documents_never_panic(which in 0usize..3, pick in any::<prop::sample::Index>(), value in arb_json()) {
        let mut doc = [application(), project(), appset()][which].clone();
        let mut pointers = Vec::new();
        collect_pointers(&doc, String::new(), &mut pointers);
        let target = pick.get(&pointers).clone();
        if let Some(slot) = doc.pointer_mut(&target) {
            *slot = value;
        }
        let _ = validate_document(&doc);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| collect_pointers(c, format!("{at}/{k}"), out)),
        Value::Array(a) => {
            a.iter().enumerate().for_each(|(i, c)| collect_pointers(c, format!("{at}/{i}"), out))
        }
        _ => {}
    }
}
