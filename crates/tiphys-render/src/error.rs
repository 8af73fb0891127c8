//! The one error type of this crate. Every variant names the file, path or tool involved and,
//! where there is one, what the user can do about it.

use std::path::PathBuf;

/// Why a source could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A path (source path, file, import, value file, library) points outside the repository.
    #[error("{path}: {reason}; paths must stay inside the repository")]
    PathEscape {
        /// The offending path as the user wrote it (or as found in the tree).
        path: String,
        /// What makes it escape (`..`, absolute, symlink target).
        reason: String,
    },
    /// A path the source needs does not exist.
    #[error("{path}: does not exist in the repository at this revision; check spec.source.path")]
    NotFound {
        /// Path relative to the repository root.
        path: String,
    },
    /// Reading from the checkout failed.
    #[error("{path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A YAML or JSON manifest file could not be parsed.
    #[error("{file}: {message}")]
    Parse {
        /// File relative to the repository root.
        file: String,
        /// What is wrong and where (document index, line).
        message: String,
    },
    /// A manifest is not a Kubernetes object (no `apiVersion`/`kind`, or not a mapping).
    #[error("{file}: {message}")]
    NotAnObject {
        /// File relative to the repository root.
        file: String,
        /// Which document and what is missing.
        message: String,
    },
    /// Jsonnet failed to load or evaluate.
    #[error("{file}: jsonnet: {message}")]
    Jsonnet {
        /// The Jsonnet file being rendered.
        file: String,
        /// The evaluator's message, with file and line where known.
        message: String,
    },
    /// A size or count limit was exceeded.
    #[error("{what} exceeds the limit of {limit}; raise the limit or split the source")]
    Limit {
        /// What was too large (a file, the total, the manifest count).
        what: String,
        /// The configured limit.
        limit: u64,
    },
    /// More than one of helm/kustomize/directory/plugin is set on the source.
    #[error("multiple source types set ({types}); keep only one of helm, kustomize, directory, plugin")]
    MultipleSourceTypes {
        /// The types that are set.
        types: String,
    },
    /// The source is a Helm chart and no Helm renderer is wired in.
    #[error("{path}: helm rendering is not wired yet into this renderer")]
    HelmNotWired {
        /// The chart directory.
        path: String,
    },
    /// An Application option is malformed (bad image spec, bad replica count, ...).
    #[error("{field}: {message}")]
    InvalidOption {
        /// The option, as spelled in the Application (`kustomize.images[0]`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A kustomization file could not be read or edited.
    #[error("{file}: {message}")]
    Kustomization {
        /// The kustomization file relative to the repository root.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// An external tool (kustomize, a plugin command) failed, timed out or produced too much.
    #[error("{tool}: {message}")]
    Tool {
        /// The tool and where it ran.
        tool: String,
        /// Its error output or the reason it was stopped.
        message: String,
    },
    /// No plugin matches the source.
    #[error("plugin {name:?} is not configured; define it or remove spec.source.plugin.name")]
    PluginNotFound {
        /// The requested plugin name (empty when discovery found none).
        name: String,
    },
    /// A `$ref/...` value file names a source that does not exist.
    #[error("{path}: no source with ref {reference:?} in this Application")]
    UnknownRef {
        /// The value file path.
        path: String,
        /// The ref name.
        reference: String,
    },
}

impl RenderError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RenderError::Io { path: path.into(), source }
    }
}
