//! The `rsa` crate backend.

use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use sha2::Sha256;

use crate::{Error, ErrorKind, KeyProblem};

pub(crate) struct Signer(SigningKey<Sha256>);

impl Signer {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        rsa::PrivateKey::from_pkcs1_der(pkcs1)
            .map(|key| Self(SigningKey::new(key)))
            .map_err(|_| {
                Error::key(
                    KeyProblem::Malformed,
                    "the rsa crate refused the private key",
                )
            })
    }
}

impl super::RsaSigner for Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.0
            .try_sign(message)
            .map(|s| s.to_vec())
            .map_err(|e| Error::of_kind(ErrorKind::Key, "RSA signing failed").with_source(e))
    }
}

pub(crate) struct Verifier(VerifyingKey<Sha256>);

impl Verifier {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        rsa::PublicKey::from_pkcs1_der(pkcs1)
            .map(|key| Self(VerifyingKey::new(key)))
            .map_err(|_| {
                Error::key(
                    KeyProblem::Malformed,
                    "the rsa crate refused the public key",
                )
            })
    }
}

impl super::RsaVerifier for Verifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match Signature::try_from(signature) {
            Ok(sig) => self.0.verify(message, &sig).is_ok(),
            Err(_) => false,
        }
    }
}
