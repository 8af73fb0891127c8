//! The Lua sandbox health scripts and resource actions run in.
//!
//! Upstream runs gopher-lua (Lua 5.1 semantics plus `goto`); we run LuaJIT in interpreter mode,
//! which accepts the same language (see `crate-notes.md` 4b). Compatibility points:
//!
//! * `obj` is a global holding the object (JSON `null` becomes `nil`), `actionParams` holds
//!   action parameters, and the script's returned table is the result.
//! * Libraries: base, `table` and a safe `os` (`time`, `date`, `difftime`) for every script;
//!   `string` and `math` too when `useOpenLibs` is set (and for actions). There is no `io`,
//!   `debug`, `ffi`, `jit`, `coroutine`, `load*`/`dofile`, `getfenv`/`setfenv`,
//!   `collectgarbage` or `package`; `require` only returns the libraries above.
//! * Each run gets a fresh global table (reads fall through to the read-only libraries), so a
//!   script's globals never leak into the next run, as with upstream's fresh state per run.
//! * Scripts are compiled once per text and cached.
//! * Limits: an instruction budget (deterministic), an optional deadline the caller checks
//!   with its own clock, and a memory cap. JIT compilation is off because compiled traces do not
//!   run instruction hooks.

mod os;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
};

use mlua::{HookTriggers, Lua, LuaOptions, LuaSerdeExt, StdLib, Table, VmState, serde::DeserializeOptions};
use serde_json::Value;

/// Message upstream gives when a script returns a status that is not one of the six codes.
pub const INVALID_HEALTH_STATUS: &str = "Lua returned an invalid health status";

/// How often (in VM instructions) the hook checks the budget and the deadline.
const HOOK_EVERY: u32 = 1_000;

/// Most compiled scripts kept per sandbox before the cache is emptied.
const MAX_CACHED_SCRIPTS: usize = 4_096;

/// `pcall`/`xpcall` that cannot swallow a stop: once the budget or deadline has stopped a
/// run, the error keeps propagating instead of letting `while true do pcall(...) end` spin.
const PROTECTED_CALLS: &str = r#"
local stopped = ...
local pcall, xpcall, error = pcall, xpcall, error
local function check(ok, ...)
  if not ok and stopped() then error((...), 0) end
  return ok, ...
end
return function(f, ...) return check(pcall(f, ...)) end,
       function(f, handler) return check(xpcall(f, handler)) end
"#;

/// Makes string methods read through the read-only `string` view and hides the metatable.
const SEAL_STRING_METATABLE: &str = r#"
local view = ...
local mt = getmetatable("")
if mt then
  mt.__index = view
  mt.__metatable = false
end
"#;

/// `pairs`, `next` and `rawget` that first finish copying a lazily copied `obj`.
const LAZY_ITERATION: &str = r#"
local pairs, next, rawget, getmetatable, type = pairs, next, rawget, getmetatable, type
local function force(t)
  local m = type(t) == "table" and getmetatable(t)
  if m and m.__lazy then
    local copy_all = m.__lazy
    m.__lazy = nil
    copy_all(t)
  end
end
return function(t) force(t) return pairs(t) end,
       function(t, k) force(t) return next(t, k) end,
       function(t, k) force(t) return rawget(t, k) end
"#;

/// A caller-supplied "is it too late?" check; this crate has no clock of its own.
pub type Deadline = Arc<dyn Fn() -> bool + Send + Sync>;

/// Resource limits for one script run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// VM instructions a run may execute. Deterministic, so it is the primary limit.
    pub instructions: u64,
    /// Bytes a run may allocate beyond what the sandbox already holds.
    pub memory_bytes: usize,
}

impl Default for Limits {
    /// 20 million instructions (tens of milliseconds) and 64 MiB: far above what any
    /// upstream-shipped script needs, far below what hurts a controller.
    fn default() -> Self {
        Self { instructions: 20_000_000, memory_bytes: 64 * 1024 * 1024 }
    }
}

/// Per-run inputs that come from the caller's world.
#[derive(Clone, Default)]
pub struct RunContext {
    /// Unix seconds returned by `os.time()` and used by `os.date()`.
    pub now_unix: i64,
    /// Checked every few thousand instructions; `true` stops the script.
    pub deadline: Option<Deadline>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("now_unix", &self.now_unix)
            .field("deadline", &self.deadline.is_some())
            .finish()
    }
}

/// State the instruction hook and the `os` functions share with the engine.
#[derive(Default)]
struct Budget {
    remaining: AtomicI64,
    stopped: AtomicBool,
    limit: AtomicI64,
    now: AtomicI64,
    deadline: Mutex<Option<Deadline>>,
}

impl Budget {
    fn reset(&self, limits: &Limits, ctx: &RunContext) {
        let limit = i64::try_from(limits.instructions).unwrap_or(i64::MAX);
        self.limit.store(limit, Ordering::Relaxed);
        self.remaining.store(limit, Ordering::Relaxed);
        self.stopped.store(false, Ordering::Relaxed);
        self.now.store(ctx.now_unix, Ordering::Relaxed);
        if let Ok(mut d) = self.deadline.lock() {
            d.clone_from(&ctx.deadline);
        }
    }

    fn tick(&self) -> mlua::Result<VmState> {
        if self.remaining.fetch_sub(i64::from(HOOK_EVERY), Ordering::Relaxed) <= 0 {
            self.stopped.store(true, Ordering::Relaxed);
            let limit = self.limit.load(Ordering::Relaxed);
            return Err(mlua::Error::runtime(format!(
                "script exceeded its budget of {limit} instructions (infinite loop?)"
            )));
        }
        let expired = self.deadline.lock().ok().and_then(|d| d.as_ref().map(|f| f())).unwrap_or(false);
        if expired {
            self.stopped.store(true, Ordering::Relaxed);
            return Err(mlua::Error::runtime("script exceeded its time limit"));
        }
        Ok(VmState::Continue)
    }
}

/// One Lua state with one library set, its compiled-script cache and its limits.
struct Sandbox {
    lua: Lua,
    env_meta: Table,
    cache: HashMap<String, mlua::Function>,
    budget: Arc<Budget>,
}

impl Sandbox {
    fn new(open_libs: bool) -> mlua::Result<Self> {
        let mut libs = StdLib::TABLE | StdLib::JIT;
        if open_libs {
            libs |= StdLib::STRING | StdLib::MATH;
        }
        let lua = Lua::new_with(libs, LuaOptions::default())?;
        lua.load("jit.off() jit.flush()").set_name("=<init>").exec()?;
        let budget = Arc::new(Budget::default());
        let hook_budget = budget.clone();
        lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| hook_budget.tick())?;

        let globals = lua.globals();
        for name in [
            "jit",
            "coroutine",
            "dofile",
            "loadfile",
            "load",
            "loadstring",
            "getfenv",
            "setfenv",
            "module",
            "collectgarbage",
            "package",
            "require",
            "print",
            "_G",
        ] {
            globals.raw_set(name, mlua::Nil)?;
        }
        globals.raw_set("print", lua.create_function(|_, _: mlua::MultiValue| Ok(()))?)?;
        globals.raw_set("os", os::safe_os(&lua, &budget)?)?;
        let stop_budget = budget.clone();
        let stopped = lua.create_function(move |_, ()| Ok(stop_budget.stopped.load(Ordering::Relaxed)))?;
        let (pcall, xpcall): (mlua::Function, mlua::Function) =
            lua.load(PROTECTED_CALLS).set_name("=<init>").call(stopped)?;
        globals.raw_set("pcall", pcall)?;
        globals.raw_set("xpcall", xpcall)?;
        let (pairs, next, rawget): (mlua::Function, mlua::Function, mlua::Function) =
            lua.load(LAZY_ITERATION).set_name("=<init>").call(())?;
        globals.raw_set("pairs", pairs)?;
        globals.raw_set("next", next)?;
        globals.raw_set("rawget", rawget)?;

        // Libraries are shared by every run in this state: hand out read-only views.
        let mut modules = Vec::new();
        for name in ["table", "os", "string", "math"] {
            if let mlua::Value::Table(lib) = globals.raw_get::<mlua::Value>(name)? {
                let view = read_only_view(&lua, lib)?;
                globals.raw_set(name, &view)?;
                modules.push((name, view));
            }
        }
        let preload = lua.create_table()?;
        for (name, view) in modules {
            if name == "string" {
                // `("x"):upper()` looks methods up through the string metatable: point it at
                // the read-only view and hide it, so it cannot be used to reach the library.
                lua.load(SEAL_STRING_METATABLE).set_name("=<init>").call::<()>(&view)?;
            }
            preload.raw_set(name, view)?;
        }
        globals.raw_set(
            "require",
            lua.create_function(move |_, name: String| {
                match preload.raw_get::<mlua::Value>(name.as_str())? {
                    mlua::Value::Nil => Err(mlua::Error::runtime(format!("module '{name}' not found"))),
                    module => Ok(module),
                }
            })?,
        )?;

        let env_meta = lua.create_table()?;
        env_meta.raw_set("__index", globals)?;
        Ok(Self { lua, env_meta, cache: HashMap::new(), budget })
    }

    fn compile(&mut self, script: &str) -> mlua::Result<mlua::Function> {
        if let Some(f) = self.cache.get(script) {
            return Ok(f.clone());
        }
        if self.cache.len() >= MAX_CACHED_SCRIPTS {
            self.cache.clear();
        }
        let f = self.lua.load(script).set_name("=<string>").into_function()?;
        self.cache.insert(script.to_string(), f.clone());
        Ok(f)
    }

    /// Runs `script` with `obj` (and `actionParams`) and returns what it returned.
    fn run(
        &mut self,
        script: &str,
        obj: &Value,
        params: Option<&[(String, String)]>,
        limits: &Limits,
        ctx: &RunContext,
    ) -> Result<Value, String> {
        let function = self.compile(script).map_err(|e| error_message(&e))?;
        let result = self.call(&function, obj, params, limits, ctx);
        if result.is_err() {
            // Free what a failed (perhaps memory-hungry) run left behind before the next one.
            let _ = self.lua.gc_collect();
        }
        result
            .map_err(|e| error_message(&e))?
            .ok_or_else(|| "expect table output from Lua script".to_string())
    }

    fn call(
        &mut self,
        function: &mlua::Function,
        obj: &Value,
        params: Option<&[(String, String)]>,
        limits: &Limits,
        ctx: &RunContext,
    ) -> mlua::Result<Option<Value>> {
        let lua = &self.lua;
        self.budget.reset(limits, ctx);
        // No limit while copying the object in: with a limit set, mlua protects every table
        // write against allocation errors, which costs more than the script. The copy is
        // bounded by the object, which is already in memory.
        lua.set_memory_limit(0)?;
        lua.scope(|scope| {
            let env = lua.create_table()?;
            // Health and discovery scripts read a few fields: copy the object's top-level
            // maps and lists only when first touched. Actions return the object, so they get
            // a full copy.
            let obj_value = match (params, obj) {
                (None, Value::Object(map)) => mlua::Value::Table(lazy_object(lua, scope, map)?),
                _ => to_lua_value(lua, obj)?,
            };
            env.raw_set("obj", obj_value)?;
            self.finish_call(function, env, params, limits)
        })
    }

    fn finish_call(
        &self,
        function: &mlua::Function,
        env: Table,
        params: Option<&[(String, String)]>,
        limits: &Limits,
    ) -> mlua::Result<Option<Value>> {
        let lua = &self.lua;
        if let Some(params) = params {
            let table = lua.create_table()?;
            for (k, v) in params {
                table.raw_set(k.as_str(), v.as_str())?;
            }
            env.raw_set("actionParams", table)?;
        }
        env.raw_set("_G", &env)?;
        env.set_metatable(Some(self.env_meta.clone()))?;
        function.set_environment(env)?;
        lua.set_memory_limit(lua.used_memory().saturating_add(limits.memory_bytes))?;
        let returned: mlua::Value = function.call(())?;
        let mlua::Value::Table(table) = returned else {
            return Err(mlua::Error::runtime(format!(
                "expect table output from Lua script, not {}",
                lua_type_name(&returned)
            )));
        };
        // gopher-json writes an empty table as `[]`; callers undo that against the input.
        let from_lua = DeserializeOptions::new().encode_empty_tables_as_array(true);
        Ok(Some(lua.from_value_with(mlua::Value::Table(table), from_lua)?))
    }
}

/// The object with its scalars copied and its maps/lists copied on first access (`__index`
/// stores the copy, so each is copied at most once). `pairs`, `next` and `rawget` copy the rest
/// first (see [`LAZY_ITERATION`]), so scripts cannot tell the difference.
fn lazy_object<'s>(
    lua: &Lua,
    scope: &'s mlua::Scope<'s, '_>,
    map: &'s serde_json::Map<String, Value>,
) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(0, map.len())?;
    for (key, value) in map {
        if !matches!(value, Value::Object(_) | Value::Array(_) | Value::Null) {
            table.raw_set(key.as_str(), to_lua_value(lua, value)?)?;
        }
    }
    let index = scope.create_function(move |lua, (table, key): (Table, mlua::Value)| {
        let mlua::Value::String(key) = key else { return Ok(mlua::Value::Nil) };
        let Some(value) = map.get(&*key.to_str()?) else { return Ok(mlua::Value::Nil) };
        let limit = lua.set_memory_limit(0)?;
        let copy = to_lua_value(lua, value);
        lua.set_memory_limit(limit)?;
        let copy = copy?;
        table.raw_set(key, &copy)?;
        Ok(copy)
    })?;
    let copy_all = scope.create_function(move |lua, table: Table| {
        let limit = lua.set_memory_limit(0)?;
        let result = map.iter().try_for_each(|(key, value)| match value {
            Value::Object(_) | Value::Array(_) if table.raw_get::<mlua::Value>(key.as_str())?.is_nil() => {
                table.raw_set(key.as_str(), to_lua_value(lua, value)?)
            }
            _ => Ok(()),
        });
        lua.set_memory_limit(limit)?;
        result
    })?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", index)?;
    meta.raw_set("__lazy", copy_all)?;
    table.set_metatable(Some(meta))?;
    Ok(table)
}

/// JSON to Lua as upstream's `decodeValue` does it: `null` is `nil` (the key is absent),
/// numbers are Lua numbers, lists are sequences. Written by hand rather than through serde:
/// scalars are pushed straight into their table, which halves the cost of a typical object.
fn to_lua_value(lua: &Lua, value: &Value) -> mlua::Result<mlua::Value> {
    Ok(match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().unwrap_or_default()),
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(_) | Value::Object(_) => mlua::Value::Table(to_lua_table(lua, value)?),
    })
}

fn to_lua_table(lua: &Lua, value: &Value) -> mlua::Result<Table> {
    fn set<K: mlua::IntoLua>(lua: &Lua, table: &Table, key: K, value: &Value) -> mlua::Result<()> {
        match value {
            Value::Null => Ok(()),
            Value::Bool(b) => table.raw_set(key, *b),
            Value::Number(n) => table.raw_set(key, n.as_f64().unwrap_or_default()),
            Value::String(s) => table.raw_set(key, s.as_str()),
            Value::Array(_) | Value::Object(_) => table.raw_set(key, to_lua_table(lua, value)?),
        }
    }
    match value {
        Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                set(lua, &table, i + 1, item)?;
            }
            Ok(table)
        }
        Value::Object(map) => {
            let table = lua.create_table_with_capacity(0, map.len())?;
            for (key, item) in map {
                set(lua, &table, key.as_str(), item)?;
            }
            Ok(table)
        }
        _ => lua.create_table(),
    }
}

/// A proxy that reads through to `lib` and refuses writes, so one script cannot change the
/// libraries the next script sees.
fn read_only_view(lua: &Lua, lib: Table) -> mlua::Result<Table> {
    let view = lua.create_table()?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", lib)?;
    meta.raw_set(
        "__newindex",
        lua.create_function(|_, _: mlua::MultiValue| -> mlua::Result<()> {
            Err(mlua::Error::runtime("standard library tables are read-only"))
        })?,
    )?;
    meta.raw_set("__metatable", false)?;
    view.set_metatable(Some(meta))?;
    Ok(view)
}

/// Lua's own name for a value's type, for "expect table output ... not nil".
fn lua_type_name(v: &mlua::Value) -> &'static str {
    match v {
        mlua::Value::Nil => "nil",
        mlua::Value::Boolean(_) => "boolean",
        mlua::Value::Integer(_) | mlua::Value::Number(_) => "number",
        mlua::Value::String(_) => "string",
        mlua::Value::Table(_) => "table",
        mlua::Value::Function(_) => "function",
        mlua::Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// The Lua error as a user reads it: `<string>:LINE: message`, without mlua's prefixes and
/// without the stack traceback.
fn error_message(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::MemoryError(m) => format!("script exceeded its memory limit ({m})"),
        mlua::Error::CallbackError { cause, .. } => return error_message(cause),
        mlua::Error::WithContext { cause, .. } => return error_message(cause),
        other => other.to_string(),
    };
    match text.split_once("\nstack traceback:") {
        Some((head, _)) => head.trim_end().to_string(),
        None => text.trim_end().to_string(),
    }
}

/// The two sandboxes (with and without the open libraries), created on first use.
pub struct LuaEngine {
    restricted: Option<Sandbox>,
    open: Option<Sandbox>,
    limits: Limits,
}

impl std::fmt::Debug for LuaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaEngine").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl LuaEngine {
    /// An engine with the given limits; Lua states are created lazily.
    pub fn new(limits: Limits) -> Self {
        Self { restricted: None, open: None, limits }
    }

    /// The limits every run gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn sandbox(&mut self, open_libs: bool) -> Result<&mut Sandbox, String> {
        let slot = if open_libs { &mut self.open } else { &mut self.restricted };
        if slot.is_none() {
            *slot = Some(
                Sandbox::new(open_libs).map_err(|e| format!("cannot start Lua: {}", error_message(&e)))?,
            );
        }
        slot.as_mut().ok_or_else(|| "cannot start Lua".to_string())
    }

    /// Runs a script against `obj` and returns the table it returned, as JSON (empty tables
    /// as `[]`, like upstream). `Err` carries the Lua error message.
    pub fn run(
        &mut self,
        script: &str,
        open_libs: bool,
        obj: &Value,
        params: Option<&[(String, String)]>,
        ctx: &RunContext,
    ) -> Result<Value, String> {
        let limits = self.limits;
        self.sandbox(open_libs)?.run(script, obj, params, &limits, ctx)
    }
}

impl Default for LuaEngine {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}
