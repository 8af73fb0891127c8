//! Differential test against the real helm v4.3.1: every non-error case of the
//! `conformance/*_helm.txt` tables is rendered by helm (one chart, one `helm template` run) and
//! by this crate, and the outputs must be identical. The tables keep helm's answers as fixtures;
//! this test proves they still are helm's answers and that we agree with the live binary.
//!
//! Needs the pinned helm: `scripts/install-test-tools.sh` installs it (or set
//! `TIPHYS_HELM_ORACLE` to its path).

use std::path::{Path, PathBuf};
use std::process::Command;

use tiphys_gotemplate::{Context, MissingKey, Template, Value, func, sprig};

fn helm_binary() -> PathBuf {
    if let Ok(p) = std::env::var("TIPHYS_HELM_ORACLE") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = Path::new(&home).join(".cache/tiphys-oracle/bin/helm");
    assert!(
        p.exists(),
        "helm oracle not found at {}: run scripts/install-test-tools.sh (or set TIPHYS_HELM_ORACLE)",
        p.display()
    );
    p
}

fn unescape(s: &str) -> String {
    s.replace("\\\\", "\u{0}").replace("\\n", "\n").replace("\\t", "\t").replace('\u{0}', "\\")
}

#[test]
fn helm_renders_the_same_as_we_do() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("conformance dir").flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with("_helm.txt") {
            continue;
        }
        for line in std::fs::read_to_string(&path).expect("table").lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let tmpl = unescape(cols.next().unwrap_or(""));
            if cols.next().is_some_and(|w| w.starts_with("ERR:")) {
                continue;
            }
            cases.push(tmpl);
        }
    }
    assert!(cases.len() > 200, "expected the helm tables, found {} cases", cases.len());

    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("c");
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: c\nversion: 0.1.0\n").expect("write");
    let data_text = std::fs::read_to_string(dir.join("data.json")).expect("data.json");
    std::fs::write(chart.join("values.yaml"), &data_text).expect("write");
    let mut defs = String::new();
    let mut cm = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n");
    for (i, t) in cases.iter().enumerate() {
        defs.push_str(&format!("{{{{- define \"c{i}\" -}}}}{t}{{{{- end -}}}}\n"));
        cm.push_str(&format!("  c{i}: {{{{ include \"c{i}\" .Values | toJson }}}}\n"));
    }
    std::fs::write(chart.join("templates/_defs.tpl"), &defs).expect("write");
    std::fs::write(chart.join("templates/cm.yaml"), &cm).expect("write");
    let out = Command::new(helm_binary())
        .args(["template", "r"])
        .arg(&chart)
        .env("HOME", tmp.path())
        .env("HELM_CACHE_HOME", tmp.path())
        .env("HELM_CONFIG_HOME", tmp.path())
        .env("HELM_DATA_HOME", tmp.path())
        .output()
        .expect("run helm");
    assert!(out.status.success(), "helm failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc = stdout.strip_prefix("---\n").unwrap_or(&stdout);
    let parsed: serde_json::Value = serde_saphyr::from_str(doc).expect("helm output is YAML");
    let data = &parsed["data"];

    // Render the very same chart files the way Helm does: one set, cm.yaml executed once with
    // `.Values`, `include` re-entering the engine, `<no value>` stripped from the output. Map
    // mutations made by one case are visible to later ones, exactly as in helm.
    let env = sprig::SprigEnv { now: jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC), seed: 3 };
    let mut funcs = sprig::functions(&env);
    funcs.insert(
        "include".into(),
        func(|ctx: &mut Context<'_>, a: &[Value]| {
            let name = a.first().and_then(Value::as_str).unwrap_or_default().to_string();
            let set = ctx.set();
            ctx.execute(set, &name, &a.get(1).cloned().unwrap_or_default()).map(Value::from)
        }),
    );
    let mut set = Template::with_funcs("chart", funcs);
    set.set_missing_key(MissingKey::Zero);
    set.parse("c/templates/_defs.tpl", &defs).expect("defs parse");
    set.parse("c/templates/cm.yaml", &cm).expect("cm parses");
    let values = Value::from_json_floats(&serde_json::from_str(&data_text).expect("json"));
    let mut root = tiphys_gotemplate::Map::new();
    root.insert("Values".into(), values);
    let ours =
        set.execute("c/templates/cm.yaml", &Value::map(root)).expect("renders").replace("<no value>", "");
    let ours: serde_json::Value = serde_saphyr::from_str(&ours).expect("our output is YAML");
    let mut mismatches = Vec::new();
    for (i, t) in cases.iter().enumerate() {
        let key = format!("c{i}");
        let (want, got) = (data[&key].as_str().unwrap_or(""), ours["data"][&key].as_str().unwrap_or(""));
        if got != want {
            mismatches.push(format!("{t:?}\n    helm {want:?}\n    ours {got:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
