//! RSA keys loaded from PEM: the merchant's private key and WeChat Pay's public keys.
//!
//! Loading does all the parsing and checking once; signing and verifying afterwards never
//! touch PEM or DER again.

use std::fmt;
use std::sync::Arc;

use pkcs1::der::{Decode as _, Encode as _};
use pkcs1::{RsaPrivateKeyRef, RsaPublicKeyRef};

use crate::crypto::{self, Backend, RsaSigner, RsaVerifier};
use crate::{Error, KeyProblem};

/// The smallest RSA modulus WeChat Pay accepts.
const MIN_BITS: usize = 2048;

/// An RSA private key that signs with SHA256-RSA (PKCS#1 v1.5): the merchant's API key.
///
/// Its `Debug` output shows the size and backend only, never key material.
///
/// ```
/// use wechatpay_core::{PrivateKey, ErrorKind, KeyProblem};
/// let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/merchant_private_key.pem"))?;
/// let key = PrivateKey::from_pem(&pem)?;
/// assert_eq!(key.bits(), 2048);
/// assert!(!format!("{key:?}").contains("MII"));
///
/// let cert = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/platform_certificate.pem"))?;
/// let err = PrivateKey::from_pem(&cert).unwrap_err();
/// assert_eq!(err.key_problem(), Some(KeyProblem::Certificate));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PrivateKey {
    signer: Arc<dyn RsaSigner>,
    /// The public half as PKCS#1 `RSAPublicKey` DER.
    public: Arc<[u8]>,
    bits: usize,
    backend: Backend,
}

impl PrivateKey {
    /// Loads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM key with the
    /// default backend.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`], with a [`KeyProblem`] that says what the input was instead:
    /// a certificate, a public key, an encrypted key, a non-RSA key, a key under 2048 bits, or
    /// not PEM at all.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Self::from_pem_with(pem, Backend::default())
    }

    /// Like [`PrivateKey::from_pem`], with a chosen backend.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pem`].
    pub fn from_pem_with(pem: &str, backend: Backend) -> Result<Self, Error> {
        const CTX: &str = "cannot use the private key";
        if pem.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(Error::key(KeyProblem::Encrypted, CTX));
        }
        let (label, der) = decode_pem(pem, CTX)?;
        // Both forms come down to PKCS#1 `RSAPrivateKey` DER, which every backend loads.
        let pkcs1 = match label.as_str() {
            "PRIVATE KEY" => {
                let info = pkcs8::PrivateKeyInfoRef::from_der(&der)
                    .map_err(|_| Error::key(KeyProblem::Malformed, CTX))?;
                if info.algorithm.oid != pkcs1::ALGORITHM_OID {
                    return Err(Error::key(KeyProblem::NotRsa, CTX));
                }
                info.private_key.as_bytes().to_vec()
            }
            "RSA PRIVATE KEY" => der,
            other => return Err(Error::key(misplaced(other), CTX)),
        };
        let key = RsaPrivateKeyRef::from_der(&pkcs1)
            .map_err(|_| Error::key(KeyProblem::Malformed, CTX))?;
        let bits = check_size(modulus_bits(key.modulus.as_bytes()), CTX)?;
        let public = RsaPublicKeyRef {
            modulus: key.modulus,
            public_exponent: key.public_exponent,
        }
        .to_der()
        .map_err(|_| Error::key(KeyProblem::Malformed, CTX))?;
        let signer = crypto::signer(backend, &pkcs1)?;
        Ok(Self {
            signer: Arc::from(signer),
            public: Arc::from(public),
            bits,
            backend,
        })
    }

    /// Signs `message` with SHA256-RSA (PKCS#1 v1.5) and returns the raw signature.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`] if the backend fails (it does not for a key that loaded).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.signer.sign(message)
    }

    /// Signs `message` and returns the signature in standard base64, as WeChat Pay sends it.
    ///
    /// # Errors
    /// As [`PrivateKey::sign`].
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, Error> {
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::STANDARD.encode(self.sign(message)?))
    }

    /// The matching public key, on the same backend.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`] if the backend refuses the key (it does not for a key that
    /// loaded).
    pub fn public_key(&self) -> Result<PublicKey, Error> {
        PublicKey::from_pkcs1_der(&self.public, self.backend, "cannot use the public key")
    }

    /// The matching public key as SPKI PEM (`BEGIN PUBLIC KEY`), as WeChat Pay's merchant
    /// platform shows it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`] if it cannot be encoded (it can for a key that loaded).
    pub fn public_key_pem(&self) -> Result<String, Error> {
        spki_pem(&self.public)
    }

    /// Decrypts an RSAES-OAEP (SHA-1, MGF1-SHA-1) ciphertext, raw bytes: what WeChat Pay does
    /// with an encrypted request field (used by the mock server).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Decrypt`] with [`crate::DecryptProblem::Oaep`] when another key
    /// encrypted it or it was altered.
    pub fn decrypt_oaep(&self, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        self.signer.decrypt_oaep(ciphertext)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The backend that signs with this key.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// An RSA public key that verifies SHA256-RSA (PKCS#1 v1.5) signatures: the WeChat Pay public
/// key, a platform certificate's key, or (in the mock server) a merchant's key.
///
/// Cloning is cheap (the parsed key is shared).
///
/// ```
/// use wechatpay_core::PublicKey;
/// let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/wechatpay_public_key.pem"))?;
/// let key = PublicKey::from_pem(&pem)?;
/// assert!(!key.verify(b"message", &[0; 256]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PublicKey {
    verifier: Arc<dyn RsaVerifier>,
    /// PKCS#1 `RSAPublicKey` DER.
    der: Arc<[u8]>,
    bits: usize,
    backend: Backend,
}

impl PublicKey {
    /// Loads an SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM public key with
    /// the default backend.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`], with a [`KeyProblem`] saying what the input was instead.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Self::from_pem_with(pem, Backend::default())
    }

    /// Like [`PublicKey::from_pem`], with a chosen backend.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`].
    pub fn from_pem_with(pem: &str, backend: Backend) -> Result<Self, Error> {
        const CTX: &str = "cannot use the public key";
        let (label, der) = decode_pem(pem, CTX)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der, backend, CTX),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der, backend, CTX),
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                Err(Error::key(KeyProblem::PrivateKey, CTX))
            }
            "CERTIFICATE" => Err(Error::key(KeyProblem::Certificate, CTX)),
            other => Err(Error::key(misplaced(other), CTX)),
        }
    }

    /// An RSA public key from DER SubjectPublicKeyInfo, refusing other algorithms.
    pub(crate) fn from_spki_der(
        der: &[u8],
        backend: Backend,
        ctx: &'static str,
    ) -> Result<Self, Error> {
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| Error::key(KeyProblem::Malformed, ctx))?;
        if info.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(Error::key(KeyProblem::NotRsa, ctx));
        }
        let pkcs1 = info
            .subject_public_key
            .as_bytes()
            .ok_or(Error::key(KeyProblem::Malformed, ctx))?;
        Self::from_pkcs1_der(pkcs1, backend, ctx)
    }

    /// An RSA public key from PKCS#1 `RSAPublicKey` DER.
    fn from_pkcs1_der(der: &[u8], backend: Backend, ctx: &'static str) -> Result<Self, Error> {
        let key =
            RsaPublicKeyRef::from_der(der).map_err(|_| Error::key(KeyProblem::Malformed, ctx))?;
        let bits = check_size(modulus_bits(key.modulus.as_bytes()), ctx)?;
        let verifier = crypto::verifier(backend, der)?;
        Ok(Self {
            verifier: Arc::from(verifier),
            der: Arc::from(der),
            bits,
            backend,
        })
    }

    /// Whether `signature` (raw bytes) is a valid SHA256-RSA signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(message, signature)
    }

    /// Encrypts `plaintext` with RSAES-OAEP (SHA-1, MGF1-SHA-1), raw bytes: WeChat Pay's
    /// sensitive-field encryption ([`crate::encryption`] adds base64 and the serial). Random:
    /// never the same ciphertext twice.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] for a plaintext too long for the key (214 bytes for
    /// RSA-2048); [`crate::ErrorKind::Key`] if the backend fails.
    pub fn encrypt_oaep(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        self.verifier.encrypt_oaep(plaintext)
    }

    /// The key as SPKI PEM (`BEGIN PUBLIC KEY`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Key`] if it cannot be encoded (it can for a key that loaded).
    pub fn to_pem(&self) -> Result<String, Error> {
        spki_pem(&self.der)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The backend that verifies with this key.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// SPKI PEM (`BEGIN PUBLIC KEY`) of PKCS#1 `RSAPublicKey` DER.
fn spki_pem(pkcs1_der: &[u8]) -> Result<String, Error> {
    let bad = |_| Error::key(KeyProblem::Malformed, "cannot encode the public key");
    let spki = spki::SubjectPublicKeyInfoRef {
        algorithm: pkcs1::ALGORITHM_ID,
        subject_public_key: spki::der::asn1::BitStringRef::from_bytes(pkcs1_der).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)?;
    pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &spki)
        .map_err(|_| Error::key(KeyProblem::Malformed, "cannot encode the public key"))
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// The size in bits of a big-endian modulus.
fn modulus_bits(bytes: &[u8]) -> usize {
    let bytes = match bytes.iter().position(|&b| b != 0) {
        Some(start) => &bytes[start..],
        None => return 0,
    };
    bytes.len() * 8 - bytes.first().map_or(0, |b| b.leading_zeros() as usize)
}

/// The first PEM block of `input` (text around it, such as OpenSSL's "Bag Attributes", is
/// ignored): its label and DER contents.
pub(crate) fn decode_pem(input: &str, ctx: &'static str) -> Result<(String, Vec<u8>), Error> {
    const BEGIN: &str = "-----BEGIN ";
    let start = input
        .find(BEGIN)
        .ok_or(Error::key(KeyProblem::NotPem, ctx))?;
    let block = &input[start..];
    let label_end = block[BEGIN.len()..]
        .find("-----")
        .ok_or(Error::key(KeyProblem::NotPem, ctx))?;
    let label = &block[BEGIN.len()..BEGIN.len() + label_end];
    let end_marker = format!("-----END {label}-----");
    let end = block
        .find(&end_marker)
        .ok_or(Error::key(KeyProblem::NotPem, ctx))?;
    let block = &block[..end + end_marker.len()];
    let (label, der) = pem_rfc7468::decode_vec(block.trim().as_bytes())
        .map_err(|_| Error::key(KeyProblem::Malformed, ctx))?;
    Ok((label.to_owned(), der))
}

/// What a PEM label that is not the expected one says the input is.
fn misplaced(label: &str) -> KeyProblem {
    match label {
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => KeyProblem::Certificate,
        "PUBLIC KEY" | "RSA PUBLIC KEY" => KeyProblem::PublicKey,
        "ENCRYPTED PRIVATE KEY" => KeyProblem::Encrypted,
        "EC PRIVATE KEY" | "DSA PRIVATE KEY" => KeyProblem::NotRsa,
        _ => KeyProblem::UnexpectedLabel,
    }
}

fn check_size(bits: usize, ctx: &'static str) -> Result<usize, Error> {
    if bits < MIN_BITS {
        Err(Error::key(KeyProblem::TooSmall { bits }, ctx))
    } else {
        Ok(bits)
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

    fn problem(pem: &str) -> Option<KeyProblem> {
        let err = PrivateKey::from_pem(pem).expect_err("must be refused");
        assert_eq!(err.kind(), ErrorKind::Key);
        err.key_problem()
    }

    #[test]
    fn pkcs8_and_pkcs1_load_and_sign_identically() {
        for &backend in Backend::all() {
            let p8 = PrivateKey::from_pem_with(&testdata("merchant_private_key.pem"), backend)
                .expect("pkcs8");
            let p1 =
                PrivateKey::from_pem_with(&testdata("merchant_private_key_pkcs1.pem"), backend)
                    .expect("pkcs1");
            assert_eq!(p8.bits(), 2048);
            // PKCS#1 v1.5 signatures are deterministic: the same key gives the same bytes.
            assert_eq!(
                p8.sign(b"abc").expect("sign"),
                p1.sign(b"abc").expect("sign")
            );
            let public = PublicKey::from_pem_with(&testdata("merchant_public_key.pem"), backend)
                .expect("public");
            assert!(public.verify(b"abc", &p8.sign(b"abc").expect("sign")));
            assert!(!public.verify(b"abd", &p8.sign(b"abc").expect("sign")));
        }
    }

    #[test]
    fn wrong_files_say_what_they_are() {
        assert_eq!(
            problem(&testdata("platform_certificate.pem")),
            Some(KeyProblem::Certificate)
        );
        assert_eq!(
            problem(&testdata("merchant_public_key.pem")),
            Some(KeyProblem::PublicKey)
        );
        assert_eq!(problem("hello, I am not a key"), Some(KeyProblem::NotPem));
        assert_eq!(problem(""), Some(KeyProblem::NotPem));
        assert_eq!(
            problem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Some(KeyProblem::Malformed)
        );
        assert_eq!(
            problem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
            ),
            Some(KeyProblem::Encrypted)
        );
        let legacy_encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(problem(legacy_encrypted), Some(KeyProblem::Encrypted));
    }

    #[test]
    fn non_rsa_and_small_keys_are_refused() {
        // A P-256 key in PKCS#8 (`openssl genpkey -algorithm EC`).
        let ec = include_str!("../testdata/ec_p256_test_key.pem");
        assert_eq!(problem(ec), Some(KeyProblem::NotRsa));
        assert_eq!(
            problem("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"),
            Some(KeyProblem::NotRsa)
        );
        // A 1024-bit RSA key (`openssl genrsa 1024`).
        let small = include_str!("../testdata/rsa1024_test_key.pem");
        assert_eq!(problem(small), Some(KeyProblem::TooSmall { bits: 1024 }));
    }

    #[test]
    fn text_around_the_block_is_ignored() {
        let pem = format!(
            "Bag Attributes\n    localKeyID: 01\n{}",
            testdata("merchant_private_key.pem")
        );
        assert!(PrivateKey::from_pem(&pem).is_ok());
    }

    #[test]
    fn public_key_loader_refuses_private_keys_and_certificates() {
        let err = PublicKey::from_pem(&testdata("merchant_private_key.pem")).expect_err("refused");
        assert_eq!(err.key_problem(), Some(KeyProblem::PrivateKey));
        let err = PublicKey::from_pem(&testdata("platform_certificate.pem")).expect_err("refused");
        assert_eq!(err.key_problem(), Some(KeyProblem::Certificate));
    }

    #[test]
    fn the_public_half_round_trips_as_spki_pem() {
        for &backend in Backend::all() {
            let key = PrivateKey::from_pem_with(&testdata("merchant_private_key.pem"), backend)
                .expect("key");
            let pem = key.public_key_pem().expect("pem");
            assert_eq!(
                pem.trim(),
                testdata("merchant_public_key.pem").trim(),
                "{backend:?}"
            );
            let public = PublicKey::from_pem_with(&pem, backend).expect("loads");
            assert!(public.verify(b"abc", &key.sign(b"abc").expect("sign")));
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = PrivateKey::from_pem(&testdata("merchant_private_key.pem")).expect("key");
        let dbg = format!("{key:?}");
        assert_eq!(
            dbg,
            format!(
                "PrivateKey {{ bits: 2048, backend: {:?}, .. }}",
                Backend::default()
            )
        );
    }
}
