//! andal-resilience (in progress)
