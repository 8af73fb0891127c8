//! tiphys-sandbox: not built yet (see ARCHITECTURE.md).
