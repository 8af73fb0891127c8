//! Just enough Kubernetes protobuf to accept what `kubectl create <generator>` sends.
//!
//! kubectl's typed clients (`kubectl create namespace|configmap|secret|serviceaccount`)
//! post `application/vnd.kubernetes.protobuf` bodies and do not fall back to JSON. The
//! envelope is the `k8s\0` magic followed by a `runtime.Unknown` message holding the type
//! and the raw object; this module decodes the raw object for the simple kinds those
//! generators produce into JSON. Any other kind gets 415 with a hint to use `-f`/`apply`.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

const MAGIC: &[u8] = b"k8s\0";

/// How one protobuf field maps to JSON.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Int,
    Msg(&'static [Field]),
    StrMap,
    BytesMap,
    RepStr,
}

type Field = (u32, &'static str, Kind);

const OBJECT_META: &[Field] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (11, "labels", Kind::StrMap),
    (12, "annotations", Kind::StrMap),
    (14, "finalizers", Kind::RepStr),
];
const NAMESPACE: &[Field] =
    &[(1, "metadata", Kind::Msg(OBJECT_META)), (2, "spec", Kind::Msg(&[(1, "finalizers", Kind::RepStr)]))];
const CONFIG_MAP: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::StrMap),
    (3, "binaryData", Kind::BytesMap),
    (4, "immutable", Kind::Bool),
];
const SECRET: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::BytesMap),
    (3, "type", Kind::Str),
    (4, "stringData", Kind::StrMap),
    (5, "immutable", Kind::Bool),
];
const SERVICE_ACCOUNT: &[Field] =
    &[(1, "metadata", Kind::Msg(OBJECT_META)), (4, "automountServiceAccountToken", Kind::Bool)];

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn malformed() -> Error {
    Error::bad_request("the protobuf body is malformed")
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(malformed)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed())
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = usize::try_from(self.varint()?).map_err(|_| malformed())?;
        let end = self.pos.checked_add(len).filter(|e| *e <= self.buf.len()).ok_or_else(malformed)?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Next `(field number, wire type)`.
    fn key(&mut self) -> Result<(u32, u8)> {
        let key = self.varint()?;
        Ok(((key >> 3) as u32, (key & 7) as u8))
    }

    fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8),
            2 => self.bytes().map(|_| ()),
            5 => self.advance(4),
            _ => Err(malformed()),
        }
    }

    fn advance(&mut self, n: usize) -> Result<()> {
        self.pos = self.pos.checked_add(n).filter(|p| *p <= self.buf.len()).ok_or_else(malformed)?;
        Ok(())
    }
}

fn text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed())
}

/// A map entry message: key = 1, value = 2.
fn entry(bytes: &[u8], binary: bool) -> Result<(String, Value)> {
    let mut r = Reader::new(bytes);
    let (mut k, mut v) = (String::new(), json!(""));
    while !r.done() {
        match r.key()? {
            (1, 2) => k = text(r.bytes()?)?,
            (2, 2) if binary => v = json!(base64::engine::general_purpose::STANDARD.encode(r.bytes()?)),
            (2, 2) => v = json!(text(r.bytes()?)?),
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok((k, v))
}

fn decode(bytes: &[u8], schema: &[Field]) -> Result<Value> {
    let mut r = Reader::new(bytes);
    let mut out = Map::new();
    while !r.done() {
        let (number, wire) = r.key()?;
        let Some(&(_, name, kind)) = schema.iter().find(|f| f.0 == number) else {
            r.skip(wire)?;
            continue;
        };
        let name = name.to_string();
        match (kind, wire) {
            (Kind::Str, 2) => {
                out.insert(name, json!(text(r.bytes()?)?));
            }
            (Kind::Bool, 0) => {
                out.insert(name, json!(r.varint()? != 0));
            }
            (Kind::Int, 0) => {
                out.insert(name, json!(r.varint()? as i64));
            }
            (Kind::Msg(inner), 2) => {
                out.insert(name, decode(r.bytes()?, inner)?);
            }
            (Kind::StrMap | Kind::BytesMap, 2) => {
                let (k, v) = entry(r.bytes()?, matches!(kind, Kind::BytesMap))?;
                if let Some(map) = out.entry(name).or_insert_with(|| json!({})).as_object_mut() {
                    map.insert(k, v);
                }
            }
            (Kind::RepStr, 2) => {
                let s = text(r.bytes()?)?;
                if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    list.push(json!(s));
                }
            }
            (_, wire) => r.skip(wire)?,
        }
    }
    // Go's protobuf writes empty optional fields; JSON (omitempty) does not have them.
    out.retain(|_, v| !matches!(v, Value::String(s) if s.is_empty()) && *v != json!(0) && *v != json!({}));
    Ok(Value::Object(out))
}

/// Decodes a protobuf-encoded object (with the `k8s\0` envelope) into JSON.
pub fn decode_object(body: &[u8]) -> Result<Value> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| Error::bad_request("the protobuf body lacks the k8s envelope"))?;
    let mut r = Reader::new(rest);
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    while !r.done() {
        match r.key()? {
            (1, 2) => {
                let type_meta = decode(r.bytes()?, &[(1, "apiVersion", Kind::Str), (2, "kind", Kind::Str)])?;
                api_version = type_meta["apiVersion"].as_str().unwrap_or_default().to_string();
                kind = type_meta["kind"].as_str().unwrap_or_default().to_string();
            }
            (2, 2) => raw = r.bytes()?,
            (_, wire) => r.skip(wire)?,
        }
    }
    let schema = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        _ => {
            return Err(Error::Api {
                code: 415,
                reason: "UnsupportedMediaType",
                message: format!(
                    "the sandbox reads protobuf only for Namespace, ConfigMap, Secret and ServiceAccount, not {api_version}/{kind}; send JSON or YAML instead (kubectl create -f / kubectl apply -f)"
                ),
                details: None,
            });
        }
    };
    let mut obj = decode(raw, schema)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field(number: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3 | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let meta = [field(1, b"cfg"), field(11, &[field(1, b"app"), field(2, b"web")].concat())].concat();
        let raw = [field(1, &meta), field(2, &[field(1, b"k"), field(2, b"v")].concat())].concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let obj = decode_object(&body).expect("decodes");
        assert_eq!(
            obj,
            json!({"metadata": {"name": "cfg", "labels": {"app": "web"}}, "data": {"k": "v"},
                "apiVersion": "v1", "kind": "ConfigMap"})
        );
    }

    #[test]
    fn other_kinds_are_refused_with_a_hint() {
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta)].concat();
        let err = decode_object(&body).err().map(|e| (e.code(), e.to_string()));
        assert!(err.is_some_and(|(code, msg)| code == 415 && msg.contains("kubectl apply -f")));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_object(&[MAGIC, &bytes].concat());
            let _ = decode_object(&bytes);
        }
    }
}
