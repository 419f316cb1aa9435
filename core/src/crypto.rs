//! The small internal interface both RSA backends implement, and the choice between them.
//!
//! Everything above this module speaks [`crate::PrivateKey`] and [`crate::PublicKey`]; which
//! library does the RSA arithmetic is decided once, when a key is loaded.

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
#[cfg(feature = "rust-crypto")]
mod rust_crypto;

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "wechatpay-core needs an RSA backend: enable the `aws-lc-rs` (default) or the `rust-crypto` feature"
);

use crate::Error;

/// Which library performs RSA signing and verification.
///
/// ```
/// use wechatpay_core::Backend;
/// # #[cfg(feature = "aws-lc-rs")]
/// assert_eq!(Backend::default(), Backend::AwsLc);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// AWS-LC through `aws-lc-rs` (feature `aws-lc-rs`, on by default): as fast as OpenSSL,
    /// FIPS-validated upstream, clean in `cargo audit`. Builds C code.
    #[cfg(feature = "aws-lc-rs")]
    AwsLc,
    /// The pure-Rust `rsa` crate, release 0.10 (feature `rust-crypto`): for targets where C
    /// cannot build. About 7× slower to sign, and flagged by audit tools (RUSTSEC-2023-0071,
    /// the Marvin timing attack, lists no patched release).
    #[cfg(feature = "rust-crypto")]
    RustCrypto,
}

impl Default for Backend {
    /// aws-lc-rs when compiled in, else the pure-Rust backend.
    fn default() -> Self {
        Self::all()[0]
    }
}

impl Backend {
    /// Every backend compiled into this build, the default first.
    pub fn all() -> &'static [Self] {
        &[
            #[cfg(feature = "aws-lc-rs")]
            Self::AwsLc,
            #[cfg(feature = "rust-crypto")]
            Self::RustCrypto,
        ]
    }
}

/// The private side: RSASSA-PKCS1-v1_5 with SHA-256 signing, RSAES-OAEP (SHA-1, MGF1-SHA-1)
/// decryption.
pub(crate) trait RsaSigner: Send + Sync {
    /// Signs `message` (hashing it with SHA-256 first).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;

    /// Decrypts an RSAES-OAEP (SHA-1, MGF1-SHA-1) ciphertext.
    fn decrypt_oaep(&self, ciphertext: &[u8]) -> Result<Vec<u8>, Error>;
}

/// The public side: RSASSA-PKCS1-v1_5 with SHA-256 verification, RSAES-OAEP (SHA-1,
/// MGF1-SHA-1) encryption.
pub(crate) trait RsaVerifier: Send + Sync {
    /// Whether `signature` is a valid signature of `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;

    /// Encrypts `plaintext` with RSAES-OAEP (SHA-1, MGF1-SHA-1): random, so never twice the
    /// same.
    fn encrypt_oaep(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Builds the signer of `backend` from PKCS#1 `RSAPrivateKey` DER already parsed and checked.
pub(crate) fn signer(backend: Backend, pkcs1: &[u8]) -> Result<Box<dyn RsaSigner>, Error> {
    match backend {
        #[cfg(feature = "aws-lc-rs")]
        Backend::AwsLc => Ok(Box::new(aws_lc::Signer::new(pkcs1)?)),
        #[cfg(feature = "rust-crypto")]
        Backend::RustCrypto => Ok(Box::new(rust_crypto::Signer::new(pkcs1)?)),
    }
}

/// Builds the verifier of `backend` from PKCS#1 `RSAPublicKey` DER already parsed and checked.
pub(crate) fn verifier(backend: Backend, pkcs1: &[u8]) -> Result<Box<dyn RsaVerifier>, Error> {
    match backend {
        #[cfg(feature = "aws-lc-rs")]
        Backend::AwsLc => Ok(Box::new(aws_lc::Verifier::new(pkcs1)?)),
        #[cfg(feature = "rust-crypto")]
        Backend::RustCrypto => Ok(Box::new(rust_crypto::Verifier::new(pkcs1)?)),
    }
}

/// X.509 `SubjectPublicKeyInfo` DER around PKCS#1 `RSAPublicKey` DER.
#[cfg(feature = "aws-lc-rs")]
fn spki_of(pkcs1: &[u8]) -> Result<Vec<u8>, Error> {
    use spki::der::Encode as _;
    let bad = |_| Error::key(crate::KeyProblem::Malformed, "cannot encode the public key");
    spki::SubjectPublicKeyInfoRef {
        algorithm: pkcs1::ALGORITHM_ID,
        subject_public_key: spki::der::asn1::BitStringRef::from_bytes(pkcs1).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

/// PKCS#8 `PrivateKeyInfo` DER around PKCS#1 `RSAPrivateKey` DER.
#[cfg(feature = "aws-lc-rs")]
fn pkcs8_of(pkcs1: &[u8]) -> Result<Vec<u8>, Error> {
    use pkcs8::der::Encode as _;
    let bad = |_| {
        Error::key(
            crate::KeyProblem::Malformed,
            "cannot encode the private key",
        )
    };
    let key = pkcs8::der::asn1::OctetStringRef::new(pkcs1).map_err(bad)?;
    pkcs8::PrivateKeyInfoRef::new(pkcs1::ALGORITHM_ID, key)
        .to_der()
        .map_err(bad)
}
