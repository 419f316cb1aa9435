//! The `aws-lc-rs` backend.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};

use crate::{DecryptProblem, Error, ErrorKind, KeyProblem};

pub(crate) struct Signer {
    pair: RsaKeyPair,
    oaep: OaepPrivateDecryptingKey,
    rng: SystemRandom,
}

impl Signer {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        let refused = || Error::key(KeyProblem::Malformed, "aws-lc-rs refused the private key");
        let pair = RsaKeyPair::from_der(pkcs1).map_err(|_| refused())?;
        let pkcs8 = super::pkcs8_of(pkcs1)?;
        let oaep = PrivateDecryptingKey::from_pkcs8(&pkcs8)
            .ok()
            .and_then(|key| OaepPrivateDecryptingKey::new(key).ok())
            .ok_or_else(refused)?;
        Ok(Self {
            pair,
            oaep,
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

    fn decrypt_oaep(&self, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; self.oaep.min_output_size()];
        self.oaep
            .decrypt(&OAEP_SHA1_MGF1SHA1, ciphertext, &mut out, None)
            .map(|plain| plain.to_vec())
            .map_err(|_| Error::decrypt(DecryptProblem::Oaep))
    }
}

pub(crate) struct Verifier {
    key: ParsedPublicKey,
    oaep: OaepPublicEncryptingKey,
}

impl Verifier {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        let refused = || Error::key(KeyProblem::Malformed, "aws-lc-rs refused the public key");
        let key =
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1).map_err(|_| refused())?;
        let spki = super::spki_of(pkcs1)?;
        let oaep = PublicEncryptingKey::from_der(&spki)
            .ok()
            .and_then(|key| OaepPublicEncryptingKey::new(key).ok())
            .ok_or_else(refused)?;
        Ok(Self { key, oaep })
    }
}

impl super::RsaVerifier for Verifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }

    fn encrypt_oaep(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        if plaintext.len() > self.oaep.max_plaintext_size(&OAEP_SHA1_MGF1SHA1) {
            return Err(Error::invalid_input(
                "plaintext",
                "is too long to encrypt with RSA-OAEP under this key",
            ));
        }
        let mut out = vec![0; self.oaep.ciphertext_size()];
        self.oaep
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
            .map(|c| c.to_vec())
            .map_err(|e| {
                Error::of_kind(ErrorKind::Key, "RSA-OAEP encryption failed").with_source(e)
            })
    }
}
