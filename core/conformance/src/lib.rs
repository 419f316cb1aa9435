//! Test harnesses shared by the transports' test suites; not published.
//!
//! [`suite`] runs the same network failures against every transport and says what each must
//! give; [`chaos`] runs creates through a fault-injecting TCP proxy in front of the standalone mock
//! and checks every outcome against the mock's own record; [`sandbox`] runs the standalone
//! sandbox as a child process.

pub mod chaos;
mod http1;
pub mod measure;
pub mod proxy;
pub mod sandbox;
pub mod suite;
