//! placeholder
#![cfg(feature = "cli")]
