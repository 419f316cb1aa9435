//! The e-commerce after-sales profit-sharing operations (请求售后服务分账 / 查询售后服务分账结果).

use http::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{FailReason, ProfitSharingResult, Scene, SharingType};
use crate::operation::{Check, Operation, Repeat};
use crate::query::QueryString;
use crate::{Error, validate};

/// The path of both operations.
pub const PATH: &str = "/v3/ecommerce/profitsharing/after-sales-orders";

/// The longest `sub_mchid` and `transaction_id` WeChat Pay accepts.
pub const MAX_ID_LEN: usize = 32;
/// The longest `refund_id` this SDK sends (WeChat Pay's limit is unconfirmed; its ids have 29
/// digits).
pub const MAX_REFUND_ID_LEN: usize = 64;

/// Request after-sales profit sharing: `POST /v3/ecommerce/profitsharing/after-sales-orders`.
///
/// Field order here is the order of the JSON body.
///
/// ```
/// use wechatpay_core::{CreateAfterSalesOrder, Scene, Operation};
/// let op = CreateAfterSalesOrder::new("1900000109", "4208450740201411110007820472", 100,
///     Scene::RefundTicket, "50000000382019052709732678859");
/// assert!(op.validate().is_ok());
/// let bad = CreateAfterSalesOrder { amount: 0, ..op };
/// assert_eq!(bad.validate().unwrap_err().field(), Some("amount"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAfterSalesOrder {
    /// The e-commerce sub-merchant that funds the split (digits).
    pub sub_mchid: String,
    /// The paid order's WeChat Pay transaction id.
    pub transaction_id: String,
    /// The amount to split back, in fen (> 0).
    pub amount: i64,
    /// What the split is for; `SERVICE_FEE_INCOME` is the only value known today.
    #[serde(rename = "type")]
    pub sharing_type: SharingType,
    /// The after-sales event.
    pub scene: Scene,
    /// The WeChat Pay refund id of this order.
    pub refund_id: String,
}

impl CreateAfterSalesOrder {
    /// A request of type `SERVICE_FEE_INCOME`.
    pub fn new(
        sub_mchid: impl Into<String>,
        transaction_id: impl Into<String>,
        amount_fen: i64,
        scene: Scene,
        refund_id: impl Into<String>,
    ) -> Self {
        Self {
            sub_mchid: sub_mchid.into(),
            transaction_id: transaction_id.into(),
            amount: amount_fen,
            sharing_type: SharingType::ServiceFeeIncome,
            scene,
            refund_id: refund_id.into(),
        }
    }

    /// The query that reports this request's result.
    pub fn query(&self) -> QueryAfterSalesOrder {
        QueryAfterSalesOrder::new(self.sub_mchid.clone(), self.transaction_id.clone())
    }

    /// Whether `found`, the order a query answered for this request's `sub_mchid` and
    /// `transaction_id`, is the one this request makes, as the check after an attempt of
    /// unknown fate judges it (for callers that query themselves, such as a batch resuming).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Conflict`] when it holds another amount.
    pub fn is_made_by_this(&self, found: &AfterSalesOrder) -> Result<(), Error> {
        same_amount(self.amount, found)
    }
}

/// Whether `found` (the order a query answered for the same `sub_mchid` and
/// `transaction_id`) is the one a create of `asked` fen made: another amount is a conflict.
fn same_amount(asked: i64, found: &AfterSalesOrder) -> Result<(), Error> {
    if found.amount == asked {
        return Ok(());
    }
    Err(Error::conflict(format!(
        "an after-sales split of {} fen already exists for this order; this request asked for {asked} fen",
        found.amount
    )))
}

impl Operation for CreateAfterSalesOrder {
    type Output = AfterSalesOrderAccepted;

    fn method(&self) -> Method {
        Method::POST
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        validate::text("transaction_id", &self.transaction_id, MAX_ID_LEN)?;
        validate::amount("amount", self.amount)?;
        validate::enum_value(
            "type",
            self.sharing_type.as_str(),
            self.sharing_type.is_known(),
        )?;
        validate::enum_value("scene", self.scene.as_str(), self.scene.is_known())?;
        validate::text("refund_id", &self.refund_id, MAX_REFUND_ID_LEN)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(PATH.to_owned())
    }

    /// The record is keyed by `sub_mchid` + `transaction_id` and WeChat Pay does not document
    /// the POST as idempotent: after an attempt of unknown fate, query first. An order with
    /// the same amount is this request's; another amount is [`crate::ErrorKind::Conflict`].
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        let asked = self.amount;
        Repeat::Check(Check::by_query(
            self.query(),
            move |order: AfterSalesOrder| {
                same_amount(asked, &order)?;
                Ok(AfterSalesOrderAccepted {
                    sub_mchid: order.sub_mchid,
                    transaction_id: order.transaction_id,
                    amount: Some(order.amount),
                })
            },
        ))
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self)
            .map_err(|e| Error::invalid_input("body", "cannot be serialised").with_source(e))
    }
}

/// WeChat Pay's answer to [`CreateAfterSalesOrder`]: the request was accepted; the split
/// itself is asynchronous (query it with [`QueryAfterSalesOrder`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSalesOrderAccepted {
    /// The funding sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The amount in fen, when WeChat Pay sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
}

/// Query the result: `GET /v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=…&transaction_id=…`.
///
/// ```
/// use wechatpay_core::{QueryAfterSalesOrder, Operation};
/// let q = QueryAfterSalesOrder::new("1900000109", "4208450740201411110007820472");
/// assert_eq!(q.path_and_query()?,
///     "/v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=1900000109&transaction_id=4208450740201411110007820472");
/// # Ok::<(), wechatpay_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryAfterSalesOrder {
    /// The funding sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
}

impl QueryAfterSalesOrder {
    /// A query for the split of `transaction_id` funded by `sub_mchid`.
    pub fn new(sub_mchid: impl Into<String>, transaction_id: impl Into<String>) -> Self {
        Self {
            sub_mchid: sub_mchid.into(),
            transaction_id: transaction_id.into(),
        }
    }
}

impl Operation for QueryAfterSalesOrder {
    type Output = AfterSalesOrder;

    fn method(&self) -> Method {
        Method::GET
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, MAX_ID_LEN)?;
        validate::text("transaction_id", &self.transaction_id, MAX_ID_LEN)
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(QueryString::new(PATH)
            .pair("sub_mchid", &self.sub_mchid)
            .pair("transaction_id", &self.transaction_id)
            .finish())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }
}

/// An after-sales split and where it stands: WeChat Pay's answer to [`QueryAfterSalesOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSalesOrder {
    /// The funding sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The amount in fen.
    pub amount: i64,
    /// `PROCESSING`, `SUCCESS` or `FAILED`.
    pub result: ProfitSharingResult,
    /// Why it failed, for `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<FailReason>,
    /// When the split finished (absent while `PROCESSING`), with WeChat Pay's offset (+08:00).
    #[serde(
        default,
        with = "crate::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_time: Option<OffsetDateTime>,
}

impl AfterSalesOrder {
    /// Whether the result is final (`SUCCESS` or `FAILED`).
    pub fn is_final(&self) -> bool {
        self.result.is_final()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn create() -> CreateAfterSalesOrder {
        CreateAfterSalesOrder::new(
            "1900000109",
            "4208450740201411110007820472",
            100,
            Scene::RefundTicket,
            "50000000382019052709732678859",
        )
    }

    #[test]
    fn create_body_is_the_documented_json() {
        let body = create().body().expect("body");
        assert_eq!(
            String::from_utf8(body).expect("utf8"),
            r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"type":"SERVICE_FEE_INCOME","scene":"REFUND_TICKET","refund_id":"50000000382019052709732678859"}"#
        );
    }

    #[test]
    fn create_refuses_what_wechat_would() {
        let cases: Vec<(CreateAfterSalesOrder, &str)> = vec![
            (
                CreateAfterSalesOrder {
                    sub_mchid: String::new(),
                    ..create()
                },
                "sub_mchid",
            ),
            (
                CreateAfterSalesOrder {
                    sub_mchid: "19000001a9".into(),
                    ..create()
                },
                "sub_mchid",
            ),
            (
                CreateAfterSalesOrder {
                    sub_mchid: "1".repeat(33),
                    ..create()
                },
                "sub_mchid",
            ),
            (
                CreateAfterSalesOrder {
                    transaction_id: String::new(),
                    ..create()
                },
                "transaction_id",
            ),
            (
                CreateAfterSalesOrder {
                    transaction_id: "4".repeat(33),
                    ..create()
                },
                "transaction_id",
            ),
            (
                CreateAfterSalesOrder {
                    amount: 0,
                    ..create()
                },
                "amount",
            ),
            (
                CreateAfterSalesOrder {
                    amount: -1,
                    ..create()
                },
                "amount",
            ),
            (
                CreateAfterSalesOrder {
                    scene: Scene::Other("bad scene".into()),
                    ..create()
                },
                "scene",
            ),
            (
                CreateAfterSalesOrder {
                    sharing_type: SharingType::Other(String::new()),
                    ..create()
                },
                "type",
            ),
            (
                CreateAfterSalesOrder {
                    refund_id: String::new(),
                    ..create()
                },
                "refund_id",
            ),
            (
                CreateAfterSalesOrder {
                    refund_id: "5😀".into(),
                    ..create()
                },
                "refund_id",
            ),
        ];
        for (op, field) in cases {
            let err = op.validate().expect_err(field);
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(err.field(), Some(field), "{err}");
        }
        // A scene WeChat Pay may add later goes through.
        let future = CreateAfterSalesOrder {
            scene: Scene::from("NEW_SCENE"),
            ..create()
        };
        assert!(future.validate().is_ok());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        let q = QueryAfterSalesOrder::new("1900000109", "a b&c=售");
        assert_eq!(
            q.path_and_query().expect("pq"),
            "/v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=1900000109&transaction_id=a%20b%26c%3D%E5%94%AE"
        );
    }

    #[test]
    fn query_answer_parses_with_offset_and_ignores_unknown_keys() {
        let body = br#"{"sub_mchid":"1900000109","transaction_id":"42","amount":100,"result":"FAILED","fail_reason":"NO_RELATION","finish_time":"2026-11-24T10:34:56.120+08:00","new_field":{"x":1}}"#;
        let o = QueryAfterSalesOrder::parse(body).expect("parses");
        assert_eq!(o.result, ProfitSharingResult::Failed);
        assert_eq!(o.fail_reason, Some(FailReason::NoRelation));
        let t = o.finish_time.expect("time");
        assert_eq!(t.offset().whole_hours(), 8);
        assert_eq!(t.millisecond(), 120);
        assert_eq!(t.unix_timestamp(), 1_795_487_696); // `date -d 2026-11-24T10:34:56+08:00 +%s`
        assert!(o.is_final());
    }

    #[test]
    fn processing_answer_without_finish_time() {
        for body in [
            &br#"{"sub_mchid":"1","transaction_id":"2","amount":1,"result":"PROCESSING"}"#[..],
            br#"{"sub_mchid":"1","transaction_id":"2","amount":1,"result":"PROCESSING","finish_time":""}"#,
        ] {
            let o = QueryAfterSalesOrder::parse(body).expect("parses");
            assert_eq!(o.finish_time, None);
            assert!(!o.is_final());
        }
    }

    #[test]
    fn malformed_answers_are_typed_errors() {
        for body in [
            &b"not json"[..],
            br#"{"sub_mchid":"1","transaction_id":"2","amount":1.5,"result":"SUCCESS"}"#,
            br#"{"sub_mchid":"1","transaction_id":"2","amount":"100","result":"SUCCESS"}"#,
            br#"{"sub_mchid":"1","transaction_id":"2","amount":1,"result":"SUCCESS","finish_time":"yesterday"}"#,
            br#"{"sub_mchid":"1","amount":1,"result":"SUCCESS"}"#,
        ] {
            let err = QueryAfterSalesOrder::parse(body).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        }
    }
}
