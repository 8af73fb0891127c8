//! Go's `text/template` language, Go `fmt` verbs and the Sprig function library, in Rust.
//!
//! Helm charts, ApplicationSet `goTemplate` and notification templates are written for Go's
//! engine; this crate reproduces its behaviour (output bytes and error messages) so they render
//! in-process without forking `helm`.
//!
//! * [`Value`] holds YAML/JSON data with Go's distinctions (int vs float, nil, sorted maps).
//! * [`Template`] is a template *set*: many named files parsed into one namespace of
//!   `define`d templates, executed by name.
//! * [`FuncMap`] extends the builtins; a [`Func`] receives a [`Context`] giving access to the
//!   executing set and the nesting depth, so Helm's `include` and `tpl` can call back in.
//! * [`sprig::functions`] is Sprig as Helm ships it; [`yaml`] is a sigs.k8s.io/yaml compatible
//!   emitter/parser for `toYaml`/`fromYaml`.
//!
//! The crate is pure: no clock, no entropy, no I/O. `now` and random seeds are parameters.
//!
//! Rendering the way Helm does:
//!
//! * decode values files with [`Value::from_json_floats`] (sigs.k8s.io/yaml turns every number
//!   into a float64, which is why `{{ printf "%d" .Values.port }}` prints `%!d(float64=80)`);
//!   `--set` integers are `int64` and stay [`Value::Int`];
//! * build one [`sprig::functions`] map (it already holds Helm's `toYaml`, `fromYaml`,
//!   `fromYamlArray`, `fromJson`, `fromJsonArray`) and add `include`, `tpl`, `required`, ...;
//! * [`MissingKey::Zero`], then remove `<no value>` from each rendered file as Helm does;
//! * map mutations (`set`, `unset`, `merge`) are visible for the rest of one
//!   [`Template::execute`] call, including `include`d templates, as Go's shared maps are.

mod builtins;
mod decimal;
mod error;
mod exec;
mod gofmt;
mod json;
mod parse;
pub mod semver;
mod sprig_paths;
pub mod sprig_time;
mod value;

pub mod sprig;
pub mod yaml;

use std::collections::HashMap;
use std::sync::Arc;

pub use error::Error;
pub use value::{Map, Object, Value};

/// A template function. Receives the execution context and the evaluated arguments.
///
/// Return [`Error::Func`] for failures; the engine reports them as Go does
/// (`error calling NAME: MESSAGE`) with the template location.
pub type Func = Arc<dyn Fn(&mut Context<'_>, &[Value]) -> Result<Value, Error> + Send + Sync>;

/// Named functions available to a template set (in addition to Go's builtins, which caller
/// functions of the same name override, as in Go).
pub type FuncMap = HashMap<String, Func>;

/// Wraps a closure as a [`Func`].
pub fn func(f: impl Fn(&mut Context<'_>, &[Value]) -> Result<Value, Error> + Send + Sync + 'static) -> Func {
    Arc::new(f)
}

/// What happens when a template indexes a map with a key it does not have (Go's
/// `Option("missingkey=...")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: the result is "no value", printed as `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type. For
    /// `map[string]interface{}` that is a nil interface, which Go still prints as `<no value>`
    /// (Helm sets this and then strips `<no value>` from the rendered output itself).
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key "K"`
    /// (ApplicationSet `goTemplateOptions: ["missingkey=error"]`, Helm `--strict`).
    Error,
}

/// Default limit on nested template calls (`template`, `include`, `tpl`) before execution
/// fails instead of overflowing the stack. Slightly above Helm's per-name `include` limit
/// (1000), so a Helm renderer's own recursion message is the one users see.
pub const DEFAULT_MAX_DEPTH: usize = 1024;

/// Default work budget of one [`Template::execute`] (nodes walked plus loop iterations). The
/// crate has no clock for a timeout, so an endless template is stopped by counting; real
/// charts use well under 1% of it.
pub const DEFAULT_MAX_STEPS: u64 = 100_000_000;

/// A set of named templates sharing `define`d templates and a function map.
///
/// Cloning is cheap (parsed trees are shared); Helm's `tpl` clones the set and parses new text
/// into the copy.
#[derive(Clone)]
pub struct Template {
    name: String,
    trees: parse::Trees,
    funcs: Arc<FuncMap>,
    missing_key: MissingKey,
    max_depth: usize,
    max_steps: u64,
}

impl Template {
    /// An empty set called `name` (Go's `template.New(name)`) with only the builtins.
    pub fn new(name: &str) -> Template {
        Template::with_funcs(name, FuncMap::new())
    }

    /// An empty set with caller functions (parse-time checks see these names, as in Go).
    pub fn with_funcs(name: &str, funcs: FuncMap) -> Template {
        Template {
            name: name.to_string(),
            trees: parse::Trees::default(),
            funcs: Arc::new(funcs),
            missing_key: MissingKey::Default,
            max_depth: DEFAULT_MAX_DEPTH,
            max_steps: DEFAULT_MAX_STEPS,
        }
    }

    /// Sets the missing-key behaviour for executions of this set.
    pub fn set_missing_key(&mut self, mk: MissingKey) -> &mut Self {
        self.missing_key = mk;
        self
    }

    /// Sets the maximum nesting of template calls.
    pub fn set_max_depth(&mut self, depth: usize) -> &mut Self {
        self.max_depth = depth;
        self
    }

    /// Sets the work budget of one execution (see [`DEFAULT_MAX_STEPS`]).
    pub fn set_max_steps(&mut self, steps: u64) -> &mut Self {
        self.max_steps = steps;
        self
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` as the template `name` and adds every `define`/`block` in it to the set.
    ///
    /// As in Go, a file that contains only definitions (an empty body) does not replace an
    /// existing template of the same name, and later definitions replace earlier ones.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let parsed = parse::parse(name, text, &self.funcs)?;
        self.trees.add(parsed.main);
        for d in parsed.defines {
            self.trees.add(d);
        }
        Ok(())
    }

    /// Whether a template called `name` is in the set.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of all templates in the set, sorted.
    pub fn names(&self) -> Vec<String> {
        self.trees.names()
    }

    /// Executes the template `name` with `data` (Go's `ExecuteTemplate`).
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::with_capacity(self.trees.get(name).map_or(0, |t| t.source.len() * 2));
        let mut shared = exec::Shared::with_budget(self.max_steps);
        exec::execute(self, name, data, 0, &mut shared, &mut out)?;
        Ok(out)
    }
}

/// What a [`Func`] can see of the running execution.
pub struct Context<'a> {
    set: &'a Template,
    depth: usize,
    shared: &'a mut exec::Shared,
}

impl<'a> Context<'a> {
    /// The template set being executed (Helm's `include` looks templates up here; `tpl`
    /// clones it and parses new text into the clone).
    pub fn set(&self) -> &'a Template {
        self.set
    }

    /// Names of the templates currently executing, outermost first (for recursion checks
    /// such as Helm's per-name `include` limit).
    pub fn stack(&self) -> Vec<&str> {
        self.shared.stack.iter().map(|n| &**n).collect()
    }

    /// How many template calls deep the current execution is (0 for the top-level template).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Executes `name` from `set` with `data` nested inside the current execution, so depth
    /// limits and the call stack carry over. Fails with Go's message when `name` is missing.
    pub fn execute(&mut self, set: &Template, name: &str, data: &Value) -> Result<String, Error> {
        self.run_nested(set, name, data)
    }
}
