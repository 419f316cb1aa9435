//! Sans-IO core of a WeChat Pay APIv3 SDK (微信支付), starting with the e-commerce platform's
//! after-sales profit sharing (平台收付通 · 售后服务分账).
//!
//! This crate builds signed [`http::Request`]s and turns [`http::Response`]s into verified,
//! typed results. It opens no socket, reads no clock and draws no random number on its own:
//! time comes from a [`Clock`] and nonces from a [`NonceSource`], both injected with system
//! defaults. Sending bytes is a transport's job (`wechatpay-transport-hyper`,
//! `wechatpay-transport-blocking`, or any function of yours).
//!
//! Policy: bad input — from the caller or from the network — is an [`Error`]; a panic is a bug.
//!
//! # The whole loop: prepare → send → finish
//!
//! ```
//! use std::sync::Arc;
//! use wechatpay_core::{Client, CreateAfterSalesOrder, FixedClock, KeyRing, MerchantCredentials,
//!     PrivateKey, ProfitSharingResult, QueryAfterSalesOrder, Scene, signing};
//!
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
//! let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
//!
//! // Configuration: the merchant's key, and the WeChat Pay public key that signs answers.
//! let merchant = MerchantCredentials::from_pem(
//!     "1900000100", "3775B6A45ACD588826D15E583A95F5DD00000001", &read("merchant_private_key.pem"))?;
//! let keys = KeyRing::new().with_wechatpay_public_key_pem(
//!     "PUB_KEY_ID_0119000001002026112400000000000001", &read("wechatpay_public_key.pem"))?;
//! let client = Client::builder(merchant, keys)
//!     .clock(Arc::new(FixedClock::new(1_764_000_000))) // omit outside tests: the system clock
//!     .build()?;
//!
//! // A stand-in for HTTP: answers as WeChat Pay would, signed with WeChat Pay's key.
//! let wechatpay_key = PrivateKey::from_pem(&read("wechatpay_private_key.pem"))?;
//! let send = |request: http::Request<Vec<u8>>| -> http::Response<Vec<u8>> {
//!     assert!(request.headers()["authorization"].to_str().unwrap().starts_with("WECHATPAY2-SHA256-RSA2048 "));
//!     let body = if request.method() == http::Method::POST {
//!         br#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100}"#.to_vec()
//!     } else {
//!         br#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"result":"SUCCESS","finish_time":"2026-11-24T10:34:56.120+08:00"}"#.to_vec()
//!     };
//!     let signature = wechatpay_key
//!         .sign_base64(&signing::response_message("1764000000", "nonce", &body)).unwrap();
//!     http::Response::builder()
//!         .header("Wechatpay-Timestamp", "1764000000")
//!         .header("Wechatpay-Nonce", "nonce")
//!         .header("Wechatpay-Serial", "PUB_KEY_ID_0119000001002026112400000000000001")
//!         .header("Wechatpay-Signature", signature)
//!         .header("Request-ID", "08F78BB5AF0610D302A9DF2B2E9C0C5D")
//!         .body(body).unwrap()
//! };
//!
//! // Request the split...
//! let create = CreateAfterSalesOrder::new("1900000109", "4208450740201411110007820472", 100,
//!     Scene::RefundTicket, "50000000382019052709732678859");
//! let (request, pending) = client.prepare(&create)?;
//! let accepted = pending.finish(send(request))?;
//! assert_eq!(accepted.amount, Some(100));
//!
//! // ...and ask for its result.
//! let (request, pending) = client.prepare(&create.query())?;
//! let order = pending.finish(send(request))?;
//! assert_eq!(order.result, ProfitSharingResult::Success);
//! assert!(order.is_final());
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod after_sales;
pub mod call;
pub mod certificates;
mod client;
mod clock;
mod credentials;
mod crypto;
pub mod driver;
pub mod encryption;
mod error;
mod generic;
mod keyring;
mod keys;
mod model;
pub mod notification;
mod operation;
pub mod orders;
pub mod query;
pub mod receivers;
pub mod retry;
pub mod returns;
pub mod rfc3339;
pub mod signing;
mod transport_config;
pub mod validate;
pub mod verify;
mod wire;

pub use after_sales::{
    AfterSalesOrder, AfterSalesOrderAccepted, CreateAfterSalesOrder, MAX_ID_LEN, MAX_REFUND_ID_LEN,
    PATH as AFTER_SALES_PATH, QueryAfterSalesOrder,
};
pub use client::{
    BACKUP_BASE_URL, Client, ClientBuilder, DEFAULT_BASE_URL, Pending, default_user_agent,
};
pub use clock::{Clock, FixedClock, FixedNonce, NONCE_LEN, NonceSource, SystemClock, SystemNonce};
pub use credentials::MerchantCredentials;
pub use crypto::Backend;
pub use error::{DecryptProblem, Error, ErrorKind, Fate, KeyProblem};
pub use generic::Generic;
pub use keyring::{KeyRing, PUBLIC_KEY_ID_PREFIX, PlatformCertificate};
pub use keys::{PrivateKey, PublicKey};
pub use model::{FailReason, ProfitSharingResult, Scene, SharingType};
pub use operation::{Check, CheckPending, Found, Operation, Repeat};
pub use transport_config::{ProxySetting, ProxyUrl, TransportConfig, redact_userinfo};

pub use http;
pub use serde;

#[doc(hidden)]
pub mod __private {
    pub use serde;
}
