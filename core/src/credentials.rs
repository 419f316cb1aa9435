//! Who the merchant is: merchant id, API certificate serial and private key.

use std::fmt;

use crate::{Error, PrivateKey};

/// The merchant's identity for signing: `mchid`, the serial of its API certificate, and its
/// private key (parsed once, here).
///
/// `Debug` shows the ids and key size, never the key.
///
/// ```
/// use wechatpay_core::MerchantCredentials;
/// let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/merchant_private_key.pem"))?;
/// let merchant = MerchantCredentials::from_pem("1900000100", "3775B6A45ACD588826D15E583A95F5DD00000001", &pem)?;
/// assert_eq!(merchant.mchid(), "1900000100");
/// assert!(MerchantCredentials::from_pem("19000abc", "3775B6", &pem).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MerchantCredentials {
    mchid: String,
    serial: String,
    key: PrivateKey,
}

impl MerchantCredentials {
    /// Credentials from an already loaded key.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] when `mchid` is not 1–32 digits or `serial` is not 1–64 hex
    /// digits.
    pub fn new(
        mchid: impl Into<String>,
        serial: impl Into<String>,
        key: PrivateKey,
    ) -> Result<Self, Error> {
        let mchid = mchid.into();
        let serial = serial.into();
        if mchid.is_empty() || mchid.len() > 32 || !mchid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::config(format!(
                "merchant id {mchid:?} must be 1 to 32 digits"
            )));
        }
        if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::config(format!(
                "merchant certificate serial {serial:?} must be 1 to 64 hex digits"
            )));
        }
        Ok(Self { mchid, serial, key })
    }

    /// Credentials from a PKCS#8 or PKCS#1 PEM private key.
    ///
    /// # Errors
    /// As [`MerchantCredentials::new`], and [`crate::ErrorKind::Key`] for an unusable key.
    pub fn from_pem(
        mchid: impl Into<String>,
        serial: impl Into<String>,
        private_key_pem: &str,
    ) -> Result<Self, Error> {
        Self::new(mchid, serial, PrivateKey::from_pem(private_key_pem)?)
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    /// The merchant API certificate serial.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }
}

impl fmt::Debug for MerchantCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantCredentials")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field("key", &self.key)
            .finish()
    }
}
