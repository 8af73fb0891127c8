//! Tree-walking execution with Go's `text/template` semantics.

use std::sync::Arc;

use crate::parse::{Arg, ArgKind, Command, Node, Pipe, Tree};
use crate::{Context, Error, MissingKey, Template, Value, builtins, gofmt};

/// Nested template calls run on a fresh thread with this much stack every
/// [`STACK_HOP`] levels, so deep (but limited) recursion cannot overflow the caller's stack.
const HOP_STACK_BYTES: usize = 64 * 1024 * 1024;
/// Output limit for one execution (Helm manifests are far smaller).
const MAX_OUTPUT: usize = 256 << 20;
/// How many nesting levels share one stack.
const STACK_HOP: usize = 48;

/// State shared by one top-level execution and everything it calls (`template`, `include`,
/// `tpl`): the call stack and the record of maps changed by mutating functions.
#[derive(Default)]
pub(crate) struct Shared {
    pub stack: Vec<Arc<str>>,
    /// Nodes walked and loop iterations run so far, bounded by `max_steps`.
    steps: u64,
    pub max_steps: u64,
    /// Go maps are references: `set $m "k" v` changes `$m` for everyone holding it. Values here
    /// are immutable, so a mutation records "map at address A is now B" and every read resolves
    /// through this table. The original is kept alive so its address cannot be reused.
    overlay: std::collections::HashMap<usize, (Value, Value)>,
}

fn map_addr(v: &Value) -> Option<usize> {
    match v {
        Value::Map(m) => Some(Arc::as_ptr(m) as *const () as usize),
        _ => None,
    }
}

impl Shared {
    /// Fresh state for one top-level execution with a work budget.
    pub(crate) fn with_budget(max_steps: u64) -> Shared {
        Shared { max_steps, ..Shared::default() }
    }

    /// The current version of `v` (itself unless a mutation replaced it).
    fn resolve(&self, v: Value) -> Value {
        if self.overlay.is_empty() {
            return v;
        }
        let mut cur = v;
        while let Some((_, next)) = map_addr(&cur).and_then(|a| self.overlay.get(&a)) {
            cur = next.clone();
        }
        cur
    }

    /// `resolve` applied throughout a value, for handing data to functions and printing.
    /// Containers with no changed descendant keep their identity.
    fn resolve_deep(&self, v: Value) -> Value {
        if self.overlay.is_empty() {
            return v;
        }
        self.deep(&v).unwrap_or(v)
    }

    /// The resolved value if it differs from `v`, `None` if `v` is current throughout.
    fn deep(&self, v: &Value) -> Option<Value> {
        let top = self.resolve(v.clone());
        let replaced = map_addr(&top) != map_addr(v);
        let rebuilt = match &top {
            Value::Map(m) => {
                let changed: Vec<(&String, Value)> =
                    m.iter().filter_map(|(k, x)| self.deep(x).map(|n| (k, n))).collect();
                (!changed.is_empty()).then(|| {
                    let mut copy = (**m).clone();
                    for (k, n) in changed {
                        copy.insert(k.clone(), n);
                    }
                    Value::map(copy)
                })
            }
            Value::List(l) => {
                let items: Vec<Option<Value>> = l.iter().map(|x| self.deep(x)).collect();
                items.iter().any(Option::is_some).then(|| {
                    Value::list(
                        items
                            .into_iter()
                            .zip(l.iter())
                            .map(|(n, o)| n.unwrap_or_else(|| o.clone()))
                            .collect(),
                    )
                })
            }
            _ => None,
        };
        match rebuilt {
            Some(r) => Some(r),
            None if replaced => Some(top),
            None => None,
        }
    }

    fn record(&mut self, original: &Value, updated: Value) {
        if let Some(a) = map_addr(original)
            && map_addr(&updated) != Some(a)
        {
            self.overlay.insert(a, (original.clone(), updated));
        }
    }
}

/// Sprig functions that modify their first (map) argument in Go. Values here are immutable, so
/// the updated map is written back to the variable path the argument came from
/// (`$_ := set $ctx "k" v` then `$ctx.k`).
const MUTATORS: &[&str] = &["set", "unset", "merge", "mergeOverwrite", "mustMerge", "mustMergeOverwrite"];

enum Flow {
    Normal,
    Break,
    Continue,
}

/// A value during evaluation: Go distinguishes "no value" (a missing key under
/// `missingkey=default`) from a nil interface inside field chains.
#[derive(Clone)]
enum Ev {
    Missing,
    Val(Value),
}

impl Ev {
    fn value(self) -> Value {
        match self {
            Ev::Missing => Value::Nil,
            Ev::Val(v) => v,
        }
    }
}

struct State<'a, 's> {
    set: &'a Template,
    tree: &'a Tree,
    out: &'s mut String,
    vars: Vec<(&'a str, Value)>,
    depth: usize,
    shared: &'s mut Shared,
}

/// Executes template `name` of `set` into `out`.
pub(crate) fn execute(
    set: &Template,
    name: &str,
    data: &Value,
    depth: usize,
    shared: &mut Shared,
    out: &mut String,
) -> Result<(), Error> {
    let Some(tree) = set.trees.get(name) else {
        return Err(Error::NoTemplate { name: name.to_string(), set: set.name.clone() });
    };
    run_tree(set, tree, data, depth, shared, out, false)
}

/// Runs one template body; every [`STACK_HOP`] levels of nesting the body runs on a fresh
/// thread with a large stack (`fresh_stack` marks that hop as done).
fn run_tree(
    set: &Template,
    tree: &Arc<Tree>,
    data: &Value,
    depth: usize,
    shared: &mut Shared,
    out: &mut String,
    fresh_stack: bool,
) -> Result<(), Error> {
    if !fresh_stack && depth > 0 && depth.is_multiple_of(STACK_HOP) {
        return std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(HOP_STACK_BYTES)
                .spawn_scoped(s, || run_tree(set, tree, data, depth, shared, out, true))
                .map_err(|e| Error::func(format!("cannot start template execution: {e}")))?
                .join()
                .unwrap_or_else(|_| Err(Error::func("template execution failed")))
        });
    }
    shared.stack.push(tree.name.clone());
    let mut st = State { set, tree, out, vars: vec![("$", data.clone())], depth, shared };
    let r = st.walk_list(data, &tree.root);
    st.shared.stack.pop();
    r.map(|_| ())
}

impl Context<'_> {
    /// Runs `name` from `set` one level deeper than the current execution.
    pub(crate) fn run_nested(&mut self, set: &Template, name: &str, data: &Value) -> Result<String, Error> {
        if self.depth + 1 > set.max_depth {
            return Err(Error::func(format!("exceeded maximum template depth ({})", set.max_depth)));
        }
        let mut out = String::new();
        execute(set, name, data, self.depth + 1, self.shared, &mut out)?;
        Ok(out)
    }
}

impl<'a> State<'a, '_> {
    fn err_at(&self, pos: usize, node: &dyn std::fmt::Display, msg: impl Into<String>) -> Error {
        Error::Exec {
            location: self.tree.location(pos),
            template: self.tree.name.to_string(),
            node: node.to_string(),
            message: msg.into(),
        }
    }

    fn walk_list(&mut self, dot: &Value, list: &'a [Node]) -> Result<Flow, Error> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    /// Counts one unit of work against the execution's step budget.
    fn step(&mut self) -> Result<(), Error> {
        self.shared.steps += 1;
        if self.shared.steps > self.shared.max_steps {
            return Err(Error::func(format!(
                "template {:?} did not finish within {} steps (a loop that never ends?)",
                &*self.tree.name, self.shared.max_steps
            )));
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> Result<Flow, Error> {
        self.step()?;
        match node {
            Node::Text(t) => {
                self.out.push_str(t);
                self.check_output()?;
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print(&v);
                    self.check_output()?;
                }
            }
            Node::If(b) | Node::With(b) => {
                let is_with = matches!(node, Node::With(_));
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?.value();
                let flow = if v.truthy() {
                    if is_with { self.walk_list(&v, &b.list)? } else { self.walk_list(dot, &b.list)? }
                } else if let Some(e) = &b.else_list {
                    self.walk_list(dot, e)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range(b) => {
                let mark = self.vars.len();
                let r = self.walk_range(dot, b);
                self.vars.truncate(mark);
                r?;
            }
            Node::Template { pos, name, pipe } => {
                let data = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?.value(),
                    None => Value::Nil,
                };
                let Some(tree) = self.set.trees.get(name) else {
                    return Err(self.err_at(
                        *pos,
                        &format!("template \"{name}\""),
                        format!("template \"{name}\" not defined"),
                    ));
                };
                if self.depth + 1 > self.set.max_depth {
                    return Err(self.err_at(
                        *pos,
                        &format!("template \"{name}\""),
                        format!("exceeded maximum template depth ({})", self.set.max_depth),
                    ));
                }
                let tree = tree.clone();
                run_tree(self.set, &tree, &data, self.depth + 1, self.shared, self.out, false)?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &Value, b: &'a crate::parse::Branch) -> Result<(), Error> {
        let val = self.eval_cmds(dot, &b.pipe)?.value();
        let decls = &b.pipe.decl;
        let mark = self.vars.len();
        for d in decls {
            if b.pipe.is_assign {
                continue;
            }
            self.vars.push((d.as_str(), Value::Nil));
        }
        // items are produced lazily: `range 10000000000` must not allocate them all up front
        let items: Box<dyn Iterator<Item = (Value, Value)> + '_> = match &val {
            Value::List(l) => Box::new(l.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v.clone()))),
            Value::Map(m) => Box::new(m.iter().map(|(k, v)| (Value::string(k.as_str()), v.clone()))),
            Value::Bytes(bs) => Box::new(
                bs.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), Value::Int(i64::from(*v)))),
            ),
            Value::Int(n) => {
                if decls.len() > 1 {
                    return Err(self.err_at(
                        b.pipe.pos,
                        &b.pipe,
                        "can't use int to iterate over more than one variable",
                    ));
                }
                Box::new((0..*n).map(|i| (Value::Int(i), Value::Int(i))))
            }
            Value::Nil => Box::new(std::iter::empty()),
            Value::Object(o) if o.entries().is_some() => Box::new(
                o.entries().unwrap_or_default().into_iter().map(|(k, v)| (Value::string(k.as_str()), v)),
            ),
            other => {
                return Err(self.err_at(
                    b.pipe.pos,
                    &b.pipe,
                    format!("range can't iterate over {}", gofmt::display(other)),
                ));
            }
        };
        let mut items = items.peekable();
        if items.peek().is_none() {
            self.vars.truncate(mark);
            if let Some(e) = &b.else_list {
                self.walk_list(dot, e)?;
            }
            return Ok(());
        }
        for (k, v) in items {
            self.step()?;
            match decls.len() {
                1 => self.set_var(&decls[0], v.clone()),
                2 => {
                    self.set_var(&decls[0], k);
                    self.set_var(&decls[1], v.clone());
                }
                _ => {}
            }
            let inner = self.vars.len();
            let flow = self.walk_list(&v, &b.list)?;
            self.vars.truncate(inner);
            if let Flow::Break = flow {
                break;
            }
        }
        Ok(())
    }

    /// Go's reflection error for an argument of the wrong type, at that argument.
    #[allow(clippy::too_many_arguments)]
    fn arg_type_error(
        &self,
        pos: usize,
        at: &dyn std::fmt::Display,
        args: &[Arg],
        argv: &[Value],
        index: usize,
        expected: &str,
        missing: bool,
    ) -> Error {
        let got = argv.get(index).cloned().unwrap_or_default();
        let node = args.get(index);
        let kind = match expected {
            "int" => "integer",
            other => other,
        };
        match node {
            Some(
                n @ Arg {
                    kind: ArgKind::Int(..) | ArgKind::Float(..) | ArgKind::String(..) | ArgKind::Bool(_),
                    ..
                },
            ) => self.err_at(n.pos, n, format!("expected {kind}; found {n}")),
            Some(n @ Arg { kind: ArgKind::Nil, .. }) => {
                self.err_at(n.pos, n, format!("cannot assign nil to {expected}"))
            }
            Some(n) if missing => self.err_at(n.pos, n, format!("invalid value; expected {expected}")),
            // a nil stored in (or zero-filled from) a map is a nil `interface {}` to Go
            Some(n) if got.is_nil() => self.err_at(
                n.pos,
                n,
                format!("wrong type for value; expected {expected}; got interface {{}}"),
            ),
            Some(n) => self.err_at(
                n.pos,
                n,
                format!("wrong type for value; expected {expected}; got {}", got.type_name()),
            ),
            None if missing => self.err_at(pos, at, format!("invalid value; expected {expected}")),
            None if got.is_nil() => {
                self.err_at(pos, at, format!("wrong type for value; expected {expected}; got interface {{}}"))
            }
            None => self.err_at(
                pos,
                at,
                format!("wrong type for value; expected {expected}; got {}", got.type_name()),
            ),
        }
    }

    /// Assigns to the innermost variable called `name` (declared earlier by the parser's rules).
    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    /// Stops a runaway template (e.g. printing inside `range 10000000000`) before it exhausts
    /// memory.
    fn check_output(&self) -> Result<(), Error> {
        if self.out.len() > MAX_OUTPUT {
            return Err(Error::func(format!(
                "template {:?} produced more than {MAX_OUTPUT} bytes of output",
                &*self.tree.name
            )));
        }
        Ok(())
    }

    fn print(&mut self, v: &Ev) {
        match v {
            Ev::Missing | Ev::Val(Value::Nil) => self.out.push_str("<no value>"),
            Ev::Val(Value::String(s)) => self.out.push_str(s),
            Ev::Val(Value::Int(i)) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{i}");
            }
            Ev::Val(v) => {
                let v = self.shared.resolve_deep(v.clone());
                self.out.push_str(&gofmt::display(&v));
            }
        }
    }

    /// Runs the pipeline's commands without binding its declared variables.
    fn eval_cmds(&mut self, dot: &Value, pipe: &'a Pipe) -> Result<Ev, Error> {
        let mut value: Option<Ev> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        Ok(value.unwrap_or(Ev::Missing))
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> Result<Ev, Error> {
        let v = self.eval_cmds(dot, pipe)?;
        for d in &pipe.decl {
            let val = v.clone().value();
            if pipe.is_assign {
                self.set_var(d, val);
            } else {
                self.vars.push((d.as_str(), val));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Ev>) -> Result<(), Error> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.err_at(
                cmd.args[0].pos,
                &cmd.args[0],
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, final_: Option<Ev>) -> Result<Ev, Error> {
        let first = &cmd.args[0];
        match &first.kind {
            ArgKind::Field(ids) => self.eval_field_chain(
                dot,
                first,
                Ev::Val(self.shared.resolve(dot.clone())),
                ids,
                &cmd.args[1..],
                final_,
            ),
            ArgKind::Chain(inner, ids) => {
                let recv = self.eval_arg(dot, inner)?;
                self.eval_field_chain(dot, first, recv, ids, &cmd.args[1..], final_)
            }
            ArgKind::Variable(ids) => {
                let v = self.lookup_var(first, &ids[0])?;
                if ids.len() == 1 {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(Ev::Val(v));
                }
                self.eval_field_chain(dot, first, Ev::Val(v), &ids[1..], &cmd.args[1..], final_)
            }
            ArgKind::Ident(name, user) => {
                self.eval_function(dot, cmd.pos, cmd, name, user.as_ref(), &cmd.args[1..], final_)
            }
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            ArgKind::Nil => Err(self.err_at(first.pos, first, "nil is not a command")),
            _ => {
                self.not_a_function(cmd, &final_)?;
                self.eval_arg(dot, first)
            }
        }
    }

    fn lookup_var(&self, at: &Arg, name: &str) -> Result<Value, Error> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| self.shared.resolve(v.clone()))
            .ok_or_else(|| self.err_at(at.pos, at, format!("undefined variable: {name}")))
    }

    fn eval_arg(&mut self, dot: &Value, arg: &'a Arg) -> Result<Ev, Error> {
        Ok(match &arg.kind {
            ArgKind::Dot => Ev::Val(self.shared.resolve(dot.clone())),
            ArgKind::Nil => Ev::Val(Value::Nil),
            ArgKind::Bool(b) => Ev::Val(Value::Bool(*b)),
            ArgKind::Int(i, _) => Ev::Val(Value::Int(*i)),
            ArgKind::Float(f, _) => Ev::Val(Value::Float(*f)),
            ArgKind::String(s, _) => Ev::Val(Value::String(s.clone())),
            ArgKind::Field(ids) => {
                let recv = Ev::Val(self.shared.resolve(dot.clone()));
                self.eval_field_chain(dot, arg, recv, ids, &[], None)?
            }
            ArgKind::Variable(ids) => {
                let v = self.lookup_var(arg, &ids[0])?;
                if ids.len() == 1 {
                    Ev::Val(v)
                } else {
                    self.eval_field_chain(dot, arg, Ev::Val(v), &ids[1..], &[], None)?
                }
            }
            ArgKind::Pipe(p) => self.eval_pipeline(dot, p)?,
            ArgKind::Chain(inner, ids) => {
                let recv = self.eval_arg(dot, inner)?;
                self.eval_field_chain(dot, arg, recv, ids, &[], None)?
            }
            ArgKind::Ident(name, user) => {
                self.eval_function(dot, arg.pos, arg, name, user.as_ref(), &[], None)?
            }
        })
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        node: &Arg,
        mut recv: Ev,
        ids: &[String],
        args: &'a [Arg],
        final_: Option<Ev>,
    ) -> Result<Ev, Error> {
        let n = ids.len();
        for (i, id) in ids.iter().enumerate() {
            let last = i + 1 == n;
            recv = if last {
                self.eval_field(dot, node, recv, id, args, final_.clone())?
            } else {
                self.eval_field(dot, node, recv, id, &[], None)?
            };
        }
        Ok(recv)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        node: &Arg,
        recv: Ev,
        name: &str,
        args: &'a [Arg],
        final_: Option<Ev>,
    ) -> Result<Ev, Error> {
        let has_args = !args.is_empty() || final_.is_some();
        let recv = match recv {
            Ev::Missing => {
                if self.set.missing_key == MissingKey::Error {
                    return Err(self.err_at(
                        node.pos,
                        node,
                        format!("nil data; no entry for key \"{name}\""),
                    ));
                }
                return Ok(Ev::Missing);
            }
            Ev::Val(v) => v,
        };
        match &recv {
            Value::Map(m) => {
                if has_args {
                    return Err(self.err_at(
                        node.pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.get(name) {
                    Some(v) => Ok(Ev::Val(self.shared.resolve(v.clone()))),
                    None => match self.set.missing_key {
                        MissingKey::Default => Ok(Ev::Missing),
                        MissingKey::Zero => Ok(Ev::Val(Value::Nil)),
                        MissingKey::Error => {
                            Err(self.err_at(node.pos, node, format!("map has no entry for key \"{name}\"")))
                        }
                    },
                }
            }
            Value::Object(o) => {
                if o.has_method(name) {
                    let mut argv = Vec::with_capacity(args.len() + 1);
                    for a in args {
                        argv.push(self.eval_arg(dot, a)?.value());
                    }
                    if let Some(f) = final_ {
                        argv.push(f.value());
                    }
                    return match o.call(name, &argv) {
                        Some(Ok(v)) => Ok(Ev::Val(v)),
                        Some(Err(e)) => {
                            Err(self.err_at(node.pos, node, format!("error calling {name}: {e}")))
                        }
                        None => Err(self.err_at(
                            node.pos,
                            node,
                            format!("can't evaluate field {name} in type {}", o.type_name()),
                        )),
                    };
                }
                match o.field(name) {
                    Some(v) if !has_args => Ok(Ev::Val(v)),
                    Some(_) => Err(self.err_at(
                        node.pos,
                        node,
                        format!("{name} has arguments but cannot be invoked as function"),
                    )),
                    None => Err(self.err_at(
                        node.pos,
                        node,
                        format!("can't evaluate field {name} in type {}", o.type_name()),
                    )),
                }
            }
            Value::Nil => {
                Err(self.err_at(node.pos, node, format!("nil pointer evaluating interface {{}}.{name}")))
            }
            // data reached through maps and lists is `interface {}` to Go's reflection
            _ => Err(self.err_at(
                node.pos,
                node,
                format!("can't evaluate field {name} in type interface {{}}"),
            )),
        }
    }

    /// Calls function `name` on `args` (plus the piped `final_` value); errors are located at
    /// `pos`/`at`, the command (or lone identifier) being evaluated.
    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        dot: &Value,
        pos: usize,
        at: &dyn std::fmt::Display,
        name: &str,
        user: Option<&crate::parse::FuncRef>,
        args: &'a [Arg],
        final_: Option<Ev>,
    ) -> Result<Ev, Error> {
        let user = user.map(|f| f.0.clone());
        if user.is_none() && (name == "and" || name == "or") {
            if args.is_empty() && final_.is_none() {
                return Err(self.err_at(
                    pos,
                    at,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let want = name == "or";
            let mut last = Value::Nil;
            for a in args {
                last = self.eval_arg(dot, a)?.value();
                if last.truthy() == want {
                    return Ok(Ev::Val(last));
                }
            }
            if let Some(f) = final_ {
                last = f.value();
            }
            return Ok(Ev::Val(last));
        }
        let mut argv = Vec::with_capacity(args.len() + 1);
        // which arguments were "no value" (missing keys), for Go's reflection error wording
        let mut missing: u64 = 0;
        for a in args.iter().map(Some).chain(std::iter::once(None)) {
            let ev = match a {
                Some(a) => self.eval_arg(dot, a)?,
                // Go unwraps a pipeline's interface value before passing it on, so a
                // piped nil arrives as "no value" (`invalid value; expected string`).
                None => match final_.clone() {
                    Some(Ev::Val(Value::Nil)) => Ev::Missing,
                    Some(f) => f,
                    None => break,
                },
            };
            if matches!(ev, Ev::Missing) && argv.len() < 64 {
                missing |= 1 << argv.len();
            }
            argv.push(ev.value());
        }
        let mutated = if MUTATORS.contains(&name) { argv.first().cloned() } else { None };
        if !self.shared.overlay.is_empty() {
            argv = argv.into_iter().map(|v| self.shared.resolve_deep(v)).collect();
        }
        let result = match &user {
            Some(f) => {
                let mut ctx = Context { set: self.set, depth: self.depth, shared: self.shared };
                f(&mut ctx, &argv)
            }
            None => match builtins::call(name, &argv) {
                Some(r) => r,
                None => {
                    return Err(self.err_at(pos, at, format!("\"{name}\" is not a defined function")));
                }
            },
        };
        if let (Ok(updated), Some(original)) = (&result, &mutated) {
            self.shared.record(original, updated.clone());
        }
        match result {
            Ok(v) => Ok(Ev::Val(v)),
            Err(Error::Arg(m)) => Err(self.err_at(pos, at, m)),
            Err(Error::ArgType { index, expected }) => {
                let was_missing = index < 64 && missing & (1 << index) != 0;
                Err(self.arg_type_error(pos, at, args, &argv, index, &expected, was_missing))
            }
            Err(e) => Err(self.err_at(pos, at, format!("error calling {name}: {e}"))),
        }
    }
}
