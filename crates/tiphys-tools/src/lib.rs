//! tiphys-tools: not built yet (see ARCHITECTURE.md).
