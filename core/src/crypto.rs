//! The small internal interface both RSA backends implement, and the choice between them.
//!
//! Everything above this module speaks [`crate::PrivateKey`] and [`crate::PublicKey`]; which
//! library does the RSA arithmetic is decided once, when a key is loaded.

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
mod rust_crypto;

use crate::Error;

/// Which library performs RSA signing and verification.
///
/// ```
/// use wechatpay_core::Backend;
/// assert_eq!(Backend::default(), Backend::RustCrypto);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The pure-Rust `rsa` crate, release 0.10 (constant-time; fixes the Marvin attack).
    #[default]
    RustCrypto,
    /// AWS-LC through `aws-lc-rs` (needs the `aws-lc-rs` cargo feature): several times faster.
    #[cfg(feature = "aws-lc-rs")]
    AwsLc,
}

impl Backend {
    /// Every backend compiled into this build.
    pub fn all() -> &'static [Self] {
        &[
            Self::RustCrypto,
            #[cfg(feature = "aws-lc-rs")]
            Self::AwsLc,
        ]
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-256, signing side.
pub(crate) trait RsaSigner: Send + Sync {
    /// Signs `message` (hashing it with SHA-256 first).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// RSASSA-PKCS1-v1_5 with SHA-256, verifying side.
pub(crate) trait RsaVerifier: Send + Sync {
    /// Whether `signature` is a valid signature of `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// Builds the signer of `backend` for a key already parsed and checked.
pub(crate) fn signer(backend: Backend, key: rsa::PrivateKey) -> Result<Box<dyn RsaSigner>, Error> {
    match backend {
        Backend::RustCrypto => Ok(Box::new(rust_crypto::Signer::new(key))),
        #[cfg(feature = "aws-lc-rs")]
        Backend::AwsLc => Ok(Box::new(aws_lc::Signer::new(&key)?)),
    }
}

/// Builds the verifier of `backend` for a public key already parsed and checked.
pub(crate) fn verifier(
    backend: Backend,
    key: rsa::PublicKey,
) -> Result<Box<dyn RsaVerifier>, Error> {
    match backend {
        Backend::RustCrypto => Ok(Box::new(rust_crypto::Verifier::new(key))),
        #[cfg(feature = "aws-lc-rs")]
        Backend::AwsLc => Ok(Box::new(aws_lc::Verifier::new(&key)?)),
    }
}
