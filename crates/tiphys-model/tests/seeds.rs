//! Every Application, AppProject and ApplicationSet in the two seed documents
//! (`../shared/seeds/`) — the YAML users will hand us — must round-trip through the model
//! and pass validation.

use std::path::PathBuf;

use serde_json::Value;
use tiphys_model::validate::{Outcome, validate_document};
use tiphys_model::{AppProject, Application, ApplicationSet};
use tiphys_resource::yaml::parse_stream_lenient;

fn seeds_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    assert!(
        dir.is_dir(),
        "seed documents not found at {} (shared/ must sit beside the repository)",
        dir.display()
    );
    dir
}

/// The Argo documents of every ```yaml block of every seed file, with where they came from.
fn seed_argo_documents() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(seeds_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut block = None::<(usize, String)>;
        for (n, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim_start().starts_with("```yaml")
                    || line.trim_start().starts_with("```yml") =>
                {
                    block = Some((n + 2, String::new()));
                }
                Some((start, body)) if line.trim_start().starts_with("```") => {
                    for doc in parse_stream_lenient(body).into_iter().flatten() {
                        let is_argo =
                            doc.value["apiVersion"].as_str().is_some_and(|a| a.starts_with("argoproj.io/"))
                                && matches!(
                                    doc.value["kind"].as_str(),
                                    Some("Application" | "AppProject" | "ApplicationSet")
                                );
                        if is_argo {
                            let name = file.file_name().unwrap().to_string_lossy().into_owned();
                            out.push((format!("{name}:{}", *start + doc.line - 1), doc.value));
                        }
                    }
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {}
            }
        }
    }
    out
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) -> Value {
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("does not parse: {e}"));
    serde_json::to_value(&typed).unwrap()
}

#[test]
fn seeds_contain_the_argo_examples() {
    let docs = seed_argo_documents();
    let count = |k: &str| docs.iter().filter(|(_, d)| d["kind"] == k).count();
    // The counts a reader of the seeds finds; a change means the extraction broke.
    assert_eq!(count("Application"), 9);
    assert_eq!(count("AppProject"), 7);
    assert_eq!(count("ApplicationSet"), 8);
}

#[test]
fn every_seed_document_round_trips() {
    for (at, doc) in seed_argo_documents() {
        let again = match doc["kind"].as_str() {
            Some("Application") => round_trip::<Application>(&doc),
            Some("AppProject") => round_trip::<AppProject>(&doc),
            _ => round_trip::<ApplicationSet>(&doc),
        };
        assert_eq!(again, doc, "{at}: serialize(parse(doc)) differs from doc");
    }
}

fn upstream_schema(kind: &str) -> &'static Value {
    static SCHEMAS: std::sync::OnceLock<Vec<(String, Value)>> = std::sync::OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        ["application-crd.yaml", "appproject-crd.yaml", "applicationset-crd.yaml"]
            .iter()
            .map(|file| {
                let path = seeds_dir().join("../fixtures/argocd-crds").join(file);
                let crd =
                    tiphys_resource::yaml::parse_document(&std::fs::read_to_string(path).unwrap()).unwrap();
                let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
                (kind, crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone())
            })
            .collect()
    });
    &all.iter().find(|(k, _)| k == kind).unwrap().1
}

/// Upstream's CRD schema is the oracle: seed documents it accepts must pass our whole
/// validation; the ones it rejects (fragments, typos) must be rejected by us too.
#[test]
fn seed_documents_are_judged_like_upstream_judges_them() {
    let mut accepted = 0;
    for (at, doc) in seed_argo_documents() {
        let kind = doc["kind"].as_str().unwrap().to_string();
        let upstream_problems = tiphys_model::schema::check(upstream_schema(&kind), &doc, "");
        let has_name = doc.pointer("/metadata/name").is_some();
        let Outcome::Checked { problems, .. } = validate_document(&doc) else { panic!("{at}: skipped") };
        if upstream_problems.is_empty() && has_name {
            accepted += 1;
            assert!(problems.is_empty(), "{at}: upstream accepts it, we report {problems:#?}");
        } else {
            assert!(!problems.is_empty(), "{at}: upstream rejects it ({upstream_problems:?}), we accept it");
        }
    }
    assert!(accepted >= 15, "only {accepted} complete seed examples");
}

#[test]
fn unknown_fields_survive_a_read_modify_write() {
    let mut doc: Value = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd", "managedFields": [{"manager": "x"}]},
        "spec": {
            "project": "default", "futureField": {"x": 1},
            "destination": {"server": "https://kubernetes.default.svc", "futureDest": true},
            "source": {"repoURL": "https://example.com/r.git", "futureSource": [1, 2]}
        },
        "status": {"futureStatus": "s", "sync": {"status": "Synced", "futureSync": 1}}
    });
    let mut app: Application = serde_json::from_value(doc.clone()).unwrap();
    app.spec.project = Some("team".into());
    doc["spec"]["project"] = "team".into();
    assert_eq!(serde_json::to_value(&app).unwrap(), doc);
}
