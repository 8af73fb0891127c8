//! The public API as Helm and ApplicationSets use it: template sets, caller functions that
//! re-enter the engine, depth limits, missing-key modes and value conversions.

use tiphys_gotemplate::{Context, Error, FuncMap, MissingKey, Template, Value, func};

fn include_funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert(
        "include".into(),
        func(|ctx: &mut Context<'_>, args: &[Value]| {
            let name = args.first().and_then(Value::as_str).unwrap_or_default().to_string();
            let data = args.get(1).cloned().unwrap_or_default();
            let set = ctx.set();
            ctx.execute(set, &name, &data).map(Value::from)
        }),
    );
    f.insert(
        "tpl".into(),
        func(|ctx: &mut Context<'_>, args: &[Value]| {
            let text = args.first().and_then(Value::as_str).unwrap_or_default().to_string();
            let mut set = ctx.set().clone();
            set.parse("tpl", &text)?;
            ctx.execute(&set, "tpl", &args.get(1).cloned().unwrap_or_default()).map(Value::from)
        }),
    );
    f.insert("depth".into(), func(|ctx: &mut Context<'_>, _: &[Value]| Ok(Value::Int(ctx.depth() as i64))));
    f.insert(
        "stack".into(),
        func(|ctx: &mut Context<'_>, _: &[Value]| Ok(Value::from(ctx.stack().join(",")))),
    );
    f
}

fn data() -> Value {
    Value::from_json(&serde_json::json!({"name": "web", "n": 3, "tags": {"b": 2, "a": 1}}))
}

#[test]
fn defines_are_shared_across_files_in_a_set() {
    let mut set = Template::with_funcs("set", include_funcs());
    set.parse("_helpers.tpl", r#"{{define "fullname"}}{{.name}}-app{{end}}"#).unwrap();
    set.parse("a.yaml", r#"name: {{include "fullname" .}} {{template "fullname" .}}"#).unwrap();
    assert_eq!(set.execute("a.yaml", &data()).unwrap(), "name: web-app web-app");
    assert_eq!(set.names(), vec!["_helpers.tpl", "a.yaml", "fullname"]);
    assert!(set.has("fullname"));
}

#[test]
fn later_definitions_win_and_empty_bodies_do_not_replace() {
    let mut set = Template::new("set");
    set.parse("one", r#"{{define "x"}}one{{end}}"#).unwrap();
    set.parse("two", r#"{{define "x"}}two{{end}}"#).unwrap();
    set.parse("main", r#"{{template "x"}}"#).unwrap();
    // a file with only definitions does not clobber a non-empty template named like it
    set.parse("main", r#"{{define "y"}}y{{end}}"#).unwrap();
    assert_eq!(set.execute("main", &Value::Nil).unwrap(), "two");
}

#[test]
fn tpl_parses_into_a_copy_of_the_set() {
    let mut set = Template::with_funcs("set", include_funcs());
    set.parse("_h.tpl", r#"{{define "n"}}<{{.name}}>{{end}}"#).unwrap();
    set.parse("main", r#"{{tpl "{{include \"n\" .}}!" .}}"#).unwrap();
    assert_eq!(set.execute("main", &data()).unwrap(), "<web>!");
    assert!(!set.has("tpl"), "the original set is unchanged");
}

#[test]
fn functions_see_depth_and_call_stack() {
    let mut set = Template::with_funcs("set", include_funcs());
    set.parse("inner", "{{depth}}:{{stack}}").unwrap();
    set.parse("outer", r#"{{depth}} {{include "inner" .}}"#).unwrap();
    assert_eq!(set.execute("outer", &Value::Nil).unwrap(), "0 1:outer,inner");
}

#[test]
fn infinite_include_recursion_stops_at_the_depth_limit() {
    let mut set = Template::with_funcs("set", include_funcs());
    set.parse("loop", r#"{{include "loop" .}}"#).unwrap();
    let err = set.execute("loop", &Value::Nil).unwrap_err().to_string();
    assert!(err.contains("exceeded maximum template depth (1024)"), "{err}");
    assert!(err.starts_with(
        "template: loop:1:2: executing \"loop\" at <include \"loop\" .>: error calling include:"
    ));
}

#[test]
fn template_action_recursion_is_limited_too() {
    let mut set = Template::new("set");
    set.set_max_depth(50);
    set.parse("t", r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#).unwrap();
    let err = set.execute("t", &Value::Nil).unwrap_err().to_string();
    assert!(err.contains("exceeded maximum template depth (50)"), "{err}");
}

#[test]
fn missing_key_modes() {
    let d = data();
    let mut set = Template::new("s");
    set.parse("t", "[{{.nope}}]").unwrap();
    assert_eq!(set.execute("t", &d).unwrap(), "[<no value>]");
    set.set_missing_key(MissingKey::Zero);
    assert_eq!(set.execute("t", &d).unwrap(), "[<no value>]");
    set.set_missing_key(MissingKey::Error);
    let err = set.execute("t", &d).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: t:1:3: executing \"t\" at <.nope>: map has no entry for key \"nope\""
    );
    // zero: a nil interface further down a chain is a nil pointer error, as in Helm
    let mut set = Template::new("s");
    set.set_missing_key(MissingKey::Zero);
    set.parse("t", "{{.nope.deeper}}").unwrap();
    let err = set.execute("t", &d).unwrap_err().to_string();
    assert!(err.ends_with("nil pointer evaluating interface {}.deeper"), "{err}");
}

#[test]
fn unknown_template_and_parse_errors_read_like_go() {
    let set = Template::new("root");
    assert_eq!(
        set.execute("x", &Value::Nil).unwrap_err(),
        Error::NoTemplate { name: "x".into(), set: "root".into() }
    );
    let mut set = Template::new("root");
    let err = set.parse("f.yaml", "line1\n{{ if .x }}\n{{ end }}\n{{ end }}").unwrap_err();
    assert_eq!(err.to_string(), "template: f.yaml:4: unexpected {{end}}");
}

#[test]
fn values_convert_to_and_from_json_with_go_number_kinds() {
    let j = serde_json::json!({"i": 3, "f": 2.5, "w": 2.0, "s": "x", "n": null, "l": [true]});
    let v = Value::from_json(&j);
    let m = v.as_map().unwrap();
    assert_eq!(m["i"], Value::Int(3));
    assert_eq!(m["f"], Value::Float(2.5));
    assert_eq!(m["w"], Value::Float(2.0));
    assert_eq!(v.to_json(), j);
    let floats = Value::from_json_floats(&j);
    assert_eq!(floats.as_map().unwrap()["i"], Value::Float(3.0));
    let mut set = Template::new("s");
    set.parse("t", "{{.i}} {{.f}} {{.w}} {{.l}}").unwrap();
    assert_eq!(set.execute("t", &floats).unwrap(), "3 2.5 2 [true]");
}

#[test]
fn set_mutation_is_visible_through_the_variable() {
    let mut set = Template::with_funcs("s", tiphys_gotemplate::sprig::functions(&env()));
    set.parse("t", r#"{{$d := dict "a" 1}}{{$_ := set $d "b" 2}}{{$d.b}} {{$x := dict "in" (dict)}}{{$_ := set $x.in "k" "v"}}{{$x.in.k}}"#)
        .unwrap();
    assert_eq!(set.execute("t", &Value::Nil).unwrap(), "2 v");
}

fn env() -> tiphys_gotemplate::sprig::SprigEnv {
    tiphys_gotemplate::sprig::SprigEnv {
        now: jiff::Timestamp::from_second(0).unwrap().to_zoned(jiff::tz::TimeZone::UTC),
        seed: 1,
    }
}

/// Every function name helm v4.3.1 accepts (checked with the real helm: each parses in a
/// chart), except Helm's own `include`, `tpl`, `required`, `lookup`, `toToml`, `fromToml` and
/// `toYamlPretty`, which tiphys-helm provides.
const HELM_SPRIG_NAMES: &str = "hello ago date date_in_zone date_modify dateInZone dateModify duration \
durationRound htmlDate htmlDateInZone must_date_modify mustDateModify mustToDate now toDate unixEpoch abbrev \
abbrevboth trunc trim upper lower title untitle substr repeat trimall trimAll trimSuffix trimPrefix nospace \
initials randAlphaNum randAlpha randAscii randNumeric swapcase shuffle snakecase camelcase kebabcase wrap \
wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural sha1sum sha256sum \
sha512sum adler32sum toString atoi int64 int float64 seq toDecimal split splitList splitn toStrings until \
untilStep add1 add sub div mod mul randInt add1f addf subf divf mulf biggest max min maxf minf ceil floor \
round join sortAlpha default empty coalesce all any compact mustCompact fromJson toJson toPrettyJson \
toRawJson mustFromJson mustToJson mustToPrettyJson mustToRawJson ternary deepCopy mustDeepCopy typeOf \
typeIs typeIsLike kindOf kindIs deepEqual getHostByName base dir clean ext isAbs osBase osClean osDir \
osExt osIsAbs b64enc b64dec b32enc b32dec tuple list dict get set unset hasKey pluck keys pick omit merge \
mergeOverwrite mustMerge mustMergeOverwrite values append push mustAppend mustPush prepend mustPrepend \
first mustFirst rest mustRest last mustLast initial mustInitial reverse mustReverse uniq mustUniq without \
mustWithout has mustHas slice mustSlice concat dig chunk mustChunk bcrypt htpasswd genPrivateKey \
derivePassword buildCustomCert genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert \
genSignedCertWithKey encryptAES decryptAES randBytes uuidv4 semver semverCompare fail regexMatch \
mustRegexMatch regexFindAll mustRegexFindAll regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll \
regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta urlParse urlJoin \
toYaml fromYaml fromYamlArray fromJsonArray";

#[test]
fn sprig_covers_every_function_helm_ships() {
    let funcs = tiphys_gotemplate::sprig::functions(&env());
    let missing: Vec<&str> =
        HELM_SPRIG_NAMES.split_whitespace().filter(|n| !funcs.contains_key(*n)).collect();
    assert!(missing.is_empty(), "missing Sprig functions: {missing:?}");
    assert!(!funcs.contains_key("env") && !funcs.contains_key("expandenv"), "Helm removes env/expandenv");
}

#[test]
fn mutating_functions_change_the_map_for_every_holder_as_in_go() {
    let mut funcs = tiphys_gotemplate::sprig::functions(&env());
    funcs.extend(include_funcs());
    let mut set = Template::with_funcs("s", funcs);
    set.parse("_h", r#"{{define "mut"}}{{$_ := set .cfg "fromInclude" true}}{{end}}"#).unwrap();
    set.parse(
        "t",
        concat!(
            r#"{{$_ := set .Values "added" "yes"}}{{.Values.added}} "#,
            r#"{{$alias := .Values.nested}}{{$_ := set $alias "k" 2}}{{.Values.nested.k}} "#,
            r#"{{range $name, $svc := .Values.svcs}}{{$_ := set $svc "name" $name}}{{end}}"#,
            r#"{{range .Values.svcs}}{{.name}},{{end}} "#,
            r#"{{$_ := unset .Values "gone"}}{{hasKey .Values "gone"}} "#,
            r#"{{$c := dict}}{{include "mut" (dict "cfg" $c)}}{{$c.fromInclude}} "#,
            r#"{{$_ := merge .Values.nested (dict "m" 1 "k" 9)}}{{.Values.nested.m}}{{.Values.nested.k}} "#,
            r#"{{toJson .Values}}"#,
        ),
    )
    .unwrap();
    let data = Value::from_json(&serde_json::json!({
        "Values": {"nested": {"k": 1}, "gone": 1, "svcs": {"a": {}, "b": {}}}
    }));
    assert_eq!(
        set.execute("t", &data).unwrap(),
        r#"yes 2 a,b, false true 12 {"added":"yes","nested":{"k":2,"m":1},"svcs":{"a":{"name":"a"},"b":{"name":"b"}}}"#
    );
    // the caller's data is untouched
    assert!(data.as_map().unwrap()["Values"].as_map().unwrap().contains_key("gone"));
}

#[test]
fn absurd_nesting_is_a_parse_error_not_a_stack_overflow() {
    let mut set = Template::new("s");
    let deep = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
    let err = set.parse("t", &deep).unwrap_err().to_string();
    assert!(err.contains("nested too deeply"), "{err}");
    let blocks = format!("{}x{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
    let err = set.parse("t", &blocks).unwrap_err().to_string();
    assert!(err.contains("nested too deeply"), "{err}");
    let ok = format!("{}x{}", "{{if 1}}".repeat(150), "{{end}}".repeat(150));
    set.parse("t", &ok).unwrap();
    assert_eq!(set.execute("t", &Value::Nil).unwrap(), "x");
}

#[test]
fn a_per_name_include_limit_of_1000_fires_before_the_engine_limit() {
    let mut funcs = FuncMap::new();
    funcs.insert(
        "include".into(),
        func(|ctx: &mut Context<'_>, args: &[Value]| {
            let name = args.first().and_then(Value::as_str).unwrap_or_default().to_string();
            if ctx.stack().iter().filter(|n| **n == name).count() > 1000 {
                return Err(Error::func(format!("rendering template has a nested reference name: {name}")));
            }
            let set = ctx.set();
            ctx.execute(set, &name, &Value::Nil).map(Value::from)
        }),
    );
    let mut set = Template::with_funcs("s", funcs);
    set.parse("loop", r#"{{include "loop" .}}"#).unwrap();
    let err = set.execute("loop", &Value::Nil).unwrap_err().to_string();
    assert!(
        err.ends_with("rendering template has a nested reference name: loop"),
        "{}",
        &err[err.len() - 120..]
    );
}

#[test]
fn clones_share_templates_and_diverge_only_in_what_they_add() {
    let mut base = Template::new("s");
    base.parse("a", r#"{{define "x"}}X{{end}}A"#).unwrap();
    let mut copy = base.clone();
    copy.parse("b", r#"{{define "x"}}Y{{end}}{{template "x"}}B"#).unwrap();
    assert_eq!(copy.execute("b", &Value::Nil).unwrap(), "YB");
    assert_eq!(copy.execute("a", &Value::Nil).unwrap(), "A");
    assert!(!base.has("b"));
    base.parse("c", r#"{{template "x"}}"#).unwrap();
    assert_eq!(base.execute("c", &Value::Nil).unwrap(), "X");
    assert_eq!(copy.names(), vec!["a", "b", "x"]);
}

#[test]
fn runaway_output_is_stopped() {
    let mut set = Template::new("s");
    set.parse(
        "t",
        "{{range 10000000000}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{end}}",
    )
    .unwrap();
    let err = set.execute("t", &Value::Nil).unwrap_err().to_string();
    assert!(err.contains("produced more than 268435456 bytes of output"), "{err}");
}

#[test]
fn endless_loops_are_stopped_by_a_step_budget() {
    let mut set = Template::new("s");
    set.set_max_steps(100_000);
    set.parse("t", "{{range 10000000000}}{{end}}").unwrap();
    let err = set.execute("t", &Value::Nil).unwrap_err().to_string();
    assert!(err.contains("did not finish within 100000 steps"), "{err}");
    assert_eq!(tiphys_gotemplate::DEFAULT_MAX_STEPS, 100_000_000);
}

/// Go unwraps a pipeline's value, so a nil piped into a string parameter is "no value".
#[test]
fn piped_nil_into_a_string_parameter_is_an_invalid_value() {
    let mut set = Template::with_funcs("s", tiphys_gotemplate::sprig::functions(&env()));
    set.parse("t", "{{ .missing | b64enc }}").unwrap();
    let err = set.execute("t", &Value::map(Default::default())).unwrap_err().to_string();
    assert!(err.contains("invalid value; expected string"), "{err}");
}

/// `deepCopy` isolates: mutating the copy leaves the original alone.
#[test]
fn deep_copy_is_isolated_from_later_mutation() {
    let mut set = Template::with_funcs("s", tiphys_gotemplate::sprig::functions(&env()));
    set.parse("t", r#"{{- $c := deepCopy .o -}}{{- $_ := set $c "a" 2 -}}{{- $_ := set $c.n "b" 3 -}}{{ .o.a }} {{ .o.n.b }} {{ $c.a }} {{ $c.n.b }}"#).unwrap();
    let data = Value::from_json(&serde_json::json!({"o": {"a": 1, "n": {"b": 1}}}));
    assert_eq!(set.execute("t", &data).unwrap(), "1 1 2 3");
}
