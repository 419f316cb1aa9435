//! Test harnesses shared by the transports' test suites; not published.
//!
//! [`chaos`] runs creates through a fault-injecting TCP proxy in front of the standalone mock
//! and checks every outcome against the mock's own record.

pub mod chaos;
