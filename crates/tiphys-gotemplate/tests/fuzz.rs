//! Property tests: no input text or data makes the parser or executor panic.

use proptest::prelude::*;
use tiphys_gotemplate::{Template, Value, sprig};

static FUNCS: std::sync::LazyLock<tiphys_gotemplate::FuncMap> = std::sync::LazyLock::new(|| {
    sprig::functions(&sprig::SprigEnv {
        now: jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC),
        seed: 7,
    })
});

/// Fragments that combine into almost-valid templates, to reach deep parser states.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{-".to_string()),
        Just(" -}}".to_string()),
        Just("{{/*".to_string()),
        Just("*/}}".to_string()),
        Just("if".to_string()),
        Just("else".to_string()),
        Just("end".to_string()),
        Just("range".to_string()),
        Just("with".to_string()),
        Just("define \"x\"".to_string()),
        Just("template \"x\" .".to_string()),
        Just("block \"b\" .".to_string()),
        Just("break".to_string()),
        Just("continue".to_string()),
        Just("$x :=".to_string()),
        Just("$x".to_string()),
        Just("$i, $v :=".to_string()),
        Just(".a.b".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("|".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("\"s\"".to_string()),
        Just("`r`".to_string()),
        Just("'c'".to_string()),
        Just("1.5e3".to_string()),
        Just("-0x1F".to_string()),
        Just("printf \"%5.2f %q %v %d\"".to_string()),
        Just("index . 1".to_string()),
        Just("slice . 1 2".to_string()),
        Just("toYaml".to_string()),
        Just("nindent 2".to_string()),
        Just("default 3".to_string()),
        "[ -~]{0,4}".prop_map(|s| s),
    ]
}

fn data() -> Value {
    Value::from_json(&serde_json::json!({"a": {"b": [1, "x", null]}, "l": [1, 2], "s": "str"}))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, .. ProptestConfig::default() })]

    #[test]
    fn parse_and_execute_never_panic(parts in proptest::collection::vec(fragment(), 0..24)) {
        let text: String = parts.concat();
        let mut set = Template::with_funcs("f", FUNCS.clone());
        set.set_max_depth(64);
        if set.parse("f", &text).is_ok() {
            let _ = set.execute("f", &data());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,64}") {
        let mut set = Template::new("f");
        if set.parse("f", &text).is_ok() {
            let _ = set.execute("f", &data());
        }
    }

    #[test]
    fn printf_never_panics(format in "[%0-9.*+# a-zA-Z-]{0,12}", n in any::<i64>(), f in any::<f64>()) {
        let mut set = Template::new("f");
        set.parse("f", "{{printf .fmt .n .f .s}}").unwrap();
        let mut m = tiphys_gotemplate::Map::new();
        m.insert("fmt".into(), Value::from(format));
        m.insert("n".into(), Value::Int(n));
        m.insert("f".into(), Value::Float(f));
        m.insert("s".into(), Value::from("é"));
        let _ = set.execute("f", &Value::map(m));
    }

    #[test]
    fn to_yaml_round_trips_strings(s in "\\PC{0,40}") {
        let mut m = tiphys_gotemplate::Map::new();
        m.insert("k".into(), Value::from(s.clone()));
        let text = tiphys_gotemplate::yaml::to_yaml(&Value::map(m));
        let back = tiphys_gotemplate::yaml::from_yaml(&text).unwrap();
        prop_assert_eq!(back.as_map().unwrap()["k"].as_str(), Some(s.as_str()), "yaml was {}", text);
    }
}
