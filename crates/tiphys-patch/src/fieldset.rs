//! Sets of field paths, the unit of ownership in server-side apply, and their `FieldsV1`
//! encoding (`{"f:spec":{"f:replicas":{}}}`) as stored in `metadata.managedFields`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::PatchError;

/// One step of a field path. The derived order (fields, keys, values, indexes) is the order
/// the API server writes `fieldsV1` in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of an object or a key of a map: `f:name`.
    Field(String),
    /// An element of a keyed list, by its key fields as compact JSON with sorted names:
    /// `k:{"name":"nginx"}`.
    Key(String),
    /// An element of a set, by its value as compact JSON: `v:"finalizer.example.com"`.
    Value(String),
    /// An element of a list without keys, by position: `i:0`.
    Index(usize),
}

impl PathElement {
    /// The `fieldsV1` spelling: `f:x`, `k:{..}`, `v:..`, `i:0`.
    pub fn encode(&self) -> String {
        let (prefix, text) = match self {
            Self::Field(name) => ("f:", name.as_str()),
            Self::Key(key) => ("k:", key.as_str()),
            Self::Value(value) => ("v:", value.as_str()),
            Self::Index(index) => return format!("i:{index}"),
        };
        let mut out = String::with_capacity(prefix.len() + text.len());
        out.push_str(prefix);
        out.push_str(text);
        out
    }

    /// Parses the `fieldsV1` spelling.
    pub fn decode(text: &str) -> Result<Self, PatchError> {
        let bad = || PatchError::InvalidManagedFields(format!("{text:?} is not a field path element"));
        let (prefix, rest) = text.split_once(':').ok_or_else(bad)?;
        match prefix {
            "f" => Ok(Self::Field(rest.to_string())),
            "k" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(map)) => Ok(Self::Key(Value::Object(sorted(map)).to_string())),
                _ => Err(bad()),
            },
            "v" => serde_json::from_str::<Value>(rest).map(|v| Self::Value(v.to_string())).map_err(|_| bad()),
            "i" => rest.parse().map(Self::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// Builds the key element of a keyed-list item from `(field, value)` pairs: compact JSON with
/// the names sorted, written directly because every keyed element of every object needs one.
pub(crate) fn key_element(mut pairs: Vec<(&str, &Value)>) -> PathElement {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::from("{");
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&Value::String(name.to_string()).to_string());
        text.push(':');
        text.push_str(&value.to_string());
    }
    text.push('}');
    PathElement::Key(text)
}

impl fmt::Display for PathElement {
    /// Path notation of conflict messages: `.replicas`, `[name="nginx"]`, `[="x"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(key) => {
                f.write_str("[")?;
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(key) {
                    for (i, (name, value)) in map.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{name}={value}")?;
                    }
                }
                f.write_str("]")
            }
            Self::Value(value) => {
                write!(f, "[={value}]")
            }
            Self::Index(index) => write!(f, "[{index}]"),
        }
    }
}

/// A path from the object root to one field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FieldPath(pub Vec<PathElement>);

impl fmt::Display for FieldPath {
    /// `.spec.template.spec.containers[name="nginx"].image`, as in the API server's messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|element| write!(f, "{element}"))
    }
}

/// A set of field paths: what one manager owns. `members` are paths that end here (a leaf
/// field, a list element as a whole); `children` hold deeper paths and are never empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSet {
    pub(crate) members: BTreeSet<PathElement>,
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set has no paths.
    pub fn is_empty(&self) -> bool {
        // Every constructor keeps the invariant that no child set is empty.
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds a path; an empty path is ignored.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is a member of the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|child| child.contains(rest)),
        }
    }

    /// Whether the set has `path` itself or any path below it.
    pub fn has_prefix(&self, path: &[PathElement]) -> bool {
        match path {
            [] => !self.is_empty(),
            [first, rest @ ..] => {
                (rest.is_empty() && self.members.contains(first))
                    || self.children.get(first).is_some_and(|child| child.has_prefix(rest))
            }
        }
    }

    /// Every member path: at each level the paths ending there, then the deeper ones, the
    /// order structured-merge-diff lists conflicts in.
    pub fn paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<FieldPath>) {
        for member in &self.members {
            prefix.push(member.clone());
            out.push(FieldPath(prefix.clone()));
            prefix.pop();
        }
        for (element, child) in &self.children {
            prefix.push(element.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Paths in `self` or `other`.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (element, child) in &other.children {
            let merged = match out.children.get(element) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(element.clone(), merged);
        }
        out
    }

    /// Paths in `self` and not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.iter().filter(|m| !other.members.contains(*m)).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(element, child)| {
                let rest = match other.children.get(element) {
                    Some(theirs) => child.difference(theirs),
                    None => child.clone(),
                };
                (!rest.is_empty()).then(|| (element.clone(), rest))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(element, child)| {
                let both = child.intersection(other.children.get(element)?);
                (!both.is_empty()).then(|| (element.clone(), both))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Encodes as `fieldsV1` JSON: `{"f:spec":{"f:replicas":{}}}`, `"."` marking a path that
    /// is both a member and has children (a keyed list element).
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode_level(false))
    }

    /// One level of `fieldsV1`, with `"."` first when the path leading here is a member too.
    /// Members and children are both sorted, so one merge walk yields the elements in order.
    fn encode_level(&self, dot: bool) -> Map<String, Value> {
        let mut map = Map::new();
        if dot {
            map.insert(".".to_string(), Value::Object(Map::new()));
        }
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let take_member = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(member), Some((child, _))) => *member <= *child,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            let (element, child) = if take_member {
                let Some(member) = members.next() else { break };
                let child = children.next_if(|(c, _)| *c == member).map(|(_, child)| child);
                (member, child)
            } else {
                let Some((element, child)) = children.next() else { break };
                (element, Some(child))
            };
            let value = match child {
                Some(child) => child.encode_level(take_member),
                None => Map::new(),
            };
            map.insert(element.encode(), Value::Object(value));
        }
        map
    }

    /// Decodes `fieldsV1` JSON.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, PatchError> {
        let Value::Object(map) = value else {
            return Err(PatchError::InvalidManagedFields(format!(
                "fieldsV1 must be an object, found {}",
                crate::error::json_type(value)
            )));
        };
        let mut out = FieldSet::new();
        for (name, inner) in map {
            if name == "." {
                continue;
            }
            let element = PathElement::decode(name)?;
            let Value::Object(inner_map) = inner else {
                return Err(PatchError::InvalidManagedFields(format!(
                    "fieldsV1 entry {name:?} must be an object"
                )));
            };
            if inner_map.is_empty() || inner_map.contains_key(".") {
                out.members.insert(element.clone());
            }
            let child = FieldSet::from_fields_v1(inner)?;
            if !child.is_empty() {
                out.children.insert(element, child);
            }
        }
        Ok(out)
    }
}
