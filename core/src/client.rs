//! The client: signs operations into `http::Request`s and turns `http::Response`s into verified,
//! typed results. It does no IO.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Request, Response, StatusCode, Uri};

use crate::certificates::{CertificateKeeper, Certificates};
use crate::clock::{Clock, NonceSource, SystemClock, SystemNonce};
use crate::operation::Operation;
use crate::retry::{Jitter, SystemJitter};
use crate::signing::{Authorization, request_message};
use crate::verify::{DEFAULT_MAX_SKEW_SECS, header, verify_signed};
use crate::{Error, KeyRing, MerchantCredentials};

/// The production host.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// The backup host (the signature does not cover the host, so requests are valid on both).
pub const BACKUP_BASE_URL: &str = "https://api2.mch.weixin.qq.com";

/// The `User-Agent` this SDK sends: its name and version, the OS and the architecture.
pub fn default_user_agent() -> String {
    format!(
        "wechatpay-rs/{} ({}; {}) Rust",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

struct Inner {
    merchant: MerchantCredentials,
    keys: KeyRing,
    base_url: String,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
    jitter: Arc<dyn Jitter>,
    max_skew_secs: u64,
    user_agent: HeaderValue,
    certificates: Option<Certificates>,
}

/// Signs requests and verifies answers for one merchant. Cheap to clone; share it freely.
///
/// See the [crate documentation](crate) for the whole prepare → send → finish loop.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    /// Starts configuring a client for `merchant`, trusting `keys` to sign WeChat Pay's answers.
    pub fn builder(merchant: MerchantCredentials, keys: KeyRing) -> ClientBuilder {
        ClientBuilder {
            merchant,
            keys,
            base_url: DEFAULT_BASE_URL.to_owned(),
            clock: Arc::new(SystemClock),
            nonces: Arc::new(SystemNonce),
            jitter: Arc::new(SystemJitter),
            max_skew_secs: DEFAULT_MAX_SKEW_SECS,
            user_agent: default_user_agent(),
            allow_empty_keys: false,
            allow_insecure_http: false,
            certificates: None,
        }
    }

    /// Validates `operation`, signs it, and returns the request to send together with the
    /// [`Pending`] value that alone can read the answer.
    ///
    /// Every call signs afresh (new timestamp and nonce): call it again for every attempt.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] naming the field WeChat Pay would reject; a signing or
    /// randomness failure.
    pub fn prepare<O: Operation>(
        &self,
        operation: &O,
    ) -> Result<(Request<Vec<u8>>, Pending<O>), Error> {
        operation.validate()?;
        let path_and_query = operation.path_and_query()?;
        let body = operation.body()?;
        let serial = operation.serial()?;
        let request = self.sign(operation.method(), &path_and_query, body, serial)?;
        Ok((
            request,
            Pending {
                client: self.clone(),
                _operation: PhantomData,
            },
        ))
    }

    /// Signs an arbitrary request: `path_and_query` exactly as it goes on the wire.
    fn sign(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Vec<u8>,
        serial: Option<String>,
    ) -> Result<Request<Vec<u8>>, Error> {
        let inner = &*self.inner;
        let timestamp = inner.clock.now_unix().to_string();
        let nonce = inner.nonces.nonce()?;
        let message = request_message(method.as_str(), path_and_query, &timestamp, &nonce, &body);
        let authorization = Authorization {
            mchid: inner.merchant.mchid().to_owned(),
            serial_no: inner.merchant.serial().to_owned(),
            timestamp,
            nonce_str: nonce,
            signature: inner.merchant.private_key().sign_base64(&message)?,
        }
        .to_header_value();
        let uri: Uri = format!("{}{path_and_query}", inner.base_url)
            .parse()
            .map_err(|e| Error::invalid_input("path", "is not a valid URI path").with_source(e))?;
        let header = |v: String| {
            HeaderValue::try_from(v).map_err(|e| {
                Error::invalid_input("header", "is not a valid header value").with_source(e)
            })
        };
        let mut authorization = header(authorization)?;
        authorization.set_sensitive(true);
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, inner.user_agent.clone());
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(serial) = serial.or_else(|| inner.keys.preferred_serial()) {
            builder = builder.header("wechatpay-serial", header(serial)?);
        }
        builder
            .body(body)
            .map_err(|e| Error::invalid_input("request", "cannot be built").with_source(e))
    }

    /// The merchant this client signs for.
    pub fn merchant(&self) -> &MerchantCredentials {
        &self.inner.merchant
    }

    /// The keys trusted to sign answers (a shared handle: adding to it affects this client).
    pub fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }

    /// The key that encrypts sensitive request fields: the one this client names in
    /// `Wechatpay-Serial` by default (see [`crate::encryption`]).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] when the key ring is empty.
    pub fn encryptor(&self) -> Result<crate::encryption::Encryptor, Error> {
        crate::encryption::Encryptor::preferred(self.keys())
    }

    /// The base URL requests go to, e.g. `https://api.mch.weixin.qq.com`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The tolerance for answers' timestamps, in seconds.
    pub(crate) fn max_skew_secs(&self) -> u64 {
        self.inner.max_skew_secs
    }

    /// The clock this client signs and verifies with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The randomness that spreads retries ([`crate::retry::RetryPolicy::backoff`]).
    pub fn jitter(&self) -> &Arc<dyn Jitter> {
        &self.inner.jitter
    }

    /// The shared certificate keeper, in platform-certificate mode.
    pub(crate) fn certificates(&self) -> Option<&Certificates> {
        self.inner.certificates.as_ref()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("merchant", &self.inner.merchant)
            .field("keys", &self.inner.keys)
            .field("base_url", &self.inner.base_url)
            .field("max_skew_secs", &self.inner.max_skew_secs)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; made by [`Client::builder`].
#[must_use = "call .build() to get the client"]
pub struct ClientBuilder {
    merchant: MerchantCredentials,
    keys: KeyRing,
    base_url: String,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
    jitter: Arc<dyn Jitter>,
    max_skew_secs: u64,
    user_agent: String,
    allow_empty_keys: bool,
    allow_insecure_http: bool,
    certificates: Option<CertificateKeeper>,
}

impl ClientBuilder {
    /// Accepts an empty key ring: for platform-certificate mode before the first download
    /// (see [`crate::certificates::CertificateKeeper`]), which fills it.
    pub fn allow_empty_key_ring(mut self) -> Self {
        self.allow_empty_keys = true;
        self
    }

    /// Platform-certificate mode: every call downloads `GET /v3/certificates` as a step of its
    /// own when due (see [`CertificateKeeper`]), and the key ring may start empty. A WeChat Pay
    /// public key in the ring keeps verifying whatever happens to the downloads.
    pub fn certificates(mut self, keeper: CertificateKeeper) -> Self {
        self.certificates = Some(keeper);
        self
    }

    /// Accepts an `http://` base URL on a host other than a loopback one. Signed payment
    /// requests then cross the network unencrypted: only for test networks.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// Where requests go: scheme and host (and port), no path. Default
    /// [`DEFAULT_BASE_URL`]; a mock server's URL in tests. `http://` only on loopback hosts
    /// (`127.0.0.0/8`, `::1`, `localhost`) unless [`ClientBuilder::allow_insecure_http`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The clock used for request timestamps and for checking answers' timestamps. Default:
    /// [`SystemClock`]. Should be the system clock unless testing.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source of request nonces. Default: [`SystemNonce`]. Should be the system source
    /// unless testing.
    pub fn nonce_source(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = nonces;
        self
    }

    /// The randomness that spreads retries. Default: [`SystemJitter`]; tests use
    /// [`crate::retry::NoJitter`] for exact waits.
    pub fn jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// How far an answer's timestamp may be from the local clock. Default 300 s, as WeChat Pay
    /// applies to requests.
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_skew_secs = skew.as_secs();
        self
    }

    /// Appends a product token (e.g. `my-shop/1.2`) to the SDK's `User-Agent`.
    pub fn user_agent_suffix(mut self, token: &str) -> Self {
        self.user_agent = format!("{} {token}", default_user_agent());
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`]: a base URL that is not `http(s)://host[:port]` (or `http`
    /// to a host that is not loopback), an empty key ring without a certificate keeper (nothing
    /// could verify WeChat Pay's answers), or a `User-Agent` that is not a valid header value.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = normalise_base_url(&self.base_url, self.allow_insecure_http)?;
        if self.keys.is_empty() && !self.allow_empty_keys && self.certificates.is_none() {
            return Err(Error::config(
                "the key ring is empty: add the WeChat Pay public key or a platform certificate, or no answer can be verified",
            ));
        }
        let user_agent = HeaderValue::try_from(self.user_agent)
            .map_err(|_| Error::config("the User-Agent suffix is not a valid header value"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                merchant: self.merchant,
                keys: self.keys,
                base_url,
                clock: self.clock,
                nonces: self.nonces,
                jitter: self.jitter,
                max_skew_secs: self.max_skew_secs,
                user_agent,
                certificates: self.certificates.map(Certificates::new),
            }),
        })
    }
}

fn normalise_base_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let bad = || {
        Error::config(format!(
            "base URL {url:?} must be http(s)://host[:port] with no path, query or credentials"
        ))
    };
    let uri: Uri = url.parse().map_err(|_| bad())?;
    let scheme = uri.scheme_str().ok_or_else(bad)?;
    if scheme != "https" && scheme != "http" {
        return Err(bad());
    }
    let authority = uri.authority().ok_or_else(bad)?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(bad());
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad());
    }
    if scheme == "http" && !allow_insecure_http && !is_loopback(authority.host()) {
        return Err(Error::config(format!(
            "base URL {url:?} is plain http to a host that is not loopback: signed payment requests would cross the network unencrypted (use https, or allow_insecure_http() on a test network)"
        )));
    }
    Ok(format!("{scheme}://{authority}"))
}

/// Whether `host` (as in a URI authority) is a loopback host: `localhost`, `127.0.0.0/8`, `::1`.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The answer still to come for a prepared operation. Only [`Pending::finish`] turns the HTTP
/// response into the operation's typed output, and it verifies WeChat Pay's signature before it
/// reads a single field.
#[must_use = "the response must go through Pending::finish, which verifies it"]
pub struct Pending<O: Operation> {
    client: Client,
    _operation: PhantomData<fn() -> O>,
}

impl<O: Operation> Pending<O> {
    /// Verifies and reads the answer.
    ///
    /// - non-2xx (and 202): [`crate::ErrorKind::Api`] with status, WeChat's `code`, `message`,
    ///   `detail` and `Request-ID`, whether or not the body is JSON or signed;
    /// - 2xx: the signature is checked over the raw body, then the body is parsed.
    ///
    /// # Errors
    /// An API error, a verification error, or [`crate::ErrorKind::InvalidResponse`].
    pub fn finish<B: AsRef<[u8]>>(self, response: Response<B>) -> Result<O::Output, Error> {
        let (parts, body) = response.into_parts();
        self.finish_parts(parts.status, &parts.headers, body.as_ref())
    }

    /// [`Pending::finish`] on the pieces of a response.
    ///
    /// # Errors
    /// As [`Pending::finish`].
    pub fn finish_parts(
        self,
        status: StatusCode,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<O::Output, Error> {
        let request_id = headers
            .get(header::REQUEST_ID)
            .and_then(|v| v.to_str().ok());
        if !status.is_success() || status == StatusCode::ACCEPTED {
            let mut err = Error::api(status, body, request_id);
            if let Some(wait) = retry_after(headers) {
                err = err.with_retry_after(wait);
            }
            return Err(err);
        }
        let inner = &*self.client.inner;
        verify_signed(
            &inner.keys,
            inner.clock.now_unix(),
            inner.max_skew_secs,
            headers,
            body,
        )
        .and_then(|()| O::parse(body))
        // A 2xx that cannot be verified or read may still mean WeChat Pay acted.
        .map_err(|e| e.with_response(status, request_id).with_fate_unknown())
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by WeChat Pay), never shortened.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

impl<O: Operation> fmt::Debug for Pending<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("operation", &std::any::type_name::<O>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base_url("https://api.mch.weixin.qq.com", false)
                .ok()
                .as_deref(),
            Some("https://api.mch.weixin.qq.com")
        );
        for loopback in [
            "http://127.0.0.1:8080/",
            "http://127.8.9.10",
            "http://[::1]:9",
            "http://LOCALHOST:1",
        ] {
            assert!(normalise_base_url(loopback, false).is_ok(), "{loopback}");
        }
        for remote in [
            "http://example.invalid",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.example",
        ] {
            let e = normalise_base_url(remote, false).expect_err(remote);
            assert!(e.to_string().contains("unencrypted"), "{e}");
            assert!(normalise_base_url(remote, true).is_ok(), "{remote}");
        }
        for bad in [
            "",
            "api.mch.weixin.qq.com",
            "ftp://x",
            "https://x/v3",
            "https://x/?a=1",
            "https://u:p@x",
        ] {
            let err = normalise_base_url(bad, true).expect_err(bad);
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn user_agent_names_sdk_version_and_os() {
        let ua = default_user_agent();
        assert!(ua.starts_with(&format!("wechatpay-rs/{}", env!("CARGO_PKG_VERSION"))));
        assert!(ua.contains(std::env::consts::OS));
    }
}
