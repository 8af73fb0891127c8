//! tiphys-helm: not built yet (see ARCHITECTURE.md).
