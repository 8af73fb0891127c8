//! YAML streams in and out, with the scalar typing Kubernetes tools use.
//!
//! Input is split into documents at `---` lines ourselves (as kubectl's YAML reader does), so
//! that every error names the document index and a line number in the whole file, and one bad
//! document does not hide which others were fine. Each document is parsed with serde-saphyr
//! using go-yaml v2 compatible integers (`0755` is octal), like sigs.k8s.io/yaml.

use serde::Serialize;
use serde_json::Value;

/// Largest document we parse; larger ones are refused instead of exhausting memory.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

/// A YAML document that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {index} (line {line}): {message}")]
pub struct YamlError {
    /// Zero-based index of the document in the stream.
    pub index: usize,
    /// One-based line in the whole stream where the problem is (the document's first line
    /// when the parser gives no position).
    pub line: usize,
    /// The parser's explanation.
    pub message: String,
}

/// One document of a stream, with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Zero-based index of the document; empty documents count too, so indexes match what a
    /// user counts in the file.
    pub index: usize,
    /// One-based line of the document's first content line.
    pub line: usize,
    /// The parsed value; `Null` for an empty document.
    pub value: Value,
}

/// A raw section of a stream between `---` separators.
struct Section<'a> {
    index: usize,
    first_line: usize,
    text: &'a str,
}

impl Section<'_> {
    /// The first line with anything on it (the separator line's remainder is usually empty).
    fn content_line(&self) -> usize {
        let blank = self.text.split_inclusive('\n').take_while(|l| l.trim().is_empty()).count();
        let total = self.text.split_inclusive('\n').count();
        self.first_line + blank.min(total.saturating_sub(1))
    }
}

fn sections(input: &str) -> Vec<Section<'_>> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    let mut index = 0usize;
    for (line_no, line) in (1usize..).zip(input.split_inclusive('\n')) {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_separator = trimmed == "---" || trimmed.starts_with("--- ") || trimmed.starts_with("---\t");
        let is_end = trimmed == "...";
        if is_separator || is_end {
            // Text between separators is one section; a separator line itself may carry
            // content (`--- key: v` is rare but legal) which we keep with the next section.
            out.push(Section { index, first_line: start_line, text: &input[start..offset] });
            index += 1;
            let rest = if is_separator { 3 } else { trimmed.len() };
            start = offset + if is_separator { rest } else { line.len() };
            start_line = line_no + usize::from(!is_separator);
        }
        offset += line.len();
    }
    out.push(Section { index, first_line: start_line, text: &input[start..] });
    // A leading separator produces an empty first section that users do not count.
    if out.len() > 1 && is_blank(out[0].text) && input.trim_start().starts_with("---") {
        out.remove(0);
        for s in &mut out {
            s.index -= 1;
        }
    }
    out
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    })
}

/// Parses one YAML document into JSON with Kubernetes scalar typing.
pub fn parse_document(text: &str) -> Result<Value, YamlError> {
    parse_section(&Section { index: 0, first_line: 1, text })
}

fn parse_section(section: &Section<'_>) -> Result<Value, YamlError> {
    if section.text.len() > MAX_DOCUMENT_BYTES {
        return Err(YamlError {
            index: section.index,
            line: section.first_line,
            message: format!("document is larger than {MAX_DOCUMENT_BYTES} bytes; split it"),
        });
    }
    if is_blank(section.text) {
        return Ok(Value::Null);
    }
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    serde_saphyr::from_str_with_options::<Value>(section.text, options).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).filter(|l| *l > 0).unwrap_or(1);
        YamlError {
            index: section.index,
            line: section.first_line + line - 1,
            message: first_line_of(&e.to_string()),
        }
    })
}

fn first_line_of(message: &str) -> String {
    message.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid YAML").trim().to_string()
}

/// Splits and parses a stream, keeping empty documents as `Null` so indexes match the file.
/// Each document succeeds or fails on its own.
pub fn parse_stream_lenient(input: &str) -> Vec<Result<Document, YamlError>> {
    sections(input)
        .iter()
        .map(|s| parse_section(s).map(|value| Document { index: s.index, line: s.content_line(), value }))
        .collect()
}

/// Parses a stream into its non-empty documents; the first bad document fails the whole call.
pub fn parse_stream(input: &str) -> Result<Vec<Value>, YamlError> {
    let mut out = Vec::new();
    for doc in parse_stream_lenient(input) {
        let doc = doc?;
        if !doc.value.is_null() {
            out.push(doc.value);
        }
    }
    Ok(out)
}

/// Serializes a value as one YAML document (no leading `---`).
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# could not render YAML: {e}\n"))
}

/// Serializes values as a `---`-separated stream, the format `argocd app manifests` prints.
pub fn to_yaml_stream<T: Serialize>(values: &[T]) -> String {
    let mut out = String::new();
    for v in values {
        out.push_str("---\n");
        out.push_str(&to_yaml(v));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_documents_and_skips_empty_ones() {
        let docs = parse_stream("---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), json!({"b": 2})]);
    }

    #[test]
    fn indexes_and_lines_count_from_the_file() {
        let docs = parse_stream_lenient("a: 1\n---\nb: [\n---\nc: 3\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].as_ref().unwrap().line, 1);
        let err = docs[1].as_ref().unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.line >= 3, "{err:?}");
        assert_eq!(docs[2].as_ref().unwrap().line, 5);
    }

    #[test]
    fn go_yaml_number_typing() {
        let v = parse_document("mode: 0755\nplain: 12\nhex: 0x1F\nyes: yes\nquoted: \"0755\"\n").unwrap();
        assert_eq!(v, json!({"mode": 493, "plain": 12, "hex": 31, "yes": true, "quoted": "0755"}));
    }

    #[test]
    fn block_scalars_keep_their_separators_inside() {
        let v = parse_stream("a: |\n  ---\n  x\n").unwrap();
        assert_eq!(v, vec![json!({"a": "---\nx\n"})]);
    }

    #[test]
    fn stream_round_trip() {
        let values = vec![json!({"a": 1, "b": [1, 2]}), json!({"c": {"d": "e"}})];
        assert_eq!(parse_stream(&to_yaml_stream(&values)).unwrap(), values);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse_stream_lenient(&s);
        }
    }
}
