//! The call machine against a scripted transport: the fate table of `wechatpay_core::call`,
//! row by row, plus retries, `Retry-After` and the deadline. Every step is checked.

use std::sync::Arc;
use std::time::Duration;

use std::cell::{Cell, RefCell};
use std::time::Instant;

use wechatpay_core::call::{Call, Next};
use wechatpay_core::driver::{self, Transport};
use wechatpay_core::http::{Method, Response};
use wechatpay_core::retry::NoJitter;
use wechatpay_core::{
    Client, CreateAfterSalesOrder, Error, ErrorKind, Fate, Generic, Operation, Scene,
    TransportConfig,
};

mod common;

const ACCEPTED: &str =
    r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100}"#;
const ORDER: &str = r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"result":"PROCESSING"}"#;
const OTHER_AMOUNT: &str = r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":90,"result":"SUCCESS","finish_time":"2026-11-24T10:34:56+08:00"}"#;

type Outcome = Result<Response<Vec<u8>>, Error>;

fn client() -> Client {
    Client::builder(common::merchant(), common::public_key_ring())
        .clock(Arc::new(wechatpay_core::FixedClock::new(common::NOW)))
        .jitter(Arc::new(NoJitter))
        .build()
        .expect("client")
}

/// An answer signed by WeChat Pay's key.
fn signed(status: u16, body: &str) -> Outcome {
    Ok(common::signed(status, body, "wechatpay_private_key.pem"))
}

/// A 2xx whose signature does not verify.
fn forged(body: &str) -> Outcome {
    Ok(common::signed(200, body, "merchant_private_key.pem"))
}

fn error(status: u16, code: &str, rid: &str) -> Outcome {
    Ok(Response::builder()
        .status(status)
        .header("Request-ID", rid)
        .body(format!(r#"{{"code":"{code}","message":"m"}}"#).into_bytes())
        .expect("response"))
}

fn html_502() -> Outcome {
    Ok(Response::builder()
        .status(502)
        .body(b"<html><body>502 Bad Gateway</body></html>".to_vec())
        .expect("response"))
}

fn timed_out() -> Outcome {
    Err(Error::attempt_timeout(
        "per-attempt timeout",
        Fate::MaybeSent,
    ))
}

fn lost() -> Outcome {
    Err(Error::transport(
        "reset",
        Fate::MaybeSent,
        std::io::Error::other("reset"),
    ))
}

fn refused() -> Outcome {
    Err(Error::transport(
        "refused",
        Fate::NotSent,
        std::io::Error::other("refused"),
    ))
}

struct Run<T> {
    result: Result<T, Error>,
    methods: Vec<Method>,
    waits: Vec<Duration>,
}

/// A transport that answers from a script, on a virtual clock that advances by each wait.
struct Scripted {
    script: RefCell<std::vec::IntoIter<Outcome>>,
    max_timeout: Duration,
    started: Instant,
    elapsed: Cell<Duration>,
    methods: RefCell<Vec<Method>>,
    waits: RefCell<Vec<Duration>>,
    authorizations: RefCell<Vec<wechatpay_core::http::HeaderValue>>,
}

impl Transport for Scripted {
    fn send(&self, request: wechatpay_core::http::Request<Vec<u8>>, timeout: Duration) -> Outcome {
        assert!(timeout <= self.max_timeout);
        let authorization = request.headers()["authorization"].clone();
        assert!(authorization.is_sensitive());
        self.authorizations.borrow_mut().push(authorization);
        self.methods.borrow_mut().push(request.method().clone());
        self.script
            .borrow_mut()
            .next()
            .expect("an answer for every request")
    }

    fn sleep(&self, duration: Duration) {
        self.waits.borrow_mut().push(duration);
        self.elapsed.set(self.elapsed.get() + duration);
    }

    fn now(&self) -> Instant {
        self.started + self.elapsed.get()
    }
}

/// Drives a call through a script with the core driver.
fn run<O: Operation>(op: O, config: &TransportConfig, script: Vec<Outcome>) -> Run<O::Output> {
    let transport = Scripted {
        script: RefCell::new(script.into_iter()),
        max_timeout: config.attempt_timeout,
        #[allow(clippy::disallowed_methods, reason = "the virtual clock's origin")]
        started: Instant::now(),
        elapsed: Cell::new(Duration::ZERO),
        methods: RefCell::default(),
        waits: RefCell::default(),
        authorizations: RefCell::default(),
    };
    let result = driver::run(Call::with_config(client(), op, config), &transport);
    assert!(
        transport.script.borrow_mut().next().is_none(),
        "every scripted answer was used"
    );
    let authorizations = transport.authorizations.into_inner();
    let unique: std::collections::HashSet<_> = authorizations.iter().collect();
    assert_eq!(
        unique.len(),
        authorizations.len(),
        "each attempt signed afresh"
    );
    Run {
        result,
        methods: transport.methods.into_inner(),
        waits: transport.waits.into_inner(),
    }
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

fn default_run(script: Vec<Outcome>) -> Run<wechatpay_core::AfterSalesOrderAccepted> {
    run(create(), &TransportConfig::default(), script)
}

const POST: Method = Method::POST;
const GET: Method = Method::GET;

/// Every row of the fate table for a POST whose fate can be unknown: one POST, one check, the
/// verified order; never a second POST.
#[test]
fn unknown_fate_is_checked_never_resent() {
    let rows: Vec<(&str, Outcome)> = vec![
        ("timeout after sending", timed_out()),
        ("connection lost after sending", lost()),
        ("500 SYSTEM_ERROR", error(500, "SYSTEM_ERROR", "A")),
        ("HTML 502", html_502()),
        ("503", error(503, "SERVICE_UNAVAILABLE", "A")),
        ("504", error(504, "GATEWAY_TIMEOUT", "A")),
        ("2xx with a broken signature", forged(ACCEPTED)),
        ("2xx with an unreadable body", signed(200, "not json")),
    ];
    for (row, outcome) in rows {
        let r = default_run(vec![outcome, signed(200, ORDER)]);
        assert_eq!(r.methods, [POST, GET], "{row}");
        assert_eq!(r.result.expect(row).amount, Some(100), "{row}");
    }
}

#[test]
fn an_unverified_2xx_is_checked_at_once_a_5xx_after_backoff() {
    assert!(
        default_run(vec![forged(ACCEPTED), signed(200, ORDER)])
            .waits
            .is_empty()
    );
    assert_eq!(
        default_run(vec![error(500, "SYSTEM_ERROR", "A"), signed(200, ORDER)]).waits,
        [Duration::from_millis(100)]
    );
}

#[test]
fn a_check_that_finds_another_amount_is_a_conflict() {
    let r = default_run(vec![
        error(500, "SYSTEM_ERROR", "A"),
        signed(200, OTHER_AMOUNT),
    ]);
    let e = r.result.expect_err("conflict");
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("90 fen"), "{e}");
    assert_eq!(r.methods, [POST, GET]);
}

#[test]
fn a_check_that_finds_nothing_sends_again_at_once() {
    for code in ["RESOURCE_NOT_EXISTS", "ORDER_NOT_EXIST"] {
        let r = default_run(vec![
            timed_out(),
            error(404, code, "Q"),
            signed(200, ACCEPTED),
        ]);
        assert!(r.result.is_ok(), "{code}");
        assert_eq!(r.methods, [POST, GET, POST]);
        assert_eq!(
            r.waits.len(),
            1,
            "no wait between the check and the new POST"
        );
    }
}

#[test]
fn a_check_refused_stops_with_unknown_fate() {
    for (row, check) in [
        ("403", error(403, "NO_AUTH", "Q")),
        ("404 without WeChat's code", error(404, "NOT_FOUND", "Q")),
        ("401", error(401, "SIGN_ERROR", "Q")),
    ] {
        let r = default_run(vec![timed_out(), check]);
        let e = r.result.expect_err(row);
        assert!(e.is_fate_unknown(), "{row}: {e}");
        assert_eq!(r.methods, [POST, GET], "{row}");
    }
}

/// A check persists through its own transient failures, with backoff, and never sends the POST
/// again before one answers.
#[test]
fn a_check_persists_through_transient_failures() {
    let limited = error(429, "FREQUENCY_LIMITED", "Q").map(|mut resp| {
        resp.headers_mut()
            .insert("retry-after", "1".parse().expect("value"));
        resp
    });
    let r = default_run(vec![
        timed_out(),
        error(500, "SYSTEM_ERROR", "Q1"),
        forged(ORDER),
        limited,
        refused(),
        signed(200, ORDER),
    ]);
    assert_eq!(r.result.expect("the order").amount, Some(100));
    assert_eq!(r.methods, [POST, GET, GET, GET, GET, GET]);
    assert_eq!(
        r.waits,
        [100, 200, 400, 1000, 1600].map(Duration::from_millis),
        "backoff per check; Retry-After as given"
    );
}

#[test]
fn checks_run_out_with_the_fate_unknown() {
    let mut script = vec![timed_out()];
    script.extend((0..5).map(|_| error(503, "SERVICE_UNAVAILABLE", "Q")));
    let r = default_run(script);
    let e = r.result.expect_err("checks used up");
    assert!(e.is_fate_unknown(), "{e}");
    assert_eq!(r.methods.iter().filter(|m| **m == POST).count(), 1);
    assert_eq!(r.methods.len(), 6);
}

#[test]
fn known_outcomes() {
    // A 4xx: it did not happen; stop.
    let r = default_run(vec![error(400, "PARAM_ERROR", "A")]);
    let e = r.result.expect_err("400");
    assert_eq!(e.code(), Some("PARAM_ERROR"));
    assert!(!e.is_fate_unknown());
    assert_eq!(r.methods, [POST]);
    // Not sent: retried with backoff, no check.
    let r = default_run(vec![refused(), signed(200, ACCEPTED)]);
    assert!(r.result.is_ok());
    assert_eq!(r.methods, [POST, POST]);
    // 429: it did not happen; wait and send again.
    let r = default_run(vec![
        error(429, "FREQUENCY_LIMITED", "A").map(|mut resp| {
            resp.headers_mut()
                .insert("retry-after", "2".parse().expect("value"));
            resp
        }),
        signed(200, ACCEPTED),
    ]);
    assert_eq!(r.methods, [POST, POST]);
    assert_eq!(r.waits, [Duration::from_secs(2)]);
}

#[test]
fn retry_after_is_never_shortened_and_past_the_deadline_stops_at_once() {
    let limited = |secs: &str| {
        error(429, "FREQUENCY_LIMITED", "A").map(|mut resp| {
            resp.headers_mut()
                .insert("retry-after", secs.parse().expect("value"));
            resp
        })
    };
    // 20 s is past the 5 s backoff cap but within the 30 s deadline: waited in full.
    let r = default_run(vec![limited("20"), signed(200, ACCEPTED)]);
    assert_eq!(r.waits, [Duration::from_secs(20)]);
    // 60 s would pass the deadline: one request, and the 429 itself.
    let r = default_run(vec![limited("60")]);
    let e = r.result.expect_err("429");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(r.methods, [POST]);
    assert!(r.waits.is_empty());
}

#[test]
fn sends_and_checks_are_counted_apart() {
    // 500 → nothing → 500 → nothing → 500 → nothing: three sends, three checks, and the check
    // says the last one did not happen either: a known failure, never a blind POST.
    let r = default_run(vec![
        error(500, "SYSTEM_ERROR", "A"),
        error(404, "RESOURCE_NOT_EXISTS", "Q"),
        error(500, "SYSTEM_ERROR", "B"),
        error(404, "RESOURCE_NOT_EXISTS", "Q"),
        error(500, "SYSTEM_ERROR", "C"),
        error(404, "RESOURCE_NOT_EXISTS", "Q"),
    ]);
    let e = r.result.expect_err("gives up");
    assert!(!e.is_fate_unknown(), "the check found it did not happen");
    assert_eq!(e.request_id(), Some("C"));
    assert_eq!(r.methods, [POST, GET, POST, GET, POST, GET]);
}

#[test]
fn gets_are_simply_retried() {
    let q = create().query();
    let r = run(
        q.clone(),
        &TransportConfig::default(),
        vec![
            error(500, "SYSTEM_ERROR", "A"),
            timed_out(),
            signed(200, ORDER),
        ],
    );
    assert!(r.result.is_ok());
    assert_eq!(r.methods, [GET, GET, GET]);
    // A forged answer to a GET is not retried: it is an attack or a bug, not a hiccup.
    let r = run(q, &TransportConfig::default(), vec![forged(ORDER)]);
    assert_eq!(
        r.result.expect_err("forged").kind(),
        ErrorKind::SignatureMismatch
    );
}

#[test]
fn a_post_without_a_check_is_never_resent_after_an_unknown_fate() {
    let op: Generic = Generic::post("/v3/some/endpoint")
        .json(&serde_json::json!({"a": 1}))
        .expect("json");
    for outcome in [timed_out(), error(500, "SYSTEM_ERROR", "A"), forged("{}")] {
        let r = run(op.clone(), &TransportConfig::default(), vec![outcome]);
        assert!(r.result.expect_err("unknown").is_fate_unknown());
        assert_eq!(r.methods, [POST]);
    }
    // Not sent at all: safe to send again.
    let r = run(
        op,
        &TransportConfig::default(),
        vec![refused(), signed(200, "{}")],
    );
    assert_eq!(r.methods, [POST, POST]);
}

#[test]
fn the_deadline_ends_the_call_and_keeps_the_last_request_id() {
    let config = TransportConfig {
        deadline: Duration::from_secs(10),
        attempt_timeout: Duration::from_secs(4),
        ..TransportConfig::default()
    };
    // A call that has used 8 s may only spend the 2 s that are left.
    let next = Call::with_config(client(), create().query(), &config).start();
    let Next::Send(outgoing) = next else {
        panic!("expected a send")
    };
    let (_, timeout, awaiting) = outgoing.into_parts();
    assert_eq!(timeout, Duration::from_secs(4));
    let next = awaiting.receive(
        error(500, "SYSTEM_ERROR", "LAST"),
        Duration::from_millis(9_950),
    );
    // The backoff would end past the deadline: the call gives up instead of waiting.
    let Next::Done(result) = next else {
        panic!("expected the end")
    };
    let e = result.expect_err("deadline");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.request_id(), Some("LAST"));
    assert!(std::error::Error::source(&e).is_some());
}

/// An attempt that may have happened keeps the call's fate unknown to the end, even when a
/// later check or attempt fails in a way that is itself "known", or the deadline comes.
#[test]
fn an_unchecked_attempt_keeps_the_fate_unknown_to_the_end() {
    // POST lost, check refused, then the wait overshoots the deadline.
    let config = TransportConfig {
        deadline: Duration::from_secs(1),
        attempt_timeout: Duration::from_secs(1),
        ..TransportConfig::default()
    };
    let Next::Send(post) = Call::with_config(client(), create(), &config).start() else {
        panic!("a send")
    };
    let Next::Wait(wait) = post
        .into_parts()
        .2
        .receive(timed_out(), Duration::from_millis(200))
    else {
        panic!("a wait before the check")
    };
    let Next::Send(check) = wait.resume(Duration::from_millis(300)) else {
        panic!("the check")
    };
    let Next::Wait(wait) = check
        .into_parts()
        .2
        .receive(refused(), Duration::from_millis(400))
    else {
        panic!("a wait before the next check")
    };
    let Next::Done(result) = wait.resume(Duration::from_millis(1_050)) else {
        panic!("the deadline")
    };
    let e = result.expect_err("deadline");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.is_fate_unknown(), "{e}");

    // An operation sent again blind (safe to repeat) that then fails "known" still may have
    // happened the first time.
    let delete = wechatpay_core::receivers::DeleteReceiver::new(
        "wx8888888888888888",
        wechatpay_core::receivers::ReceiverType::MerchantId,
        "1900000110",
    );
    let r = run(
        delete.clone(),
        &TransportConfig::default(),
        vec![lost(), refused(), refused()],
    );
    assert!(r.result.expect_err("sends used up").is_fate_unknown());
    let r = run(
        delete,
        &TransportConfig::default(),
        vec![lost(), error(400, "PARAM_ERROR", "B")],
    );
    assert!(r.result.expect_err("400").is_fate_unknown());
}

#[test]
fn a_retry_after_on_a_5xx_is_never_shortened() {
    let unavailable = error(503, "SERVICE_UNAVAILABLE", "A").map(|mut resp| {
        resp.headers_mut()
            .insert("retry-after", "2".parse().expect("value"));
        resp
    });
    let r = default_run(vec![unavailable, signed(200, ORDER)]);
    assert_eq!(r.methods, [POST, GET]);
    assert_eq!(r.waits, [Duration::from_secs(2)]);
}

/// A transport that reports a failure without saying whether the request left (any error not
/// built with a `Fate`) is taken as "maybe sent": a POST is never sent again blind.
#[test]
fn an_error_without_a_fate_from_a_transport_is_maybe_sent() {
    let op: Generic = Generic::post("/v3/some/endpoint")
        .json(&serde_json::json!({"a": 1}))
        .expect("json");
    for outcome in [
        Err(Error::timeout("a read timed out")),
        Err(Error::config("something broke")),
    ] {
        let r = run(op.clone(), &TransportConfig::default(), vec![outcome]);
        assert!(r.result.expect_err("unknown").is_fate_unknown());
        assert_eq!(r.methods, [POST]);
    }
}
