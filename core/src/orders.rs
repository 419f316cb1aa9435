//! Profit-sharing orders (分账): split a paid order's funds to receivers
//! (`POST /v3/ecommerce/profitsharing/orders`), query a split (`GET …/orders`), finish the
//! order (`POST …/finish-order`), and ask what is left to split
//! (`GET …/orders/{transaction_id}/amounts`).
//!
//! Each POST has a check: a split of unknown fate is queried by its `out_order_no`, and the
//! record must carry the same receivers with the same amounts (otherwise
//! [`crate::ErrorKind::Conflict`], never success); a finish is queried by its own
//! `out_order_no`. Receivers' names are encrypted when the operation is built
//! ([`OrderReceiver::name`]), and the request names the key that encrypted them.
//!
//! ```
//! use wechatpay_core::Operation;
//! use wechatpay_core::orders::{CreateProfitSharingOrder, OrderReceiver};
//! use wechatpay_core::receivers::ReceiverType;
//!
//! let split = CreateProfitSharingOrder::new("1900000109", "4208450740201411110007820472",
//!     "P20150806125346", vec![
//!         OrderReceiver::new(ReceiverType::MerchantId, "1900000110", 888, "分给商户1900000110"),
//!     ]);
//! split.validate()?;
//! assert_eq!(split.query().path_and_query()?,
//!     "/v3/ecommerce/profitsharing/orders?sub_mchid=1900000109&transaction_id=4208450740201411110007820472&out_order_no=P20150806125346");
//! assert_eq!(split.total(), 888);
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

use http::Method;
use serde::{Deserialize, Serialize};

use crate::after_sales::MAX_ID_LEN;
use crate::encryption::{Encryptor, Sealed, one_serial};
use crate::operation::{Check, Operation, Repeat};
use crate::query::{QueryString, segment};
use crate::receivers::{MAX_ACCOUNT_LEN, MAX_NAME_LEN, ReceiverType};
use crate::rfc3339::OffsetDateTime;
use crate::{Error, validate, wire_enum};

/// `POST` splits, `GET` queries a split.
pub const PATH: &str = "/v3/ecommerce/profitsharing/orders";
/// `POST` finishes an order.
pub const FINISH_PATH: &str = "/v3/ecommerce/profitsharing/finish-order";
/// The longest `out_order_no`.
pub const MAX_OUT_ORDER_NO_LEN: usize = 64;
/// The longest receiver `description`.
pub const MAX_DESCRIPTION_LEN: usize = 80;
/// The most receivers one split names.
pub const MAX_RECEIVERS: usize = 50;

wire_enum! {
    /// Where a split stands (`status`).
    OrderStatus {
        /// Being processed.
        Processing = "PROCESSING",
        /// Done.
        Finished = "FINISHED",
    }
}

wire_enum! {
    /// Where one receiver's share stands (`receivers[].result`).
    ReceiverResult {
        /// Waiting.
        Pending = "PENDING",
        /// Paid to the receiver.
        Success = "SUCCESS",
        /// Closed unpaid (see `fail_reason`).
        Closed = "CLOSED",
    }
}

wire_enum! {
    /// Why a receiver's share was closed (`receivers[].fail_reason`).
    ReceiverFailReason {
        /// The receiver's account is abnormal.
        AccountAbnormal = "ACCOUNT_ABNORMAL",
        /// No relation with the receiver.
        NoRelation = "NO_RELATION",
        /// The receiver is high risk.
        ReceiverHighRisk = "RECEIVER_HIGH_RISK",
    }
}

/// One receiver of a split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderReceiver {
    /// The account kind.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// The mchid or openid.
    pub receiver_account: String,
    /// The amount in fen (> 0).
    pub amount: i64,
    /// What it is for (shown to the receiver).
    pub description: String,
    /// The receiver's name, encrypted ([`OrderReceiver::name`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_name: Option<Sealed>,
}

impl OrderReceiver {
    /// `amount` fen to `account`.
    pub fn new(
        receiver_type: ReceiverType,
        account: impl Into<String>,
        amount: i64,
        description: impl Into<String>,
    ) -> Self {
        Self {
            receiver_type,
            receiver_account: account.into(),
            amount,
            description: description.into(),
            receiver_name: None,
        }
    }

    /// Encrypts the receiver's `name` with `encryptor` now, once.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] naming `receivers[].receiver_name`.
    pub fn name(mut self, encryptor: &Encryptor, name: &str) -> Result<Self, Error> {
        validate::text("receivers[].receiver_name", name, MAX_NAME_LEN)?;
        self.receiver_name = Some(encryptor.seal(name)?);
        Ok(self)
    }
}

/// `POST /v3/ecommerce/profitsharing/orders`: splits a paid order's funds to receivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateProfitSharingOrder {
    /// The app id (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// The sub-merchant whose order is split.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The merchant's number for this split: the same number with the same body is the same
    /// request.
    pub out_order_no: String,
    /// Who receives how much.
    pub receivers: Vec<OrderReceiver>,
    /// Whether this is the last split: what is left goes to the sub-merchant.
    pub finish: bool,
}

impl CreateProfitSharingOrder {
    /// A split that is not the last (`finish: false`).
    pub fn new(
        sub_mchid: impl Into<String>,
        transaction_id: impl Into<String>,
        out_order_no: impl Into<String>,
        receivers: Vec<OrderReceiver>,
    ) -> Self {
        Self {
            appid: None,
            sub_mchid: sub_mchid.into(),
            transaction_id: transaction_id.into(),
            out_order_no: out_order_no.into(),
            receivers,
            finish: false,
        }
    }

    /// The same split, marked the last one.
    #[must_use]
    pub fn finishing(mut self) -> Self {
        self.finish = true;
        self
    }

    /// The sum of the receivers' amounts, in fen.
    pub fn total(&self) -> i64 {
        self.receivers.iter().map(|r| r.amount).sum()
    }

    /// The query for this split.
    pub fn query(&self) -> QueryProfitSharingOrder {
        QueryProfitSharingOrder::new(
            self.sub_mchid.clone(),
            self.transaction_id.clone(),
            self.out_order_no.clone(),
        )
    }

    /// Whether `order` records exactly this split's receivers and amounts.
    fn matches(&self, order: &ProfitSharingOrder) -> bool {
        let key =
            |t: &ReceiverType, a: &str, amount: i64| (t.as_str().to_owned(), a.to_owned(), amount);
        let mut asked: Vec<_> = self
            .receivers
            .iter()
            .map(|r| key(&r.receiver_type, &r.receiver_account, r.amount))
            .collect();
        let mut found: Vec<_> = order
            .receivers
            .iter()
            .map(|r| key(&r.receiver_type, &r.receiver_account, r.amount))
            .collect();
        asked.sort();
        found.sort();
        asked == found
    }
}

impl Operation for CreateProfitSharingOrder {
    type Output = ProfitSharingOrder;

    fn method(&self) -> Method {
        Method::POST
    }

    fn validate(&self) -> Result<(), Error> {
        if let Some(appid) = &self.appid {
            validate::text("appid", appid, MAX_ACCOUNT_LEN)?;
        }
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        validate::text("transaction_id", &self.transaction_id, MAX_ID_LEN)?;
        validate::text("out_order_no", &self.out_order_no, MAX_OUT_ORDER_NO_LEN)?;
        if self.receivers.is_empty() || self.receivers.len() > MAX_RECEIVERS {
            return Err(Error::invalid_input(
                "receivers",
                format!("must name 1 to {MAX_RECEIVERS} receivers"),
            ));
        }
        for r in &self.receivers {
            validate::enum_value(
                "receivers[].type",
                r.receiver_type.as_str(),
                r.receiver_type.is_known(),
            )?;
            validate::text(
                "receivers[].receiver_account",
                &r.receiver_account,
                MAX_ACCOUNT_LEN,
            )?;
            validate::amount("receivers[].amount", r.amount)?;
            validate::text(
                "receivers[].description",
                &r.description,
                MAX_DESCRIPTION_LEN,
            )?;
        }
        if self
            .receivers
            .iter()
            .try_fold(0i64, |sum, r| sum.checked_add(r.amount))
            .is_none()
        {
            return Err(Error::invalid_input(
                "receivers[].amount",
                "the amounts add up past i64",
            ));
        }
        Ok(())
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(PATH.to_owned())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        json(self)
    }

    fn serial(&self) -> Result<Option<String>, Error> {
        one_serial(
            "receivers[].receiver_name",
            self.receivers
                .iter()
                .filter_map(|r| r.receiver_name.as_ref()),
        )
    }

    /// Queried by `out_order_no`: the same receivers and amounts are this split; anything else
    /// is a conflict.
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        let asked = self.clone();
        Repeat::Check(Check::by_query(self.query(), move |order| {
            if asked.matches(&order) {
                Ok(order)
            } else {
                Err(Error::conflict(format!(
                    "a split numbered {:?} already exists with other receivers or amounts",
                    asked.out_order_no
                )))
            }
        }))
    }
}

/// `GET /v3/ecommerce/profitsharing/orders`: one split, by the merchant's `out_order_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryProfitSharingOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The split's (or the finish's) number.
    pub out_order_no: String,
}

impl QueryProfitSharingOrder {
    /// The split numbered `out_order_no` of `transaction_id`.
    pub fn new(
        sub_mchid: impl Into<String>,
        transaction_id: impl Into<String>,
        out_order_no: impl Into<String>,
    ) -> Self {
        Self {
            sub_mchid: sub_mchid.into(),
            transaction_id: transaction_id.into(),
            out_order_no: out_order_no.into(),
        }
    }
}

impl Operation for QueryProfitSharingOrder {
    type Output = ProfitSharingOrder;

    fn method(&self) -> Method {
        Method::GET
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        validate::text("transaction_id", &self.transaction_id, MAX_ID_LEN)?;
        validate::text("out_order_no", &self.out_order_no, MAX_OUT_ORDER_NO_LEN)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(QueryString::new(PATH)
            .pair("sub_mchid", &self.sub_mchid)
            .pair("transaction_id", &self.transaction_id)
            .pair("out_order_no", &self.out_order_no)
            .finish())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }
}

/// A split as WeChat Pay records it: the answer to [`CreateProfitSharingOrder`] and
/// [`QueryProfitSharingOrder`]. Fields WeChat Pay adds later are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfitSharingOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The merchant's number.
    pub out_order_no: String,
    /// WeChat Pay's number.
    pub order_id: String,
    /// Where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// Each receiver's share.
    #[serde(default)]
    pub receivers: Vec<OrderReceiverResult>,
    /// For a finish: the amount released to the sub-merchant, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_amount: Option<i64>,
}

impl ProfitSharingOrder {
    /// Whether every receiver's share is final (`SUCCESS` or `CLOSED`) and the order is not
    /// `PROCESSING`.
    pub fn is_final(&self) -> bool {
        self.status != Some(OrderStatus::Processing)
            && self.receivers.iter().all(|r| {
                matches!(
                    r.result,
                    Some(ReceiverResult::Success | ReceiverResult::Closed)
                )
            })
    }
}

/// One receiver's share in a [`ProfitSharingOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReceiverResult {
    /// The account kind.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// The mchid or openid.
    pub receiver_account: String,
    /// The amount in fen.
    pub amount: i64,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ReceiverResult>,
    /// Why it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<ReceiverFailReason>,
    /// When it became final.
    #[serde(
        default,
        with = "crate::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_time: Option<OffsetDateTime>,
    /// WeChat Pay's number for this share.
    #[serde(default)]
    pub detail_id: String,
}

/// `POST /v3/ecommerce/profitsharing/finish-order`: ends splitting; what is left goes to the
/// sub-merchant. Checked by querying its own `out_order_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinishProfitSharingOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The merchant's number for this finish.
    pub out_order_no: String,
    /// Why (shown in the records).
    pub description: String,
}

impl FinishProfitSharingOrder {
    /// Finishes `transaction_id` under the number `out_order_no`.
    pub fn new(
        sub_mchid: impl Into<String>,
        transaction_id: impl Into<String>,
        out_order_no: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            sub_mchid: sub_mchid.into(),
            transaction_id: transaction_id.into(),
            out_order_no: out_order_no.into(),
            description: description.into(),
        }
    }
}

impl Operation for FinishProfitSharingOrder {
    type Output = FinishedOrder;

    fn method(&self) -> Method {
        Method::POST
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        validate::text("transaction_id", &self.transaction_id, MAX_ID_LEN)?;
        validate::text("out_order_no", &self.out_order_no, MAX_OUT_ORDER_NO_LEN)?;
        validate::text("description", &self.description, MAX_DESCRIPTION_LEN)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(FINISH_PATH.to_owned())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        json(self)
    }

    /// Queried by the finish's `out_order_no`: a record is this finish; none means it did not
    /// happen.
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        let query = QueryProfitSharingOrder::new(
            self.sub_mchid.clone(),
            self.transaction_id.clone(),
            self.out_order_no.clone(),
        );
        Repeat::Check(Check::by_query(query, |order: ProfitSharingOrder| {
            Ok(FinishedOrder {
                sub_mchid: order.sub_mchid,
                transaction_id: order.transaction_id,
                out_order_no: order.out_order_no,
                order_id: order.order_id,
            })
        }))
    }
}

/// WeChat Pay's answer to [`FinishProfitSharingOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The finish's number.
    pub out_order_no: String,
    /// WeChat Pay's number.
    pub order_id: String,
}

/// `GET /v3/ecommerce/profitsharing/orders/{transaction_id}/amounts`: what is left to split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryUnsplitAmount {
    /// The paid order.
    pub transaction_id: String,
}

impl QueryUnsplitAmount {
    /// What is left of `transaction_id`.
    pub fn new(transaction_id: impl Into<String>) -> Self {
        Self {
            transaction_id: transaction_id.into(),
        }
    }
}

impl Operation for QueryUnsplitAmount {
    type Output = UnsplitAmount;

    fn method(&self) -> Method {
        Method::GET
    }

    fn validate(&self) -> Result<(), Error> {
        validate::text("transaction_id", &self.transaction_id, MAX_ID_LEN)
    }

    /// The transaction id is one path segment, percent-encoded.
    fn path_and_query(&self) -> Result<String, Error> {
        Ok(format!("{PATH}/{}/amounts", segment(&self.transaction_id)))
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }
}

/// What is left to split of a paid order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsplitAmount {
    /// The paid order.
    pub transaction_id: String,
    /// In fen.
    pub unsplit_amount: i64,
}

pub(crate) fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid_input("body", "cannot be serialised").with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split() -> CreateProfitSharingOrder {
        CreateProfitSharingOrder::new(
            "1900000109",
            "4208450740201411110007820472",
            "P1",
            vec![
                OrderReceiver::new(ReceiverType::MerchantId, "1900000110", 100, "a"),
                OrderReceiver::new(ReceiverType::PersonalOpenid, "openid", 50, "b"),
            ],
        )
    }

    fn recorded(amounts: &[(&str, i64)]) -> ProfitSharingOrder {
        let receivers: Vec<_> = amounts
            .iter()
            .map(|(account, amount)| {
                serde_json::json!({"type": if *account == "openid" {"PERSONAL_OPENID"} else {"MERCHANT_ID"},
                    "receiver_account": account, "amount": amount, "description": "x",
                    "result": "PENDING", "detail_id": "D", "finish_time": ""})
            })
            .collect();
        serde_json::from_value(serde_json::json!({"sub_mchid": "1900000109",
            "transaction_id": "4208450740201411110007820472", "out_order_no": "P1",
            "order_id": "3008450740201411110007820472", "status": "PROCESSING",
            "receivers": receivers, "unknown_field": true}))
        .expect("order")
    }

    #[test]
    fn the_check_compares_receivers_and_amounts_in_any_order() {
        let s = split();
        assert!(s.matches(&recorded(&[("openid", 50), ("1900000110", 100)])));
        assert!(!s.matches(&recorded(&[("openid", 50), ("1900000110", 99)])));
        assert!(!s.matches(&recorded(&[("1900000110", 100)])));
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = split();
        s.receivers[1].amount = 0;
        assert_eq!(
            s.validate().expect_err("zero").field(),
            Some("receivers[].amount")
        );
        let mut s = split();
        s.receivers.clear();
        assert_eq!(s.validate().expect_err("none").field(), Some("receivers"));
        let mut s = split();
        s.out_order_no = "x".repeat(65);
        assert_eq!(
            s.validate().expect_err("long").field(),
            Some("out_order_no")
        );
        assert_eq!(split().total(), 150);
    }

    #[test]
    fn the_unsplit_amount_path_is_one_encoded_segment() {
        assert_eq!(
            QueryUnsplitAmount::new("42/../x")
                .path_and_query()
                .expect("path"),
            "/v3/ecommerce/profitsharing/orders/42%2F..%2Fx/amounts"
        );
    }
}
