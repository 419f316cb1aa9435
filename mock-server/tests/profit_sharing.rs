//! The sandbox keeps money consistent: core's typed profit-sharing operations
//! (`wechatpay_core::orders`, `returns`, `receivers`) signed by `mock.client()` and sent to the
//! in-process mock. The whole flow of a platform (declare a paid order, add a receiver, split,
//! finish, return), each money rule refused, fate-unknown creates settled by core's checks,
//! outcomes, notifications, strictness, frequency limits; and a property test of random
//! sequences of splits, returns and finishes against a model of the rules.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Inbox, assert_error, json, send};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use wechatpay_core::call::Call;
use wechatpay_core::driver::{self, AsyncTransport};
use wechatpay_core::encryption::{Encryptor, Sealed};
use wechatpay_core::http::{self, Request, Response};
use wechatpay_core::notification::{NotificationVerifier, ProfitSharingNotification};
use wechatpay_core::orders::{
    CreateProfitSharingOrder, FinishProfitSharingOrder, OrderReceiver, OrderStatus,
    QueryProfitSharingOrder, QueryUnsplitAmount, ReceiverFailReason, ReceiverResult,
};
use wechatpay_core::receivers::{AddReceiver, ReceiverType, RelationType};
use wechatpay_core::returns::{
    CreateReturnOrder, QueryReturnOrder, ReturnFailReason, ReturnResult, SplitRef,
};
use wechatpay_core::{Error, Generic, Operation};
use wechatpay_mock_server::{
    Fault, LENIENT_PAID_AMOUNT, MockWechatPay, ReturnOutcome, Route, ShareOutcome, keys,
};

const SUB: &str = "1900000109";
const APPID: &str = "wx8888888888888888";
/// Receivers the tests add; the last is never added.
const ACCOUNTS: [&str; 3] = ["1900000110", "1900000111", "1900000119"];
const NAME: &str = "示例商户全称有限公司";

/// Signs `op` for the test merchant, sends it to the mock, and verifies the answer.
async fn call<O: Operation>(mock: &MockWechatPay, op: &O) -> Result<O::Output, Error> {
    let (req, pending) = mock.client().prepare(op)?;
    pending.finish(send(mock.address(), &req).await)
}

/// A refusal's status and code.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, Error>, code: &str) -> Error {
    let err = result.expect_err("refused");
    assert_eq!(err.code(), Some(code), "{err}");
    err
}

/// Adds receiver `account` (a merchant, its name encrypted) for the test merchant.
async fn add_receiver(mock: &MockWechatPay, account: &str) {
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let add = AddReceiver::new(
        APPID,
        ReceiverType::MerchantId,
        account,
        RelationType::Supplier,
    )
    .name(&encryptor, NAME)
    .expect("sealed");
    call(mock, &add).await.expect("added");
}

fn share(account: &str, amount: i64) -> OrderReceiver {
    OrderReceiver::new(
        ReceiverType::MerchantId,
        account,
        amount,
        format!("分给{account}"),
    )
}

fn split(tx: &str, no: &str, receivers: Vec<OrderReceiver>) -> CreateProfitSharingOrder {
    CreateProfitSharingOrder::new(SUB, tx, no, receivers)
}

async fn unsplit(mock: &MockWechatPay, tx: &str) -> i64 {
    call(mock, &QueryUnsplitAmount::new(tx))
        .await
        .expect("amounts")
        .unsplit_amount
}

#[tokio::test]
async fn the_whole_flow_keeps_the_money_consistent() {
    let mock = MockWechatPay::start().await;
    let tx = "4208450740201411110007820472";
    mock.declare_transaction(SUB, tx, 1000).expect("declared");
    add_receiver(&mock, ACCOUNTS[0]).await;
    let inbox = Inbox::start().await;
    mock.set_notify_url(ACCOUNTS[0], &inbox.url).expect("url");
    assert_eq!(unsplit(&mock, tx).await, 1000);

    // Split 300, the receiver's name encrypted for the key Wechatpay-Serial names.
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let first = split(
        tx,
        "P1",
        vec![
            share(ACCOUNTS[0], 300)
                .name(&encryptor, NAME)
                .expect("sealed"),
        ],
    );
    let made = call(&mock, &first).await.expect("split 300");
    assert_eq!(made.status, Some(OrderStatus::Processing));
    assert_eq!(made.receivers[0].result, Some(ReceiverResult::Pending));
    assert_eq!(made.receivers[0].amount, 300);
    assert!(made.order_id.starts_with("30") && made.order_id.len() == 28);
    assert_eq!(mock.splits(tx)[0].receivers[0].name.as_deref(), Some(NAME));
    assert_eq!(unsplit(&mock, tx).await, 700);

    // PENDING to the first query, then SUCCESS (the mock's default processing).
    let query = first.query();
    let q1 = call(&mock, &query).await.expect("query");
    assert_eq!(q1.receivers[0].result, Some(ReceiverResult::Pending));
    let q2 = call(&mock, &query).await.expect("query");
    assert_eq!(q2.receivers[0].result, Some(ReceiverResult::Success));
    assert_eq!(q2.status, Some(OrderStatus::Finished));
    assert!(q2.receivers[0].finish_time.is_some());
    assert!(q2.is_final());

    // Split 200, the last: the remaining 500 go back to the sub-merchant.
    let last = split(tx, "P2", vec![share(ACCOUNTS[0], 200)]).finishing();
    let made = call(&mock, &last).await.expect("split 200 and finish");
    assert_eq!(made.finish_amount, Some(500));
    assert_eq!(unsplit(&mock, tx).await, 0);
    assert_eq!(mock.unsplit(tx), Some(0));

    // A third split is refused: the order is finished.
    let err = refused(
        call(&mock, &split(tx, "P3", vec![share(ACCOUNTS[0], 1)])).await,
        "INVALID_REQUEST",
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(
        err.api_message().is_some_and(|m| m.contains("finished")),
        "{err}"
    );

    // Return 100 of the 300.
    let back = CreateReturnOrder::new(
        SUB,
        SplitRef::OutOrderNo("P1".into()),
        "R1",
        ACCOUNTS[0],
        100,
        "用户退款",
    );
    let returned = call(&mock, &back).await.expect("return 100");
    assert_eq!(returned.result, ReturnResult::Processing);
    assert_eq!(returned.order_id, q2.order_id);
    assert_eq!(returned.out_order_no, "P1");
    assert!(returned.return_no.len() == 28);
    for expected in [ReturnResult::Processing, ReturnResult::Success] {
        let found = call(&mock, &back.query()).await.expect("return query");
        assert_eq!(found.result, expected);
    }
    // The query by order_id finds it too.
    let by_id = QueryReturnOrder::new(SUB, SplitRef::OrderId(q2.order_id.clone()), "R1");
    assert_eq!(
        call(&mock, &by_id).await.expect("by order_id").return_no,
        returned.return_no
    );

    // 300 more from that receiver: only 200 are left of what the split gave it.
    let too_much = CreateReturnOrder::new(
        SUB,
        SplitRef::OutOrderNo("P1".into()),
        "R2",
        ACCOUNTS[0],
        300,
        "用户退款",
    );
    let err = refused(call(&mock, &too_much).await, "NOT_ENOUGH");
    assert!(
        err.api_message()
            .is_some_and(|m| m.contains("300") && m.contains("200")),
        "{err}"
    );

    // The same out_order_no with the same body: the same record; with another body: refused.
    let again = call(&mock, &first).await.expect("the same split");
    assert_eq!(again.order_id, q2.order_id);
    assert_eq!(mock.splits(tx).len(), 2);
    let other = split(tx, "P1", vec![share(ACCOUNTS[0], 301)]);
    let err = refused(call(&mock, &other).await, "INVALID_REQUEST");
    assert!(err.api_message().is_some_and(|m| m.contains("P1")), "{err}");
    // Same for a return.
    assert_eq!(
        call(&mock, &back).await.expect("the same return").return_no,
        returned.return_no
    );
    let mut other_return = back.clone();
    other_return.amount = 99;
    refused(call(&mock, &other_return).await, "INVALID_REQUEST");

    // A receiver never added is refused, named.
    let tx2 = "4208450740201411110007820473";
    mock.declare_transaction(SUB, tx2, 1000).expect("declared");
    let err = refused(
        call(&mock, &split(tx2, "P4", vec![share(ACCOUNTS[2], 10)])).await,
        "INVALID_REQUEST",
    );
    assert!(
        err.api_message().is_some_and(|m| m.contains(ACCOUNTS[2])),
        "{err}"
    );
    assert_eq!(unsplit(&mock, tx2).await, 1000);

    // The sandbox's books.
    let books = mock.transaction(tx).expect("kept");
    assert!(books.declared && books.finished);
    assert_eq!(books.split_amount, 500);
    assert_eq!(books.finish_amount, Some(500));
    assert_eq!(books.returned_amount, 100);

    // The receiver was notified of the 300 it received and of the 100 it returned (the
    // split of 200 is final once queried).
    let last_query = call(&mock, &last.query()).await.expect("query");
    assert_eq!(
        last_query.receivers[0].result,
        Some(ReceiverResult::Pending)
    );
    call(&mock, &last.query()).await.expect("query");
    let got = inbox.wait_for(3).await;
    assert_eq!(got.len(), 3, "{:?}", mock.notifications());
    let verifier = NotificationVerifier::new(mock.trusted_keys(), keys::test_apiv3_key());
    let mut seen: Vec<(String, i64, String)> = got
        .iter()
        .map(|req| {
            let n = verifier
                .verify::<ProfitSharingNotification, _>(req)
                .expect("verified and decrypted");
            assert_eq!(n.resource.sp_mchid, keys::TEST_MCHID);
            assert_eq!(n.resource.sub_mchid, SUB);
            assert_eq!(n.resource.transaction_id, tx);
            assert_eq!(n.resource.receiver.account, ACCOUNTS[0]);
            assert!(n.resource.success_time.ends_with("+08:00"));
            (
                n.resource.out_order_no,
                n.resource.receiver.amount,
                n.summary,
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("P1".to_owned(), 100, "分账回退".to_owned()),
            ("P1".to_owned(), 300, "分账".to_owned()),
            ("P2".to_owned(), 200, "分账".to_owned()),
        ]
    );
    assert_eq!(
        mock.count_requests(&http::Method::POST, "/v3/ecommerce/profitsharing/orders")
            .await,
        6
    );
}

/// Posts `body` to `path` as the test merchant, past core's validation.
async fn post_raw(mock: &MockWechatPay, path: &str, body: &serde_json::Value) -> Response<Vec<u8>> {
    let op: Generic = Generic::post(path).json(body).expect("json");
    let (req, _pending) = mock.client().prepare(&op).expect("prepare");
    send(mock.address(), &req).await
}

#[tokio::test]
async fn bad_bodies_are_param_errors_naming_the_field() {
    let mock = MockWechatPay::start().await;
    let good = json!({
        "sub_mchid": SUB, "transaction_id": "4208450740201411110007820472",
        "out_order_no": "P1", "finish": false,
        "receivers": [{"type": "MERCHANT_ID", "receiver_account": ACCOUNTS[0], "amount": 10,
                       "description": "分账"}]
    });
    let with = |pointer: &str, value: serde_json::Value| {
        let mut b = good.clone();
        *b.pointer_mut(pointer).expect("field") = value;
        b
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().expect("object").remove(field);
        b
    };
    let long = "说".repeat(27);
    for (body, field) in [
        (without("finish"), "/finish"),
        (with("/finish", json!("yes")), "/finish"),
        (with("/sub_mchid", json!("19000001O9")), "/sub_mchid"),
        (without("out_order_no"), "/out_order_no"),
        (with("/receivers", json!([])), "/receivers"),
        (with("/receivers", json!({})), "/receivers"),
        (with("/receivers/0", json!(1)), "/receivers/0"),
        (with("/receivers/0/amount", json!(0)), "/receivers/0/amount"),
        (
            with("/receivers/0/amount", json!(1.5)),
            "/receivers/0/amount",
        ),
        (
            with("/receivers/0/type", json!("BANK")),
            "/receivers/0/type",
        ),
        (
            with("/receivers/0/receiver_account", json!("abc")),
            "/receivers/0/receiver_account",
        ),
        (
            with("/receivers/0/description", json!(long)),
            "/receivers/0/description",
        ),
        (
            with(
                "/receivers",
                json!([good["receivers"][0], good["receivers"][0]]),
            ),
            "/receivers/1/receiver_account",
        ),
    ] {
        let resp = post_raw(&mock, "/v3/ecommerce/profitsharing/orders", &body).await;
        let refused = assert_error(&resp, 400, "PARAM_ERROR");
        assert_eq!(refused["detail"]["field"], field, "{body} -> {refused}");
    }

    for (path, body, field) in [
        (
            "/v3/ecommerce/profitsharing/returnorders",
            json!({"sub_mchid": SUB, "out_return_no": "R1", "return_mchid": ACCOUNTS[0],
                   "amount": 1, "description": "d"}),
            "/out_order_no",
        ),
        (
            "/v3/ecommerce/profitsharing/returnorders",
            json!({"sub_mchid": SUB, "out_order_no": "P1", "out_return_no": "R1",
                   "return_mchid": "openid", "amount": 1, "description": "d"}),
            "/return_mchid",
        ),
        (
            "/v3/ecommerce/profitsharing/returnorders",
            json!({"sub_mchid": SUB, "out_order_no": "P1", "out_return_no": "R1",
                   "return_mchid": ACCOUNTS[0], "amount": -1, "description": "d"}),
            "/amount",
        ),
        (
            "/v3/ecommerce/profitsharing/finish-order",
            json!({"sub_mchid": SUB, "transaction_id": "4208450740201411110007820472",
                   "out_order_no": "F1"}),
            "/description",
        ),
    ] {
        let resp = post_raw(&mock, path, &body).await;
        let refused = assert_error(&resp, 400, "PARAM_ERROR");
        assert_eq!(refused["detail"]["field"], field, "{body} -> {refused}");
    }

    // A query without its keys names the parameter.
    let get: Generic = Generic::get("/v3/ecommerce/profitsharing/orders").query("sub_mchid", SUB);
    let (req, _) = mock.client().prepare(&get).expect("prepare");
    let refused = assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
    assert_eq!(refused["detail"]["field"], "transaction_id");
    assert_eq!(refused["detail"]["location"], "query");
    // Unknown records are 404 RESOURCE_NOT_EXISTS.
    let err = call(
        &mock,
        &QueryProfitSharingOrder::new(SUB, "4208450740201411110007820472", "NOPE"),
    )
    .await
    .expect_err("unknown");
    assert!(err.is_not_found(), "{err}");
    let err = call(
        &mock,
        &QueryReturnOrder::new(SUB, SplitRef::OutOrderNo("P1".into()), "NOPE"),
    )
    .await
    .expect_err("unknown");
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn a_receiver_name_that_does_not_decrypt_with_the_named_key_is_param_error() {
    let mock = MockWechatPay::builder()
        .test_platform_certificate()
        .start()
        .await
        .expect("mock");
    add_receiver(&mock, ACCOUNTS[0]).await;
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let sealed = encryptor.seal(NAME).expect("sealed");
    let mut receiver = share(ACCOUNTS[0], 10);
    // Encrypted with the WeChat Pay public key, sent naming the platform certificate.
    receiver.receiver_name = Some(Sealed::new(sealed.ciphertext(), keys::TEST_PLATFORM_SERIAL));
    let op = split("4208450740201411110007820472", "P1", vec![receiver]);
    let (req, _pending) = mock.client().prepare(&op).expect("prepare");
    assert_eq!(
        req.headers()["wechatpay-serial"],
        keys::TEST_PLATFORM_SERIAL
    );
    let body = assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
    assert_eq!(
        body["detail"]["field"], "/receivers/0/receiver_name",
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not decrypt")),
        "{body}"
    );
    // Encrypted for the platform certificate it names: accepted, the name decrypted.
    let for_platform =
        Encryptor::with_serial(&mock.trusted_keys(), keys::TEST_PLATFORM_SERIAL).expect("cert");
    let op = split(
        "4208450740201411110007820472",
        "P1",
        vec![
            share(ACCOUNTS[0], 10)
                .name(&for_platform, NAME)
                .expect("sealed"),
        ],
    );
    call(&mock, &op).await.expect("accepted");
    let kept = mock.splits("4208450740201411110007820472");
    assert_eq!(kept[0].receivers[0].name.as_deref(), Some(NAME));
}

#[tokio::test]
async fn finish_order_releases_the_rest_and_its_query_says_finished() {
    let mock = MockWechatPay::start().await;
    let tx = "4208450740201411110000000101";
    mock.declare_transaction(SUB, tx, 500).expect("declared");
    add_receiver(&mock, ACCOUNTS[0]).await;
    call(&mock, &split(tx, "P1", vec![share(ACCOUNTS[0], 100)]))
        .await
        .expect("split");
    let finish = FinishProfitSharingOrder::new(SUB, tx, "F1", "分账完结");
    let done = call(&mock, &finish).await.expect("finished");
    assert_eq!(done.out_order_no, "F1");
    assert_eq!(unsplit(&mock, tx).await, 0);
    let record = call(&mock, &QueryProfitSharingOrder::new(SUB, tx, "F1"))
        .await
        .expect("query");
    assert_eq!(record.status, Some(OrderStatus::Finished));
    assert_eq!(record.finish_amount, Some(400));
    assert_eq!(record.order_id, done.order_id);
    assert!(record.receivers.is_empty());
    // Again with the same body: the same finish; another finish, or a split: refused.
    assert_eq!(
        call(&mock, &finish).await.expect("same").order_id,
        done.order_id
    );
    refused(
        call(
            &mock,
            &FinishProfitSharingOrder::new(SUB, tx, "F2", "again"),
        )
        .await,
        "INVALID_REQUEST",
    );
    refused(
        call(&mock, &split(tx, "P2", vec![share(ACCOUNTS[0], 1)])).await,
        "INVALID_REQUEST",
    );
    // A finish is not a split a return can take from.
    refused(
        call(
            &mock,
            &CreateReturnOrder::new(
                SUB,
                SplitRef::OutOrderNo("F1".into()),
                "R1",
                ACCOUNTS[0],
                1,
                "d",
            ),
        )
        .await,
        "INVALID_REQUEST",
    );
}

/// The in-process mock as a transport for core's call machine.
struct Raw(SocketAddr);

impl AsyncTransport for Raw {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        _timeout: Duration,
    ) -> impl std::future::Future<Output = Result<Response<Vec<u8>>, Error>> + Send {
        let addr = self.0;
        async move { Ok(send(addr, &request).await) }
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        // The call machine's backoff, shortened: the mock needs no real wait.
        tokio::time::sleep(duration.min(Duration::from_millis(10)))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[tokio::test]
async fn creates_processed_then_failed_are_settled_by_cores_checks() {
    let mock = MockWechatPay::start().await;
    let tx = "4208450740201411110000000201";
    mock.declare_transaction(SUB, tx, 1000).expect("declared");
    add_receiver(&mock, ACCOUNTS[0]).await;
    let transport = Raw(mock.address());

    // Processed, then 500: the check queries by out_order_no and finds the same split.
    mock.inject_on(Route::CreateSplit, Fault::ProcessedThenSystemError, 1);
    let op = split(tx, "P1", vec![share(ACCOUNTS[0], 300)]);
    let made = driver::run_async(Call::new(mock.client(), op), &transport)
        .await
        .expect("settled by the check");
    assert_eq!(made.receivers[0].amount, 300);
    assert_eq!(mock.splits(tx).len(), 1);
    assert_eq!(mock.unsplit(tx), Some(700), "split once");

    // Settle the share (PENDING to the first query), then a return of unknown fate.
    let query = QueryProfitSharingOrder::new(SUB, tx, "P1");
    for _ in 0..2 {
        call(&mock, &query).await.expect("query");
    }
    mock.inject_on(Route::CreateReturn, Fault::ProcessedThenSystemError, 1);
    let back = CreateReturnOrder::new(
        SUB,
        SplitRef::OutOrderNo("P1".into()),
        "R1",
        ACCOUNTS[0],
        50,
        "退款",
    );
    let returned = driver::run_async(Call::new(mock.client(), back), &transport)
        .await
        .expect("settled by the check");
    assert_eq!(returned.amount, 50);
    assert_eq!(mock.returns(tx).len(), 1);

    // A finish of unknown fate: its own query finds it.
    mock.inject_on(Route::FinishOrder, Fault::ProcessedThenSystemError, 1);
    let finished = driver::run_async(
        Call::new(
            mock.client(),
            FinishProfitSharingOrder::new(SUB, tx, "F1", "完结"),
        ),
        &transport,
    )
    .await
    .expect("settled by the check");
    assert_eq!(finished.out_order_no, "F1");
    assert_eq!(
        mock.transaction(tx).and_then(|t| t.finish_amount),
        Some(700)
    );
}

/// A control request to the in-process mock.
async fn control(
    mock: &MockWechatPay,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .expect("request");
    let resp = send(mock.address(), &req).await;
    (resp.status().as_u16(), json(&resp))
}

#[tokio::test]
async fn outcomes_close_shares_and_fail_returns_and_the_money_comes_back() {
    let mock = MockWechatPay::start().await;
    let tx = "4208450740201411110000000301";
    let (status, declared) = control(
        &mock,
        "POST",
        "/mock/transactions",
        &json!({"sub_mchid": SUB, "transaction_id": tx, "amount": 1000}),
    )
    .await;
    assert_eq!(status, 200, "{declared}");
    assert_eq!(declared["transaction"]["unsplit_amount"], 1000);
    for account in &ACCOUNTS[..2] {
        add_receiver(&mock, account).await;
    }
    // The second receiver's share closes; the split is final at its first query.
    let (status, body) = control(
        &mock,
        "POST",
        "/mock/outcomes",
        &json!({"sub_mchid": SUB, "out_order_no": "P1", "receiver_account": ACCOUNTS[1],
                "result": "CLOSED", "fail_reason": "NO_RELATION", "processing_queries": 0}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    mock.plan_share(SUB, "P1", Some(ACCOUNTS[0]), ShareOutcome::Success)
        .expect("a plan the sandbox accepts");
    let op = split(
        tx,
        "P1",
        vec![share(ACCOUNTS[0], 300), share(ACCOUNTS[1], 200)],
    );
    let made = call(&mock, &op).await.expect("split");
    assert!(
        made.receivers
            .iter()
            .all(|r| r.result == Some(ReceiverResult::Pending))
    );
    // The closed share is final at the next request, queried or not: its 200 may be split
    // again.
    assert_eq!(unsplit(&mock, tx).await, 700);
    let found = call(&mock, &op.query()).await.expect("query");
    let results: Vec<_> = found
        .receivers
        .iter()
        .map(|r| {
            (
                r.receiver_account.clone(),
                r.result.clone(),
                r.fail_reason.clone(),
            )
        })
        .collect();
    // The first receiver's share follows the default (PENDING to the first query).
    assert_eq!(
        results,
        [
            (ACCOUNTS[0].to_owned(), Some(ReceiverResult::Pending), None),
            (
                ACCOUNTS[1].to_owned(),
                Some(ReceiverResult::Closed),
                Some(ReceiverFailReason::NoRelation)
            ),
        ]
    );
    call(&mock, &op.query()).await.expect("query");

    // A return that fails gives its amount back to what may be returned.
    let (status, _) = control(
        &mock,
        "POST",
        "/mock/outcomes",
        &json!({"sub_mchid": SUB, "out_return_no": "R1", "result": "FAIL",
                "fail_reason": "ACCOUNT_ABNORMAL", "processing_queries": 1}),
    )
    .await;
    assert_eq!(status, 200);
    let back = |no: &str, amount| {
        CreateReturnOrder::new(
            SUB,
            SplitRef::OutOrderNo("P1".into()),
            no,
            ACCOUNTS[0],
            amount,
            "退款",
        )
    };
    call(&mock, &back("R1", 300)).await.expect("return");
    // While it is processing, its 300 are taken.
    refused(call(&mock, &back("R2", 1)).await, "NOT_ENOUGH");
    let processing = call(&mock, &back("R1", 300).query()).await.expect("query");
    assert_eq!(processing.result, ReturnResult::Processing);
    let failed = call(&mock, &back("R1", 300).query()).await.expect("query");
    assert_eq!(failed.result, ReturnResult::Fail);
    assert_eq!(failed.fail_reason, Some(ReturnFailReason::AccountAbnormal));
    assert!(failed.finish_time.is_some());
    mock.plan_return(SUB, "R2", ReturnOutcome::Success)
        .expect("a plan the sandbox accepts");
    call(&mock, &back("R2", 300))
        .await
        .expect("returned after all");
    // Nothing of the closed share may come back.
    let from_closed = CreateReturnOrder::new(
        SUB,
        SplitRef::OutOrderNo("P1".into()),
        "R3",
        ACCOUNTS[1],
        1,
        "退款",
    );
    let err = refused(call(&mock, &from_closed).await, "NOT_ENOUGH");
    assert!(
        err.api_message().is_some_and(|m| m.contains("CLOSED")),
        "{err}"
    );

    // The books, through the control API.
    let (status, books) = control(
        &mock,
        "GET",
        &format!("/mock/transactions?transaction_id={tx}"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let t = &books["transactions"][0];
    assert_eq!(t["amount"], 1000);
    assert_eq!(t["split_amount"], 300);
    assert_eq!(t["unsplit_amount"], 700);
    assert_eq!(t["splits"][0]["receivers"][1]["result"], "CLOSED");
    assert_eq!(t["returns"][0]["result"], "FAIL");

    // Control bodies are strict.
    for body in [
        json!({"sub_mchid": SUB, "transaction_id": tx, "amount": 1, "extra": true}),
        json!({"sub_mchid": SUB, "transaction_id": tx, "amount": 0}),
        json!({"sub_mchid": SUB, "transaction_id": tx, "amount": 5}),
    ] {
        let (status, answer) = control(&mock, "POST", "/mock/transactions", &body).await;
        assert_eq!(status, 400, "{body} -> {answer}");
    }
    for body in [
        json!({"sub_mchid": SUB, "out_order_no": "P1", "out_return_no": "R1", "result": "SUCCESS"}),
        json!({"sub_mchid": SUB, "out_order_no": "P1", "result": "CLOSED"}),
        json!({"sub_mchid": SUB, "out_order_no": "P1", "result": "FAILED", "fail_reason": "X"}),
        json!({"sub_mchid": SUB, "out_return_no": "R1", "result": "CLOSED", "fail_reason": "X"}),
        json!({"sub_mchid": SUB, "out_return_no": "R1", "result": "SUCCESS", "colour": 1}),
    ] {
        let (status, answer) = control(&mock, "POST", "/mock/outcomes", &body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("PARAM_ERROR")),
            "{body} -> {answer}"
        );
    }
    let (status, answer) = control(
        &mock,
        "POST",
        "/mock/notify-urls",
        &json!({"account": ACCOUNTS[0], "url": "https://example.com/n"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn undeclared_transactions_are_lenient_unless_strict() {
    let mock = MockWechatPay::start().await;
    add_receiver(&mock, ACCOUNTS[0]).await;
    let tx = "4208450740201411110000000401";
    assert_eq!(unsplit(&mock, tx).await, LENIENT_PAID_AMOUNT);
    assert_eq!(mock.unsplit(tx), None);
    call(&mock, &split(tx, "P1", vec![share(ACCOUNTS[0], 10)]))
        .await
        .expect("lenient");
    let kept = mock.transaction(tx).expect("kept");
    assert!(!kept.declared);
    assert_eq!(kept.unsplit_amount, LENIENT_PAID_AMOUNT - 10);
    // The path segment is percent-decoded: one segment, whatever it holds.
    let odd = call(&mock, &QueryUnsplitAmount::new("42/../x"))
        .await
        .expect("amounts");
    assert_eq!(odd.transaction_id, "42/../x");

    let (status, settings) = control(
        &mock,
        "POST",
        "/mock/settings",
        &json!({"strict_transactions": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(settings["settings"]["strict_transactions"], true);
    assert!(mock.settings().strict_transactions);
    let other = "4208450740201411110000000402";
    for err in [
        call(&mock, &QueryUnsplitAmount::new(other))
            .await
            .map(|_| ()),
        call(&mock, &split(other, "P2", vec![share(ACCOUNTS[0], 10)]))
            .await
            .map(|_| ()),
        call(&mock, &FinishProfitSharingOrder::new(SUB, other, "F1", "d"))
            .await
            .map(|_| ()),
    ] {
        let err = refused(err, "INVALID_REQUEST");
        assert!(
            err.api_message()
                .is_some_and(|m| m.contains("unknown transaction")),
            "{err}"
        );
    }
    // Once declared, it is known; a transaction paid to another sub-merchant is refused.
    mock.declare_transaction(SUB, other, 50).expect("declared");
    assert_eq!(unsplit(&mock, other).await, 50);
    let mut elsewhere = split(other, "P3", vec![share(ACCOUNTS[0], 10)]);
    elsewhere.sub_mchid = "1900000222".into();
    refused(call(&mock, &elsewhere).await, "INVALID_REQUEST");
    assert!(mock.declare_transaction(SUB, other, 0).is_err());
    assert!(mock.declare_transaction("abc", other, 10).is_err());
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let mock = MockWechatPay::builder()
        .rate_limits(true)
        .start()
        .await
        .expect("mock");
    add_receiver(&mock, ACCOUNTS[0]).await;
    let tx = "4208450740201411110000000501";
    // Two splits of the same transaction within a second: the second is limited (retried
    // until both land in one second, as a second may tick between them).
    let mut limited = None;
    for attempt in 0..5 {
        let first = call(
            &mock,
            &split(tx, &format!("A{attempt}"), vec![share(ACCOUNTS[0], 1)]),
        )
        .await;
        let second = call(
            &mock,
            &split(tx, &format!("B{attempt}"), vec![share(ACCOUNTS[0], 1)]),
        )
        .await;
        if let (Ok(_), Err(e)) = (&first, second) {
            limited = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let err = limited.expect("a split limited within 5 tries");
    assert_eq!(err.code(), Some("FREQUENCY_LIMITED"));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert!(err.is_retryable());

    // Switched off through the control API: no limit.
    let (status, _) = control(
        &mock,
        "POST",
        "/mock/settings",
        &json!({"rate_limits": false}),
    )
    .await;
    assert_eq!(status, 200);
    for i in 0..3 {
        call(
            &mock,
            &split(tx, &format!("C{i}"), vec![share(ACCOUNTS[0], 1)]),
        )
        .await
        .expect("not limited");
    }
}

// ---------------------------------------------------------------------------------------------
// The property: random sequences of splits, returns and finishes never break the money rules,
// and the SDK's view (answers, queries, unsplit amount) always matches a model of them.

/// One step of a sequence.
#[derive(Debug, Clone)]
enum Step {
    /// A split to these receivers (index into [`ACCOUNTS`], amount); `close`: the share of that
    /// index is planned `CLOSED`.
    Split {
        shares: Vec<(usize, i64)>,
        finish: bool,
        close: Option<usize>,
    },
    /// `finish-order`.
    Finish,
    /// A return from receiver `receiver` out of the `split`-th split made (modulo).
    Return {
        split: usize,
        receiver: usize,
        amount: i64,
        by_order_id: bool,
        fail: bool,
    },
    /// The `split`-th split sent again, unchanged.
    Repeat { split: usize },
    /// The `split`-th split's number with another amount.
    Conflict { split: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            proptest::collection::vec((0..3usize, 1..=700i64), 1..=2),
            proptest::bool::weighted(0.15),
            proptest::option::weighted(0.3, 0..2usize),
        )
            .prop_map(|(mut shares, finish, close)| {
                let mut seen = Vec::new();
                shares.retain(|(r, _)| {
                    let new = !seen.contains(r);
                    seen.push(*r);
                    new
                });
                Step::Split { shares, finish, close }
            }),
        1 => Just(Step::Finish),
        4 => (0..8usize, 0..3usize, 1..=400i64, any::<bool>(), proptest::bool::weighted(0.3))
            .prop_map(|(split, receiver, amount, by_order_id, fail)| Step::Return {
                split, receiver, amount, by_order_id, fail,
            }),
        1 => (0..8usize).prop_map(|split| Step::Repeat { split }),
        1 => (0..8usize).prop_map(|split| Step::Conflict { split }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pending,
    Success,
    Closed,
}

/// A share in the model.
#[derive(Debug)]
struct ModelShare {
    account: usize,
    amount: i64,
    closes: bool,
    fate: Fate,
}

/// A split accepted by the sandbox, in the model.
struct ModelSplit {
    op: CreateProfitSharingOrder,
    order_id: String,
    shares: Vec<ModelShare>,
}

/// A return accepted by the sandbox, in the model.
struct ModelReturn {
    op: CreateReturnOrder,
    split: usize,
    account: usize,
    amount: i64,
    fails: bool,
    /// `None` while processing; then whether it succeeded.
    succeeded: Option<bool>,
}

/// The money rules, written once more for the test.
struct Model {
    paid: i64,
    finished: bool,
    splits: Vec<ModelSplit>,
    returns: Vec<ModelReturn>,
}

impl Model {
    /// Shares that are not closed.
    fn split_total(&self) -> i64 {
        self.splits
            .iter()
            .flat_map(|s| &s.shares)
            .filter(|s| s.fate != Fate::Closed)
            .map(|s| s.amount)
            .sum()
    }

    fn unsplit(&self) -> i64 {
        if self.finished {
            0
        } else {
            self.paid - self.split_total()
        }
    }

    /// What may still come back from `account`'s share of split `split`.
    fn returnable(&self, split: usize, account: usize) -> Option<i64> {
        let share = self.splits[split]
            .shares
            .iter()
            .find(|s| s.account == account)?;
        let given = if share.fate == Fate::Success {
            share.amount
        } else {
            0
        };
        let taken: i64 = self
            .returns
            .iter()
            .filter(|r| r.split == split && r.account == account && r.succeeded != Some(false))
            .map(|r| r.amount)
            .sum();
        Some(given - taken)
    }

    /// Processing is 0 queries, 0 s: everything is final at the next request.
    fn settle(&mut self) {
        for share in self.splits.iter_mut().flat_map(|s| &mut s.shares) {
            if share.fate == Fate::Pending {
                share.fate = if share.closes {
                    Fate::Closed
                } else {
                    Fate::Success
                };
            }
        }
        for r in &mut self.returns {
            if r.succeeded.is_none() {
                r.succeeded = Some(!r.fails);
            }
        }
    }
}

/// What the sandbox should answer: accepted, or refused with this code.
fn expect(
    result: &Result<impl std::fmt::Debug, Error>,
    code: Option<&str>,
    what: &str,
) -> Result<(), TestCaseError> {
    match (result, code) {
        (Ok(_), None) => Ok(()),
        (Err(e), Some(code))
            if e.code() == Some(code) && e.status().map(|s| s.as_u16()) == Some(400) =>
        {
            Ok(())
        }
        (got, want) => Err(TestCaseError::fail(format!(
            "{what}: expected {}, got {got:?}",
            want.unwrap_or("acceptance")
        ))),
    }
}

static CASE: AtomicUsize = AtomicUsize::new(0);

async fn run_case(
    mock: &MockWechatPay,
    encryptor: &Encryptor,
    paid: i64,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let tx = format!("42000000{case:020}");
    mock.declare_transaction(SUB, &tx, paid)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model {
        paid,
        finished: false,
        splits: Vec::new(),
        returns: Vec::new(),
    };
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Split {
                shares,
                finish,
                close,
            } => {
                let no = format!("P{case}-{i}");
                let receivers = shares
                    .iter()
                    .map(|(r, amount)| {
                        let s = share(ACCOUNTS[*r], *amount);
                        if *r == 0 {
                            s.name(encryptor, NAME).expect("sealed")
                        } else {
                            s
                        }
                    })
                    .collect();
                let mut op = split(&tx, &no, receivers);
                op.finish = finish;
                if let Some(c) = close.filter(|c| *c < shares.len()) {
                    mock.plan_share(
                        SUB,
                        &no,
                        Some(ACCOUNTS[shares[c].0]),
                        ShareOutcome::Closed("NO_RELATION".into()),
                    )
                    .expect("a plan the sandbox accepts");
                }
                let total: i64 = shares.iter().map(|s| s.1).sum();
                // Refused, in the sandbox's order: finished; a receiver never added; more
                // than is left.
                let code = if model.finished || shares.iter().any(|(r, _)| *r == 2) {
                    Some("INVALID_REQUEST")
                } else if total > model.unsplit() {
                    Some("NOT_ENOUGH")
                } else {
                    None
                };
                let result = call(mock, &op).await;
                expect(&result, code, &format!("split {no} of {total}"))?;
                if let Ok(made) = result {
                    prop_assert_eq!(made.receivers.len(), shares.len());
                    model.splits.push(ModelSplit {
                        op,
                        order_id: made.order_id,
                        shares: shares
                            .iter()
                            .enumerate()
                            .map(|(k, (r, amount))| ModelShare {
                                account: *r,
                                amount: *amount,
                                closes: close == Some(k),
                                fate: Fate::Pending,
                            })
                            .collect(),
                    });
                    if finish {
                        model.finished = true;
                        prop_assert_eq!(made.finish_amount, Some(model.unsplit_before_finish()));
                    }
                }
            }
            Step::Finish => {
                let op = FinishProfitSharingOrder::new(SUB, &tx, format!("F{case}-{i}"), "完结");
                let code = model.finished.then_some("INVALID_REQUEST");
                let result = call(mock, &op).await;
                expect(&result, code, "finish")?;
                if result.is_ok() {
                    let released = model.unsplit();
                    model.finished = true;
                    let record = call(
                        mock,
                        &QueryProfitSharingOrder::new(SUB, &tx, format!("F{case}-{i}")),
                    )
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(record.finish_amount, Some(released));
                }
            }
            Step::Return {
                split,
                receiver,
                amount,
                by_order_id,
                fail,
            } => {
                let no = format!("R{case}-{i}");
                let (split_ref, index) = if model.splits.is_empty() {
                    (SplitRef::OutOrderNo("NONE".into()), None)
                } else {
                    let k = split % model.splits.len();
                    let s = &model.splits[k];
                    let r = if by_order_id {
                        SplitRef::OrderId(s.order_id.clone())
                    } else {
                        SplitRef::OutOrderNo(s.op.out_order_no.clone())
                    };
                    (r, Some(k))
                };
                let op =
                    CreateReturnOrder::new(SUB, split_ref, &no, ACCOUNTS[receiver], amount, "退款");
                if fail {
                    mock.plan_return(SUB, &no, ReturnOutcome::Fail("ACCOUNT_ABNORMAL".into()))
                        .expect("a plan the sandbox accepts");
                }
                let code = match index.map(|k| model.returnable(k, receiver)) {
                    None | Some(None) => Some("INVALID_REQUEST"),
                    Some(Some(left)) if amount > left => Some("NOT_ENOUGH"),
                    Some(Some(_)) => None,
                };
                let result = call(mock, &op).await;
                expect(
                    &result,
                    code,
                    &format!("return {no} of {amount} from {receiver}"),
                )?;
                if let (Ok(_), Some(k)) = (&result, index) {
                    model.returns.push(ModelReturn {
                        op,
                        split: k,
                        account: receiver,
                        amount,
                        fails: fail,
                        succeeded: None,
                    });
                }
            }
            Step::Repeat { split } => {
                if model.splits.is_empty() {
                    continue;
                }
                let s = &model.splits[split % model.splits.len()];
                let again = call(mock, &s.op).await;
                match again {
                    Ok(record) => prop_assert_eq!(&record.order_id, &s.order_id),
                    Err(e) => return Err(TestCaseError::fail(format!("repeat refused: {e}"))),
                }
            }
            Step::Conflict { split } => {
                if model.splits.is_empty() {
                    continue;
                }
                let mut op = model.splits[split % model.splits.len()].op.clone();
                op.receivers[0].amount += 1;
                expect(&call(mock, &op).await, Some("INVALID_REQUEST"), "conflict")?;
            }
        }
        model.settle();
        // The unsplit amount: what the SDK reads, what the model says, what the sandbox keeps.
        let reported = call(mock, &QueryUnsplitAmount::new(&tx))
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .unsplit_amount;
        prop_assert_eq!(reported, model.unsplit(), "after step {}", i);
        prop_assert_eq!(mock.unsplit(&tx), Some(reported));
        prop_assert!(model.split_total() <= paid);
    }

    // The SDK's view at the end: every split and return as the model has it; the sum of
    // successful shares never exceeds what was paid, and equals paid − unsplit until finished;
    // returns never exceed what their share gave.
    let mut succeeded = 0;
    for (k, s) in model.splits.iter().enumerate() {
        let found = call(mock, &s.op.query())
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(found.status, Some(OrderStatus::Finished));
        for share in &s.shares {
            let r = found
                .receivers
                .iter()
                .find(|r| r.receiver_account == ACCOUNTS[share.account])
                .ok_or_else(|| TestCaseError::fail("a share is missing"))?;
            prop_assert_eq!(r.amount, share.amount);
            let want = if share.closes {
                ReceiverResult::Closed
            } else {
                ReceiverResult::Success
            };
            prop_assert_eq!(r.result.clone(), Some(want));
            if !share.closes {
                succeeded += share.amount;
                let returned: i64 = model
                    .returns
                    .iter()
                    .filter(|x| {
                        x.split == k && x.account == share.account && x.succeeded == Some(true)
                    })
                    .map(|x| x.amount)
                    .sum();
                prop_assert!(returned <= share.amount);
            }
        }
    }
    prop_assert!(succeeded <= paid);
    let reported = call(mock, &QueryUnsplitAmount::new(&tx))
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?
        .unsplit_amount;
    if model.finished {
        prop_assert_eq!(reported, 0);
    } else {
        prop_assert_eq!(reported, paid - succeeded);
    }
    for r in &model.returns {
        let found = call(mock, &r.op.query())
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(found.amount, r.amount);
        let want = if r.fails {
            ReturnResult::Fail
        } else {
            ReturnResult::Success
        };
        prop_assert_eq!(found.result, want);
    }
    let books = mock.transaction(&tx).expect("kept");
    prop_assert_eq!(books.succeeded_amount, succeeded);
    Ok(())
}

impl Model {
    /// After a finishing split was accepted: what it released (the unsplit amount just before
    /// the finish, the split's own shares taken).
    fn unsplit_before_finish(&self) -> i64 {
        self.paid - self.split_total()
    }
}

#[test]
fn random_splits_returns_and_finishes_never_break_the_money_rules() {
    // 64 cases in the test suite; PROPTEST_CASES=N for a longer run (1,000 pass).
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mock, encryptor) = runtime.block_on(async {
        let mock = MockWechatPay::builder()
            .processing(0, Duration::ZERO)
            .start()
            .await
            .expect("mock");
        for account in &ACCOUNTS[..2] {
            add_receiver(&mock, account).await;
        }
        let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
        (mock, encryptor)
    });
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (1..=2000i64, proptest::collection::vec(step(), 1..=16));
    let result = runner.run(&strategy, |(paid, steps)| {
        runtime.block_on(run_case(&mock, &encryptor, paid, steps))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
