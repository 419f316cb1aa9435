//! The `aws-lc-rs` backend.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};

use crate::{Error, ErrorKind, KeyProblem};

pub(crate) struct Signer {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl Signer {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        let pair = RsaKeyPair::from_der(pkcs1)
            .map_err(|_| Error::key(KeyProblem::Malformed, "aws-lc-rs refused the private key"))?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
        })
    }
}

impl super::RsaSigner for Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut out)
            .map_err(|e| Error::of_kind(ErrorKind::Key, "RSA signing failed").with_source(e))?;
        Ok(out)
    }
}

pub(crate) struct Verifier(ParsedPublicKey);

impl Verifier {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1)
            .map(Self)
            .map_err(|_| Error::key(KeyProblem::Malformed, "aws-lc-rs refused the public key"))
    }
}

impl super::RsaVerifier for Verifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }
}
