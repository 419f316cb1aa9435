//! Sensitive request fields (e.g. a receiver's name): RSAES-OAEP with SHA-1 and MGF1-SHA-1
//! under WeChat Pay's key, then base64; the request's `Wechatpay-Serial` must name exactly the
//! key that encrypted.
//!
//! An [`Encryptor`] is one key and its serial. Each field it encrypts is a [`Sealed`] value
//! that remembers the serial, and an operation holding sealed fields names that serial in its
//! [`crate::Operation::serial`]: the header and the key cannot disagree. Encryption happens
//! once, when the operation value is built, so every attempt of a call carries the same
//! ciphertext.
//!
//! Which key: [`Encryptor::preferred`] takes the one the key ring names in requests — the
//! WeChat Pay public key when one is held, else the platform certificate that expires last —
//! and [`Encryptor::with_serial`] takes the one you name.
//!
//! ```
//! use wechatpay_core::KeyRing;
//! use wechatpay_core::encryption::Encryptor;
//!
//! let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/wechatpay_public_key.pem")).unwrap();
//! let keys = KeyRing::new()
//!     .with_wechatpay_public_key_pem("PUB_KEY_ID_0119000001002026112400000000000001", &pem)?;
//! let encryptor = Encryptor::preferred(&keys)?;
//! let name = encryptor.seal("示例商户全称有限公司")?;
//! assert_eq!(name.serial(), "PUB_KEY_ID_0119000001002026112400000000000001");
//! assert_eq!(name.ciphertext().len(), 344); // base64 of 256 bytes
//! assert_ne!(encryptor.seal("示例商户全称有限公司")?, name); // random every time
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

use std::fmt;

use base64::Engine as _;

use crate::{Error, KeyRing, PublicKey};

/// One of WeChat Pay's keys, to encrypt sensitive fields with, and its serial.
#[derive(Clone)]
pub struct Encryptor {
    serial: String,
    key: PublicKey,
}

impl Encryptor {
    /// The key `keys` names in requests' `Wechatpay-Serial`: the WeChat Pay public key when one
    /// is held, else the platform certificate that expires last.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] when the key ring is empty.
    pub fn preferred(keys: &KeyRing) -> Result<Self, Error> {
        let serial = keys.preferred_serial().ok_or_else(|| {
            Error::config("no WeChat Pay key to encrypt with: the key ring is empty")
        })?;
        Self::with_serial(keys, &serial)
    }

    /// The key with `serial` (a `PUB_KEY_ID_…` or a platform certificate serial).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] when the key ring holds no such key.
    pub fn with_serial(keys: &KeyRing, serial: &str) -> Result<Self, Error> {
        let key = keys.get(serial).ok_or_else(|| {
            Error::config(format!(
                "no WeChat Pay key with serial {serial:?} to encrypt with"
            ))
        })?;
        Ok(Self {
            serial: serial.to_owned(),
            key,
        })
    }

    /// The key's serial: what `Wechatpay-Serial` must name.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Encrypts `plaintext` (RSAES-OAEP, SHA-1, MGF1-SHA-1; standard base64).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] when it is too long for the key (214 bytes of UTF-8
    /// for RSA-2048).
    pub fn seal(&self, plaintext: &str) -> Result<Sealed, Error> {
        let raw = self.key.encrypt_oaep(plaintext.as_bytes())?;
        Ok(Sealed {
            ciphertext: base64::engine::general_purpose::STANDARD.encode(raw),
            serial: self.serial.clone(),
        })
    }
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// An encrypted field as it is sent (serialised as its base64 ciphertext), with the serial of
/// the key that encrypted it. It holds nothing of the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    ciphertext: String,
    serial: String,
}

impl Sealed {
    /// A field encrypted elsewhere: its base64 `ciphertext` and the `serial` of the key.
    pub fn new(ciphertext: impl Into<String>, serial: impl Into<String>) -> Self {
        Self {
            ciphertext: ciphertext.into(),
            serial: serial.into(),
        }
    }

    /// The base64 ciphertext.
    pub fn ciphertext(&self) -> &str {
        &self.ciphertext
    }

    /// The serial of the key that encrypted it.
    pub fn serial(&self) -> &str {
        &self.serial
    }
}

impl serde::Serialize for Sealed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.ciphertext)
    }
}

/// The one serial of an operation's sealed fields, for [`crate::Operation::serial`].
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming `field` when two fields were sealed with
/// different keys: one request can name only one.
pub fn one_serial<'a>(
    field: &'static str,
    sealed: impl IntoIterator<Item = &'a Sealed>,
) -> Result<Option<String>, Error> {
    let mut serial: Option<&str> = None;
    for s in sealed {
        match serial {
            Some(held) if held != s.serial() => {
                return Err(Error::invalid_input(
                    field,
                    "was encrypted with two different WeChat Pay keys: one request names only one (Wechatpay-Serial)",
                ));
            }
            _ => serial = Some(s.serial()),
        }
    }
    Ok(serial.map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> String {
        std::fs::read_to_string(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("testdata")
    }

    #[test]
    fn what_one_backend_seals_every_backend_opens() {
        let private = testdata("wechatpay_private_key.pem");
        for &enc in crate::Backend::all() {
            let keys = KeyRing::new();
            keys.add_wechatpay_public_key(
                "PUB_KEY_ID_0119000001002026112400000000000001",
                PublicKey::from_pem_with(&testdata("wechatpay_public_key.pem"), enc).expect("key"),
            )
            .expect("ring");
            let sealed = Encryptor::preferred(&keys)
                .expect("encryptor")
                .seal("张三")
                .expect("sealed");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(sealed.ciphertext())
                .expect("base64");
            for &dec in crate::Backend::all() {
                let key = crate::PrivateKey::from_pem_with(&private, dec).expect("private");
                assert_eq!(key.decrypt_oaep(&raw).expect("opens"), "张三".as_bytes());
            }
            // Another key cannot open it.
            let merchant =
                crate::PrivateKey::from_pem(&testdata("merchant_private_key.pem")).expect("key");
            assert_eq!(
                merchant.decrypt_oaep(&raw).expect_err("wrong key").kind(),
                crate::ErrorKind::Decrypt
            );
        }
    }

    #[test]
    fn too_long_a_plaintext_is_refused_not_truncated() {
        let keys = KeyRing::new()
            .with_wechatpay_public_key_pem(
                "PUB_KEY_ID_0119000001002026112400000000000001",
                &testdata("wechatpay_public_key.pem"),
            )
            .expect("ring");
        let encryptor = Encryptor::preferred(&keys).expect("encryptor");
        assert!(encryptor.seal(&"a".repeat(214)).is_ok());
        assert_eq!(
            encryptor
                .seal(&"a".repeat(215))
                .expect_err("too long")
                .kind(),
            crate::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn one_request_names_one_key() {
        let a = Sealed::new("x", "PUB_KEY_ID_01");
        let b = Sealed::new("y", "5157F09E");
        assert_eq!(
            one_serial("name", [&a, &a]).expect("same"),
            Some("PUB_KEY_ID_01".to_owned())
        );
        assert_eq!(one_serial("name", []).expect("none"), None);
        assert_eq!(
            one_serial("name", [&a, &b]).expect_err("two").field(),
            Some("name")
        );
    }
}
