//! The dynamic value type templates operate on.
//!
//! Go templates see `interface{}` data decoded from YAML/JSON: `int64`/`float64` numbers, strings,
//! bools, nil, `[]interface{}` and `map[string]interface{}`. [`Value`] keeps exactly those
//! distinctions because they are visible in output (`3` vs `3.5`, `%!d(float64=3)`, comparison
//! errors). Containers are reference counted so field access during execution is cheap.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A map with Go's sorted-key iteration order (Go's `range` and `fmt` sort map keys).
pub type Map = BTreeMap<String, Value>;

/// A value a template can inspect, print, compare and pass to functions.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped nil (a missing value, YAML `null`).
    #[default]
    Nil,
    /// A `bool`.
    Bool(bool),
    /// An integer (`int`/`int64` in Go).
    Int(i64),
    /// A `float64`.
    Float(f64),
    /// A `string`.
    String(Arc<str>),
    /// A `[]interface{}`.
    List(Arc<Vec<Value>>),
    /// A `map[string]interface{}`.
    Map(Arc<Map>),
    /// Raw bytes (`[]byte`), as Helm's `.Files.GetBytes` returns.
    Bytes(Arc<[u8]>),
    /// A host object with fields and methods (Helm's `.Files`, `.Capabilities`, time values).
    Object(Arc<dyn Object>),
}

/// A host-provided object: a Go struct or type with methods, seen from templates.
///
/// `{{ .Files.Get "a" }}` resolves `Files` on the parent, then calls [`Object::call`] with
/// `"Get"` and the arguments; `{{ .Chart.Name }}` on an object calls [`Object::field`].
pub trait Object: Send + Sync + 'static {
    /// The Go type name used in `%T` and error messages (e.g. `chart.Files`, `time.Time`).
    fn type_name(&self) -> &str;
    /// A field or zero-argument method value; `None` means "can't evaluate field".
    fn field(&self, name: &str) -> Option<Value>;
    /// Calls a method with arguments; `None` means no such method.
    fn call(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    /// Whether `name` is a method taking arguments (so the engine passes pipeline arguments).
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    /// For host objects that are Go maps underneath (Helm's `chart.Files` is a
    /// `map[string][]byte`): the entries in sorted key order, so `range` can iterate them.
    /// `None` (the default) means the object is not a map.
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// How `{{ . }}` and `%v` print this object.
    fn display(&self) -> String;
    /// Go truthiness of the object (non-zero struct values are true).
    fn truthy(&self) -> bool {
        true
    }
    /// Allows functions to downcast (e.g. Sprig date functions reading a time value).
    fn as_any(&self) -> &dyn Any;
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

impl PartialEq for Value {
    /// Deep equality (Go's `reflect.DeepEqual` on decoded data); objects compare by identity.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Value {
    /// Builds a string value.
    pub fn string(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }

    /// Builds a list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// Builds a map value.
    pub fn map(map: Map) -> Value {
        Value::Map(Arc::new(map))
    }

    /// Wraps a host object.
    pub fn object(obj: impl Object) -> Value {
        Value::Object(Arc::new(obj))
    }

    /// Converts JSON data; integral JSON numbers that fit `i64` become [`Value::Int`], others
    /// [`Value::Float`] (callers mimicking Go's `encoding/json` decode can use
    /// [`Value::from_json_floats`]).
    pub fn from_json(v: &serde_json::Value) -> Value {
        Self::from_json_with(v, false)
    }

    /// Converts JSON data the way Go's `encoding/json` decodes into `interface{}`: every number
    /// is a `float64`. Helm's values files go through this path (sigs.k8s.io/yaml).
    pub fn from_json_floats(v: &serde_json::Value) -> Value {
        Self::from_json_with(v, true)
    }

    fn from_json_with(v: &serde_json::Value, floats: bool) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (floats, n.as_i64()) {
                (false, Some(i)) => Value::Int(i),
                _ => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(a) => {
                Value::list(a.iter().map(|x| Self::from_json_with(x, floats)).collect())
            }
            serde_json::Value::Object(o) => {
                Value::map(o.iter().map(|(k, x)| (k.clone(), Self::from_json_with(x, floats))).collect())
            }
        }
    }

    /// Converts to JSON; whole floats stay floats (`3.0`) so callers can tell them apart.
    /// Bytes become a base64 string (as Go's `encoding/json` does); objects their display text.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Bytes(b) => {
                use base64::Engine as _;
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::Object(o) => serde_json::Value::String(o.display()),
        }
    }

    /// Go's truthiness: false, 0, nil, and empty strings/lists/maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// The Go type name (`%T`, error messages).
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// The string inside a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The map inside a [`Value::Map`].
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items inside a [`Value::List`].
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether this is [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::string(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::string(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::list(l)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::map(m)
    }
}
impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        Value::from_json(v)
    }
}
