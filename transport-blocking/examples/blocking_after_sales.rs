//! Create an after-sales split and query it until final, with the blocking transport, against
//! the in-process mock WeChat Pay.
//!
//! `cargo run -p wechatpay-transport-blocking --example blocking_after_sales`

use std::time::Duration;

use wechatpay_core::{CreateAfterSalesOrder, Scene};
use wechatpay_mock_server::MockWechatPay;
use wechatpay_transport_blocking::BlockingClient;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The mock serves from a background runtime; the client itself is fully blocking.
    let runtime = tokio::runtime::Runtime::new()?;
    let mock = runtime.block_on(MockWechatPay::builder().start())?;
    // Against the real WeChat Pay: BlockingClient::new(Client::builder(merchant, keys).build()?)
    let client = BlockingClient::new(mock.client())?;

    let op = CreateAfterSalesOrder::new(
        "1900000109",
        "4208450740201411110007820472",
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    );
    let accepted = client.execute(&op)?;
    println!("accepted: {accepted:?}");
    loop {
        let order = client.execute(&op.query())?;
        println!("result: {}", order.result);
        if order.is_final() {
            println!("final: {order:?}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
