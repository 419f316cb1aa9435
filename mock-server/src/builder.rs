//! [`MockBuilder`]: what the mock starts with (merchants, WeChat Pay's keys, the clock, the
//! seed, the rules' switches) and the simulator it makes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{Clock, Error, KeyRing, PublicKey, SystemClock};

use crate::ledger::{Processing, Settings};
use crate::reply::Signer;
use crate::rng::{Rng, Stream};
use crate::state::{Apiv3, Bounds, Merchant, Platform, Start, State};
use crate::{DEFAULT_MAX_BODY, DEFAULT_MAX_LOG, DEFAULT_MAX_ORDERS, Simulator, keys};

/// Which key signs the mock's answers.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignWith {
    /// The WeChat Pay public key pair (`Wechatpay-Serial: PUB_KEY_ID_…`).
    PublicKey,
    /// The platform certificate's key (`Wechatpay-Serial:` the certificate serial).
    PlatformCertificate,
}

/// Configures a [`MockWechatPay`](crate::MockWechatPay). Starts with the embedded test merchant and WeChat Pay keys
/// (see [`keys`]).
#[must_use = "call .start() to run the mock"]
pub struct MockBuilder {
    /// Each merchant's serial and public key, in the order added.
    merchants: Vec<(String, String, PublicKey)>,
    wechatpay_public_key_id: String,
    wechatpay_private_key: String,
    platforms: Vec<(String, String)>,
    apiv3_keys: HashMap<String, ApiV3Key>,
    sign_with: SignWith,
    clock: Arc<dyn Clock>,
    processing: Processing,
    listener: Option<std::net::TcpListener>,
    max_body: usize,
    log_to_stderr: bool,
    bounds: Bounds,
    primary: Option<String>,
    notify_time_scale: f64,
    settings: Settings,
    seed: Option<u64>,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MockBuilder {
    /// The defaults: the test merchant (its APIv3 key [`keys::TEST_APIV3_KEY`], in public-key
    /// mode), the test WeChat Pay key, system clock, one `PROCESSING` answer per order before
    /// its final result, notifications retried on WeChat Pay's schedule in real time.
    pub fn new() -> Self {
        let mut merchants = Vec::new();
        if let Ok(public_key) = keys::test_merchant_public_key() {
            merchants.push((
                keys::TEST_MCHID.to_owned(),
                keys::TEST_MERCHANT_SERIAL.to_owned(),
                public_key,
            ));
        }
        Self {
            merchants,
            wechatpay_public_key_id: keys::TEST_WECHATPAY_PUBLIC_KEY_ID.to_owned(),
            wechatpay_private_key: keys::TEST_WECHATPAY_PRIVATE_KEY.to_owned(),
            platforms: Vec::new(),
            apiv3_keys: HashMap::new(),
            sign_with: SignWith::PublicKey,
            clock: Arc::new(SystemClock),
            processing: Processing {
                queries: 1,
                seconds: 0,
            },
            listener: None,
            max_body: DEFAULT_MAX_BODY,
            log_to_stderr: false,
            bounds: Bounds {
                log: DEFAULT_MAX_LOG,
                orders: DEFAULT_MAX_ORDERS,
            },
            primary: Some(keys::TEST_MCHID.to_owned()),
            notify_time_scale: 1.0,
            settings: Settings::default(),
            seed: None,
        }
    }

    /// Refuses splits, finishes and `amounts` of transactions nobody declared
    /// ([`MockWechatPay::declare_transaction`](crate::MockWechatPay::declare_transaction), `POST /mock/transactions`) with
    /// `400 INVALID_REQUEST "unknown transaction"`. Off by default: an undeclared transaction is
    /// taken as paid [`LENIENT_PAID_AMOUNT`](crate::LENIENT_PAID_AMOUNT).
    pub fn strict_transactions(mut self, on: bool) -> Self {
        self.settings.strict_transactions = on;
        self
    }

    /// Answers `429 FREQUENCY_LIMITED` (with `Retry-After: 1`) over WeChat Pay's documented
    /// limits for `POST orders`: one split a second for the same transaction, 30 a second
    /// naming the same receiver, 300 a second from the same merchant. Off by default.
    pub fn rate_limits(mut self, on: bool) -> Self {
        self.settings.rate_limits = on;
        self
    }

    /// At most `per_second` requests a second from one merchant, over every route; beyond
    /// it, 429 with [`MockBuilder::rate_limit_code`] and `Retry-After: 1`. Off by default.
    pub fn frequency_limit(mut self, per_second: u32) -> Self {
        self.settings.frequency_limit = (per_second > 0).then_some(per_second);
        self
    }

    /// The code of every 429 the sandbox answers: `FREQUENCY_LIMITED` (default),
    /// `RATELIMIT_EXCEEDED` or `RATE_LIMITED`.
    pub fn rate_limit_code(mut self, code: crate::RateLimitCode) -> Self {
        self.settings.rate_limit_code = code;
        self
    }

    /// Only these platform merchants (服务商) may call: any other merchant, known or not,
    /// gets 403 `NO_AUTH` once its signature checks out. Default: every merchant the mock
    /// knows.
    pub fn platform_mchids(mut self, mchids: &[&str]) -> Self {
        self.settings.platform_mchids = mchids.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// Keeps at most `answers` entries in the log (default [`DEFAULT_MAX_LOG`]; the oldest go
    /// first) and at most `orders` orders (default [`DEFAULT_MAX_ORDERS`]): memory stays flat.
    pub fn bounds(mut self, answers: usize, orders: usize) -> Self {
        self.bounds = Bounds {
            log: answers,
            orders,
        };
        self
    }

    /// Forgets the test merchant (add others with [`MockBuilder::merchant`]).
    pub fn without_test_merchant(mut self) -> Self {
        self.merchants
            .retain(|(mchid, _, _)| mchid != keys::TEST_MCHID);
        if self.primary.as_deref() == Some(keys::TEST_MCHID) {
            self.primary = None;
        }
        self
    }

    /// Accepts requests from `mchid`, signed with the key of certificate `serial`. Its APIv3
    /// key is generated (see [`MockWechatPay::apiv3_key`](crate::MockWechatPay::apiv3_key)) unless [`MockBuilder::apiv3_key`]
    /// gives one. Without the test merchant, the first merchant added is the one notifications
    /// go to by default.
    pub fn merchant(mut self, mchid: &str, serial: &str, public_key: PublicKey) -> Self {
        self.merchants.retain(|(m, _, _)| m != mchid);
        self.merchants
            .push((mchid.to_owned(), serial.to_owned(), public_key));
        if self.primary.is_none() {
            self.primary = Some(mchid.to_owned());
        }
        self
    }

    /// Multiplies the waits of WeChat Pay's notification retry schedule ([`RETRY_SCHEDULE`](crate::RETRY_SCHEDULE)):
    /// `0.001` turns 15 s into 15 ms. Default 1. Must be finite and not negative.
    pub fn notify_time_scale(mut self, scale: f64) -> Self {
        self.notify_time_scale = scale;
        self
    }

    /// The WeChat Pay public key pair: its id and the private key (PEM) that signs answers.
    pub fn wechatpay_key(mut self, id: &str, private_key_pem: &str) -> Self {
        self.wechatpay_public_key_id = id.to_owned();
        self.wechatpay_private_key = private_key_pem.to_owned();
        self
    }

    /// Adds a platform certificate and its private key (PEM): served by `/v3/certificates` and
    /// usable to sign answers. [`SignWith::PlatformCertificate`] signs with the last one added.
    pub fn platform_certificate(mut self, certificate_pem: &str, private_key_pem: &str) -> Self {
        self.platforms
            .push((certificate_pem.to_owned(), private_key_pem.to_owned()));
        self
    }

    /// Publishes the embedded test platform certificate ([`keys::TEST_PLATFORM_CERTIFICATE`]).
    pub fn test_platform_certificate(self) -> Self {
        self.platform_certificate(
            keys::TEST_PLATFORM_CERTIFICATE,
            keys::TEST_PLATFORM_PRIVATE_KEY,
        )
    }

    /// The test merchant in certificate mode: the test platform certificate is published and
    /// signs every answer, and `/v3/certificates` is encrypted with [`keys::TEST_APIV3_KEY`].
    pub fn test_certificate_mode(self) -> Self {
        self.test_platform_certificate()
            .sign_with(SignWith::PlatformCertificate)
            .apiv3_key(keys::TEST_MCHID, keys::test_apiv3_key())
    }

    /// Puts merchant `mchid` in certificate mode: `/v3/certificates` answers it, encrypted with
    /// this APIv3 key (which also encrypts its notifications). Merchants without a key given
    /// get 404 `RESOURCE_NOT_EXISTS` there.
    pub fn apiv3_key(mut self, mchid: &str, key: ApiV3Key) -> Self {
        self.apiv3_keys.insert(mchid.to_owned(), key);
        self
    }

    /// Which key signs answers. Default: [`SignWith::PublicKey`].
    pub fn sign_with(mut self, which: SignWith) -> Self {
        self.sign_with = which;
        self
    }

    /// The mock's clock (for request timestamps' skew and its own signatures). Put a
    /// [`wechatpay_core::FixedClock`] here to run it ahead of or behind its clients.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A new order answers `PROCESSING` to its first `queries` queries and for `duration` after
    /// creation (both must pass), then its final result. Default: 1 query, no duration. The
    /// same holds for a split's shares (`PENDING`) and a return (`PROCESSING`); with 0 queries
    /// they become final once `duration` passed, queried or not (checked at every request and
    /// every [`TICK`](crate::TICK)).
    pub fn processing(mut self, queries: u32, duration: Duration) -> Self {
        self.processing = Processing {
            queries,
            seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        };
        self
    }

    /// Listens on this socket instead of a new one on `127.0.0.1:0`.
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The largest request body accepted (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Seeds the simulator's generator (nonces, `Request-ID`s, order and return numbers,
    /// notification ids, generated APIv3 keys): the same seed, requests and times give the
    /// same answers, byte for byte, and `POST /mock/reset` starts the sequence again. Default:
    /// a seed from the operating system.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Logs one line per request to stderr.
    pub fn log_to_stderr(mut self, on: bool) -> Self {
        self.log_to_stderr = on;
        self
    }

    /// The simulator alone, without a server: for the standalone binary's own server, or to
    /// call [`Simulator::handle`] directly (a fuzzer, a test).
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Key`] or [`wechatpay_core::ErrorKind::Config`] for unusable
    /// keys or ids.
    pub fn simulator(self) -> Result<Simulator, Error> {
        self.parts().map(|p| p.simulator)
    }

    pub(crate) fn parts(self) -> Result<Parts, Error> {
        if !self.notify_time_scale.is_finite() || self.notify_time_scale < 0.0 {
            return Err(Error::config(
                "notify_time_scale must be a finite number, 0 or more",
            ));
        }
        let wechatpay_key = keys::signing_key(&self.wechatpay_private_key)?;
        let wechatpay_public_key = wechatpay_key.public_key()?;
        // Checks the id's form.
        KeyRing::new().add_wechatpay_public_key(
            &self.wechatpay_public_key_id,
            wechatpay_public_key.clone(),
        )?;
        let public_key_signer = Signer {
            serial: self.wechatpay_public_key_id.clone(),
            key: wechatpay_key,
        };
        let platforms = self
            .platforms
            .iter()
            .map(|(cert, key)| Platform::load(cert, key))
            .collect::<Result<Vec<_>, Error>>()?;
        let signer = match (self.sign_with, platforms.last()) {
            (SignWith::PublicKey, _) => public_key_signer.clone(),
            (SignWith::PlatformCertificate, Some(p)) => p.signer.clone(),
            (SignWith::PlatformCertificate, None) => {
                return Err(Error::config(
                    "sign_with(PlatformCertificate) needs a platform certificate and its key",
                ));
            }
        };
        let seed = self.seed.unwrap_or_else(Rng::os_seed);
        // Keys from their own stream, so that answers' nonces do not depend on how many
        // merchants there are.
        let mut key_rng = Rng::stream(seed, Stream::Keys);
        let mut merchants = HashMap::new();
        for (mchid, serial, public_key) in self.merchants {
            let mut merchant = Merchant::new(serial, public_key, &mut key_rng);
            if mchid == keys::TEST_MCHID
                && let Ok(apiv3) = Apiv3::from_text(keys::TEST_APIV3_KEY)
            {
                merchant.apiv3 = apiv3;
            }
            merchants.insert(mchid, merchant);
        }
        for (mchid, key) in self.apiv3_keys {
            match merchants.get_mut(&mchid) {
                Some(m) => {
                    m.apiv3 = Apiv3::given(key);
                    m.certificate_mode = true;
                }
                None => {
                    return Err(Error::config(format!(
                        "apiv3_key names merchant {mchid}, which the mock does not know"
                    )));
                }
            }
        }
        let start = Start {
            merchants,
            platforms,
            signer,
            public_key_signer,
            processing: self.processing,
            settings: self.settings,
            seed,
        };
        let state = Arc::new(State::new(
            start,
            self.clock,
            self.max_body,
            self.log_to_stderr,
            self.bounds,
            self.primary,
            self.notify_time_scale,
        ));
        Ok(Parts {
            simulator: Simulator { state },
            wechatpay_public_key: (self.wechatpay_public_key_id, wechatpay_public_key),
            listener: self.listener,
        })
    }
}

/// What a builder makes before any server runs.
pub(crate) struct Parts {
    pub(crate) simulator: Simulator,
    pub(crate) wechatpay_public_key: (String, PublicKey),
    pub(crate) listener: Option<std::net::TcpListener>,
}
