//! Python bindings (being assembled).
