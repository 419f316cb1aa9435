//! `wechatpay demo`: a platform's whole profit-sharing flow against the embedded mock — a paid
//! order, a receiver, a split, a refused split, what is left, the finish, a return, and the
//! after-sales splits — every request signed and every answer verified, each step narrated.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wechatpay_core::orders::{
    CreateProfitSharingOrder, FinishProfitSharingOrder, OrderReceiver, QueryUnsplitAmount,
};
use wechatpay_core::receivers::{AddReceiver, ReceiverType, RelationType};
use wechatpay_core::returns::{CreateReturnOrder, SplitRef};
use wechatpay_core::{CreateAfterSalesOrder, Error, FailReason, Scene, signing};
use wechatpay_mock_server::MockWechatPay;
use wechatpay_transport_blocking::{BlockingClient, Exchange};

use crate::args::Cli;
use crate::wait::{Poll, wait_final};
use crate::{Fail, Outcome, connect, output};

const SUB_MCHID: &str = "1900000109";
const TRANSACTION: &str = "4208450740201411110007820472";
const PAID: i64 = 10_000;
const APPID: &str = "wx8888888888888888";
const RECEIVER: &str = "1900000110";
const RECEIVER_NAME: &str = "示例商户全称有限公司";
const SPLIT_NO: &str = "P20150806125346";
const SHARE: i64 = 3_000;
const FINISH_NO: &str = "F20150806125346";
const RETURN_NO: &str = "R20190516001";
const RETURNED: i64 = 1_000;

/// The story, step by step; a step that fails ends it with that step's exit code.
pub(crate) fn run(cli: &Cli) -> Result<Outcome, Fail> {
    if cli.connection.base_url.is_some()
        || cli.connection.any_credential()
        || cli.connection.apiv3_key.is_some()
    {
        return Err(Fail::usage(
            "demo always runs against the embedded mock: give it no connection settings",
        ));
    }
    let embedded = connect::embedded(MockWechatPay::builder())?;
    let mock = &embedded.mock;
    let (id, _) = mock.wechatpay_public_key();
    eprintln!(
        "wechatpay demo: an embedded mock WeChat Pay is listening at {}",
        mock.base_url()
    );
    println!(
        "merchant {} (API certificate {}), trusting WeChat Pay key {id}",
        wechatpay_mock_server::keys::TEST_MCHID,
        wechatpay_mock_server::keys::TEST_MERCHANT_SERIAL
    );
    let verbose = cli.verbose;
    let seen = Arc::new(AtomicUsize::new(0));
    let client = connect::blocking(mock.client())?.with_observer(move |x| {
        if verbose {
            output::exchange(x);
        } else {
            narrate(x, seen.fetch_add(1, Ordering::Relaxed) == 0);
        }
    });
    let story = Story {
        client: &client,
        mock,
        json: cli.json,
        poll: Poll {
            first: Duration::from_millis(200),
            max: Duration::from_secs(1),
            deadline: Duration::from_secs(30),
        },
    };
    match story.tell() {
        Ok(()) => {
            println!();
            println!(
                "done: every request was signed with the merchant key, every answer verified with WeChat Pay's key before use, and the receiver's name left encrypted"
            );
            Ok(Outcome::Done)
        }
        Err(code) => Ok(Outcome::Failed(code)),
    }
}

struct Story<'a> {
    client: &'a BlockingClient,
    mock: &'a MockWechatPay,
    json: bool,
    poll: Poll,
}

/// A step's error, printed; the exit code.
fn stop(e: &Error, json: bool) -> u8 {
    output::error(e, json)
}

impl Story<'_> {
    fn title(n: u32, title: &str) {
        println!();
        println!("== {n}. {title} ==");
    }

    fn verified() {
        println!("   verified: the answer's signature matches WeChat Pay's key");
    }

    fn tell(&self) -> Result<(), u8> {
        let json = self.json;
        let client = self.client;

        Self::title(1, "a buyer pays the sub-merchant's order");
        match self.mock.declare_transaction(SUB_MCHID, TRANSACTION, PAID) {
            Ok(t) => println!(
                "   the sandbox records transaction {} as paid: {} fen to sub-merchant {} (control API: POST /mock/transactions)",
                t.transaction_id, t.amount, t.sub_mchid
            ),
            Err(e) => return Err(stop(&e, json)),
        }

        Self::title(2, "the platform adds a receiver; its name leaves encrypted");
        let add = client
            .core()
            .encryptor()
            .and_then(|encryptor| {
                AddReceiver::new(
                    APPID,
                    ReceiverType::MerchantId,
                    RECEIVER,
                    RelationType::Supplier,
                )
                .name(&encryptor, RECEIVER_NAME)
            })
            .map_err(|e| stop(&e, json))?;
        let serial = add.name.as_ref().map(|n| n.serial().to_owned());
        let added = client.execute(&add).map_err(|e| stop(&e, json))?;
        Self::verified();
        output::receiver("added", &added, serial.as_deref(), json);

        Self::title(
            3,
            &format!("split {SHARE} fen of the {PAID} paid to the receiver"),
        );
        let split = client
            .core()
            .encryptor()
            .and_then(|encryptor| {
                OrderReceiver::new(
                    ReceiverType::MerchantId,
                    RECEIVER,
                    SHARE,
                    "分给供应商 (supplier's share)",
                )
                .name(&encryptor, RECEIVER_NAME)
            })
            .map(|receiver| {
                CreateProfitSharingOrder::new(SUB_MCHID, TRANSACTION, SPLIT_NO, vec![receiver])
            })
            .map_err(|e| stop(&e, json))?;
        let answer = client.execute(&split).map_err(|e| stop(&e, json))?;
        Self::verified();
        output::split(&answer, json);
        println!("-- query the split until every share is final");
        let done =
            wait_final(client, &split.query(), self.poll, false).map_err(|e| stop(&e, json))?;
        Self::verified();
        output::split(&done, json);

        Self::title(4, "a split beyond what is left is refused by the sandbox");
        let greedy = CreateProfitSharingOrder::new(
            SUB_MCHID,
            TRANSACTION,
            "P20150806125347",
            vec![OrderReceiver::new(
                ReceiverType::MerchantId,
                RECEIVER,
                PAID - SHARE + 1,
                "more than is left",
            )],
        );
        match client.execute(&greedy) {
            Ok(_) => {
                eprintln!(
                    "error: the sandbox accepted a split of {} fen with only {} fen left",
                    PAID - SHARE + 1,
                    PAID - SHARE
                );
                return Err(1);
            }
            Err(e) => println!(
                "   refused as it should be: {}",
                e.api_message().map_or_else(|| e.to_string(), str::to_owned)
            ),
        }

        Self::title(5, "what is left to split");
        let left = client
            .execute(&QueryUnsplitAmount::new(TRANSACTION))
            .map_err(|e| stop(&e, json))?;
        Self::verified();
        output::unsplit(&left, json);

        Self::title(6, "finish the order: what is left goes to the sub-merchant");
        let finish =
            FinishProfitSharingOrder::new(SUB_MCHID, TRANSACTION, FINISH_NO, "分账完结 (done)");
        let finished = client.execute(&finish).map_err(|e| stop(&e, json))?;
        Self::verified();
        output::finished(&finished, json);
        let left = client
            .execute(&QueryUnsplitAmount::new(TRANSACTION))
            .map_err(|e| stop(&e, json))?;
        output::unsplit(&left, json);

        Self::title(
            7,
            &format!("after a refund, {RETURNED} fen come back from the receiver"),
        );
        let back = CreateReturnOrder::new(
            SUB_MCHID,
            SplitRef::OutOrderNo(SPLIT_NO.into()),
            RETURN_NO,
            RECEIVER,
            RETURNED,
            "用户退款 (buyer refunded)",
        );
        let answer = client.execute(&back).map_err(|e| stop(&e, json))?;
        Self::verified();
        output::return_order(&answer, json);
        println!("-- query the return until it is final");
        let done =
            wait_final(client, &back.query(), self.poll, false).map_err(|e| stop(&e, json))?;
        Self::verified();
        output::return_order(&done, json);

        let cases = [
            (
                "the after-sales service fee is split back: it succeeds",
                TRANSACTION,
                None,
            ),
            (
                "an after-sales split that fails",
                "4208450740201411110007820473",
                Some(FailReason::NoRelation),
            ),
        ];
        for (n, (title, tx, failure)) in (8..).zip(cases) {
            Self::title(n, title);
            if let Some(reason) = failure {
                self.mock
                    .fail_order(SUB_MCHID, tx, reason)
                    .map_err(|e| stop(&e, self.json))?;
            }
            let op = CreateAfterSalesOrder::new(
                SUB_MCHID,
                tx,
                100,
                Scene::RefundTicket,
                format!("5000000038201905270973267885{n}"),
            );
            println!("-- request after-sales profit sharing");
            let accepted = client.execute(&op).map_err(|e| stop(&e, json))?;
            Self::verified();
            output::accepted(&accepted, json);
            println!("-- query until the result is final");
            let order =
                wait_final(client, &op.query(), self.poll, false).map_err(|e| stop(&e, json))?;
            Self::verified();
            output::order(&order, json);
        }
        Ok(())
    }
}

/// The demo's account of an exchange: what was signed and sent (the signed message in full
/// for the first request), what came back.
fn narrate(x: Exchange<'_>, first: bool) {
    match x {
        Exchange::Request(r) => {
            let header = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok());
            let auth = header("authorization").unwrap_or("");
            let pq = r.uri().path_and_query().map_or("", |p| p.as_str());
            println!("   {} {pq}", r.method());
            if first && let Ok(a) = signing::Authorization::parse(auth) {
                let message = signing::request_message(
                    r.method().as_str(),
                    pq,
                    &a.timestamp,
                    &a.nonce_str,
                    r.body(),
                );
                println!("   signed message (SHA256-RSA, merchant key):");
                for line in String::from_utf8_lossy(&message).split_terminator('\n') {
                    println!("     | {line}");
                }
                println!("   Authorization: {}", signing::redact_authorization(auth));
            } else if !r.body().is_empty() {
                println!("   body: {}", String::from_utf8_lossy(r.body()));
            }
            let body = String::from_utf8_lossy(r.body());
            let sealed = body.contains("\"encrypted_name\"") || body.contains("\"receiver_name\"");
            if let Some(serial) = header("wechatpay-serial").filter(|_| sealed) {
                println!("   Wechatpay-Serial: {serial} (the key that encrypted the name)");
            }
        }
        Exchange::Response(r) => {
            let h = |n: &str| {
                r.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            println!(
                "   <- HTTP {} signed by {} (Request-ID {}): {}",
                r.status().as_u16(),
                h("wechatpay-serial"),
                h("request-id"),
                String::from_utf8_lossy(r.body())
            );
        }
        _ => {}
    }
}
