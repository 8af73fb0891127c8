//! Lexer and parser for Go's `text/template` syntax, producing the tree [`crate::exec`] walks.
//!
//! Error messages follow Go's `text/template/parse` wording so users see familiar text.

use std::collections::HashMap;
use std::sync::Arc;

use crate::Error;

/// A parsed template body.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// The template name (`define` name or file name).
    pub name: Arc<str>,
    /// The file the text came from (Go's `ParseName`), used in error locations.
    pub parse_name: Arc<str>,
    /// The full source text of that file, to compute line/column of nodes.
    pub source: Arc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// Go's "empty tree" test: only whitespace text (and nothing else) in the body.
    pub fn is_empty(&self) -> bool {
        self.root.iter().all(|n| match n {
            Node::Text(t) => t.trim().is_empty(),
            _ => false,
        })
    }

    /// `name:line:col` for a byte offset, as Go's `ErrorContext` computes it.
    pub fn location(&self, pos: usize) -> String {
        let upto = self.source.get(..pos.min(self.source.len())).unwrap_or("");
        let line = 1 + upto.matches('\n').count();
        let col = match upto.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(Arc<str>),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template { pos: usize, name: String, pipe: Option<Pipe> },
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A caller function resolved at parse time.
#[derive(Clone)]
pub(crate) struct FuncRef(pub crate::Func);

impl std::fmt::Debug for FuncRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FuncRef")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub pos: usize,
    pub kind: ArgKind,
}

#[derive(Debug, Clone)]
pub(crate) enum ArgKind {
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B` (idents[0] is the variable name including `$`)
    Variable(Vec<String>),
    Dot,
    Nil,
    Bool(bool),
    Int(i64, Arc<str>),
    Float(f64, Arc<str>),
    String(Arc<str>, Arc<str>),
    /// A function name, with the caller's function resolved at parse time (`None` for a
    /// builtin), so execution does not look it up again.
    Ident(String, Option<FuncRef>),
    Pipe(Box<Pipe>),
    /// `(pipe).A.B` or `$x.A` on a non-field node.
    Chain(Box<Arg>, Vec<String>),
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            let op = if self.is_assign { "=" } else { ":=" };
            write!(f, "{} {} ", self.decl.join(", "), op)?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let ArgKind::Pipe(p) = &a.kind {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ArgKind::Field(ids) => {
                for id in ids {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            ArgKind::Variable(ids) => f.write_str(&ids.join(".")),
            ArgKind::Dot => f.write_str("."),
            ArgKind::Nil => f.write_str("nil"),
            ArgKind::Bool(b) => write!(f, "{b}"),
            ArgKind::Int(_, t) | ArgKind::Float(_, t) | ArgKind::String(_, t) => f.write_str(t),
            ArgKind::Ident(i, _) => f.write_str(i),
            ArgKind::Pipe(p) => write!(f, "({p})"),
            ArgKind::Chain(n, ids) => {
                if let ArgKind::Pipe(p) = &n.kind {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{n}")?;
                }
                for id in ids {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Field(String),
    Variable(String),
    Ident(String),
    Dot,
    Str(String, String),
    RawStr(String, String),
    Char(i64, String),
    Number(String),
    Bool(bool),
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    Comma,
    Space,
    Keyword(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
    line: usize,
}

const KEYWORDS: &[&str] =
    &["block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"];

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    tokens: Vec<Token>,
    paren_depth: usize,
}

type LexResult = Result<(), (usize, String)>;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'a> Lexer<'a> {
    fn emit(&mut self, tok: Tok, start: usize, line: usize) {
        self.tokens.push(Token { tok, pos: start, line });
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn run(mut self) -> Result<Vec<Token>, (usize, String)> {
        loop {
            // text up to next "{{"
            let start = self.pos;
            let start_line = self.line;
            match self.rest().find("{{") {
                None => {
                    if self.pos < self.src.len() {
                        let t = self.rest().to_string();
                        self.line += t.matches('\n').count();
                        self.pos = self.src.len();
                        self.emit(Tok::Text(t), start, start_line);
                    }
                    self.emit(Tok::Eof, self.pos, self.line);
                    return Ok(self.tokens);
                }
                Some(off) => {
                    let delim_pos = self.pos + off;
                    let after = &self.src[delim_pos + 2..];
                    let trim_left = after.starts_with('-') && after[1..].starts_with(is_space);
                    let mut text = &self.src[self.pos..delim_pos];
                    if trim_left {
                        text = text.trim_end_matches(is_space);
                    }
                    if !text.is_empty() {
                        self.emit(Tok::Text(text.to_string()), start, start_line);
                    }
                    self.line += self.src[self.pos..delim_pos].matches('\n').count();
                    self.pos = delim_pos + 2;
                    let delim_line = self.line;
                    if trim_left {
                        self.pos += 2;
                    }
                    // comment?
                    if self.rest().starts_with("/*") {
                        self.lex_comment()?;
                        continue;
                    }
                    self.emit(Tok::LeftDelim, delim_pos, delim_line);
                    self.paren_depth = 0;
                    self.lex_inside()?;
                }
            }
        }
    }

    fn lex_comment(&mut self) -> LexResult {
        let body_start = self.pos + 2;
        let Some(end) = self.src[body_start..].find("*/") else {
            return Err((self.line, "unclosed comment".into()));
        };
        let end_abs = body_start + end;
        self.line += self.src[self.pos..end_abs + 2].matches('\n').count();
        self.pos = end_abs + 2;
        let rest = self.rest();
        let (trim_right, skip) = if rest.starts_with(" -}}") {
            (true, 4)
        } else if rest.starts_with(|c: char| is_space(c)) {
            let ws = rest.len() - rest.trim_start_matches(is_space).len();
            if rest[ws..].starts_with("-}}") { (true, ws + 3) } else { (false, usize::MAX) }
        } else if rest.starts_with("}}") {
            (false, 2)
        } else {
            (false, usize::MAX)
        };
        if skip == usize::MAX {
            return Err((self.line, "comment ends before closing delimiter".into()));
        }
        self.line += self.rest()[..skip].matches('\n').count();
        self.pos += skip;
        if trim_right {
            self.skip_trailing_space();
        }
        Ok(())
    }

    fn skip_trailing_space(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches(is_space);
        let n = rest.len() - trimmed.len();
        self.line += rest[..n].matches('\n').count();
        self.pos += n;
    }

    /// Checks for a right delimiter (optionally with trim marker) at the current position.
    fn at_right_delim(&self) -> Option<(bool, usize)> {
        let rest = self.rest();
        if rest.starts_with("}}") {
            return Some((false, 2));
        }
        if is_space_prefix(rest) {
            let ws = rest.len() - rest.trim_start_matches(is_space).len();
            if rest[ws..].starts_with("-}}") && ws > 0 {
                return Some((true, ws + 3));
            }
        }
        None
    }

    fn lex_inside(&mut self) -> LexResult {
        loop {
            if let Some((trim, n)) = self.at_right_delim() {
                let p = self.pos;
                let line = self.line;
                if self.paren_depth > 0 {
                    return Err((self.line, "unclosed left paren".into()));
                }
                self.line += self.rest()[..n].matches('\n').count();
                self.pos += n;
                self.emit(Tok::RightDelim, p, line);
                if trim {
                    self.skip_trailing_space();
                }
                return Ok(());
            }
            let start = self.pos;
            let line = self.line;
            let Some(c) = self.peek() else {
                return Err((self.line, "unclosed action".into()));
            };
            match c {
                c if is_space(c) => {
                    while self.peek().is_some_and(is_space) && self.at_right_delim().is_none() {
                        if self.peek() == Some('\n') && self.paren_depth == 0 {
                            // Go allows newlines inside actions since 1.16.
                        }
                        self.bump();
                    }
                    self.emit(Tok::Space, start, line);
                }
                '=' => {
                    self.bump();
                    self.emit(Tok::Assign, start, line);
                }
                ':' => {
                    self.bump();
                    if self.peek() != Some('=') {
                        return Err((self.line, "expected :=".into()));
                    }
                    self.bump();
                    self.emit(Tok::Declare, start, line);
                }
                '|' => {
                    self.bump();
                    self.emit(Tok::Pipe, start, line);
                }
                ',' => {
                    self.bump();
                    self.emit(Tok::Comma, start, line);
                }
                '"' => {
                    self.scan_quoted('"', "unterminated quoted string")?;
                    let raw = &self.src[start..self.pos];
                    let val = unquote(raw).ok_or((line, "invalid syntax".to_string()))?;
                    self.emit(Tok::Str(val, raw.to_string()), start, line);
                }
                '`' => {
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('`') => break,
                            None => return Err((self.line, "unterminated raw quoted string".into())),
                            _ => {}
                        }
                    }
                    let raw = &self.src[start..self.pos];
                    self.emit(Tok::RawStr(raw[1..raw.len() - 1].to_string(), raw.to_string()), start, line);
                }
                '\'' => {
                    self.scan_quoted('\'', "unterminated character constant")?;
                    let raw = &self.src[start..self.pos];
                    let inner = unquote(&format!("\"{}\"", &raw[1..raw.len() - 1]))
                        .filter(|s| s.chars().count() == 1)
                        .ok_or((line, format!("malformed character constant: {raw}")))?;
                    let ch = inner.chars().next().map_or(0, |c| c as i64);
                    self.emit(Tok::Char(ch, raw.to_string()), start, line);
                }
                '$' => {
                    self.bump();
                    while self.peek().is_some_and(is_alnum) {
                        self.bump();
                    }
                    self.emit(Tok::Variable(self.src[start..self.pos].to_string()), start, line);
                    self.lex_field_chain()?;
                    self.check_terminator()?;
                }
                '.' => {
                    self.bump();
                    if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos = start;
                        self.lex_number(start, line)?;
                        continue;
                    }
                    if self.peek().is_some_and(is_alnum) {
                        while self.peek().is_some_and(is_alnum) {
                            self.bump();
                        }
                        self.emit(Tok::Field(self.src[start + 1..self.pos].to_string()), start, line);
                        self.lex_field_chain()?;
                        self.check_terminator()?;
                    } else {
                        self.emit(Tok::Dot, start, line);
                    }
                }
                '+' | '-' | '0'..='9' => self.lex_number(start, line)?,
                '(' => {
                    self.bump();
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen, start, line);
                }
                ')' => {
                    self.bump();
                    if self.paren_depth == 0 {
                        return Err((self.line, "unexpected right paren".into()));
                    }
                    self.paren_depth -= 1;
                    self.emit(Tok::RightParen, start, line);
                    self.lex_field_chain()?;
                }
                c if is_alnum(c) => {
                    while self.peek().is_some_and(is_alnum) {
                        self.bump();
                    }
                    let word = &self.src[start..self.pos];
                    let tok = match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => match KEYWORDS.iter().find(|k| **k == w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(w.to_string()),
                        },
                    };
                    self.emit(tok, start, line);
                    if matches!(self.peek(), Some('.')) {
                        self.lex_field_chain()?;
                    }
                    self.check_terminator()?;
                }
                c => {
                    return Err((
                        self.line,
                        format!("unrecognized character in action: {}", go_quote_rune(c)),
                    ));
                }
            }
        }
    }

    /// Skips a `"`- or `'`-quoted literal with backslash escapes, which must end on its line.
    fn scan_quoted(&mut self, quote: char, unterminated: &str) -> LexResult {
        self.bump();
        loop {
            match self.bump() {
                Some('\\') if self.bump().is_none_or(|c| c == '\n') => {
                    return Err((self.line, unterminated.into()));
                }
                Some(c) if c == quote => return Ok(()),
                None | Some('\n') => return Err((self.line, unterminated.into())),
                _ => {}
            }
        }
    }

    /// Go's `atTerminator` check after a field, variable or identifier.
    fn check_terminator(&self) -> LexResult {
        match self.peek() {
            None => Ok(()),
            Some(c) if is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') => Ok(()),
            Some(_) if self.at_right_delim().is_some() => Ok(()),
            Some(c) => Err((self.line, format!("bad character {}", go_quote_rune(c)))),
        }
    }

    /// After a variable, field or closing paren: `.Field` continuations are field tokens.
    fn lex_field_chain(&mut self) -> LexResult {
        while self.peek() == Some('.') {
            let start = self.pos;
            let line = self.line;
            self.bump();
            if !self.peek().is_some_and(is_alnum) {
                self.emit(Tok::Dot, start, line);
                return Ok(());
            }
            while self.peek().is_some_and(is_alnum) {
                self.bump();
            }
            self.emit(Tok::Field(self.src[start + 1..self.pos].to_string()), start, line);
        }
        Ok(())
    }

    /// Go's `scanNumber`: sign, base prefix, digits, fraction, exponent; the next character
    /// must not be alphanumeric.
    fn lex_number(&mut self, start: usize, line: usize) -> LexResult {
        let accept = |lx: &mut Self, set: &str| -> bool {
            match lx.peek() {
                Some(c) if set.contains(c) => {
                    lx.bump();
                    true
                }
                _ => false,
            }
        };
        let accept_run = |lx: &mut Self, set: &str| while accept(lx, set) {};
        accept(self, "+-");
        let mut digits = "0123456789_";
        if accept(self, "0") {
            if accept(self, "xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if accept(self, "oO") {
                digits = "01234567_";
            } else if accept(self, "bB") {
                digits = "01_";
            }
        }
        accept_run(self, digits);
        if accept(self, ".") {
            accept_run(self, digits);
        }
        if digits.len() == 11 && accept(self, "eE") {
            accept(self, "+-");
            accept_run(self, "0123456789_");
        }
        if digits.len() == 23 && accept(self, "pP") {
            accept(self, "+-");
            accept_run(self, "0123456789_");
        }
        if self.peek().is_some_and(is_alnum) {
            self.bump();
            return Err((line, format!("bad number syntax: {:?}", &self.src[start..self.pos])));
        }
        self.emit(Tok::Number(self.src[start..self.pos].to_string()), start, line);
        Ok(())
    }
}

fn is_space_prefix(s: &str) -> bool {
    s.starts_with(is_space)
}

/// Go's `%q` of a rune, used in lexer errors.
fn go_quote_rune(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

/// Interprets a Go double-quoted string literal (including the quotes).
pub(crate) fn unquote(raw: &str) -> Option<String> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = inner.chars().peekable();
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |n: usize, chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<u32> {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * 16 + chars.next()?.to_digit(16)?;
            }
            Some(v)
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => return None,
            'x' => {
                bytes.push(u8::try_from(hex(2, &mut chars)?).ok()?);
                continue;
            }
            'u' => out.push(char::from_u32(hex(4, &mut chars)?)?),
            'U' => out.push(char::from_u32(hex(8, &mut chars)?)?),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                bytes.push(u8::try_from(v).ok()?);
                continue;
            }
            _ => return None,
        }
        flush(&mut bytes, &mut out);
    }
    flush(&mut bytes, &mut out);
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Parser

pub(crate) struct Parsed {
    /// The top-level body of the file.
    pub main: Tree,
    /// `define`/`block` templates, in order of appearance.
    pub defines: Vec<Tree>,
}

struct Parser<'a> {
    name: String,
    parse_name: Arc<str>,
    source: Arc<str>,
    toks: Vec<Token>,
    i: usize,
    funcs: &'a crate::FuncMap,
    vars: Vec<String>,
    defines: Vec<Tree>,
    range_depth: usize,
    /// Current nesting of blocks and parenthesized pipelines, bounded by [`MAX_NESTING`].
    nesting: usize,
}

type PResult<T> = Result<T, Error>;

enum EndKind {
    End,
    Else,
}

/// Deepest nesting of blocks (`if`/`range`/`with`) and parentheses the parser accepts, so a
/// hostile template cannot exhaust the stack (Go's parser has no limit but grows its stack).
const MAX_NESTING: usize = 200;

/// Parses one file; function names must be in `funcs` or builtins (Go checks at parse time).
pub(crate) fn parse(name: &str, text: &str, funcs: &crate::FuncMap) -> PResult<Parsed> {
    let toks = Lexer { src: text, pos: 0, line: 1, tokens: Vec::new(), paren_depth: 0 }
        .run()
        .map_err(|(line, message)| Error::Parse { name: name.to_string(), line, message })?;
    let source: Arc<str> = Arc::from(text);
    let mut p = Parser {
        name: name.to_string(),
        parse_name: Arc::from(name),
        source: source.clone(),
        toks,
        i: 0,
        funcs,
        vars: vec!["$".into()],
        defines: Vec::new(),
        range_depth: 0,
        nesting: 0,
    };
    let mut root = Vec::new();
    loop {
        if matches!(p.peek().tok, Tok::Eof) {
            break;
        }
        if p.is_define_start() {
            p.parse_define()?;
            continue;
        }
        match p.parse_node()? {
            Item::Node(n) => root.push(n),
            Item::End => return Err(p.err_at_prev("unexpected {{end}}")),
            Item::Else => return Err(p.err_at_prev("unexpected {{else}}")),
        }
    }
    let main = Tree { name: Arc::from(name), parse_name: p.parse_name.clone(), source, root };
    Ok(Parsed { main, defines: p.defines })
}

enum Item {
    Node(Node),
    End,
    Else,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek_non_space(&mut self) -> &Token {
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.peek_non_space();
        self.next()
    }

    fn err(&self, line: usize, msg: impl Into<String>) -> Error {
        Error::Parse { name: self.name.clone(), line, message: msg.into() }
    }

    fn err_at_prev(&self, msg: &str) -> Error {
        let line = self.toks[self.i.saturating_sub(1)].line;
        self.err(line, msg)
    }

    fn is_define_start(&self) -> bool {
        if !matches!(self.peek().tok, Tok::LeftDelim) {
            return false;
        }
        let mut j = self.i + 1;
        while j < self.toks.len() && matches!(self.toks[j].tok, Tok::Space) {
            j += 1;
        }
        j < self.toks.len() && matches!(self.toks[j].tok, Tok::Keyword("define"))
    }

    fn new_tree(&self, name: String, root: Vec<Node>) -> Tree {
        Tree { name: Arc::from(name), parse_name: self.parse_name.clone(), source: self.source.clone(), root }
    }

    fn parse_define(&mut self) -> PResult<()> {
        self.next(); // {{
        let kw = self.next_non_space();
        let name_tok = self.next_non_space();
        let name = match name_tok.tok {
            Tok::Str(s, _) | Tok::RawStr(s, _) => s,
            _ => {
                return Err(
                    self.err(kw.line, format!("unexpected {} in define clause", describe(&name_tok.tok)))
                );
            }
        };
        self.expect_right_delim("define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.parse_list()?;
        self.vars = saved;
        if let EndKind::Else = end {
            return Err(self.err_at_prev("unexpected {{else}}"));
        }
        self.add_define(name, list);
        Ok(())
    }

    fn add_define(&mut self, name: String, list: Vec<Node>) {
        let tree = self.new_tree(name.clone(), list);
        if let Some(i) = self.defines.iter().position(|t| *t.name == *name) {
            if !tree.is_empty() || self.defines[i].is_empty() {
                self.defines[i] = tree;
            }
        } else {
            self.defines.push(tree);
        }
    }

    fn expect_right_delim(&mut self, ctx: &str) -> PResult<()> {
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::RightDelim) {
            return Err(self.err(t.line, format!("unexpected {} in {ctx}", describe(&t.tok))));
        }
        Ok(())
    }

    /// Parses nodes until `{{end}}` or `{{else}}`.
    fn parse_list(&mut self) -> PResult<(Vec<Node>, EndKind)> {
        let mut list = Vec::new();
        loop {
            if matches!(self.peek().tok, Tok::Eof) {
                return Err(self.err(self.peek().line, "unexpected EOF"));
            }
            if self.is_define_start() {
                let t = self.peek().clone();
                return Err(self.err(t.line, "unexpected <define> in command"));
            }
            match self.parse_node()? {
                Item::Node(n) => list.push(n),
                Item::End => return Ok((list, EndKind::End)),
                Item::Else => return Ok((list, EndKind::Else)),
            }
        }
    }

    fn parse_node(&mut self) -> PResult<Item> {
        // text is never re-read, so it is taken rather than cloned
        if let Some(Token { tok: Tok::Text(s), .. }) = self.toks.get_mut(self.i) {
            let text: Arc<str> = Arc::from(std::mem::take(s));
            self.i += 1;
            return Ok(Item::Node(Node::Text(text)));
        }
        let t = self.next();
        match t.tok {
            Tok::LeftDelim => self.parse_action(),
            other => Err(self.err(t.line, format!("unexpected {}", describe(&other)))),
        }
    }

    fn parse_action(&mut self) -> PResult<Item> {
        let t = self.peek_non_space().clone();
        if let Tok::Keyword(k) = t.tok {
            match k {
                "block" => {
                    self.next();
                    return self.parse_block(t.line).map(Item::Node);
                }
                "break" | "continue" => {
                    self.next();
                    if self.range_depth == 0 {
                        return Err(self.err(t.line, format!("{{{{{k}}}}} outside {{{{range}}}}")));
                    }
                    self.expect_right_delim(&format!("{{{{{k}}}}}"))?;
                    return Ok(Item::Node(if k == "break" { Node::Break } else { Node::Continue }));
                }
                "else" => {
                    self.next();
                    // `else if` / `else with` chains are handled by the caller.
                    return Ok(Item::Else);
                }
                "end" => {
                    self.next();
                    self.expect_right_delim("end")?;
                    return Ok(Item::End);
                }
                "if" | "range" | "with" => {
                    self.next();
                    return self.parse_control(k).map(Item::Node);
                }
                "template" => {
                    self.next();
                    return self.parse_template(t.line).map(Item::Node);
                }
                _ => {}
            }
        }
        let pipe = self.parse_pipeline("command", false)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    /// Enters one level of block or parenthesis nesting.
    fn nest(&mut self, line: usize) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(
                self.err(line, format!("template nested too deeply (more than {MAX_NESTING} levels)"))
            );
        }
        Ok(())
    }

    fn parse_control(&mut self, kind: &'static str) -> PResult<Node> {
        let line = self.peek().line;
        self.nest(line)?;
        let r = self.parse_control_body(kind);
        self.nesting -= 1;
        r
    }

    fn parse_control_body(&mut self, kind: &'static str) -> PResult<Node> {
        let nvars = self.vars.len();
        let pipe = self.parse_pipeline(kind, kind == "range")?;
        if kind == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.parse_list()?;
        if kind == "range" {
            self.range_depth -= 1;
        }
        let else_list = match end {
            EndKind::End => None,
            EndKind::Else => {
                // `{{else if ...}}` / `{{else with ...}}`: parse as a nested control in the else.
                let nt = self.peek_non_space().clone();
                if (kind == "if" && nt.tok == Tok::Keyword("if"))
                    || (kind == "with" && nt.tok == Tok::Keyword("with"))
                {
                    self.next();
                    let nested = self.parse_control(kind)?;
                    Some(vec![nested])
                } else {
                    self.expect_right_delim("else")?;
                    let (l, e) = self.parse_list()?;
                    if let EndKind::Else = e {
                        return Err(self.err_at_prev("expected end; found {{else}}"));
                    }
                    Some(l)
                }
            }
        };
        self.vars.truncate(nvars);
        let b = Branch { pipe, list, else_list };
        Ok(match kind {
            "if" => Node::If(b),
            "range" => Node::Range(b),
            _ => Node::With(b),
        })
    }

    fn parse_template(&mut self, line: usize) -> PResult<Node> {
        let t = self.next_non_space();
        let name = match t.tok {
            Tok::Str(s, _) | Tok::RawStr(s, _) => s,
            other => {
                return Err(self.err(line, format!("unexpected {} in template clause", describe(&other))));
            }
        };
        let pipe = if matches!(self.peek_non_space().tok, Tok::RightDelim) {
            self.next();
            None
        } else {
            Some(self.parse_pipeline("template clause", false)?)
        };
        Ok(Node::Template { pos: t.pos, name, pipe })
    }

    fn parse_block(&mut self, line: usize) -> PResult<Node> {
        let t = self.next_non_space();
        let name = match t.tok {
            Tok::Str(s, _) | Tok::RawStr(s, _) => s,
            other => return Err(self.err(line, format!("unexpected {} in block clause", describe(&other)))),
        };
        let pipe = self.parse_pipeline("block clause", false)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.parse_list()?;
        self.vars = saved;
        self.range_depth = saved_range;
        if let EndKind::Else = end {
            return Err(self.err_at_prev("unexpected {{else}}"));
        }
        self.add_define(name.clone(), list);
        Ok(Node::Template { pos: t.pos, name, pipe: Some(pipe) })
    }

    /// Parses `[decl :=] cmd | cmd ...` up to the closing delimiter (or `)` when nested).
    fn parse_pipeline(&mut self, context: &str, allow_two_decls: bool) -> PResult<Pipe> {
        let start = self.peek_non_space().clone();
        let mut pipe = Pipe { pos: start.pos, is_assign: false, decl: Vec::new(), cmds: Vec::new() };
        // declarations
        if let Tok::Variable(v) = &start.tok {
            let save = self.i;
            self.next();
            let after = self.peek().clone();
            let after_ns = self.peek_non_space().clone();
            match after_ns.tok {
                Tok::Declare | Tok::Assign if !matches!(after.tok, Tok::Field(_)) => {
                    self.next();
                    pipe.is_assign = after_ns.tok == Tok::Assign;
                    pipe.decl.push(v.clone());
                    if !pipe.is_assign {
                        self.vars.push(v.clone());
                    } else if !self.vars.contains(v) {
                        return Err(self.err(start.line, format!("undefined variable \"{v}\"")));
                    }
                }
                Tok::Comma if allow_two_decls && !matches!(after.tok, Tok::Field(_)) => {
                    self.next();
                    let t2 = self.next_non_space();
                    let Tok::Variable(v2) = t2.tok else {
                        return Err(self.err(t2.line, "range can only initialize variables".to_string()));
                    };
                    let op = self.next_non_space();
                    if op.tok == Tok::Comma {
                        return Err(self.err(op.line, format!("too many declarations in {context}")));
                    }
                    if !matches!(op.tok, Tok::Declare | Tok::Assign) {
                        return Err(self.err(op.line, format!("expected := or = in {context}")));
                    }
                    pipe.is_assign = op.tok == Tok::Assign;
                    pipe.decl.push(v.clone());
                    pipe.decl.push(v2.clone());
                    if !pipe.is_assign {
                        self.vars.push(v.clone());
                        self.vars.push(v2);
                    }
                }
                Tok::Comma if !matches!(after.tok, Tok::Field(_)) => {
                    return Err(self.err(start.line, format!("too many declarations in {context}")));
                }
                _ => self.i = save,
            }
        }
        let closing_paren = context == "parenthesized pipeline";
        loop {
            let t = self.peek_non_space().clone();
            match t.tok {
                Tok::RightDelim if !closing_paren => {
                    self.next();
                    break;
                }
                Tok::RightParen if closing_paren => {
                    self.next();
                    break;
                }
                Tok::Bool(_)
                | Tok::Char(..)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(..)
                | Tok::Str(..)
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    let cmd = self.parse_command()?;
                    pipe.cmds.push(cmd);
                }
                other => {
                    return Err(self.err(t.line, format!("unexpected {} in {context}", describe(&other))));
                }
            }
        }
        if pipe.cmds.is_empty() {
            return Err(self.err(start.line, format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(a) = c.args.first()
                && matches!(
                    a.kind,
                    ArgKind::Bool(_)
                        | ArgKind::Dot
                        | ArgKind::Nil
                        | ArgKind::Int(..)
                        | ArgKind::Float(..)
                        | ArgKind::String(..)
                )
            {
                return Err(
                    self.err(start.line, format!("non executable command in pipeline stage {}", i + 1))
                );
            }
        }
        Ok(pipe)
    }

    fn parse_command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command { pos, args: Vec::new() };
        loop {
            self.peek_non_space();
            let operand = self.parse_operand()?;
            if let Some(o) = operand {
                cmd.args.push(o);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => {
                    self.i -= 1;
                }
                Tok::Pipe => {}
                other => return Err(self.err(t.line, format!("unexpected {} in operand", describe(&other)))),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.err(self.peek().line, "empty command"));
        }
        Ok(cmd)
    }

    fn parse_operand(&mut self) -> PResult<Option<Arg>> {
        let Some(term) = self.parse_term()? else { return Ok(None) };
        let mut fields = Vec::new();
        // Go positions a chained field/variable node at its second element.
        let pos = self.peek().pos;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        let kind = match term.kind {
            ArgKind::Field(mut ids) => {
                ids.extend(fields);
                ArgKind::Field(ids)
            }
            ArgKind::Variable(mut ids) => {
                ids.extend(fields);
                ArgKind::Variable(ids)
            }
            ArgKind::Bool(_)
            | ArgKind::String(..)
            | ArgKind::Int(..)
            | ArgKind::Float(..)
            | ArgKind::Nil
            | ArgKind::Dot => {
                return Err(self.err(self.peek().line, format!("unexpected . after term \"{term}\"")));
            }
            other => ArgKind::Chain(Box::new(Arg { pos: term.pos, kind: other }), fields),
        };
        Ok(Some(Arg { pos, kind }))
    }

    fn parse_term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Ident(name) => {
                let user = self.funcs.get(&name).cloned().map(FuncRef);
                if user.is_none() && !crate::builtins::NAMES.contains(&name.as_str()) {
                    return Err(self.err(t.line, format!("function \"{name}\" not defined")));
                }
                ArgKind::Ident(name, user)
            }
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Variable(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.err(t.line, format!("undefined variable \"{v}\"")));
                }
                ArgKind::Variable(vec![v])
            }
            Tok::Field(f) => ArgKind::Field(vec![f]),
            Tok::Bool(b) => ArgKind::Bool(b),
            Tok::Char(c, raw) => ArgKind::Int(c, Arc::from(raw)),
            Tok::Number(n) => parse_number(&n).ok_or_else(|| {
                let overflow = !n.contains(['.', 'e', 'E', 'p', 'P', 'x', 'X'])
                    && n.trim_start_matches(['+', '-']).len() > 1;
                let what = if overflow { "integer overflow" } else { "illegal number syntax" };
                self.err(t.line, format!("{what}: {n:?}"))
            })?,
            Tok::LeftParen => {
                self.nest(t.line)?;
                let p = self.parse_pipeline("parenthesized pipeline", false);
                self.nesting -= 1;
                ArgKind::Pipe(Box::new(p?))
            }
            Tok::Str(s, raw) | Tok::RawStr(s, raw) => ArgKind::String(Arc::from(s), Arc::from(raw)),
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        };
        Ok(Some(Arg { pos, kind }))
    }
}

/// Parses a Go number literal into an int or float constant.
fn parse_number(text: &str) -> Option<ArgKind> {
    let raw: Arc<str> = Arc::from(text);
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains('p') { None } else { i64::from_str_radix(h, 16).ok() }
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.chars().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if lower.chars().all(|c| c.is_ascii_digit()) {
        lower.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(ArgKind::Int(if neg { -i } else { i }, raw));
    }
    if lower.starts_with("0x") {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    if !lower.contains(['.', 'e']) {
        // an integer literal too large for int64
        return None;
    }
    Some(ArgKind::Float(if neg { -f } else { f }, raw))
}

/// Go's `item.String()`: keywords as `<kw>`, everything else quoted (long values cut).
fn describe(t: &Tok) -> String {
    let text = match t {
        Tok::Eof => return "EOF".into(),
        Tok::Keyword(k) => return format!("<{k}>"),
        Tok::Dot => return "<.>".into(),
        Tok::Nil => return "<nil>".into(),
        Tok::Text(s) => s.clone(),
        Tok::LeftDelim => "{{".into(),
        Tok::RightDelim => "}}".into(),
        Tok::Field(f) => format!(".{f}"),
        Tok::Variable(v) | Tok::Ident(v) | Tok::Number(v) => v.clone(),
        Tok::Str(_, r) | Tok::RawStr(_, r) | Tok::Char(_, r) => r.clone(),
        Tok::Bool(b) => b.to_string(),
        Tok::Pipe => "|".into(),
        Tok::LeftParen => "(".into(),
        Tok::RightParen => ")".into(),
        Tok::Declare => ":=".into(),
        Tok::Assign => "=".into(),
        Tok::Comma => ",".into(),
        Tok::Space => " ".into(),
    };
    if text.chars().count() > 10 {
        let cut: String = text.chars().take(10).collect();
        return format!("{}...", crate::gofmt::quote(&cut, false));
    }
    crate::gofmt::quote(&text, false)
}

/// A set's templates: a shared base plus the ones added after the set was cloned, so Helm's
/// `tpl` (clone the set, parse a little more) does not copy every template of the chart.
#[derive(Clone, Default)]
pub(crate) struct Trees {
    base: Arc<HashMap<String, Arc<Tree>>>,
    local: HashMap<String, Arc<Tree>>,
}

impl Trees {
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Tree>> {
        self.local.get(name).or_else(|| self.base.get(name))
    }

    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All names, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.base.keys().chain(self.local.keys()).cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Adds a tree with Go's rule: an empty body does not replace a non-empty template.
    pub(crate) fn add(&mut self, tree: Tree) {
        if tree.is_empty() && self.get(&tree.name).is_some_and(|existing| !existing.is_empty()) {
            return;
        }
        let name = tree.name.to_string();
        let tree = Arc::new(tree);
        match Arc::get_mut(&mut self.base) {
            Some(base) if self.local.is_empty() => {
                base.insert(name, tree);
            }
            _ => {
                self.local.insert(name, tree);
            }
        }
    }
}
