//! The transport conformance suite (`wechatpay_conformance::suite`) on the async transport.

use wechatpay_conformance::suite;
use wechatpay_transport_hyper::HyperClient;

#[test]
fn the_same_failures_give_the_same_fate_attempts_and_errors() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let rows = suite::run(|client, config, operation| {
        runtime.block_on(async {
            HyperClient::with_config(client, config)?
                .execute(&operation)
                .await
        })
    })
    .expect("the suite's servers");
    for row in &rows {
        println!("{row:?}");
    }
    suite::assert_conforms("transport-hyper", &rows);
}
