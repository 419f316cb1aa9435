//! A signature-true local WeChat Pay for tests, built on wiremock.
//!
//! It verifies the merchant's `Authorization` signature like WeChat Pay does, keeps
//! after-sales orders, answers `PROCESSING` and then a final result, keeps profit-sharing
//! receivers (decrypting their encrypted names with the key `Wechatpay-Serial` names), signs
//! every 2xx answer with a WeChat Pay key pair, sends webhook notifications (signed, encrypted
//! with the merchant's APIv3 key, retried on WeChat Pay's schedule), and injects faults on
//! demand. Run it in-process from Rust tests, or as the standalone `wechatpay-mock-server`
//! binary from any language.
//!
//! It keeps the money of the profit-sharing family consistent: a paid transaction
//! ([`MockWechatPay::declare_transaction`]) is split (`POST orders`) to receivers that were
//! added, never beyond what is left ([`MockWechatPay::unsplit`]); a finish (`finish: true`, or
//! `finish-order`) releases the rest and refuses further splits; a return never takes back
//! more than the split gave that receiver; one `out_order_no` / `out_return_no` is one request.
//! Shares and returns become final as planned ([`MockWechatPay::plan_share`],
//! [`MockWechatPay::plan_return`]), and a profit-sharing notification goes to the URL
//! registered for the receiver ([`MockWechatPay::set_notify_url`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechatpay_core::Error> {
//! use wechatpay_mock_server::MockWechatPay;
//!
//! let mock = MockWechatPay::start().await;
//! mock.declare_transaction("1900000109", "4208450740201411110007820472", 1000)?;
//! assert_eq!(mock.unsplit("4208450740201411110007820472"), Some(1000));
//! # Ok(()) }
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechatpay_core::Error> {
//! use wechatpay_mock_server::MockWechatPay;
//! use wechatpay_core::{CreateAfterSalesOrder, Scene};
//!
//! let mock = MockWechatPay::start().await;
//! let client = mock.client(); // a wechatpay_core::Client for the mock's test merchant
//! let (request, _pending) = client.prepare(&CreateAfterSalesOrder::new(
//!     "1900000109", "4208450740201411110007820472", 100, Scene::RefundTicket, "50000000382019052709732678859"))?;
//! assert!(request.uri().to_string().starts_with(&mock.base_url()));
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod after_sales;
mod auth;
mod builder;
mod certificates;
mod control;
mod delivery;
mod faults;
mod in_process;
pub mod keys;
mod ledger;
mod mock;
mod notify;
mod outbox;
mod profit_sharing;
mod receivers;
mod reply;
mod request;
mod rng;
mod routes;
#[cfg(feature = "standalone")]
pub mod server;
mod serving;
mod simulator;
#[cfg(feature = "standalone")]
pub mod standalone;
mod state;
mod steer;
mod strict;
mod wire;

use std::time::Duration;

/// The wiremock crate the in-process mock is built on: mount mocks of your own on
/// [`MockWechatPay::server`] with the same version.
pub use wiremock;

pub use builder::{MockBuilder, SignWith};
pub use faults::{Fault, RateLimitCode, Route};
pub use ledger::{
    LENIENT_PAID_AMOUNT, NotifyUrl, ReturnOutcome, ReturnResult, Settings, ShareOutcome,
    ShareResult, StoredReturn, StoredShare, StoredSplit, StoredTransaction,
};
pub use mock::MockWechatPay;
pub use notify::{
    Attempt, AttemptResult, Delivery, MAX_DELIVERIES, NOTIFY_TIMEOUT, NextStep, NotificationSpec,
    OutgoingNotification, RETRY_SCHEDULE, acknowledges,
};
pub use reply::SimResponse;
pub use request::SimRequest;
pub use routes::CONTROL_PREFIX;
pub use simulator::Simulator;
pub use state::{Answer, Outcome, StoredOrder, StoredReceiver};
pub use wire::AfterSalesRequest;

/// How often the in-process mock and the standalone server make due results final without a
/// request ([`Simulator::advance`]).
pub const TICK: Duration = Duration::from_millis(200);

/// The default cap on request bodies: WeChat Pay's JSON requests are small.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// The default number of answers kept in the log.
pub const DEFAULT_MAX_LOG: usize = 10_000;
/// The default number of orders kept (the oldest is forgotten first).
pub const DEFAULT_MAX_ORDERS: usize = 100_000;
