//! Platform-certificate mode: `GET /v3/certificates`, `AEAD_AES_256_GCM` decryption with the
//! APIv3 key, and a sans-IO keeper that says when to refresh.
//!
//! # How a download is trusted
//!
//! The answer to `GET /v3/certificates` must be signed like any other. If the key ring already
//! trusts the serial that signed it, that key verifies it. On first contact (or when WeChat Pay
//! rotated to a certificate not yet known) the answer is verified with the certificate it
//! carries whose serial is `Wechatpay-Serial`: that certificate is trusted because it came
//! encrypted and authenticated (AES-256-GCM) under the merchant's APIv3 key, which only the
//! merchant and WeChat Pay hold. This is what WeChat Pay's own SDKs do.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::error::DecryptProblem;
use crate::operation::Operation;
use crate::verify::{header, verify_signed};
use crate::{Client, Error, PlatformCertificate};

/// The path of the certificate download.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// The only algorithm WeChat Pay uses for encrypted resources.
pub const AEAD_AES_256_GCM: &str = "AEAD_AES_256_GCM";

/// The merchant's 32-byte APIv3 key. Its `Debug` shows nothing of it.
///
/// ```
/// use wechatpay_core::certificates::ApiV3Key;
/// let key = ApiV3Key::new("a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7")?;
/// assert_eq!(format!("{key:?}"), "ApiV3Key(<redacted>)");
/// assert!(ApiV3Key::new("too short").is_err());
/// # Ok::<(), wechatpay_core::Error>(())
/// ```
#[derive(Clone)]
pub struct ApiV3Key([u8; 32]);

impl ApiV3Key {
    /// The key as configured in the merchant platform (32 ASCII characters).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Decrypt`] with [`DecryptProblem::KeyLength`] when it is not 32 bytes.
    pub fn new(key: &str) -> Result<Self, Error> {
        let bytes: [u8; 32] = key
            .as_bytes()
            .try_into()
            .map_err(|_| Error::decrypt(DecryptProblem::KeyLength { len: key.len() }))?;
        Ok(Self(bytes))
    }

    fn cipher(&self) -> Result<Aes256Gcm, Error> {
        Aes256Gcm::new_from_slice(&self.0)
            .map_err(|_| Error::decrypt(DecryptProblem::KeyLength { len: self.0.len() }))
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

/// An encrypted resource as WeChat Pay sends it (`encrypt_certificate`, a notification's
/// `resource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// 12 ASCII characters, used as bytes.
    pub nonce: String,
    /// Associated data (`certificate` for certificates; may be empty).
    #[serde(default)]
    pub associated_data: String,
    /// Base64 of the encrypted bytes followed by the 16-byte tag.
    pub ciphertext: String,
}

impl EncryptedResource {
    /// Decrypts with the APIv3 key.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Decrypt`] with a [`DecryptProblem`]: wrong algorithm, bad nonce, bad
    /// base64, or a failed authentication (wrong key or altered data).
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<Vec<u8>, Error> {
        if self.algorithm != AEAD_AES_256_GCM {
            return Err(Error::decrypt(DecryptProblem::Algorithm));
        }
        let nonce: &Nonce<_> = self
            .nonce
            .as_bytes()
            .try_into()
            .map_err(|_| Error::decrypt(DecryptProblem::Nonce))?;
        let ciphertext = base64::engine::general_purpose::STANDARD
            .decode(&self.ciphertext)
            .map_err(|_| Error::decrypt(DecryptProblem::Base64))?;
        key.cipher()?
            .decrypt(
                nonce,
                Payload {
                    msg: &ciphertext,
                    aad: self.associated_data.as_bytes(),
                },
            )
            .map_err(|_| Error::decrypt(DecryptProblem::Tag))
    }

    /// Encrypts `plaintext` as WeChat Pay would (used by the mock server).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Decrypt`] with [`DecryptProblem::Nonce`] when `nonce` is not 12 bytes.
    pub fn encrypt(
        key: &ApiV3Key,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<Self, Error> {
        let n: &Nonce<_> = nonce
            .as_bytes()
            .try_into()
            .map_err(|_| Error::decrypt(DecryptProblem::Nonce))?;
        let sealed = key
            .cipher()?
            .encrypt(
                n,
                Payload {
                    msg: plaintext,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| Error::decrypt(DecryptProblem::Tag))?;
        Ok(Self {
            algorithm: AEAD_AES_256_GCM.to_owned(),
            nonce: nonce.to_owned(),
            associated_data: associated_data.to_owned(),
            ciphertext: base64::engine::general_purpose::STANDARD.encode(sealed),
        })
    }
}

/// One entry of the download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEntry {
    /// The certificate's serial (uppercase hex).
    pub serial_no: String,
    /// Start of validity, RFC 3339.
    pub effective_time: String,
    /// End of validity, RFC 3339.
    pub expire_time: String,
    /// The PEM certificate, encrypted.
    pub encrypt_certificate: EncryptedResource,
}

/// The body of `GET /v3/certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateList {
    /// The certificates WeChat Pay currently publishes.
    pub data: Vec<CertificateEntry>,
}

/// `GET /v3/certificates`: signed like an operation, but never one a caller can run (its answer
/// may be signed by a certificate only the answer carries). [`Client::prepare_certificates`]
/// signs it; calls download as steps of their own.
#[derive(Debug, Clone, Copy, Default)]
struct DownloadCertificates;

impl Operation for DownloadCertificates {
    type Output = CertificateList;

    fn method(&self) -> Method {
        Method::GET
    }

    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(CERTIFICATES_PATH.to_owned())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }
}

impl Client {
    /// Signs `GET /v3/certificates`; the returned [`CertificatesPending`] decrypts, verifies and
    /// parses the answer.
    ///
    /// # Errors
    /// As [`Client::prepare`].
    pub fn prepare_certificates(
        &self,
        key: &ApiV3Key,
    ) -> Result<(Request<Vec<u8>>, CertificatesPending), Error> {
        let (request, _unused) = self.prepare(&DownloadCertificates)?;
        Ok((
            request,
            CertificatesPending {
                client: self.clone(),
                key: key.clone(),
            },
        ))
    }
}

/// The answer still to come for a certificate download.
#[must_use = "the response must go through CertificatesPending::finish"]
pub struct CertificatesPending {
    client: Client,
    key: ApiV3Key,
}

impl fmt::Debug for CertificatesPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificatesPending")
            .finish_non_exhaustive()
    }
}

impl CertificatesPending {
    /// Decrypts every certificate, verifies the answer's signature (with an already trusted key,
    /// or with the carried certificate named by `Wechatpay-Serial`), and returns the
    /// certificates. Nothing is added to the key ring: that is the caller's (or the
    /// [`CertificateKeeper`]'s) decision.
    ///
    /// # Errors
    /// An API error (404 `RESOURCE_NOT_EXISTS` for a merchant in public-key mode), a
    /// verification error, [`crate::ErrorKind::Decrypt`], or
    /// [`crate::ErrorKind::InvalidResponse`].
    pub fn finish<B: AsRef<[u8]>>(
        self,
        response: Response<B>,
    ) -> Result<Vec<PlatformCertificate>, Error> {
        let (parts, body) = response.into_parts();
        let body = body.as_ref();
        let status = parts.status;
        let request_id = parts
            .headers
            .get(header::REQUEST_ID)
            .and_then(|v| v.to_str().ok());
        if !status.is_success() || status == StatusCode::ACCEPTED {
            return Err(Error::api(status, body, request_id));
        }
        let with_response = |e: Error| e.with_response(status, request_id);
        let list = DownloadCertificates::parse(body).map_err(with_response)?;
        let mut certificates = Vec::with_capacity(list.data.len());
        for entry in &list.data {
            let pem = entry
                .encrypt_certificate
                .decrypt(&self.key)
                .map_err(with_response)?;
            let pem = String::from_utf8(pem).map_err(|_| {
                with_response(Error::invalid_response(
                    "a decrypted certificate is not UTF-8 PEM",
                ))
            })?;
            let cert = PlatformCertificate::from_pem(&pem).map_err(with_response)?;
            if cert.serial() != entry.serial_no {
                return Err(with_response(Error::invalid_response(
                    "a decrypted certificate's serial differs from its serial_no",
                )));
            }
            certificates.push(cert);
        }
        let ring = self.client.keys().snapshot();
        for cert in &certificates {
            if ring.get(cert.serial()).is_none() {
                ring.add_platform_certificate(cert.clone());
            }
        }
        verify_signed(
            &ring,
            self.client.clock().now_unix(),
            self.client.max_skew_secs(),
            &parts.headers,
            body,
        )
        .map_err(with_response)?;
        Ok(certificates)
    }
}

/// Keeps a key ring's platform certificates fresh. Sans-IO: it decides when a download is due
/// and what to do with the answer; time is passed in. Give it to
/// [`crate::ClientBuilder::certificates`]: every [`crate::call::Call`] of that client then
/// downloads as a step of its own, and all clones of the client share the keeper.
///
/// - A download is due when none ever succeeded, or every `refresh_every` (default 12 hours).
/// - A download replaces the ring's platform certificates with those WeChat Pay publishes and
///   that are still valid (a certificate it stops publishing is no longer trusted); public keys
///   stay whatever happens.
/// - Downloads outside the schedule (an answer naming an unknown serial) and downloads after a
///   failed one happen at most once per `min_gap` (default 60 s): a forged serial or a
///   merchant that gets 404 from `/v3/certificates` cannot cause a flood.
/// - One download at a time; a call that has nothing to verify with waits for it, a call that
///   can verify with what is held does not.
///
/// ```
/// use wechatpay_core::certificates::{ApiV3Key, CertificateKeeper};
/// use wechatpay_core::KeyRing;
/// let mut keeper = CertificateKeeper::new(ApiV3Key::new("a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7")?);
/// assert!(keeper.refresh_due(1_800_000_000));
/// assert_eq!(keeper.accept(&KeyRing::new(), 1_800_000_000, Vec::new()), 0);
/// assert!(!keeper.refresh_due(1_800_000_001));
/// # Ok::<(), wechatpay_core::Error>(())
/// ```
#[derive(Debug)]
pub struct CertificateKeeper {
    key: ApiV3Key,
    refresh_every: i64,
    min_gap: i64,
    last_success: Option<i64>,
    last_failure: Option<(i64, Error)>,
    last_unscheduled: Option<i64>,
    in_flight: bool,
}

impl CertificateKeeper {
    /// A keeper with the default intervals.
    pub fn new(key: ApiV3Key) -> Self {
        Self {
            key,
            refresh_every: 12 * 3600,
            min_gap: 60,
            last_success: None,
            last_failure: None,
            last_unscheduled: None,
            in_flight: false,
        }
    }

    /// Sets the intervals: the regular refresh, and the least time between downloads outside
    /// the schedule (for an unknown serial, or after a failed download).
    #[must_use]
    pub fn with_intervals(mut self, refresh_every: Duration, min_gap: Duration) -> Self {
        self.refresh_every = i64::try_from(refresh_every.as_secs()).unwrap_or(i64::MAX);
        self.min_gap = i64::try_from(min_gap.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// The APIv3 key.
    pub fn key(&self) -> &ApiV3Key {
        &self.key
    }

    /// Whether the regular refresh is due at `now`.
    pub fn refresh_due(&self, now: i64) -> bool {
        self.last_success
            .is_none_or(|last| now.saturating_sub(last) >= self.refresh_every)
    }

    fn failed_recently(&self, now: i64) -> Option<&Error> {
        match &self.last_failure {
            Some((at, e)) if now.saturating_sub(*at) < self.min_gap => Some(e),
            _ => None,
        }
    }

    /// Takes a download made at `now` into `keys`: the platform certificates become those
    /// downloaded that are still valid. Returns how many the ring holds afterwards.
    pub fn accept(
        &mut self,
        keys: &crate::KeyRing,
        now: i64,
        certificates: Vec<PlatformCertificate>,
    ) -> usize {
        let held = keys.replace_platform_certificates(
            certificates
                .into_iter()
                .filter(|c| c.not_after().unix_timestamp() >= now),
        );
        self.last_success = Some(now);
        self.last_failure = None;
        held
    }

    /// Records a failed download at `now`: the next one waits `min_gap`.
    pub fn failed(&mut self, now: i64, error: &Error) {
        self.last_failure = Some((now, error.summary()));
    }
}

/// What a call does about certificates before it sends its operation.
pub(crate) enum Plan {
    /// Nothing to download now.
    Ready,
    /// Download first; `needed` when nothing held can verify an answer.
    Download { lease: Lease, needed: bool },
    /// Another call is downloading and nothing held can verify: wait for it.
    WaitForOther,
    /// Nothing held can verify and the last download failed moments ago.
    Unavailable(Error),
}

/// A client's shared keeper.
#[derive(Clone, Debug)]
pub(crate) struct Certificates(Arc<Mutex<CertificateKeeper>>);

impl Certificates {
    pub(crate) fn new(keeper: CertificateKeeper) -> Self {
        Self(Arc::new(Mutex::new(keeper)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CertificateKeeper> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lease(&self, keeper: &mut CertificateKeeper) -> Lease {
        keeper.in_flight = true;
        Lease(self.clone())
    }

    /// What to do before a call, at `now`, for a client holding `keys`.
    pub(crate) fn plan(&self, keys: &crate::KeyRing, now: i64) -> Plan {
        let needed = keys.is_empty();
        let mut k = self.lock();
        if k.in_flight {
            return if needed {
                Plan::WaitForOther
            } else {
                Plan::Ready
            };
        }
        if !k.refresh_due(now) {
            return Plan::Ready;
        }
        if let Some(e) = k.failed_recently(now) {
            return if needed {
                Plan::Unavailable(e.summary())
            } else {
                Plan::Ready
            };
        }
        Plan::Download {
            lease: self.lease(&mut k),
            needed,
        }
    }

    /// A download for an answer that named an unknown serial, unless one ran (or failed)
    /// within `min_gap` or one is under way.
    pub(crate) fn lease_for_unknown_serial(&self, now: i64) -> Option<Lease> {
        let mut k = self.lock();
        let recent = |t: Option<i64>| t.is_some_and(|t| now.saturating_sub(t) < k.min_gap);
        if k.in_flight || recent(k.last_unscheduled) || k.failed_recently(now).is_some() {
            return None;
        }
        k.last_unscheduled = Some(now);
        Some(self.lease(&mut k))
    }

    /// A download asked for by the application, whatever the schedule, unless one is under
    /// way.
    pub(crate) fn try_lease_now(&self) -> Option<Lease> {
        let mut k = self.lock();
        (!k.in_flight).then(|| self.lease(&mut k))
    }
}

/// The right to run the one download under way; dropping it (a cancelled download) frees it.
#[derive(Debug)]
pub(crate) struct Lease(Certificates);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.lock().in_flight = false;
    }
}

/// A certificate download, handed out by [`Client::refresh_certificates`] or, to run beside a
/// call, by [`crate::call::Next::Detach`]: send the request within its timeout, give the
/// outcome to [`RefreshPending::finish`] ([`crate::driver`] does both). It holds the client's
/// one download lease until finished or dropped.
#[derive(Debug)]
#[must_use = "send the request and finish the refresh"]
pub struct Refresh {
    request: Request<Vec<u8>>,
    timeout: Duration,
    pending: RefreshPending,
}

impl Refresh {
    pub(crate) fn new(client: &Client, lease: Lease, timeout: Duration) -> Result<Self, Error> {
        let key = lease.0.lock().key.clone();
        let (request, pending) = client.prepare_certificates(&key)?;
        Ok(Self {
            request,
            timeout,
            pending: RefreshPending {
                client: client.clone(),
                pending,
                lease,
            },
        })
    }

    /// The same download within another time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The request to send, exactly as signed, its time limit, and what takes its outcome.
    pub fn into_parts(self) -> (Request<Vec<u8>>, Duration, RefreshPending) {
        (self.request, self.timeout, self.pending)
    }
}

/// The outcome still to come for a [`Refresh`].
#[derive(Debug)]
#[must_use = "the outcome must go through RefreshPending::finish"]
pub struct RefreshPending {
    client: Client,
    pending: CertificatesPending,
    lease: Lease,
}

impl RefreshPending {
    /// Decrypts and verifies the download, and replaces the client's platform certificates
    /// with it; returns how many are trusted afterwards. A failure is recorded (the next
    /// download waits the keeper's `min_gap`) and returned.
    ///
    /// # Errors
    /// The transport's error, or [`CertificatesPending::finish`]'s.
    pub fn finish(self, outcome: Result<Response<Vec<u8>>, Error>) -> Result<usize, Error> {
        let now = self.client.clock().now_unix();
        let result = outcome.and_then(|r| self.pending.finish(r));
        let mut k = self.lease.0.lock();
        match result {
            Ok(certificates) => {
                let held = k.accept(self.client.keys(), now, certificates);
                tracing::info!(certificates = held, "platform certificates refreshed");
                Ok(held)
            }
            Err(e) => {
                k.failed(now, &e);
                tracing::warn!(error = %e, "platform certificate download failed");
                Err(e)
            }
        }
    }
}

impl Client {
    /// A certificate download now, whatever the schedule (for `certificates download` and
    /// tests), within `timeout`; calls download on their own when due. `None` while another
    /// download of this client is under way: there is one at a time, so wait and ask again
    /// ([`crate::driver::refresh_certificates`] does).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] when the client has no [`CertificateKeeper`]; as
    /// [`Client::prepare`].
    pub fn refresh_certificates(&self, timeout: Duration) -> Result<Option<Refresh>, Error> {
        let certificates = self.certificates().ok_or_else(|| {
            Error::config("not in certificate mode: give the client a CertificateKeeper")
        })?;
        certificates
            .try_lease_now()
            .map(|lease| Refresh::new(self, lease, timeout))
            .transpose()
    }
}
