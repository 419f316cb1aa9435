//! The retry driver, with a scripted closure as transport: every step is checked.

use std::sync::Arc;
use std::time::Duration;

use wechatpay_core::call::{Call, Step};
use wechatpay_core::http::{Method, Request, Response};
use wechatpay_core::retry::NoJitter;
use wechatpay_core::{CreateAfterSalesOrder, Error, ErrorKind, Operation, Scene, TransportConfig};

mod common;

use common::client;

const ACCEPTED: &str =
    r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100}"#;
const ORDER: &str = r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"result":"PROCESSING"}"#;

/// An answer signed by WeChat Pay's key.
fn signed(status: u16, body: &str) -> Response<Vec<u8>> {
    common::signed(status, body, "wechatpay_private_key.pem")
}

fn error(status: u16, code: &str, rid: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("Request-ID", rid)
        .body(format!(r#"{{"code":"{code}","message":"m"}}"#).into_bytes())
        .expect("response")
}

/// Runs a call against a script; returns the result, the requests' methods and the waits.
fn run<O: Operation>(
    op: O,
    script: Vec<Result<Response<Vec<u8>>, Error>>,
) -> (Result<O::Output, Error>, Vec<Method>, Vec<Duration>) {
    let mut call = Call::with_config(
        client(),
        op,
        &TransportConfig::default(),
        Arc::new(NoJitter),
    );
    let mut script = script.into_iter();
    let (mut methods, mut waits) = (Vec::new(), Vec::new());
    let mut authorizations: Vec<String> = Vec::new();
    loop {
        match call.step(Duration::ZERO) {
            Step::Send {
                request: req,
                timeout,
            } => {
                assert_eq!(timeout, TransportConfig::default().attempt_timeout);
                let req: Request<Vec<u8>> = req;
                authorizations.push(
                    req.headers()["authorization"]
                        .to_str()
                        .expect("ascii")
                        .to_owned(),
                );
                methods.push(req.method().clone());
                call.receive(
                    script
                        .next()
                        .expect("the script has an answer for every request"),
                );
            }
            Step::Wait(d) => waits.push(d),
            Step::Done => break,
        }
    }
    assert!(script.next().is_none(), "every scripted answer was used");
    let unique: std::collections::HashSet<_> = authorizations.iter().collect();
    assert_eq!(
        unique.len(),
        authorizations.len(),
        "every attempt is signed afresh"
    );
    (call.into_result(), methods, waits)
}

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
fn a_500_then_success() {
    let (r, methods, waits) = run(
        create(),
        vec![
            Ok(error(500, "SYSTEM_ERROR", "A")),
            Ok(signed(200, ACCEPTED)),
        ],
    );
    assert_eq!(r.expect("ok").amount, Some(100));
    assert_eq!(methods, [Method::POST, Method::POST]);
    assert_eq!(waits, [Duration::from_millis(100)]);
}

#[test]
fn three_500s_give_the_last_request_id() {
    let (r, _, waits) = run(
        create(),
        vec![
            Ok(error(500, "SYSTEM_ERROR", "A")),
            Ok(error(500, "SYSTEM_ERROR", "B")),
            Ok(error(500, "SYSTEM_ERROR", "C")),
        ],
    );
    let e = r.expect_err("gives up");
    assert_eq!(e.request_id(), Some("C"));
    assert_eq!(waits.len(), 2);
}

#[test]
fn a_400_is_not_retried() {
    let (r, methods, _) = run(create(), vec![Ok(error(400, "PARAM_ERROR", "A"))]);
    assert_eq!(r.expect_err("400").code(), Some("PARAM_ERROR"));
    assert_eq!(methods.len(), 1);
}

#[test]
fn after_a_timeout_create_queries_first_and_returns_the_existing_order() {
    let timeout = Error::timeout("per-attempt timeout").with_fate_unknown();
    let (r, methods, _) = run(create(), vec![Err(timeout), Ok(signed(200, ORDER))]);
    assert_eq!(r.expect("found").amount, Some(100));
    assert_eq!(methods, [Method::POST, Method::GET], "no second POST");
}

#[test]
fn after_a_timeout_create_is_sent_again_only_if_the_query_finds_nothing() {
    let timeout = Error::timeout("per-attempt timeout").with_fate_unknown();
    let (r, methods, waits) = run(
        create(),
        vec![
            Err(timeout),
            Ok(error(404, "RESOURCE_NOT_EXISTS", "Q")),
            Ok(signed(200, ACCEPTED)),
        ],
    );
    assert!(r.is_ok());
    assert_eq!(methods, [Method::POST, Method::GET, Method::POST]);
    assert_eq!(waits.len(), 1, "no wait between the check and the new POST");
}

#[test]
fn a_connect_failure_retries_create_without_a_query() {
    let refused = Error::transport("connect refused", true, std::io::Error::other("refused"));
    let (r, methods, _) = run(create(), vec![Err(refused), Ok(signed(200, ACCEPTED))]);
    assert!(r.is_ok());
    assert_eq!(methods, [Method::POST, Method::POST]);
}

#[test]
fn verification_failures_stop_at_once() {
    let (r, methods, _) = run(
        create(),
        vec![Ok(signed(200, ACCEPTED).map(|mut b| {
            b[2] ^= 1;
            b
        }))],
    );
    assert_eq!(r.expect_err("forged").kind(), ErrorKind::SignatureMismatch);
    assert_eq!(methods.len(), 1);
}

#[test]
fn the_deadline_ends_the_call_and_keeps_the_last_request_id() {
    let config = TransportConfig {
        deadline: Duration::from_secs(10),
        attempt_timeout: Duration::from_secs(4),
        ..TransportConfig::default()
    };
    let mut call = Call::with_config(client(), create(), &config, Arc::new(NoJitter));
    // 8 s in, the attempt may only take the 2 s that are left.
    let Step::Send { timeout, .. } = call.step(Duration::from_secs(8)) else {
        panic!("expected a send")
    };
    assert_eq!(timeout, Duration::from_secs(2));
    call.receive(Ok(error(500, "SYSTEM_ERROR", "LAST")));
    // The backoff would end past the deadline: the call gives up instead of waiting.
    assert!(matches!(
        call.step(Duration::from_millis(9_950)),
        Step::Done
    ));
    let e = call.into_result().expect_err("deadline");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.request_id(), Some("LAST"));
    assert!(std::error::Error::source(&e).is_some());
}
