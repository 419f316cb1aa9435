//! An APIv3 endpoint this SDK does not ship, added from outside the crates with their public API
//! only: `GET /v3/ecommerce/profitsharing/orders` (查询分账结果), typed, validated, signed,
//! verified and retried like the built-in operations. It runs against the in-process mock, with
//! the endpoint mounted beside the mock's own rules; the same endpoint is also reached untyped
//! through `wechatpay_core::Generic`.
//!
//! `cargo run -p wechatpay-transport-blocking --example custom_endpoint`

use serde::Deserialize;
use wechatpay_core::http::Method;
use wechatpay_core::query::QueryString;
use wechatpay_core::{Error, Generic, Operation, validate};
use wechatpay_mock_server::MockWechatPay;
use wechatpay_transport_blocking::BlockingClient;
use wiremock::matchers::{method, path, query_param};

const PATH: &str = "/v3/ecommerce/profitsharing/orders";

/// Query one profit-sharing order of an e-commerce sub-merchant.
#[derive(Debug, Clone)]
struct QueryProfitSharingOrder {
    sub_mchid: String,
    transaction_id: String,
    out_order_no: String,
}

/// One receiver of the split, as WeChat Pay reports it.
#[derive(Debug, Deserialize)]
struct Receiver {
    receiver_account: String,
    amount: i64,
    result: String,
}

/// WeChat Pay's answer.
#[derive(Debug, Deserialize)]
struct ProfitSharingOrder {
    sub_mchid: String,
    order_id: String,
    status: String,
    #[serde(default)]
    receivers: Vec<Receiver>,
}

impl Operation for QueryProfitSharingOrder {
    type Output = ProfitSharingOrder;

    fn method(&self) -> Method {
        Method::GET
    }

    fn validate(&self) -> Result<(), Error> {
        validate::digits("sub_mchid", &self.sub_mchid, 32)?;
        validate::text("transaction_id", &self.transaction_id, 32)?;
        validate::text("out_order_no", &self.out_order_no, 64)?;
        if !self
            .out_order_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
        {
            return Err(Error::invalid_input(
                "out_order_no",
                "may hold only letters, digits and _-|*@",
            ));
        }
        Ok(())
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mock = runtime.block_on(MockWechatPay::builder().start())?;
    // The endpoint, mounted beside the mock's own rules and signed like its answers.
    let answer = mock.signed_answer(
        200,
        &serde_json::json!({
            "sub_mchid": "1900000109",
            "transaction_id": "4208450740201411110007820472",
            "out_order_no": "P20150806125346",
            "order_id": "3008450740201411110007820472",
            "status": "FINISHED",
            "receivers": [{"receiver_mchid": "1900000110", "receiver_account": "1900000110",
                "amount": 100, "description": "分给商户1900000110", "result": "SUCCESS",
                "finish_time": "2026-11-24T10:34:56+08:00", "detail_id": "36011111111111111111111"}]
        }),
    );
    runtime.block_on(
        wiremock::Mock::given(method("GET"))
            .and(path(PATH))
            .and(query_param("out_order_no", "P20150806125346"))
            .respond_with(answer)
            .with_priority(1)
            .mount(mock.server()),
    );
    let client = BlockingClient::new(mock.client())?;

    let typed = QueryProfitSharingOrder {
        sub_mchid: "1900000109".into(),
        transaction_id: "4208450740201411110007820472".into(),
        out_order_no: "P20150806125346".into(),
    };
    let order = client.execute(&typed)?;
    println!(
        "typed: order {} of {} is {}; receivers: {:?}",
        order.order_id,
        order.sub_mchid,
        order.status,
        order
            .receivers
            .iter()
            .map(|r| (&r.receiver_account, r.amount, &r.result))
            .collect::<Vec<_>>()
    );

    // A value WeChat Pay would refuse never leaves the process.
    let bad = QueryProfitSharingOrder {
        out_order_no: "P 1".into(),
        ..typed
    };
    let err = client.execute(&bad).expect_err("refused before sending");
    println!("refused before sending: {err}");

    // The same endpoint without a type: serde_json::Value out.
    let untyped: Generic = Generic::get(PATH)
        .query("sub_mchid", "1900000109")
        .query("transaction_id", "4208450740201411110007820472")
        .query("out_order_no", "P20150806125346");
    let value = client.execute(&untyped)?;
    println!("untyped: status {}", value["status"]);
    Ok(())
}
