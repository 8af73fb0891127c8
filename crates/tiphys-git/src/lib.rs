//! tiphys-git: not built yet (see ARCHITECTURE.md).
