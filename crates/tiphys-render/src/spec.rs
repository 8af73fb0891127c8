//! The Application source types rendering reads: upstream's `ApplicationSource*` shapes from
//! `tiphys-model`, re-exported so callers of this crate need not depend on the model directly.

pub use tiphys_model::meta::{IntOrString, NameValue};
pub use tiphys_model::source::{
    ApplicationSource, ApplicationSourceDirectory, ApplicationSourceJsonnet, ApplicationSourceKustomize,
    ApplicationSourcePlugin, JsonnetVar, KustomizePatch, KustomizeReplica, PluginParameter,
};
