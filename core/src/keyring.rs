//! The keys that may sign WeChat Pay's answers: the WeChat Pay public key (`PUB_KEY_ID_…`)
//! and/or platform certificates, picked by the `Wechatpay-Serial` header.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use time::OffsetDateTime;
use x509_cert::der::{Decode as _, Encode as _};

use crate::keys::decode_pem;
use crate::{Backend, Error, KeyProblem, PublicKey};

/// The prefix of a WeChat Pay public key id.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// A WeChat Pay platform certificate: its serial (uppercase hex), validity and RSA key.
///
/// ```
/// use wechatpay_core::PlatformCertificate;
/// let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/platform_certificate.pem"))?;
/// let cert = PlatformCertificate::from_pem(&pem)?;
/// assert_eq!(cert.serial(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
/// assert!(cert.not_before() < cert.not_after());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PlatformCertificate {
    serial: String,
    pem: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key: PublicKey,
}

impl PlatformCertificate {
    /// Parses a PEM X.509 certificate with the default backend.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`]: not PEM, not a certificate, malformed, or not an RSA key of at
    /// least 2048 bits.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Self::from_pem_with(pem, Backend::default())
    }

    /// Like [`PlatformCertificate::from_pem`], with a chosen backend.
    ///
    /// # Errors
    /// As [`PlatformCertificate::from_pem`].
    pub fn from_pem_with(pem: &str, backend: Backend) -> Result<Self, Error> {
        const CTX: &str = "cannot use the platform certificate";
        let (label, der) = decode_pem(pem, CTX)?;
        match label.as_str() {
            "CERTIFICATE" => {}
            "PUBLIC KEY" | "RSA PUBLIC KEY" => return Err(Error::key(KeyProblem::PublicKey, CTX)),
            l if l.contains("PRIVATE KEY") => return Err(Error::key(KeyProblem::PrivateKey, CTX)),
            _ => return Err(Error::key(KeyProblem::UnexpectedLabel, CTX)),
        }
        let cert = x509_cert::Certificate::from_der(&der)
            .map_err(|_| Error::key(KeyProblem::Malformed, CTX))?;
        let tbs = cert.tbs_certificate();
        let serial = serial_hex(tbs.serial_number().as_bytes());
        let time = |t: x509_cert::time::Time| {
            let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
            OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|_| Error::key(KeyProblem::Malformed, CTX))
        };
        let not_before = time(tbs.validity().not_before)?;
        let not_after = time(tbs.validity().not_after)?;
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|_| Error::key(KeyProblem::Malformed, CTX))?;
        let key = PublicKey::from_spki_der(&spki, backend, CTX)?;
        let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &der)
            .map_err(|_| Error::key(KeyProblem::Malformed, CTX))?;
        Ok(Self {
            serial,
            pem,
            not_before,
            not_after,
            key,
        })
    }

    /// The serial, as WeChat Pay writes it in `Wechatpay-Serial`: uppercase hex.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The certificate as PEM (re-encoded from its DER, so any text around the input block is
    /// gone).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Whether the certificate is valid at `unix_seconds`.
    pub fn is_valid_at(&self, unix_seconds: i64) -> bool {
        self.not_before.unix_timestamp() <= unix_seconds
            && unix_seconds <= self.not_after.unix_timestamp()
    }

    /// The certificate's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
}

impl fmt::Debug for PlatformCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformCertificate")
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// DER serial bytes as uppercase hex, without the sign-padding zero bytes DER adds.
fn serial_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

#[derive(Clone)]
enum Trusted {
    PublicKey { id: String, key: PublicKey },
    Certificate(PlatformCertificate),
}

impl Trusted {
    fn serial(&self) -> &str {
        match self {
            Self::PublicKey { id, .. } => id,
            Self::Certificate(c) => c.serial(),
        }
    }

    fn key(&self) -> &PublicKey {
        match self {
            Self::PublicKey { key, .. } => key,
            Self::Certificate(c) => c.public_key(),
        }
    }
}

/// The keys trusted to sign WeChat Pay's answers, by serial.
///
/// A merchant in public-key mode holds one `PUB_KEY_ID_…` key; in certificate mode, one or more
/// platform certificates (rotation overlaps them); while migrating, both.
///
/// `KeyRing` is a shared handle: clones see the same keys, so a certificate added later (by a
/// refresh) is seen by every client built with it.
///
/// ```
/// use wechatpay_core::KeyRing;
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
/// let keys = KeyRing::new()
///     .with_wechatpay_public_key_pem(
///         "PUB_KEY_ID_0119000001002026112400000000000001",
///         &std::fs::read_to_string(format!("{dir}/wechatpay_public_key.pem"))?,
///     )?
///     .with_platform_certificate_pem(&std::fs::read_to_string(format!("{dir}/platform_certificate.pem"))?)?;
/// assert!(keys.get("5157F09EFDC096DE15EBE81A47057A7232F1B8E1").is_some());
/// assert!(keys.get("PUB_KEY_ID_0119000001002026112400000000000099").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: Arc<RwLock<Vec<Trusted>>>,
}

impl KeyRing {
    /// An empty key ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the WeChat Pay public key `id` (`PUB_KEY_ID_` followed by digits), replacing any
    /// key with the same id.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] when `id` is not a public key id.
    pub fn add_wechatpay_public_key(&self, id: &str, key: PublicKey) -> Result<(), Error> {
        let digits = id.strip_prefix(PUBLIC_KEY_ID_PREFIX).unwrap_or("");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::config(format!(
                "{id:?} is not a WeChat Pay public key id (PUB_KEY_ID_ followed by digits)"
            )));
        }
        self.insert(Trusted::PublicKey {
            id: id.to_owned(),
            key,
        });
        Ok(())
    }

    /// Adds a platform certificate, replacing any with the same serial.
    pub fn add_platform_certificate(&self, certificate: PlatformCertificate) {
        self.insert(Trusted::Certificate(certificate));
    }

    /// Builder form of [`KeyRing::add_wechatpay_public_key`], from an SPKI PEM.
    ///
    /// # Errors
    /// A bad id ([`crate::ErrorKind::Config`]) or an unusable key ([`crate::ErrorKind::Key`]).
    pub fn with_wechatpay_public_key_pem(self, id: &str, pem: &str) -> Result<Self, Error> {
        self.add_wechatpay_public_key(id, PublicKey::from_pem(pem)?)?;
        Ok(self)
    }

    /// Builder form of [`KeyRing::add_platform_certificate`], from a PEM certificate.
    ///
    /// # Errors
    /// An unusable certificate ([`crate::ErrorKind::Key`]).
    pub fn with_platform_certificate_pem(self, pem: &str) -> Result<Self, Error> {
        self.add_platform_certificate(PlatformCertificate::from_pem(pem)?);
        Ok(self)
    }

    fn insert(&self, t: Trusted) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|k| k.serial() != t.serial());
        keys.push(t);
    }

    /// An independent copy: the same keys, but additions to one do not show in the other.
    pub fn snapshot(&self) -> Self {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        Self {
            keys: Arc::new(RwLock::new(keys.clone())),
        }
    }

    /// Whether a platform certificate is held.
    pub fn has_platform_certificate(&self) -> bool {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter().any(|k| matches!(k, Trusted::Certificate(_)))
    }

    /// The platform certificates held.
    pub fn platform_certificates(&self) -> Vec<PlatformCertificate> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .filter_map(|k| match k {
                Trusted::Certificate(c) => Some(c.clone()),
                Trusted::PublicKey { .. } => None,
            })
            .collect()
    }

    /// The key with this serial, if trusted. Certificate serials are hex: case does not matter.
    pub fn get(&self, serial: &str) -> Option<PublicKey> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .find(|k| k.serial().eq_ignore_ascii_case(serial))
            .map(|k| k.key().clone())
    }

    /// Removes the key with this serial; whether there was one.
    pub fn remove(&self, serial: &str) -> bool {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let before = keys.len();
        keys.retain(|k| k.serial() != serial);
        keys.len() != before
    }

    /// Replaces every platform certificate with `certificates`; public keys stay. Returns how
    /// many platform certificates are held afterwards.
    pub fn replace_platform_certificates(
        &self,
        certificates: impl IntoIterator<Item = PlatformCertificate>,
    ) -> usize {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|k| matches!(k, Trusted::PublicKey { .. }));
        let before = keys.len();
        for c in certificates {
            keys.retain(|k| !k.serial().eq_ignore_ascii_case(c.serial()));
            keys.push(Trusted::Certificate(c));
        }
        keys.len() - before
    }

    /// Drops platform certificates that expired before `unix_seconds`; public keys stay.
    pub fn remove_expired(&self, unix_seconds: i64) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|k| match k {
            Trusted::PublicKey { .. } => true,
            Trusted::Certificate(c) => c.not_after().unix_timestamp() >= unix_seconds,
        });
    }

    /// The serials held, in the order they were added.
    pub fn serials(&self) -> Vec<String> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter().map(|k| k.serial().to_owned()).collect()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// The serial a client names in its `Wechatpay-Serial` request header: the public key id if
    /// there is one, else the certificate that expires last.
    pub fn preferred_serial(&self) -> Option<String> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .find(|k| matches!(k, Trusted::PublicKey { .. }))
            .or_else(|| {
                keys.iter().max_by_key(|k| match k {
                    Trusted::Certificate(c) => c.not_after(),
                    Trusted::PublicKey { .. } => OffsetDateTime::UNIX_EPOCH,
                })
            })
            .map(|k| k.serial().to_owned())
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("serials", &self.serials())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn testdata(name: &str) -> String {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn certificate_fields_match_openssl() {
        // `openssl x509 -noout -serial -dates` on the same file.
        let c = PlatformCertificate::from_pem(&testdata("platform_certificate.pem")).expect("cert");
        assert_eq!(c.serial(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
        assert_eq!(c.not_before().unix_timestamp(), 1_795_549_476); // 2026-11-24T19:44:36Z
        assert_eq!(c.not_after().unix_timestamp(), 2_110_909_476); // 2036-11-21T19:44:36Z
        assert!(c.is_valid_at(1_800_000_000));
        assert!(!c.is_valid_at(1_700_000_000));
    }

    #[test]
    fn serial_hex_strips_der_sign_padding() {
        assert_eq!(serial_hex(&[0x00, 0x9F, 0x01]), "9F01");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn public_key_id_is_checked() {
        let ring = KeyRing::new();
        let key = PublicKey::from_pem(&testdata("wechatpay_public_key.pem")).expect("key");
        let err = ring
            .add_wechatpay_public_key("5157F09E", key.clone())
            .expect_err("bad id");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(ring.add_wechatpay_public_key("PUB_KEY_ID_", key).is_err());
        assert!(ring.is_empty());
    }

    #[test]
    fn both_modes_and_preferred_serial() {
        let ring = KeyRing::new()
            .with_platform_certificate_pem(&testdata("platform_certificate.pem"))
            .expect("cert");
        assert_eq!(
            ring.preferred_serial().as_deref(),
            Some("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        );
        let ring = ring
            .with_wechatpay_public_key_pem(
                "PUB_KEY_ID_0119000001002026112400000000000001",
                &testdata("wechatpay_public_key.pem"),
            )
            .expect("pubkey");
        assert_eq!(
            ring.preferred_serial().as_deref(),
            Some("PUB_KEY_ID_0119000001002026112400000000000001")
        );
        assert_eq!(ring.serials().len(), 2);
        ring.remove_expired(2_200_000_000);
        assert_eq!(
            ring.serials(),
            ["PUB_KEY_ID_0119000001002026112400000000000001"]
        );
    }

    #[test]
    fn certificate_loader_refuses_keys() {
        let err =
            PlatformCertificate::from_pem(&testdata("wechatpay_public_key.pem")).expect_err("no");
        assert_eq!(err.key_problem(), Some(KeyProblem::PublicKey));
        let err =
            PlatformCertificate::from_pem(&testdata("platform_private_key.pem")).expect_err("no");
        assert_eq!(err.key_problem(), Some(KeyProblem::PrivateKey));
    }
}
