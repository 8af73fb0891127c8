//! The `--set` / `--set-string` / `--set-file` / `--set-json` syntax (Helm's strvals):
//! `a.b=c,d[0]=e,f={x,y}`, `\` escapes, and type inference (`true`/`false`/`null`, integers
//! that do not start with `0`; everything else is a string).

use serde_json::{Map, Value};

/// Highest list index a `--set` may create (Helm's `MaxIndex`).
pub const MAX_INDEX: usize = 65536;
/// Deepest dotted name a `--set` may use (Helm's `MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// How the value text of each assignment becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--set`: typed inference.
    Typed,
    /// `--set-string`: always a string.
    String,
    /// `--set-json`: a JSON value (empty means null).
    Json,
}

/// A `--set` line that could not be parsed, with Helm's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// Turns the text after `=` into a value (for `--set-file`: reads the named file).
pub type ValueReader<'r> = dyn Fn(&str) -> Result<Value, String> + 'r;

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode,
    /// For `--set-file`: turns the value text (a path) into the value.
    reader: Option<&'a ValueReader<'a>>,
}

/// Outcome of reading up to a stop character.
enum Stop {
    Char(char),
    Eof,
}

/// Parses `line` into `dest`, overwriting existing keys (Helm's `ParseInto`/`ParseIntoString`/
/// `ParseJSON`).
pub fn parse_into(line: &str, dest: &mut Map<String, Value>, mode: Mode) -> Result<(), ParseError> {
    let mut p = Parser { chars: line.chars().collect(), pos: 0, mode, reader: None };
    p.parse(dest)
}

/// Parses a `--set-file` line: each value is a path that `read` turns into the value.
pub fn parse_file_into(
    line: &str,
    dest: &mut Map<String, Value>,
    read: &ValueReader<'_>,
) -> Result<(), ParseError> {
    let mut p = Parser { chars: line.chars().collect(), pos: 0, mode: Mode::String, reader: Some(read) };
    p.parse(dest)
}

/// Helm's `typedVal`.
pub fn typed_value(text: &str, force_string: bool) -> Value {
    if force_string {
        return Value::String(text.to_string());
    }
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::from(0i64);
    }
    if !text.is_empty()
        && !text.starts_with('0')
        && let Some(i) = parse_go_int(text)
    {
        return Value::from(i);
    }
    Value::String(text.to_string())
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only.
fn parse_go_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

impl Parser<'_> {
    fn parse(&mut self, dest: &mut Map<String, Value>) -> Result<(), ParseError> {
        while self.pos < self.chars.len() {
            self.key(dest, 0)?;
        }
        Ok(())
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn runes_until(&mut self, stop: &[char]) -> (String, Stop) {
        let mut out = String::new();
        loop {
            match self.read() {
                None => return (out, Stop::Eof),
                Some(c) if stop.contains(&c) => return (out, Stop::Char(c)),
                Some('\\') => match self.read() {
                    Some(next) => out.push(next),
                    None => return (out, Stop::Eof),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn convert(&self, text: &str) -> Result<Value, ParseError> {
        match self.reader {
            Some(read) => read(text).map_err(ParseError),
            None => Ok(typed_value(text, self.mode == Mode::String)),
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> Result<(), ParseError> {
        let (k, last) = self.runes_until(&['=', '[', ',', '.']);
        match last {
            Stop::Eof => {
                if k.is_empty() {
                    return Ok(());
                }
                err(format!("key {k:?} has no value"))
            }
            Stop::Char('[') => {
                let i = self.key_index()?;
                let mut list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::Array(l)) => l.clone(),
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        ));
                    }
                };
                let result = self.list_item(&mut list, i, level);
                set(data, &k, Value::Array(list));
                result
            }
            Stop::Char('=') => {
                if self.mode == Mode::Json {
                    let v = self.json_value()?;
                    set(data, &k, v);
                    return Ok(());
                }
                match self.val_list()? {
                    Some(list) => set(data, &k, Value::Array(list)),
                    None => {
                        if self.pos >= self.chars.len() {
                            set(data, &k, Value::String(String::new()));
                            return Ok(());
                        }
                        let (text, _) = self.runes_until(&[',']);
                        let v = self.convert(&text)?;
                        set(data, &k, v);
                    }
                }
                Ok(())
            }
            Stop::Char(',') => {
                set(data, &k, Value::String(String::new()));
                err(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Stop::Char(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        ));
                    }
                };
                let result = self.key(&mut inner, level);
                if result.is_ok() && inner.is_empty() {
                    return err(format!("key map {k:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                result
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, ParseError> {
        let (v, last) = self.runes_until(&[']']);
        if matches!(last, Stop::Eof) {
            return err("error parsing index: EOF");
        }
        v.parse::<i64>()
            .or_else(|_| err(format!("error parsing index: strconv.Atoi: parsing {v:?}: invalid syntax")))
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: i64, level: usize) -> Result<(), ParseError> {
        if i < 0 {
            return err(format!("negative {i} index not allowed"));
        }
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return err(format!("unexpected data at end of array index: {k:?}"));
        }
        match last {
            Stop::Eof => err("EOF"),
            Stop::Char('=') => {
                let v = if self.mode == Mode::Json {
                    self.json_value()?
                } else {
                    match self.val_list()? {
                        Some(l) => Value::Array(l),
                        None if self.pos >= self.chars.len() => Value::String(String::new()),
                        None => {
                            let (text, _) = self.runes_until(&[',']);
                            self.convert(&text)?
                        }
                    }
                };
                set_index(list, i, v)
            }
            Stop::Char('[') => {
                let next = self.key_index()?;
                let mut inner = match list.get(i as usize) {
                    Some(Value::Array(l)) => l.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        ));
                    }
                };
                self.list_item(&mut inner, next, level)?;
                set_index(list, i, Value::Array(inner))
            }
            Stop::Char(_) => {
                let mut inner = match list.get(i as usize) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, level)?;
                set_index(list, i, Value::Object(inner))
            }
        }
    }

    /// `{a,b}` list syntax; `None` when the value is not a list.
    fn val_list(&mut self) -> Result<Option<Vec<Value>>, ParseError> {
        if self.chars.get(self.pos) != Some(&'{') {
            return Ok(None);
        }
        self.pos += 1;
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                Stop::Eof => return err("list must terminate with '}'"),
                Stop::Char('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(self.convert(&rs)?);
                    return Ok(Some(list));
                }
                Stop::Char(_) => list.push(self.convert(&rs)?),
            }
        }
    }

    /// `--set-json`: one JSON value, then optional blanks and a comma.
    fn json_value(&mut self) -> Result<Value, ParseError> {
        if self.empty_val() {
            return Ok(Value::Null);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return err(e.to_string()),
            None => return err("unexpected end of JSON input"),
        };
        let consumed = rest[..stream.byte_offset()].chars().count();
        self.pos += consumed;
        self.empty_val();
        Ok(value)
    }

    /// Consumes blanks up to a comma or the end (true: the value is empty).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.chars.get(self.pos) {
                None => return true,
                Some(',') => {
                    self.pos += 1;
                    return true;
                }
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some(_) => return false,
            }
        }
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Null => "nil",
    }
}

fn set(data: &mut Map<String, Value>, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

fn set_index(list: &mut Vec<Value>, i: i64, v: Value) -> Result<(), ParseError> {
    if i < 0 {
        return err(format!("negative {i} index not allowed"));
    }
    let i = i as usize;
    if i > MAX_INDEX {
        return err(format!("index of {i} is greater than maximum supported index of {MAX_INDEX}"));
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(line: &str, mode: Mode) -> Result<Value, ParseError> {
        let mut m = Map::new();
        parse_into(line, &mut m, mode)?;
        Ok(Value::Object(m))
    }

    #[test]
    fn typed_inference_matches_helm() {
        assert_eq!(
            parse("a=1,b=true,c=null,d=012,e=1.5,f=0,g=-3,h=FALSE", Mode::Typed),
            Ok(json!({
                "a": 1, "b": true, "c": null, "d": "012", "e": "1.5", "f": 0, "g": -3, "h": false
            }))
        );
        assert_eq!(parse("a=1,b=true", Mode::String), Ok(json!({"a": "1", "b": "true"})));
    }

    #[test]
    fn nesting_lists_and_escapes() {
        assert_eq!(
            parse("a.b.c=x,l[1]=y,l[0].n=z", Mode::Typed),
            Ok(json!({
                "a": {"b": {"c": "x"}}, "l": [{"n": "z"}, "y"]
            }))
        );
        assert_eq!(
            parse("list={a,b,c},name=x", Mode::Typed),
            Ok(json!({"list": ["a", "b", "c"], "name": "x"}))
        );
        assert_eq!(parse(r"a\.b=c\,d", Mode::Typed), Ok(json!({"a.b": "c,d"})));
        assert_eq!(parse("nested[0][1]=v", Mode::Typed), Ok(json!({"nested": [[null, "v"]]})));
        assert_eq!(parse("empty=", Mode::Typed), Ok(json!({"empty": ""})));
    }

    #[test]
    fn json_values() {
        assert_eq!(
            parse(r#"a={"x":[1,2]},b=,c="s""#, Mode::Json),
            Ok(json!({"a": {"x": [1, 2]}, "b": null, "c": "s"}))
        );
    }

    #[test]
    fn errors_have_helm_messages() {
        assert_eq!(parse("name", Mode::Typed), Err(ParseError("key \"name\" has no value".into())));
        assert_eq!(
            parse("a,b=c", Mode::Typed),
            Err(ParseError("key \"a\" has no value (cannot end with ,)".into()))
        );
        assert_eq!(parse("a[-1]=x", Mode::Typed), Err(ParseError("negative -1 index not allowed".into())));
        assert!(parse("a[70000]=x", Mode::Typed).is_err());
        assert_eq!(parse("l={a,b", Mode::Typed), Err(ParseError("list must terminate with '}'".into())));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in ".{0,40}") {
            let mut m = Map::new();
            let _ = parse_into(&line, &mut m, Mode::Typed);
            let _ = parse_into(&line, &mut m, Mode::Json);
        }
    }
}
