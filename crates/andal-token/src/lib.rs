//! andal-token (in progress)
