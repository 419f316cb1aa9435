//! Async transport (in progress).
