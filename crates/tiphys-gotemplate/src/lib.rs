//! tiphys-gotemplate: not built yet (see ARCHITECTURE.md).
