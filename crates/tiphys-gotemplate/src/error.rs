//! The crate's single error type, formatted exactly like Go's `text/template` errors because
//! Helm users read these messages verbatim.

/// Everything that can go wrong while parsing or executing a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A lex or parse error: `template: NAME:LINE: MESSAGE`.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The template (file) name being parsed.
        name: String,
        /// 1-based line of the offending token.
        line: usize,
        /// Go's message text.
        message: String,
    },
    /// An execution error: `template: NAME:LINE:COL: executing "TEMPLATE" at <NODE>: MESSAGE`.
    #[error("template: {location}: executing \"{template}\" at <{node}>: {message}")]
    Exec {
        /// `name:line:col` of the failing node, as Go prints it.
        location: String,
        /// The name of the template being executed (may differ from the file in `location`).
        template: String,
        /// The source text of the failing node, shortened the way Go does.
        node: String,
        /// Go's message text (for function failures: `error calling NAME: ...`).
        message: String,
    },
    /// `ExecuteTemplate` on a name that is not in the set.
    #[error("template: no template {name:?} associated with template {set:?}")]
    NoTemplate {
        /// The requested name.
        name: String,
        /// The name of the set (the first template parsed into it).
        set: String,
    },
    /// A function's own failure; the engine wraps it into [`Error::Exec`] with
    /// `error calling NAME: ...`. Functions return this for bad arguments.
    #[error("{0}")]
    Func(String),
    /// A function argument of the wrong count or type; reported like Go's reflection checks
    /// (`wrong number of args for NAME: want 1 got 0`, `wrong type for value; ...`), without
    /// the `error calling` prefix.
    #[error("{0}")]
    Arg(String),
    /// The argument at `index` has the wrong type for the function's Go parameter type
    /// `expected`; the engine words it as Go does for that argument (`expected string; found 3`
    /// for constants, `wrong type for value; expected string; got int` otherwise).
    #[error("wrong type for argument {index}; expected {expected}")]
    ArgType {
        /// Zero-based argument position (the piped value is the last argument).
        index: usize,
        /// The Go parameter type (`string`, `int`, `bool`, `map[string]interface {}`).
        expected: String,
    },
}

impl Error {
    /// Shorthand for a function error.
    pub fn func(msg: impl Into<String>) -> Error {
        Error::Func(msg.into())
    }

    /// Shorthand for an argument count/type error.
    pub fn arg(msg: impl Into<String>) -> Error {
        Error::Arg(msg.into())
    }
}
