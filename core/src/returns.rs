//! Profit-sharing returns (分账回退): after a refund, funds come back from a receiver
//! (`POST /v3/ecommerce/profitsharing/returnorders`), and a return is queried by its
//! `out_return_no` (`GET …/returnorders`).
//!
//! A return of unknown fate is checked by querying its `out_return_no`: the record must carry
//! the same amount and `return_mchid` (otherwise [`crate::ErrorKind::Conflict`]).
//!
//! ```
//! use wechatpay_core::Operation;
//! use wechatpay_core::returns::{CreateReturnOrder, SplitRef};
//!
//! let back = CreateReturnOrder::new("1900000109", SplitRef::OutOrderNo("P20150806125346".into()),
//!     "R20190516001", "1900000110", 10, "用户退款");
//! back.validate()?;
//! assert_eq!(back.query().path_and_query()?,
//!     "/v3/ecommerce/profitsharing/returnorders?sub_mchid=1900000109&out_order_no=P20150806125346&out_return_no=R20190516001");
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

use http::Method;
use serde::{Deserialize, Serialize};

use crate::after_sales::MAX_ID_LEN;
use crate::operation::{Check, Operation, Repeat};
use crate::orders::{MAX_DESCRIPTION_LEN, MAX_OUT_ORDER_NO_LEN, json};
use crate::query::QueryString;
use crate::rfc3339::OffsetDateTime;
use crate::{Error, validate, wire_enum};

/// `POST` returns, `GET` queries a return.
pub const PATH: &str = "/v3/ecommerce/profitsharing/returnorders";

wire_enum! {
    /// Where a return stands (`result`).
    ReturnResult {
        /// Being processed: query again later.
        Processing = "PROCESSING",
        /// Returned.
        Success = "SUCCESS",
        /// Failed (see `fail_reason`).
        Fail = "FAIL",
    }
}

wire_enum! {
    /// Why a return failed (`fail_reason`).
    ReturnFailReason {
        /// The receiver's account is abnormal.
        AccountAbnormal = "ACCOUNT_ABNORMAL",
        /// Closed after a timeout.
        TimeOutClosed = "TIME_OUT_CLOSED",
    }
}

/// Which split a return takes funds back from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRef {
    /// WeChat Pay's `order_id`.
    OrderId(String),
    /// The merchant's `out_order_no`.
    OutOrderNo(String),
}

impl SplitRef {
    fn pair(&self) -> (&'static str, &str) {
        match self {
            Self::OrderId(id) => ("order_id", id),
            Self::OutOrderNo(no) => ("out_order_no", no),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        match self {
            Self::OrderId(id) => validate::text("order_id", id, MAX_ID_LEN),
            Self::OutOrderNo(no) => validate::text("out_order_no", no, MAX_OUT_ORDER_NO_LEN),
        }
    }
}

/// `POST /v3/ecommerce/profitsharing/returnorders`: takes `amount` back from `return_mchid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateReturnOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The split funds come back from.
    pub split: SplitRef,
    /// The merchant's number for this return.
    pub out_return_no: String,
    /// The receiver (a merchant) returning the funds.
    pub return_mchid: String,
    /// In fen (> 0).
    pub amount: i64,
    /// Why.
    pub description: String,
}

impl CreateReturnOrder {
    /// A return of `amount` fen from `return_mchid` out of `split`.
    pub fn new(
        sub_mchid: impl Into<String>,
        split: SplitRef,
        out_return_no: impl Into<String>,
        return_mchid: impl Into<String>,
        amount: i64,
        description: impl Into<String>,
    ) -> Self {
        Self {
            sub_mchid: sub_mchid.into(),
            split,
            out_return_no: out_return_no.into(),
            return_mchid: return_mchid.into(),
            amount,
            description: description.into(),
        }
    }

    /// The query for this return.
    pub fn query(&self) -> QueryReturnOrder {
        QueryReturnOrder::new(
            self.sub_mchid.clone(),
            self.split.clone(),
            self.out_return_no.clone(),
        )
    }
}

impl Serialize for CreateReturnOrder {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry("sub_mchid", &self.sub_mchid)?;
        let (name, value) = self.split.pair();
        map.serialize_entry(name, value)?;
        map.serialize_entry("out_return_no", &self.out_return_no)?;
        map.serialize_entry("return_mchid", &self.return_mchid)?;
        map.serialize_entry("amount", &self.amount)?;
        map.serialize_entry("description", &self.description)?;
        map.end()
    }
}

impl Operation for CreateReturnOrder {
    type Output = ReturnOrder;

    fn method(&self) -> Method {
        Method::POST
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        self.split.validate()?;
        validate::text("out_return_no", &self.out_return_no, MAX_OUT_ORDER_NO_LEN)?;
        validate::digits("return_mchid", &self.return_mchid, MAX_ID_LEN)?;
        validate::amount("amount", self.amount)?;
        validate::text("description", &self.description, MAX_DESCRIPTION_LEN)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(PATH.to_owned())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        json(self)
    }

    /// Queried by `out_return_no`: the same amount from the same merchant is this return;
    /// anything else is a conflict.
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        let (amount, from, no) = (
            self.amount,
            self.return_mchid.clone(),
            self.out_return_no.clone(),
        );
        Repeat::Check(Check::by_query(self.query(), move |found: ReturnOrder| {
            if found.amount == amount && found.return_mchid == from {
                Ok(found)
            } else {
                Err(Error::conflict(format!(
                    "a return numbered {no:?} already exists: {} fen from {}, not {amount} fen from {from}",
                    found.amount, found.return_mchid
                )))
            }
        }))
    }
}

/// `GET /v3/ecommerce/profitsharing/returnorders`: one return, by its `out_return_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryReturnOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The split the return took funds from.
    pub split: SplitRef,
    /// The merchant's number for the return.
    pub out_return_no: String,
}

impl QueryReturnOrder {
    /// The return numbered `out_return_no` of `split`.
    pub fn new(
        sub_mchid: impl Into<String>,
        split: SplitRef,
        out_return_no: impl Into<String>,
    ) -> Self {
        Self {
            sub_mchid: sub_mchid.into(),
            split,
            out_return_no: out_return_no.into(),
        }
    }
}

impl Operation for QueryReturnOrder {
    type Output = ReturnOrder;

    fn method(&self) -> Method {
        Method::GET
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        self.split.validate()?;
        validate::text("out_return_no", &self.out_return_no, MAX_OUT_ORDER_NO_LEN)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        let (name, value) = self.split.pair();
        Ok(QueryString::new(PATH)
            .pair("sub_mchid", &self.sub_mchid)
            .pair(name, value)
            .pair("out_return_no", &self.out_return_no)
            .finish())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }
}

/// A return as WeChat Pay records it: the answer to [`CreateReturnOrder`] and
/// [`QueryReturnOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnOrder {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// WeChat Pay's number of the split.
    #[serde(default)]
    pub order_id: String,
    /// The merchant's number of the split.
    #[serde(default)]
    pub out_order_no: String,
    /// The merchant's number of the return.
    pub out_return_no: String,
    /// The merchant the funds come from.
    pub return_mchid: String,
    /// In fen.
    pub amount: i64,
    /// WeChat Pay's number of the return.
    #[serde(default)]
    pub return_no: String,
    /// Where it stands.
    pub result: ReturnResult,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<ReturnFailReason>,
    /// When it became final.
    #[serde(
        default,
        with = "crate::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_time: Option<OffsetDateTime>,
}

impl ReturnOrder {
    /// Whether the result is final (`SUCCESS` or `FAIL`).
    pub fn is_final(&self) -> bool {
        matches!(self.result, ReturnResult::Success | ReturnResult::Fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_the_split_once() {
        let r = CreateReturnOrder::new(
            "1900000109",
            SplitRef::OrderId("3008450740201411110007820472".into()),
            "R1",
            "1900000110",
            10,
            "refund",
        );
        assert_eq!(
            r.body().expect("body"),
            br#"{"sub_mchid":"1900000109","order_id":"3008450740201411110007820472","out_return_no":"R1","return_mchid":"1900000110","amount":10,"description":"refund"}"#
        );
        let mut bad = r.clone();
        bad.amount = -1;
        assert_eq!(
            bad.validate().expect_err("negative").field(),
            Some("amount")
        );
        let mut bad = r;
        bad.split = SplitRef::OutOrderNo(String::new());
        assert_eq!(
            bad.validate().expect_err("empty").field(),
            Some("out_order_no")
        );
    }
}
