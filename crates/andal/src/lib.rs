//! Andal core (being assembled).
