//! Data-driven conformance suite: `conformance/*.txt` hold cases written from Go's documented
//! `text/template`, `fmt` and Sprig behaviour (expected outputs checked against Go/helm).
//!
//! Line format: `TEMPLATE<TAB>EXPECTED[<TAB>DATA-JSON]`, with `\n`, `\t`, `\\` escapes.
//! `EXPECTED` starting with `ERR:` means execution or parsing must fail with a message that
//! contains the rest. Lines starting with `#` are comments. Cases without data use `data.json`.
//! Files named `*_helm.txt` are generated from the real helm by `gen_oracle.py` and run with
//! Sprig and Helm's float64 number decoding; files with `sprig` in the name run with Sprig;
//! the rest run with Go's builtins only; `missingkey_error` files use `missingkey=error`.

use std::path::Path;

use tiphys_gotemplate::{MissingKey, Template, Value, sprig};

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn env() -> sprig::SprigEnv {
    let now = jiff::Timestamp::from_second(1_700_000_000).map(|t| t.to_zoned(jiff::tz::TimeZone::UTC));
    sprig::SprigEnv { now: now.unwrap_or_default(), seed: 42 }
}

fn run(tmpl: &str, data: &Value, missing: MissingKey, with_sprig: bool) -> Result<String, String> {
    let funcs = if with_sprig { sprig::functions(&env()) } else { Default::default() };
    let mut set = Template::with_funcs("t", funcs);
    set.set_missing_key(missing);
    set.parse("t", tmpl).map_err(|e| e.to_string())?;
    set.execute("t", data).map_err(|e| e.to_string())
}

#[test]
fn conformance_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let data_text = std::fs::read_to_string(dir.join("data.json")).expect("tests/conformance/data.json");
    let data_json: serde_json::Value = serde_json::from_str(&data_text).expect("data.json is JSON");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).expect("conformance dir").flatten().collect();
    entries.sort_by_key(|e| e.path());
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in entries {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let missing = if path.file_name().is_some_and(|n| n.to_string_lossy().contains("missingkey_error")) {
            MissingKey::Error
        } else {
            MissingKey::Default
        };
        let helm = path.to_string_lossy().ends_with("_helm.txt");
        // Go-only tables run with the builtins alone (Sprig replaces some, e.g. `slice`)
        let sprig_table = helm || path.to_string_lossy().contains("sprig");
        let text = std::fs::read_to_string(&path).expect("case file");
        for (lineno, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let tmpl = unescape(cols.next().unwrap_or(""));
            let want = unescape(cols.next().unwrap_or(""));
            let data = match cols.next() {
                Some(j) => Value::from_json(&serde_json::from_str(j).expect("case data is JSON")),
                // helm-generated tables see values the way Helm decodes them: float64 numbers
                None if helm => Value::from_json_floats(&data_json),
                None => Value::from_json(&data_json),
            };
            count += 1;
            let got = run(&tmpl, &data, missing, sprig_table);
            let ok = match (&got, want.strip_prefix("ERR:")) {
                (Err(e), Some(frag)) => e.contains(frag),
                (Ok(out), None) => *out == want,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{}:{}: {tmpl:?}\n    want {want:?}\n    got  {got:?}",
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    lineno + 1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(count >= 300, "only {count} conformance cases");
}
