//! tiphys-diff: not built yet (see ARCHITECTURE.md).
