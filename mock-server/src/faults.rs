//! Faults a test can ask the mock to inject, and which requests they apply to.

use std::time::Duration;

use serde::Serialize;

/// Something going wrong on WeChat Pay's side, on demand.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 500 `SYSTEM_ERROR`; the request is not processed.
    SystemError,
    /// 429 `FREQUENCY_LIMITED`, with `Retry-After: N` when given; not processed.
    FrequencyLimited {
        /// Seconds for the `Retry-After` header, of any length.
        retry_after: Option<u64>,
    },
    /// 503 with an HTML body, as a proxy in front of WeChat Pay would answer; not processed.
    ServiceUnavailableHtml,
    /// The request is processed (an order is created), then answered with 500 `SYSTEM_ERROR`,
    /// as a gateway that failed after WeChat Pay acted would.
    ProcessedThenSystemError,
    /// The request is processed, then the answer is held back this long (processed, then too
    /// slow for a client's timeout).
    Delay(Duration),
    /// The request is processed; the answer's signature is corrupted (processed, then a broken
    /// signature).
    BrokenSignature,
    /// The request is processed; the answer is validly signed but with a timestamp 10 minutes
    /// in the past.
    StaleTimestamp,
    /// The request is processed; the answer names a serial no client trusts.
    UnknownSerial,
    /// The request is processed; the answer carries the `WECHATPAY/SIGNTEST/` probe.
    SignatureProbe,
    /// The request is processed; the 2xx answer carries no signature headers.
    MissingSignature,
}

/// Which requests a fault applies to.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// Any request.
    Any,
    /// `POST /v3/ecommerce/profitsharing/after-sales-orders`.
    CreateAfterSales,
    /// `GET /v3/ecommerce/profitsharing/after-sales-orders`.
    QueryAfterSales,
    /// `GET /v3/certificates`.
    Certificates,
    /// `POST /v3/ecommerce/profitsharing/receivers/add`.
    AddReceiver,
    /// `POST /v3/ecommerce/profitsharing/receivers/delete`.
    DeleteReceiver,
    /// `POST /v3/ecommerce/profitsharing/orders` (a split).
    CreateSplit,
    /// `GET /v3/ecommerce/profitsharing/orders` (a split or finish queried).
    QuerySplit,
    /// `POST /v3/ecommerce/profitsharing/finish-order`.
    FinishOrder,
    /// `GET /v3/ecommerce/profitsharing/orders/{transaction_id}/amounts`.
    UnsplitAmount,
    /// `POST /v3/ecommerce/profitsharing/returnorders`.
    CreateReturn,
    /// `GET /v3/ecommerce/profitsharing/returnorders`.
    QueryReturn,
    /// A path or method the mock does not serve.
    Unknown,
}

impl Route {
    pub(crate) fn covers(self, other: Self) -> bool {
        self == Self::Any || self == other
    }
}

/// A fault waiting for its requests.
#[derive(Debug)]
pub(crate) struct Armed {
    pub(crate) route: Route,
    pub(crate) fault: Fault,
    pub(crate) remaining: usize,
}

/// The code of a 429: WeChat Pay's documentation uses all three.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RateLimitCode {
    /// `FREQUENCY_LIMITED` (the default).
    #[default]
    FrequencyLimited,
    /// `RATELIMIT_EXCEEDED`.
    #[serde(rename = "RATELIMIT_EXCEEDED")]
    RatelimitExceeded,
    /// `RATE_LIMITED`.
    RateLimited,
}

impl RateLimitCode {
    /// Every code, in the order documented.
    pub const ALL: [Self; 3] = [
        Self::FrequencyLimited,
        Self::RatelimitExceeded,
        Self::RateLimited,
    ];

    /// The code as it appears in the answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FrequencyLimited => "FREQUENCY_LIMITED",
            Self::RatelimitExceeded => "RATELIMIT_EXCEEDED",
            Self::RateLimited => "RATE_LIMITED",
        }
    }

    /// The code named `text`, if it is one of the three.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}
