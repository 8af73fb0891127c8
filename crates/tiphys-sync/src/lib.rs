//! tiphys-sync: not built yet (see ARCHITECTURE.md).
