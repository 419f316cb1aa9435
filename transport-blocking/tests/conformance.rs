//! The transport conformance suite (`wechatpay_conformance::suite`) on the blocking transport.

use wechatpay_conformance::suite;
use wechatpay_transport_blocking::BlockingClient;

#[test]
fn the_same_failures_give_the_same_fate_attempts_and_errors() {
    let rows = suite::run(|client, config, operation| {
        BlockingClient::with_config(client, config)?.execute(&operation)
    })
    .expect("the suite's servers");
    for row in &rows {
        println!("{row:?}");
    }
    suite::assert_conforms("transport-blocking", &rows);
}
