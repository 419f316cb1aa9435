//! Profit-sharing receivers (分账接收方): `POST /v3/ecommerce/profitsharing/receivers/add` and
//! `…/receivers/delete`. A receiver must be added before a split names it.
//!
//! The receiver's name is a sensitive field: it is encrypted with WeChat Pay's key when the
//! operation is built ([`AddReceiver::name`]), and the request names that key's serial. Both
//! operations are safe to send again with the same body ([`Repeat::Resend`]): adding a receiver
//! that exists, or deleting one that does not, changes nothing.
//!
//! ```
//! use wechatpay_core::{KeyRing, Operation, encryption::Encryptor};
//! use wechatpay_core::receivers::{AddReceiver, ReceiverType, RelationType};
//!
//! let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/wechatpay_public_key.pem")).unwrap();
//! let keys = KeyRing::new()
//!     .with_wechatpay_public_key_pem("PUB_KEY_ID_0119000001002026112400000000000001", &pem)?;
//! let add = AddReceiver::new("wx8888888888888888", ReceiverType::MerchantId, "1900000110",
//!         RelationType::Supplier)
//!     .name(&Encryptor::preferred(&keys)?, "示例商户全称有限公司")?;
//! assert_eq!(add.serial()?.as_deref(), Some("PUB_KEY_ID_0119000001002026112400000000000001"));
//! let body: serde_json::Value = serde_json::from_slice(&add.body()?).unwrap();
//! assert_eq!(body["relation_type"], "SUPPLIER");
//! assert!(body["encrypted_name"].as_str().is_some_and(|c| c.len() == 344));
//! assert_eq!(add.body()?, add.body()?); // sealed once: every attempt sends the same bytes
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

use http::Method;
use serde::{Deserialize, Serialize};

use crate::encryption::{Encryptor, Sealed, one_serial};
use crate::operation::{Check, Operation, Repeat};
use crate::{Error, validate, wire_enum};

/// `POST` here adds a receiver.
pub const ADD_PATH: &str = "/v3/ecommerce/profitsharing/receivers/add";
/// `POST` here deletes a receiver.
pub const DELETE_PATH: &str = "/v3/ecommerce/profitsharing/receivers/delete";

/// The longest `appid` and `account` WeChat Pay takes.
pub const MAX_ACCOUNT_LEN: usize = 64;
/// The longest receiver name (before encryption) that fits one RSA-2048 OAEP block.
pub const MAX_NAME_LEN: usize = 214;

wire_enum! {
    /// What kind of account receives (`type`).
    ///
    /// ```
    /// use wechatpay_core::receivers::ReceiverType;
    /// assert_eq!(ReceiverType::from("PERSONAL_OPENID"), ReceiverType::PersonalOpenid);
    /// ```
    ReceiverType {
        /// A merchant id (`account` is the mchid).
        MerchantId = "MERCHANT_ID",
        /// A person, by openid under `appid`.
        PersonalOpenid = "PERSONAL_OPENID",
    }
}

wire_enum! {
    /// How the receiver relates to the merchant (`relation_type`).
    ///
    /// ```
    /// use wechatpay_core::receivers::RelationType;
    /// assert_eq!(RelationType::from("SERVICE_PROVIDER"), RelationType::ServiceProvider);
    /// assert!(!RelationType::from("NEW_RELATION").is_known());
    /// ```
    RelationType {
        /// A supplier.
        Supplier = "SUPPLIER",
        /// A distributor.
        Distributor = "DISTRIBUTOR",
        /// The service provider.
        ServiceProvider = "SERVICE_PROVIDER",
        /// The platform.
        Platform = "PLATFORM",
        /// Any other relation.
        Others = "OTHERS",
    }
}

/// `POST /v3/ecommerce/profitsharing/receivers/add`: adds a receiver (its name encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddReceiver {
    /// The app id the receiver belongs to.
    pub appid: String,
    /// The receiver's account kind.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// The mchid or openid.
    pub account: String,
    /// The receiver's name, encrypted (see [`AddReceiver::name`]).
    #[serde(rename = "encrypted_name", skip_serializing_if = "Option::is_none")]
    pub name: Option<Sealed>,
    /// How the receiver relates to the merchant.
    pub relation_type: RelationType,
}

impl AddReceiver {
    /// A receiver without a name (WeChat Pay requires one for `MERCHANT_ID`: add it with
    /// [`AddReceiver::name`]).
    pub fn new(
        appid: impl Into<String>,
        receiver_type: ReceiverType,
        account: impl Into<String>,
        relation_type: RelationType,
    ) -> Self {
        Self {
            appid: appid.into(),
            receiver_type,
            account: account.into(),
            name: None,
            relation_type,
        }
    }

    /// Encrypts the receiver's `name` (the merchant's full name, or the person's real name)
    /// with `encryptor` now, once: the request then names the encryptor's serial.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] naming `name` when it is empty, not text WeChat Pay
    /// takes, or too long to encrypt.
    pub fn name(mut self, encryptor: &Encryptor, name: &str) -> Result<Self, Error> {
        validate::text("name", name, MAX_NAME_LEN)?;
        self.name = Some(encryptor.seal(name).map_err(|e| {
            if e.kind() == crate::ErrorKind::InvalidInput {
                Error::invalid_input("name", "is too long to encrypt")
            } else {
                e
            }
        })?);
        Ok(self)
    }

    /// The same receiver, for [`DeleteReceiver`].
    pub fn delete(&self) -> DeleteReceiver {
        DeleteReceiver::new(
            self.appid.clone(),
            self.receiver_type.clone(),
            self.account.clone(),
        )
    }
}

fn validate_receiver(
    appid: &str,
    receiver_type: &ReceiverType,
    account: &str,
) -> Result<(), Error> {
    validate::text("appid", appid, MAX_ACCOUNT_LEN)?;
    validate::enum_value("type", receiver_type.as_str(), receiver_type.is_known())?;
    validate::text("account", account, MAX_ACCOUNT_LEN)
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid_input("body", "cannot be serialised").with_source(e))
}

impl Operation for AddReceiver {
    type Output = Receiver;

    fn method(&self) -> Method {
        Method::POST
    }

    fn validate(&self) -> Result<(), Error> {
        validate_receiver(&self.appid, &self.receiver_type, &self.account)?;
        validate::enum_value(
            "relation_type",
            self.relation_type.as_str(),
            self.relation_type.is_known(),
        )?;
        if self.receiver_type == ReceiverType::MerchantId && self.name.is_none() {
            return Err(Error::invalid_input(
                "name",
                "is required for a MERCHANT_ID receiver (encrypt it with AddReceiver::name)",
            ));
        }
        Ok(())
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(ADD_PATH.to_owned())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        json(self)
    }

    fn serial(&self) -> Result<Option<String>, Error> {
        one_serial("name", self.name.as_ref())
    }

    /// Adding the same receiver again changes nothing: sent again after an unknown fate.
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        Repeat::Resend
    }
}

/// `POST /v3/ecommerce/profitsharing/receivers/delete`: removes a receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeleteReceiver {
    /// The app id the receiver belongs to.
    pub appid: String,
    /// The receiver's account kind.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// The mchid or openid.
    pub account: String,
}

impl DeleteReceiver {
    /// The receiver to delete.
    pub fn new(
        appid: impl Into<String>,
        receiver_type: ReceiverType,
        account: impl Into<String>,
    ) -> Self {
        Self {
            appid: appid.into(),
            receiver_type,
            account: account.into(),
        }
    }
}

impl Operation for DeleteReceiver {
    type Output = Receiver;

    fn method(&self) -> Method {
        Method::POST
    }

    fn validate(&self) -> Result<(), Error> {
        validate_receiver(&self.appid, &self.receiver_type, &self.account)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(DELETE_PATH.to_owned())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        json(self)
    }

    /// Deleting a receiver again changes nothing: sent again after an unknown fate.
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        Repeat::Resend
    }
}

/// WeChat Pay's answer to [`AddReceiver`] and [`DeleteReceiver`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiver {
    /// The receiver's account kind.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// The mchid or openid.
    pub account: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add() -> AddReceiver {
        AddReceiver::new(
            "wx8888888888888888",
            ReceiverType::MerchantId,
            "1900000110",
            RelationType::Distributor,
        )
    }

    #[test]
    fn a_merchant_receiver_needs_a_name_and_fields_are_named() {
        assert_eq!(add().validate().expect_err("no name").field(), Some("name"));
        let mut bad = add();
        bad.account = String::new();
        assert_eq!(bad.validate().expect_err("empty").field(), Some("account"));
        let mut bad = add();
        bad.relation_type = RelationType::from("lower case");
        assert_eq!(
            bad.validate().expect_err("form").field(),
            Some("relation_type")
        );
        let person = AddReceiver::new(
            "wx8888888888888888",
            ReceiverType::PersonalOpenid,
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            RelationType::Others,
        );
        assert!(person.validate().is_ok());
        assert_eq!(person.serial().expect("serial"), None);
    }

    #[test]
    fn the_delete_body_and_the_answer() {
        let delete = add().delete();
        assert_eq!(
            delete.body().expect("body"),
            br#"{"appid":"wx8888888888888888","type":"MERCHANT_ID","account":"1900000110"}"#
        );
        let answer: Receiver =
            serde_json::from_str(r#"{"type":"NEW_KIND","account":"x","extra":1}"#).expect("json");
        assert_eq!(answer.receiver_type, ReceiverType::Other("NEW_KIND".into()));
    }
}
