//! What an observer of the exchanges sees (see [`crate::BlockingClient::with_observer`]).

use std::sync::Arc;

use wechatpay_core::http::{Request, Response};

pub(crate) type Observer = Arc<dyn Fn(Exchange<'_>) + Send + Sync>;

/// One side of an HTTP exchange, shown to an observer (see [`crate::BlockingClient::with_observer`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Exchange<'a> {
    /// About to be sent, exactly as signed.
    Request(&'a Request<Vec<u8>>),
    /// Received, before verification.
    Response(&'a Response<Vec<u8>>),
}
