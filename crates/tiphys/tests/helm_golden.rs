//! `tiphys helm template` against Helm's own golden outputs (`../shared/fixtures/helm`):
//! every case of `cases.yaml` must print exactly what `helm template` prints.

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/helm");
    assert!(
        dir.join("cases.yaml").is_file(),
        "Helm golden fixtures not found at {}: the repository expects ../shared beside it",
        dir.display()
    );
    dir
}

/// Helm's error goldens may contain debug log lines of newer Helm versions; they are not part
/// of the contract (see the fixtures' cases.yaml).
fn without_log_lines(text: &str) -> String {
    text.split_inclusive('\n').filter(|l| !l.starts_with("level=")).collect()
}

#[test]
fn every_helm_golden_case_matches_byte_for_byte() {
    let dir = fixtures();
    let cases_text = std::fs::read_to_string(dir.join("cases.yaml")).unwrap_or_default();
    let cases = tiphys_resource::yaml::parse_document(&cases_text).unwrap_or_default();
    let cases = cases.as_array().cloned().unwrap_or_default();
    assert!(cases.len() >= 24, "expected Helm's 24 golden cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default();
        let args: Vec<&str> = case["args"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let want_error = case["want_error"].as_bool().unwrap_or(false);
        let golden = std::fs::read_to_string(dir.join(case["golden"].as_str().unwrap_or_default()))
            .unwrap_or_default();
        let out =
            Command::new(env!("CARGO_BIN_EXE_tiphys")).arg("helm").args(&args).current_dir(&dir).output();
        let Ok(out) = out else {
            failures.push(format!("{name}: could not run tiphys"));
            continue;
        };
        let printed =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() == want_error {
            failures.push(format!(
                "{name}: exit status {:?}, want_error={want_error}\n{printed}",
                out.status.code()
            ));
        } else if printed != without_log_lines(&golden) {
            failures.push(format!("{name}: output differs\n--- got\n{printed}\n--- want\n{golden}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
