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

/// `GET /v3/certificates`. Prepare it with [`Client::prepare_certificates`], not
/// [`Client::prepare`]: its answer may be signed by a certificate only the answer carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownloadCertificates;

impl Operation for DownloadCertificates {
    type Output = CertificateList;
    const METHOD: Method = Method::GET;

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

/// Keeps a key ring's platform certificates fresh. Sans-IO: it says when a refresh is due and
/// what to do with the answer; time is passed in.
///
/// - A refresh is due when no certificate is held, when none was ever downloaded, or every
///   `refresh_every` (default 12 hours).
/// - Every downloaded certificate not yet expired is kept (rotation overlaps old and new);
///   expired ones are dropped.
/// - An answer naming an unknown serial asks for a refresh at most once per
///   `unknown_serial_gap` (default 60 s), so a forged serial cannot cause a flood.
///
/// ```
/// use wechatpay_core::certificates::{ApiV3Key, CertificateKeeper};
/// use wechatpay_core::KeyRing;
/// let mut keeper = CertificateKeeper::new(ApiV3Key::new("a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7")?);
/// let ring = KeyRing::new();
/// assert!(keeper.refresh_due(&ring, 1_800_000_000));
/// assert!(keeper.should_refresh_for_unknown_serial(1_800_000_000));
/// assert!(!keeper.should_refresh_for_unknown_serial(1_800_000_030));
/// # Ok::<(), wechatpay_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CertificateKeeper {
    key: ApiV3Key,
    refresh_every: i64,
    unknown_serial_gap: i64,
    last_refresh: Option<i64>,
    last_unknown_refresh: Option<i64>,
}

impl CertificateKeeper {
    /// A keeper with the default intervals.
    pub fn new(key: ApiV3Key) -> Self {
        Self {
            key,
            refresh_every: 12 * 3600,
            unknown_serial_gap: 60,
            last_refresh: None,
            last_unknown_refresh: None,
        }
    }

    /// Sets the intervals: regular refresh, and the least time between refreshes asked for by
    /// unknown serials.
    #[must_use]
    pub fn with_intervals(mut self, refresh_every: Duration, unknown_serial_gap: Duration) -> Self {
        self.refresh_every = i64::try_from(refresh_every.as_secs()).unwrap_or(i64::MAX);
        self.unknown_serial_gap = i64::try_from(unknown_serial_gap.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// The APIv3 key.
    pub fn key(&self) -> &ApiV3Key {
        &self.key
    }

    /// Whether `keys` must be refreshed before use (no certificate at all).
    pub fn refresh_required(&self, keys: &crate::KeyRing) -> bool {
        !keys.has_platform_certificate()
    }

    /// Whether a refresh is due at `now`.
    pub fn refresh_due(&self, keys: &crate::KeyRing, now: i64) -> bool {
        self.refresh_required(keys)
            || self
                .last_refresh
                .is_none_or(|last| now.saturating_sub(last) >= self.refresh_every)
    }

    /// Records that an answer named an unknown serial at `now`; whether to refresh for it.
    pub fn should_refresh_for_unknown_serial(&mut self, now: i64) -> bool {
        match self.last_unknown_refresh {
            Some(last) if now.saturating_sub(last) < self.unknown_serial_gap => false,
            _ => {
                self.last_unknown_refresh = Some(now);
                true
            }
        }
    }

    /// Signs the download request.
    ///
    /// # Errors
    /// As [`Client::prepare`].
    pub fn prepare(
        &self,
        client: &Client,
    ) -> Result<(Request<Vec<u8>>, CertificatesPending), Error> {
        client.prepare_certificates(&self.key)
    }

    /// Takes the outcome of a download made at `now`: on success, [`CertificateKeeper::accept`];
    /// on failure, [`CertificateKeeper::failed`] and the error back.
    ///
    /// # Errors
    /// The download's error, unchanged.
    pub fn finish(
        &mut self,
        keys: &crate::KeyRing,
        now: i64,
        outcome: Result<Vec<PlatformCertificate>, Error>,
    ) -> Result<usize, Error> {
        match outcome {
            Ok(certificates) => Ok(self.accept(keys, now, certificates)),
            Err(e) => {
                self.failed(now);
                Err(e)
            }
        }
    }

    /// Takes downloaded certificates into `keys`: adds those not expired at `now`, drops the
    /// expired ones already held. Returns how many certificates the ring holds afterwards.
    pub fn accept(
        &mut self,
        keys: &crate::KeyRing,
        now: i64,
        certificates: Vec<PlatformCertificate>,
    ) -> usize {
        for cert in certificates {
            if cert.not_after().unix_timestamp() >= now {
                keys.add_platform_certificate(cert);
            }
        }
        keys.remove_expired(now);
        self.last_refresh = Some(now);
        keys.platform_certificates().len()
    }

    /// Records a failed refresh, so that the next one waits for the regular interval only if a
    /// certificate is still held.
    pub fn failed(&mut self, now: i64) {
        if self.last_refresh.is_none() {
            // Never succeeded: let the next call try again.
            return;
        }
        self.last_refresh = Some(now.saturating_sub(self.refresh_every / 2));
    }
}
