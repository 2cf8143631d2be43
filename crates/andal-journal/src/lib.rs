//! andal-journal (in progress)
