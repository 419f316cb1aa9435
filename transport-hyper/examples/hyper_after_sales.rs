//! Create an after-sales split and query it until final, with the async hyper transport,
//! against the in-process mock WeChat Pay.
//!
//! `cargo run -p wechatpay-transport-hyper --example hyper_after_sales`

use std::time::Duration;

use wechatpay_core::{CreateAfterSalesOrder, FailReason, Scene};
use wechatpay_mock_server::MockWechatPay;
use wechatpay_transport_hyper::HyperClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockWechatPay::builder().start().await?;
    // This one will end FAILED, to show a failure's reason.
    mock.fail_order(
        "1900000109",
        "4208450740201411110007820472",
        FailReason::NoRelation,
    )?;
    // Against the real WeChat Pay: HyperClient::new(Client::builder(merchant, keys).build()?)
    let client = HyperClient::new(mock.client())?;

    let op = CreateAfterSalesOrder::new(
        "1900000109",
        "4208450740201411110007820472",
        100,
        Scene::ReturnGoods,
        "50000000382019052709732678859",
    );
    let accepted = client.execute(&op).await?;
    println!("accepted: {accepted:?}");
    loop {
        let order = client.execute(&op.query()).await?;
        println!("result: {}", order.result);
        if order.is_final() {
            println!(
                "final: {:?} (reason: {:?})",
                order.result, order.fail_reason
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
