//! tiphys-health: not built yet (see ARCHITECTURE.md).
