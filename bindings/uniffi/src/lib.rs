//! UniFFI bindings (being assembled).
