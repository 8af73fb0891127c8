//! `tiphys admin crds` and `tiphys admin validate` as a user runs them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn tiphys(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiphys"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tiphys");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_examples_are_valid() {
    let examples: Vec<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples"))
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .filter(|p| p.ends_with(".yaml"))
            .collect();
    assert!(examples.len() >= 3);
    let args: Vec<&str> =
        ["admin", "validate"].into_iter().chain(examples.iter().map(String::as_str)).collect();
    let out = tiphys(&args, None);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "");
}

#[test]
fn problems_are_reported_per_line_with_file_document_path_and_fix() {
    let input = concat!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "---\n",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n",
        "spec:\n",
        "  project: default\n",
        "  source: {repoURL: 'https://x/y.git', path: app}\n",
        "  destination: {server: 'https://kubernetes.default.svc', name: in-cluster}\n",
        "  syncPolicy:\n",
        "    syncOptions: [Prune=maybe]\n",
    );
    let out = tiphys(&["admin", "validate", "-"], Some(input));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("<stdin>: document 1 (line 5, Application web): spec.destination: "),
        "{text}"
    );
    assert!(
        lines[1].contains(
            "spec.syncPolicy.syncOptions[0]: Prune=maybe: the value must be one of false, true, confirm"
        ),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ConfigMap") && stderr.contains("skipped"), "{stderr}");
}

#[test]
fn invalid_yaml_is_a_problem_not_a_crash() {
    let out = tiphys(&["admin", "validate", "-"], Some("kind: Application\nspec: [\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("<stdin>: document 0 (line "), "{}", stdout(&out));
    assert!(stdout(&out).contains("invalid YAML"));
}

#[test]
fn a_missing_file_is_named() {
    let out = tiphys(&["admin", "validate", "no/such/file.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.yaml"));
}

#[test]
fn crds_are_a_yaml_stream_of_three_definitions() {
    let out = tiphys(&["admin", "crds"], None);
    assert!(out.status.success());
    let docs = tiphys_resource::yaml::parse_stream(&stdout(&out)).unwrap();
    let names: Vec<&str> = docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["applications.argoproj.io", "appprojects.argoproj.io", "applicationsets.argoproj.io"]);
    assert!(docs.iter().all(|d| d["kind"] == "CustomResourceDefinition"));
}

#[test]
fn crds_output_survives_a_closed_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiphys"))
        .args(["admin", "crds"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once, like `| head -0`
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
