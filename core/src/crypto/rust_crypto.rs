//! The `rsa` crate backend.

use rsa::Oaep;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::traits::PublicKeyParts as _;
use sha1::Sha1;
use sha2::Sha256;

use crate::{DecryptProblem, Error, ErrorKind, KeyProblem};

pub(crate) struct Signer {
    signing: SigningKey<Sha256>,
    key: rsa::PrivateKey,
}

impl Signer {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        rsa::PrivateKey::from_pkcs1_der(pkcs1)
            .map(|key| Self {
                signing: SigningKey::new(key.clone()),
                key,
            })
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
        self.signing
            .try_sign(message)
            .map(|s| s.to_vec())
            .map_err(|e| Error::of_kind(ErrorKind::Key, "RSA signing failed").with_source(e))
    }

    fn decrypt_oaep(&self, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        self.key
            .decrypt(Oaep::<Sha1>::new(), ciphertext)
            .map_err(|_| Error::decrypt(DecryptProblem::Oaep))
    }
}

pub(crate) struct Verifier {
    verifying: VerifyingKey<Sha256>,
    key: rsa::PublicKey,
}

impl Verifier {
    pub(crate) fn new(pkcs1: &[u8]) -> Result<Self, Error> {
        rsa::PublicKey::from_pkcs1_der(pkcs1)
            .map(|key| Self {
                verifying: VerifyingKey::new(key.clone()),
                key,
            })
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
            Ok(sig) => self.verifying.verify(message, &sig).is_ok(),
            Err(_) => false,
        }
    }

    fn encrypt_oaep(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        // OAEP with SHA-1 carries 2 * 20 + 2 bytes of overhead.
        if plaintext.len() + 42 > self.key.size() {
            return Err(Error::invalid_input(
                "plaintext",
                "is too long to encrypt with RSA-OAEP under this key",
            ));
        }
        self.key
            .encrypt(&mut getrandom::SysRng, Oaep::<Sha1>::new(), plaintext)
            .map_err(|e| {
                Error::of_kind(ErrorKind::Key, "RSA-OAEP encryption failed").with_source(e)
            })
    }
}
