//! The platform's whole profit-sharing flow, typed, through both transports against the
//! standalone sandbox: add a receiver (name encrypted), split, finish with the last split, ask
//! what is left, return part after it was paid, and see the sandbox refuse what the money rules
//! forbid (a split past what was paid, a return past what the share gave).

use std::path::Path;
use std::process::Stdio;

use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_core::orders::{
    CreateProfitSharingOrder, OrderReceiver, QueryUnsplitAmount, ReceiverResult,
};
use wechatpay_core::receivers::{AddReceiver, ReceiverType, RelationType};
use wechatpay_core::returns::{CreateReturnOrder, ReturnResult, SplitRef};
use wechatpay_core::{Client, Error, ErrorKind, Operation, TransportConfig};
use wechatpay_mock_server::keys;
use wechatpay_transport_blocking::BlockingClient;
use wechatpay_transport_hyper::HyperClient;

const SUB: &str = "1900000109";
const RECEIVER: &str = "1900000110";

fn sandbox() -> Standalone {
    let binary = sandbox::binary(false).expect("the mock binary");
    Standalone::start(Path::new(&binary), &["--quiet"], Stdio::null()).expect("the sandbox")
}

fn client(sandbox: &Standalone) -> Client {
    keys::test_client_builder(sandbox.base_url())
        .expect("builder")
        .build()
        .expect("client")
}

fn split(tx: &str, no: &str, amount: i64) -> CreateProfitSharingOrder {
    CreateProfitSharingOrder::new(
        SUB,
        tx,
        no,
        vec![OrderReceiver::new(
            ReceiverType::MerchantId,
            RECEIVER,
            amount,
            "分给商户",
        )],
    )
}

/// Runs one operation on either transport.
trait Run {
    async fn run<O>(&self, op: &O) -> Result<O::Output, Error>
    where
        O: Operation + Clone + Send + Sync + 'static,
        O::Output: Send + 'static;
}

impl Run for HyperClient {
    async fn run<O>(&self, op: &O) -> Result<O::Output, Error>
    where
        O: Operation + Clone + Send + Sync + 'static,
        O::Output: Send + 'static,
    {
        self.execute(op).await
    }
}

impl Run for BlockingClient {
    async fn run<O>(&self, op: &O) -> Result<O::Output, Error>
    where
        O: Operation + Clone + Send + Sync + 'static,
        O::Output: Send + 'static,
    {
        let (client, op) = (self.clone(), op.clone());
        tokio::task::spawn_blocking(move || client.execute(&op))
            .await
            .expect("the blocking call")
    }
}

async fn whole_flow(client: &impl Run, core: &Client, tx: &str) {
    // Numbers are the merchant's: unique per run.
    let no = |n: &str| format!("{n}-{}", &tx[tx.len() - 4..]);
    let add = AddReceiver::new(
        "wx8888888888888888",
        ReceiverType::MerchantId,
        RECEIVER,
        RelationType::Supplier,
    )
    .name(
        &core.encryptor().expect("encryptor"),
        "示例商户全称有限公司",
    )
    .expect("sealed");
    client.run(&add).await.expect("receiver added");

    // An undeclared transaction counts as paid a large amount (lenient mode); split 300 + 200.
    let first = client
        .run(&split(tx, &no("P1"), 300))
        .await
        .expect("first split");
    assert_eq!(first.receivers[0].amount, 300);
    let last = split(tx, &no("P2"), 200).finishing();
    client.run(&last).await.expect("last split, finishing");
    let left = client
        .run(&QueryUnsplitAmount::new(tx))
        .await
        .expect("amounts");
    assert_eq!(left.unsplit_amount, 0, "finished: nothing left to split");
    let refused = client
        .run(&split(tx, &no("P3"), 1))
        .await
        .expect_err("a finished order refuses splits");
    assert_eq!(refused.kind(), ErrorKind::Api);
    assert!(!refused.is_fate_unknown());

    // The first share is paid (PENDING to the first query, then SUCCESS), then part returns.
    let mut share = client
        .run(&first.clone().query_of(tx))
        .await
        .expect("query");
    for _ in 0..5 {
        if share.receivers[0].result == Some(ReceiverResult::Success) {
            break;
        }
        share = client
            .run(&first.clone().query_of(tx))
            .await
            .expect("query");
    }
    assert_eq!(share.receivers[0].result, Some(ReceiverResult::Success));
    let back = |number: &str, amount| {
        CreateReturnOrder::new(
            SUB,
            SplitRef::OutOrderNo(no("P1")),
            number,
            RECEIVER,
            amount,
            "退款",
        )
    };
    let returned = client.run(&back(&no("R1"), 100)).await.expect("return");
    assert_eq!(returned.amount, 100);
    assert_ne!(returned.result, ReturnResult::Fail);
    let too_much = client
        .run(&back(&no("R2"), 300))
        .await
        .expect_err("only 200 of that share is left to return");
    assert_eq!(too_much.code(), Some("NOT_ENOUGH"), "{too_much}");
}

/// The query for a split made by `CreateProfitSharingOrder` (its answer carries the numbers).
trait QueryOf {
    fn query_of(self, tx: &str) -> wechatpay_core::orders::QueryProfitSharingOrder;
}

impl QueryOf for wechatpay_core::orders::ProfitSharingOrder {
    fn query_of(self, tx: &str) -> wechatpay_core::orders::QueryProfitSharingOrder {
        wechatpay_core::orders::QueryProfitSharingOrder::new(SUB, tx, self.out_order_no)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_through_both_transports_against_the_sandbox() {
    let sandbox = sandbox();
    let core = client(&sandbox);
    let hyper = HyperClient::with_config(core.clone(), TransportConfig::default()).expect("hyper");
    whole_flow(&hyper, &core, "4208450740201411110000008801").await;
    let blocking =
        BlockingClient::with_config(core.clone(), TransportConfig::default()).expect("blocking");
    whole_flow(&blocking, &core, "4208450740201411110000008802").await;
}
