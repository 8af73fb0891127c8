//! In-process Jsonnet for `*.jsonnet` files of directory sources.
//!
//! Imports are resolved relative to the importing file, then in the source's `libs`
//! directories, and every resolved file must be inside the repository (no absolute paths, no
//! `..` above the root, no symlinks out). There is no network importer: a URL is just a path
//! that does not exist.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, LoadError, NativeError, Program,
    Thunk, Value,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId};

use crate::buildenv::AppContext;
use crate::confine::RepoRoot;
use crate::spec::{ApplicationSourceJsonnet, JsonnetVar};
use crate::{Limits, RenderError};

/// Evaluates one Jsonnet file to JSON, with the source's ext vars, TLAs and libs.
pub(crate) fn evaluate(
    root: &RepoRoot,
    file: &Path,
    options: &ApplicationSourceJsonnet,
    app: &AppContext,
    limits: &Limits,
) -> Result<serde_json::Value, RenderError> {
    let shown = root.relative(file);
    let fail = |message: String| RenderError::Jsonnet { file: shown.clone(), message };
    let libs = options.libs.iter().flatten().map(|lib| root.resolve(lib)).collect::<Result<Vec<_>, _>>()?;

    let arena = Arena::new();
    let mut program = Program::new(&arena);
    let mut importer =
        Importer { root, libs, limits, contexts: HashMap::new(), cache: HashMap::new(), import_error: None };

    for (name, var) in dedupe(options.ext_vars.as_deref().unwrap_or_default()) {
        let thunk = var_thunk(&mut program, &mut importer, var, app, "extVar").map_err(&fail)?;
        let name = program.intern_str(name);
        program.add_ext_var(name, &thunk);
    }
    let mut tlas = Vec::new();
    for (name, var) in dedupe(options.tlas.as_deref().unwrap_or_default()) {
        let thunk = var_thunk(&mut program, &mut importer, var, app, "tla").map_err(&fail)?;
        tlas.push((program.intern_str(name), thunk));
    }

    let source = read_limited(file, &shown, limits)?;
    let main = importer.load(&mut program, file, &source).map_err(&fail)?;
    let mut value =
        program.eval_value(&main, &mut importer).map_err(|e| fail(importer.describe(&program, &e)))?;
    if value.is_function() {
        value = program
            .eval_call(&main, &[], &tlas, &mut importer)
            .map_err(|e| fail(importer.describe(&program, &e)))?;
    }
    let json = program.manifest_json(&value, false).map_err(|e| fail(importer.describe(&program, &e)))?;
    serde_json::from_str(&json).map_err(|e| fail(format!("output is not JSON: {e}")))
}

/// Later definitions of the same name win, as with repeated `--ext-str` flags.
fn dedupe(vars: &[JsonnetVar]) -> BTreeMap<&str, &JsonnetVar> {
    vars.iter().map(|v| (v.name.as_deref().unwrap_or_default(), v)).collect()
}

fn var_thunk<'p>(
    program: &mut Program<'p>,
    importer: &mut Importer<'_, 'p>,
    var: &JsonnetVar,
    app: &AppContext,
    kind: &str,
) -> Result<Thunk<'p>, String> {
    let value = app.envsubst(var.value.as_deref().unwrap_or_default());
    if var.code == Some(true) {
        let label = format!("<{kind} {}>", var.name.as_deref().unwrap_or_default());
        let (ctx, _) = program.span_manager_mut().insert_source_context(value.len());
        importer
            .contexts
            .insert(ctx, (PathBuf::from(&label), importer.root.path().to_path_buf(), value.clone()));
        program
            .load_source(ctx, value.as_bytes(), true, &label)
            .map_err(|e| format!("{label}: {}", load_error(&e)))
    } else {
        Ok(program.value_to_thunk(&Value::string(&value)))
    }
}

fn read_limited(path: &Path, shown: &str, limits: &Limits) -> Result<String, RenderError> {
    let meta = std::fs::metadata(path).map_err(|e| RenderError::io(path, e))?;
    if meta.len() > limits.max_file_bytes {
        return Err(RenderError::Limit {
            what: format!("{shown} ({} bytes)", meta.len()),
            limit: limits.max_file_bytes,
        });
    }
    std::fs::read_to_string(path).map_err(|e| RenderError::io(path, e))
}

fn load_error(e: &LoadError) -> String {
    match e {
        LoadError::Lex(e) => format!("syntax error: {e:?}"),
        LoadError::Parse(e) => format!("syntax error: {e:?}"),
        LoadError::Analyze(e) => format!("{e:?}"),
    }
}

/// The import callback: confines every import to the repository.
struct Importer<'r, 'p> {
    root: &'r RepoRoot,
    libs: Vec<PathBuf>,
    limits: &'r Limits,
    /// Source context → (file, its directory, its text), for import bases and error lines.
    contexts: HashMap<SpanContextId, (PathBuf, PathBuf, String)>,
    cache: HashMap<PathBuf, Thunk<'p>>,
    import_error: Option<String>,
}

impl<'p> Importer<'_, 'p> {
    fn load(&mut self, program: &mut Program<'p>, file: &Path, text: &str) -> Result<Thunk<'p>, String> {
        let shown = self.root.relative(file);
        let (ctx, _) = program.span_manager_mut().insert_source_context(text.len());
        let dir = file.parent().unwrap_or(self.root.path()).to_path_buf();
        self.contexts.insert(ctx, (PathBuf::from(&shown), dir, text.to_string()));
        program
            .load_source(ctx, text.as_bytes(), true, &shown)
            .map_err(|e| format!("{shown}: {}", load_error(&e)))
    }

    fn locate(&self, program: &Program<'p>, from: SpanId, path: &str) -> Result<PathBuf, RenderError> {
        let (ctx, _, _) = program.span_manager().get_span(from);
        let base =
            self.contexts.get(&ctx).map(|c| c.1.clone()).unwrap_or_else(|| self.root.path().to_path_buf());
        let mut last = RenderError::NotFound { path: path.to_string() };
        for dir in std::iter::once(&base).chain(self.libs.iter()) {
            match self.root.resolve_from(dir, path) {
                Ok(found) if found.is_file() => return Ok(found),
                Ok(_) => {}
                Err(e @ RenderError::NotFound { .. }) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn read(
        &mut self,
        program: &Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<(PathBuf, Vec<u8>), ImportError> {
        let result = self.locate(program, from, path).and_then(|found| {
            let shown = self.root.relative(&found);
            let meta = std::fs::metadata(&found).map_err(|e| RenderError::io(&found, e))?;
            if meta.len() > self.limits.max_file_bytes {
                return Err(RenderError::Limit { what: shown, limit: self.limits.max_file_bytes });
            }
            let bytes = std::fs::read(&found).map_err(|e| RenderError::io(&found, e))?;
            Ok((found, bytes))
        });
        result.map_err(|e| {
            self.import_error = Some(e.to_string());
            ImportError
        })
    }

    fn describe(&self, program: &Program<'p>, e: &EvalError) -> String {
        let what = match &e.kind {
            EvalErrorKind::ExplicitError { message, .. } => message.clone(),
            EvalErrorKind::ImportFailed { path, .. } => {
                format!("import {path:?}: {}", self.import_error.as_deref().unwrap_or("failed"))
            }
            EvalErrorKind::UnknownExtVar { name } => {
                format!("unknown external variable {name:?}; add it to directory.jsonnet.extVars")
            }
            EvalErrorKind::CallParamNotBound { span: None, param_name } => {
                format!("top-level argument {param_name:?} has no value; add it to directory.jsonnet.tlas")
            }
            other => format!("{other:?}"),
        };
        let own_span = match &e.kind {
            EvalErrorKind::ExplicitError { span, .. } | EvalErrorKind::ImportFailed { span, .. } => {
                Some(*span)
            }
            _ => None,
        };
        let at = own_span.or_else(|| {
            e.stack_trace.iter().find_map(|item| match item {
                EvalStackTraceItem::Expr { span } | EvalStackTraceItem::Import { span } => Some(*span),
                EvalStackTraceItem::Call { span, .. } => *span,
                _ => None,
            })
        });
        match at.and_then(|span| self.location(program, span)) {
            Some(loc) => format!("{loc}: {what}"),
            None => what,
        }
    }

    fn location(&self, program: &Program<'p>, span: SpanId) -> Option<String> {
        let (ctx, start, _) = program.span_manager().get_span(span);
        let (file, _, text) = self.contexts.get(&ctx)?;
        let line = text.get(..start).map(|t| t.matches('\n').count() + 1)?;
        Some(format!("{}:{line}", file.display()))
    }
}

impl<'p> Callbacks<'p> for Importer<'_, 'p> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let (found, bytes) = self.read(program, from, path)?;
        if let Some(thunk) = self.cache.get(&found) {
            return Ok(thunk.clone());
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            self.import_error = Some(format!("{path}: not UTF-8"));
            ImportError
        })?;
        let thunk = self.load(program, &found, &text).map_err(|e| {
            self.import_error = Some(e);
            ImportError
        })?;
        self.cache.insert(found, thunk.clone());
        Ok(thunk)
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let (_, bytes) = self.read(program, from, path)?;
        String::from_utf8(bytes).map_err(|_| {
            self.import_error = Some(format!("{path}: not UTF-8"));
            ImportError
        })
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        self.read(program, from, path).map(|(_, bytes)| bytes)
    }

    fn trace(&mut self, _program: &mut Program<'p>, _message: &str, _stack: &[EvalStackTraceItem]) {}

    fn native_call(
        &mut self,
        _program: &mut Program<'p>,
        _name: InternedStr<'p>,
        _args: &[Value<'p>],
    ) -> Result<Value<'p>, NativeError> {
        Err(NativeError)
    }
}
