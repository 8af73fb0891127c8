//! Differential test: every chart in `crates/tiphys-helm/tests/charts` is rendered by
//! `tiphys helm template` and by the real helm v4.3.1 (installed by
//! `scripts/install-test-tools.sh`), with default values, with each `ci/*.yaml` values file and
//! with each argument line of `test-args.txt`; stdout and the error text must be identical.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALL_HINT: &str = "the real helm v4.3.1 is needed as a test oracle: run `bash scripts/install-test-tools.sh` \
     (or `bash ../shared/tools/install-helm-oracle.sh`), or point TIPHYS_HELM_ORACLE at a helm v4.3.1 binary";

fn helm_oracle() -> PathBuf {
    let path = std::env::var_os("TIPHYS_HELM_ORACLE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/tiphys-oracle/bin/helm")
    });
    let version = Command::new(&path).args(["version", "--short"]).output();
    match version {
        Ok(out) if String::from_utf8_lossy(&out.stdout).starts_with("v4.3.1") => path,
        Ok(out) => panic!(
            "{} is not helm v4.3.1 ({}): {INSTALL_HINT}",
            path.display(),
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        Err(e) => panic!("helm not found at {} ({e}): {INSTALL_HINT}", path.display()),
    }
}

/// Splits a `test-args.txt` line on blanks (the files use no quoting).
fn runs_for(chart: &Path) -> Vec<Vec<String>> {
    let mut runs = vec![Vec::new()];
    let mut ci: Vec<PathBuf> = std::fs::read_dir(chart.join("ci"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    ci.sort();
    runs.extend(ci.into_iter().map(|p| vec!["-f".to_string(), p.display().to_string()]));
    if let Ok(text) = std::fs::read_to_string(chart.join("test-args.txt")) {
        runs.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split_whitespace().map(String::from).collect()),
        );
    }
    runs
}

/// What a user sees: stdout, then stderr without Helm's `level=` log lines.
fn visible(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: String = stderr.split_inclusive('\n').filter(|l| !l.starts_with("level=")).collect();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), errors)
}

#[test]
fn tiphys_renders_the_chart_corpus_exactly_like_helm() {
    let helm = helm_oracle();
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tiphys-helm/tests/charts");
    let home = std::env::temp_dir().join(format!("tiphys-helm-oracle-{}", std::process::id()));
    let mut charts: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("Chart.yaml").is_file()).collect()
        })
        .unwrap_or_default();
    charts.sort();
    assert!(charts.len() >= 30, "the corpus should hold at least 30 charts, found {}", charts.len());
    let mut failures = Vec::new();
    let mut runs_total = 0;
    for chart in &charts {
        for extra in runs_for(chart) {
            runs_total += 1;
            let mut args = vec!["template".to_string(), "rel".to_string(), chart.display().to_string()];
            args.extend(extra.iter().cloned());
            let want = Command::new(&helm)
                .args(&args)
                .env("HELM_CACHE_HOME", &home)
                .env("HELM_CONFIG_HOME", &home)
                .env("HELM_DATA_HOME", &home)
                .output();
            let got = Command::new(env!("CARGO_BIN_EXE_tiphys")).arg("helm").args(&args).output();
            let (Ok(want), Ok(got)) = (want, got) else {
                failures.push(format!("{}: could not run both renderers", chart.display()));
                continue;
            };
            let name = chart.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if want.status.success() != got.status.success() || visible(&want) != visible(&got) {
                failures.push(format!(
                    "{name} {extra:?}: helm exit {:?}, tiphys exit {:?}\n--- helm\n{}\n--- tiphys\n{}",
                    want.status.code(),
                    got.status.code(),
                    visible(&want),
                    visible(&got)
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&home);
    assert!(
        failures.is_empty(),
        "{} of {runs_total} renders differ from helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn helm_binary_fallback_passes_through_to_the_real_helm() {
    let helm = helm_oracle();
    let chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tiphys-helm/tests/charts/web");
    let home = std::env::temp_dir().join(format!("tiphys-helm-fallback-{}", std::process::id()));
    let args = ["template", "rel", &chart.display().to_string(), "--set", "replicaCount=7"].map(String::from);
    let with_env = |cmd: &mut Command| {
        cmd.env("HELM_CACHE_HOME", &home).env("HELM_CONFIG_HOME", &home).env("HELM_DATA_HOME", &home);
    };
    let mut direct = Command::new(&helm);
    direct.args(&args);
    with_env(&mut direct);
    let mut fallback = Command::new(env!("CARGO_BIN_EXE_tiphys"));
    fallback.arg("helm").args(&args).arg("--helm-binary").arg(&helm);
    with_env(&mut fallback);
    let (Ok(direct), Ok(fallback)) = (direct.output(), fallback.output()) else {
        panic!("could not run helm and tiphys");
    };
    let _ = std::fs::remove_dir_all(&home);
    assert!(fallback.status.success(), "{}", String::from_utf8_lossy(&fallback.stderr));
    assert!(String::from_utf8_lossy(&fallback.stdout).contains("replicas: 7"));
    assert_eq!(direct.stdout, fallback.stdout);
}
