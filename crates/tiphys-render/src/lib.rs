//! tiphys-render: not built yet (see ARCHITECTURE.md).
