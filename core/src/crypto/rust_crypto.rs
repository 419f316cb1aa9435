//! The `rsa` crate backend.

use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use sha2::Sha256;

use crate::{Error, ErrorKind};

pub(crate) struct Signer(SigningKey<Sha256>);

impl Signer {
    pub(crate) fn new(key: rsa::PrivateKey) -> Self {
        Self(SigningKey::new(key))
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
    pub(crate) fn new(key: rsa::PublicKey) -> Self {
        Self(VerifyingKey::new(key))
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
