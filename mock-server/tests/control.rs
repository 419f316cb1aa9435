//! The control API as a newcomer meets it, and WeChat Pay's own error behaviour, through the
//! simulator called directly (a function: request and time in, answer out); and the simulator
//! replaying a recorded session byte for byte.

use serde_json::{Value, json};
use wechatpay_core::http::{HeaderMap, Request};
use wechatpay_core::{CreateAfterSalesOrder, QueryAfterSalesOrder, Scene};
use wechatpay_mock_server::{MockBuilder, SimRequest, SimResponse, Simulator, keys};

/// The time requests are signed and answered at (2026-11-30, within the test platform
/// certificate's validity).
const NOW: i64 = 1_796_000_000;

fn sim() -> Simulator {
    MockBuilder::new().seed(1).simulator().expect("simulator")
}

/// A control request's status and JSON answer.
fn control(sim: &Simulator, method: &str, path: &str, body: &str) -> (u16, Value) {
    let answer = raw(sim, method, path, &HeaderMap::new(), body.as_bytes(), NOW);
    let json = serde_json::from_slice(&answer.body).expect("every answer is JSON");
    (answer.status, json)
}

fn raw(
    sim: &Simulator,
    method: &str,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> SimResponse {
    sim.handle(
        &SimRequest {
            method,
            target,
            headers,
            body,
        },
        now,
    )
}

/// A request of the test merchant, signed at `NOW`, and its answer.
fn call(sim: &Simulator, req: &Request<Vec<u8>>) -> SimResponse {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    raw(
        sim,
        req.method().as_str(),
        target,
        req.headers(),
        req.body(),
        NOW,
    )
}

fn client() -> wechatpay_core::Client {
    keys::test_client_builder("http://127.0.0.1:9")
        .expect("builder")
        .clock(std::sync::Arc::new(wechatpay_core::FixedClock::new(NOW)))
        .build()
        .expect("client")
}

fn create(tx: &str) -> Request<Vec<u8>> {
    client()
        .prepare(&CreateAfterSalesOrder::new(
            "1900000109",
            tx,
            100,
            Scene::RefundTicket,
            "50000000382019052709732678859",
        ))
        .expect("prepare")
        .0
}

fn query(tx: &str) -> Request<Vec<u8>> {
    client()
        .prepare(&QueryAfterSalesOrder::new("1900000109", tx))
        .expect("prepare")
        .0
}

/// The refusal's field (the JSON pointer of `detail.field`, without its slash) and message.
fn refusal(answer: &(u16, Value)) -> (u16, String, String) {
    let field = answer.1["detail"]["field"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    let message = answer.1["message"].as_str().unwrap_or_default().to_owned();
    (answer.0, field, message)
}

#[test]
fn misspelt_camel_case_and_unknown_fields_are_refused_naming_them() {
    let sim = sim();
    for (path, body, field, meant) in [
        (
            "/mock/faults",
            r#"{"kind":"frequency_limited","retryAfter":60}"#,
            "retryAfter",
            Some("retry_after"),
        ),
        (
            "/mock/faults",
            r#"{"kind":"system_error","cuont":3}"#,
            "cuont",
            Some("count"),
        ),
        (
            "/mock/settings",
            r#"{"strictTransactions":true}"#,
            "strictTransactions",
            Some("strict_transactions"),
        ),
        (
            "/mock/outcomes",
            r#"{"subMchid":"1900000109","transaction_id":"t","result":"SUCCESS"}"#,
            "subMchid",
            Some("sub_mchid"),
        ),
        (
            "/mock/transactions",
            r#"{"sub_mchid":"1900000109","transaction_id":"t","amount":1,"currency":"CNY"}"#,
            "currency",
            None,
        ),
        (
            "/mock/reset",
            r#"{"keeps":["merchants"]}"#,
            "keeps",
            Some("keep"),
        ),
        (
            "/mock/sign-with",
            r#"{"key":"public-key","mch_id":"1900000100"}"#,
            "mch_id",
            Some("mchid"),
        ),
    ] {
        let (status, named, message) = refusal(&control(&sim, "POST", path, body));
        assert_eq!((status, named.as_str()), (400, field), "{path} {body}");
        assert!(message.contains("it takes"), "{message}");
        if let Some(meant) = meant {
            assert!(
                message.contains(&format!("did you mean `{meant}`")),
                "{message}"
            );
        }
    }
    // Nothing was armed by the refused faults.
    assert_eq!(
        call(&sim, &create("4208450740201411110007820001")).status,
        200
    );
}

#[test]
fn wrong_types_are_named_with_the_type_expected() {
    let sim = sim();
    for (path, body, field) in [
        (
            "/mock/faults",
            r#"{"kind":"system_error","count":"3"}"#,
            "count",
        ),
        (
            "/mock/faults",
            r#"{"kind":"system_error","count":-1}"#,
            "count",
        ),
        ("/mock/faults", r#"{"kind":7}"#, "kind"),
        ("/mock/settings", r#"{"rate_limits":"yes"}"#, "rate_limits"),
        (
            "/mock/transactions",
            r#"{"sub_mchid":"1900000109","transaction_id":"t","amount":"100"}"#,
            "amount",
        ),
        ("/mock/reset", r#"{"keep":"merchants"}"#, "keep"),
        ("/mock/faults", r#"{"route":"create"}"#, "kind"),
    ] {
        let (status, named, message) = refusal(&control(&sim, "POST", path, body));
        assert_eq!((status, named.as_str()), (400, field), "{body}: {message}");
        assert!(message.contains("must be") || message.contains("is required"));
    }
    // Values out of their set are named too.
    for (body, field) in [
        (r#"{"kind":"system_eror"}"#, "kind"),
        (r#"{"kind":"system_error","route":"creat"}"#, "route"),
        (r#"{"kind":"system_error","count":0}"#, "count"),
        (r#"{"kind":"system_error","retry_after":5}"#, "retry_after"),
    ] {
        let (status, named, _) = refusal(&control(&sim, "POST", "/mock/faults", body));
        assert_eq!((status, named.as_str()), (400, field), "{body}");
    }
    let (status, named, _) = refusal(&control(
        &sim,
        "POST",
        "/mock/settings",
        r#"{"rate_limit_code":"TOO_MANY"}"#,
    ));
    assert_eq!((status, named.as_str()), (400, "rate_limit_code"));
}

#[test]
fn a_fault_answer_echoes_every_value_used_and_arms_that_many() {
    let sim = sim();
    let (status, body) = control(
        &sim,
        "POST",
        "/mock/faults",
        r#"{"kind":"frequency_limited","retry_after":60,"count":3,"route":"create"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["armed"],
        json!({"kind": "frequency_limited", "route": "create", "count": 3, "retry_after": 60})
    );
    let (_, body) = control(
        &sim,
        "POST",
        "/mock/faults",
        r#"{"kind":"processed_then_slow"}"#,
    );
    assert_eq!(
        body["armed"],
        json!({"kind": "processed_then_slow", "route": "any", "count": 1, "delay_ms": 2000})
    );
    // The slow fault goes to the next request (any route); then three 429s on creates.
    assert!(
        call(&sim, &query("4208450740201411110007820002"))
            .delay
            .is_some()
    );
    for _ in 0..3 {
        let answer = call(&sim, &create("4208450740201411110007820002"));
        assert_eq!(answer.status, 429);
        assert_eq!(answer.header("retry-after"), Some("60"));
    }
    assert_eq!(
        call(&sim, &create("4208450740201411110007820002")).status,
        200
    );
}

#[test]
fn certificates_must_match_their_key_and_unknown_serials_are_404() {
    let sim = sim();
    let publish = |cert: &str, key: &str| {
        control(
            &sim,
            "POST",
            "/mock/platform-certificates",
            &json!({"certificate": cert, "private_key": key}).to_string(),
        )
    };
    // Another certificate's key: refused at publishing, naming the key.
    let (status, named, message) = refusal(&publish(
        keys::TEST_PLATFORM_CERTIFICATE,
        keys::TEST_WECHATPAY_PRIVATE_KEY,
    ));
    assert_eq!((status, named.as_str()), (400, "private_key"), "{message}");
    assert!(
        message.contains("is not the key of certificate"),
        "{message}"
    );
    let (status, named, _) = refusal(&publish(
        "not a certificate",
        keys::TEST_PLATFORM_PRIVATE_KEY,
    ));
    assert_eq!((status, named.as_str()), (400, "certificate"));
    // The right pair: published, valid now.
    let (status, ok) = publish(
        keys::TEST_PLATFORM_CERTIFICATE,
        keys::TEST_PLATFORM_PRIVATE_KEY,
    );
    assert_eq!(
        (status, &ok["valid"], &ok["warning"]),
        (200, &json!(true), &Value::Null)
    );
    let serial = ok["serial"].as_str().expect("serial").to_owned();
    // Published far in the future: accepted, with the reason it is not valid.
    let late = raw(
        &sim,
        "POST",
        "/mock/platform-certificates",
        &HeaderMap::new(),
        json!({"certificate": keys::TEST_PLATFORM_CERTIFICATE, "private_key": keys::TEST_PLATFORM_PRIVATE_KEY})
            .to_string()
            .as_bytes(),
        NOW + 100 * 365 * 86_400,
    );
    let late: Value = serde_json::from_slice(&late.body).expect("JSON");
    assert_eq!(late["valid"], false);
    assert!(
        late["warning"]
            .as_str()
            .is_some_and(|w| w.contains("expired")),
        "{late}"
    );
    // Unknown serials and merchants: 404.
    for (path, body, field) in [
        (
            "/mock/sign-with",
            r#"{"key":"platform-certificate","serial":"ABC"}"#,
            "serial",
        ),
        (
            "/mock/platform-certificates/retire",
            r#"{"serial":"ABC"}"#,
            "serial",
        ),
        (
            "/mock/sign-with",
            r#"{"key":"public-key","mchid":"1900000999"}"#,
            "mchid",
        ),
    ] {
        let (status, body) = control(&sim, "POST", path, body);
        assert_eq!(
            (status, &body["code"]),
            (404, &json!("RESOURCE_NOT_EXISTS")),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(field))
        );
    }
    // Per merchant: only the test merchant's answers switch.
    let (status, body) = control(
        &sim,
        "POST",
        "/mock/sign-with",
        &json!({"key": "platform-certificate", "serial": serial, "mchid": keys::TEST_MCHID})
            .to_string(),
    );
    assert_eq!((status, &body["serial"]), (200, &json!(serial)));
    let answer = call(&sim, &create("4208450740201411110007820003"));
    assert_eq!(answer.header("wechatpay-serial"), Some(serial.as_str()));
    let (status, body) = control(
        &sim,
        "POST",
        "/mock/platform-certificates/retire",
        &json!({ "serial": serial }).to_string(),
    );
    assert_eq!((status, &body["retired"]), (200, &json!(serial)));
    // The test merchant's answers are still signed with it: said, not silently done.
    assert!(
        body["warning"]
            .as_str()
            .is_some_and(|w| w.contains("still signed")),
        "{body}"
    );
}

#[test]
fn reset_returns_to_the_start_up_state_or_keeps_what_it_is_told() {
    let sim = sim();
    let merchant = json!({
        "mchid": "1900000200", "serial": "ABC123",
        "public_key": keys::TEST_MERCHANT_PUBLIC_KEY
    })
    .to_string();
    let count = |sim: &Simulator| {
        control(sim, "GET", "/mock/merchants", "").1["merchants"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(count(&sim), 1);
    let (status, added) = control(&sim, "POST", "/mock/merchants", &merchant);
    assert_eq!((status, &added["replaced"]), (200, &json!(false)));
    let (_, again) = control(&sim, "POST", "/mock/merchants", &merchant);
    assert_eq!(
        again["replaced"], true,
        "a second time says it replaced the first"
    );
    control(
        &sim,
        "POST",
        "/mock/settings",
        r#"{"strict_transactions":true}"#,
    );
    assert_eq!(count(&sim), 2);
    assert_eq!(
        control(&sim, "POST", "/mock/reset", r#"{"keep":["merchants"]}"#).0,
        200
    );
    assert_eq!(count(&sim), 2, "kept");
    let settings = control(&sim, "GET", "/mock/settings", "").1;
    assert_eq!(settings["strict_transactions"], false, "not kept");
    assert_eq!(control(&sim, "POST", "/mock/reset", "").0, 200);
    assert_eq!(count(&sim), 1, "back to the start");
    let (status, named, _) = refusal(&control(
        &sim,
        "POST",
        "/mock/reset",
        r#"{"keep":["orders"]}"#,
    ));
    assert_eq!((status, named.as_str()), (400, "keep"));
}

#[test]
fn unknown_paths_and_methods_get_wechat_json_errors() {
    let sim = sim();
    for (method, target, status, code) in [
        // The misspelling some generated SDKs call.
        (
            "POST",
            "/v3/ecommerceprofitsharing/after-sales-orders",
            404,
            "NOT_FOUND",
        ),
        ("GET", "/v3/pay/transactions/id/1", 404, "NOT_FOUND"),
        (
            "DELETE",
            "/v3/ecommerce/profitsharing/after-sales-orders",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        ("GET", "/mock/fault", 404, "NOT_FOUND"),
        ("DELETE", "/mock/faults", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/mock/reset", 405, "METHOD_NOT_ALLOWED"),
    ] {
        let answer = raw(&sim, method, target, &HeaderMap::new(), b"", NOW);
        let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(
            (answer.status, &body["code"]),
            (status, &json!(code)),
            "{method} {target}"
        );
        assert!(answer.header("request-id").is_some());
    }
}

#[test]
fn merchants_that_are_not_platforms_get_no_auth() {
    let sim = sim();
    let (status, _) = control(
        &sim,
        "POST",
        "/mock/settings",
        r#"{"platform_mchids":["1900000999"]}"#,
    );
    assert_eq!(status, 200);
    let answer = call(&sim, &create("4208450740201411110007820004"));
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!((answer.status, &body["code"]), (403, &json!("NO_AUTH")));
    control(
        &sim,
        "POST",
        "/mock/settings",
        r#"{"platform_mchids":null}"#,
    );
    assert_eq!(
        call(&sim, &create("4208450740201411110007820004")).status,
        200
    );
}

#[test]
fn the_frequency_limiter_answers_the_configured_code_with_retry_after() {
    let sim = sim();
    let (status, body) = control(
        &sim,
        "POST",
        "/mock/settings",
        r#"{"frequency_limit":2,"rate_limit_code":"RATE_LIMITED"}"#,
    );
    assert_eq!(
        (status, &body["settings"]["frequency_limit"]),
        (200, &json!(2))
    );
    let statuses: Vec<u16> = (0..3)
        .map(|i| call(&sim, &create(&format!("42084507402014111100078201{i:02}"))).status)
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    let limited = call(&sim, &query("4208450740201411110007820100"));
    let body: Value = serde_json::from_slice(&limited.body).expect("JSON");
    assert_eq!(
        (limited.status, &body["code"]),
        (429, &json!("RATE_LIMITED"))
    );
    assert_eq!(limited.header("retry-after"), Some("1"));
    // An injected 429 carries the configured code too.
    control(
        &sim,
        "POST",
        "/mock/settings",
        r#"{"frequency_limit":null}"#,
    );
    control(
        &sim,
        "POST",
        "/mock/faults",
        r#"{"kind":"frequency_limited"}"#,
    );
    let injected = call(&sim, &query("4208450740201411110007820100"));
    let body: Value = serde_json::from_slice(&injected.body).expect("JSON");
    assert_eq!(body["code"], "RATE_LIMITED");
}

/// A session of requests at their times: creates, queries, control calls, a fault, a
/// notification built, a split, an unknown path.
fn session() -> Vec<(String, String, HeaderMap, Vec<u8>, i64)> {
    let mut steps = Vec::new();
    let mut push = |req: Request<Vec<u8>>, at: i64| {
        let target = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        steps.push((
            req.method().as_str().to_owned(),
            target,
            req.headers().clone(),
            req.body().clone(),
            at,
        ));
    };
    let control_req = |path: &str, body: &str| {
        Request::builder()
            .method("POST")
            .uri(path)
            .body(body.as_bytes().to_vec())
            .expect("request")
    };
    push(create("4208450740201411110007820200"), NOW);
    push(query("4208450740201411110007820200"), NOW + 1);
    push(query("4208450740201411110007820200"), NOW + 2);
    push(
        control_req(
            "/mock/faults",
            r#"{"kind":"processed_then_system_error","route":"create"}"#,
        ),
        NOW + 3,
    );
    push(create("4208450740201411110007820201"), NOW + 4);
    push(
        control_req(
            "/mock/notifications/build",
            r#"{"resource":{"sub_mchid":"1900000109","out_order_no":"P1"}}"#,
        ),
        NOW + 5,
    );
    push(
        client()
            .prepare(&wechatpay_core::orders::CreateProfitSharingOrder::new(
                "1900000109",
                "4208450740201411110007820202",
                "P20150806125346",
                vec![wechatpay_core::orders::OrderReceiver::new(
                    wechatpay_core::receivers::ReceiverType::MerchantId,
                    "1900000110",
                    10,
                    "分给商户",
                )],
            ))
            .expect("prepare")
            .0,
        NOW + 6,
    );
    push(control_req("/v3/unknown", ""), NOW + 7);
    steps
}

#[test]
fn a_recorded_session_replays_byte_for_byte() {
    let play = |seed: u64| -> Vec<SimResponse> {
        let sim = MockBuilder::new()
            .seed(seed)
            .simulator()
            .expect("simulator");
        session()
            .iter()
            .map(|(method, target, headers, body, at)| {
                raw(&sim, method, target, headers, body, *at)
            })
            .collect()
    };
    let recorded = play(42);
    assert_eq!(recorded.len(), 8);
    assert!(
        recorded.iter().any(|a| a.status == 500),
        "the fault happened"
    );
    let replayed = play(42);
    for (i, (a, b)) in recorded.iter().zip(&replayed).enumerate() {
        assert_eq!(a, b, "step {i} differs");
    }
    // Another seed: other Request-IDs and nonces, the same statuses.
    let other = play(43);
    assert_ne!(
        recorded[0].header("request-id"),
        other[0].header("request-id")
    );
    assert_eq!(
        recorded.iter().map(|a| a.status).collect::<Vec<_>>(),
        other.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    // The simulator writes nowhere: what happened is in the answers' log lines.
    assert!(recorded[0].log.iter().any(|l| l.contains("-> 200")));
}

#[test]
fn a_reset_restarts_the_sequence() {
    let fresh = MockBuilder::new().seed(9).simulator().expect("simulator");
    control(&fresh, "POST", "/mock/reset", "");
    let expected = call(&fresh, &create("4208450740201411110007820300"));
    let used = MockBuilder::new().seed(9).simulator().expect("simulator");
    call(&used, &create("4208450740201411110007820301"));
    control(&used, "GET", "/mock/log", "");
    control(&used, "POST", "/mock/reset", "");
    assert_eq!(
        call(&used, &create("4208450740201411110007820300")),
        expected
    );
}

/// A 1024-bit RSA certificate and key (generated for this test; too short for WeChat Pay).
const WEAK_CERTIFICATE: &str = include_str!("data/rsa1024_certificate.pem");
const WEAK_PRIVATE_KEY: &str = include_str!("data/rsa1024_private_key.pem");
const WEAK_PUBLIC_KEY: &str = include_str!("data/rsa1024_public_key.pem");

#[test]
fn keys_under_2048_bits_are_refused() {
    let sim = sim();
    let (status, named, message) = refusal(&control(
        &sim,
        "POST",
        "/mock/platform-certificates",
        &json!({"certificate": WEAK_CERTIFICATE, "private_key": WEAK_PRIVATE_KEY}).to_string(),
    ));
    assert_eq!((status, named.as_str()), (400, "certificate"), "{message}");
    assert!(message.contains("2048"), "{message}");
    let (status, named, message) = refusal(&control(
        &sim,
        "POST",
        "/mock/merchants",
        &json!({"mchid": "1900000200", "serial": "ABC", "public_key": WEAK_PUBLIC_KEY}).to_string(),
    ));
    assert_eq!((status, named.as_str()), (400, "public_key"), "{message}");
}

#[test]
fn null_is_not_absent_and_query_parameters_are_checked() {
    let sim = sim();
    let (status, named, _) = refusal(&control(
        &sim,
        "POST",
        "/mock/faults",
        r#"{"kind":"system_error","route":null}"#,
    ));
    assert_eq!((status, named.as_str()), (400, "route"));
    for (target, field) in [
        ("/mock/log?limt=5", "limt"),
        ("/mock/receivers?mch_id=1900000100", "mch_id"),
        ("/mock/merchants?all=1", "all"),
    ] {
        let (status, body) = control(&sim, "GET", target, "");
        assert_eq!(
            (
                status,
                &body["detail"]["field"],
                &body["detail"]["location"]
            ),
            (400, &json!(field), &json!("query")),
            "{target}"
        );
    }
    let (status, body) = control(&sim, "GET", "/mock/log?limit=5", "");
    assert_eq!((status, body["answers"].is_array()), (200, true));
}

#[test]
fn an_outcome_answer_echoes_the_plan_and_bad_records_are_refused() {
    let sim = sim();
    let (status, body) = control(
        &sim,
        "POST",
        "/mock/outcomes",
        r#"{"sub_mchid":"1900000109","out_order_no":"P1","result":"CLOSED","fail_reason":"NO_RELATION","processing_queries":2}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["planned"],
        json!({
            "sub_mchid": "1900000109", "out_order_no": "P1", "receiver_account": "every receiver",
            "result": "CLOSED", "fail_reason": "NO_RELATION",
            "processing": {"queries": 2, "seconds": 0}
        })
    );
    let (_, body) = control(
        &sim,
        "POST",
        "/mock/outcomes",
        r#"{"sub_mchid":"1900000109","transaction_id":"T1","result":"SUCCESS"}"#,
    );
    assert_eq!(
        body["planned"]["processing"],
        json!({"queries": 1, "seconds": 0, "default": true})
    );
    for (body, field) in [
        (
            r#"{"sub_mchid":"","transaction_id":"T1","result":"SUCCESS"}"#,
            "sub_mchid",
        ),
        (
            r#"{"sub_mchid":"1900000109","out_return_no":"","result":"SUCCESS"}"#,
            "out_return_no",
        ),
        (
            r#"{"sub_mchid":"1900000109","transaction_id":"T1","result":"SUCCESS","processing_seconds":99999999999}"#,
            "processing_seconds",
        ),
    ] {
        let (status, named, _) = refusal(&control(&sim, "POST", "/mock/outcomes", body));
        assert_eq!((status, named.as_str()), (400, field), "{body}");
    }
}

#[test]
fn a_path_the_sandbox_does_not_serve_spends_no_fault() {
    let sim = sim();
    control(&sim, "POST", "/mock/faults", r#"{"kind":"system_error"}"#);
    let unknown = raw(&sim, "GET", "/v3/unknown", &HeaderMap::new(), b"", NOW);
    assert_eq!(unknown.status, 404);
    assert_eq!(
        call(&sim, &create("4208450740201411110007820400")).status,
        500
    );
}

#[test]
fn sign_with_one_merchant_leaves_the_others_alone() {
    let sim = MockBuilder::new()
        .test_platform_certificate()
        .seed(3)
        .simulator()
        .expect("simulator");
    let other = json!({
        "mchid": "1900000200", "serial": "ABC123", "public_key": keys::TEST_MERCHANT_PUBLIC_KEY
    });
    assert_eq!(
        control(&sim, "POST", "/mock/merchants", &other.to_string()).0,
        200
    );
    let (status, _) = control(
        &sim,
        "POST",
        "/mock/sign-with",
        &json!({"key": "platform-certificate", "mchid": keys::TEST_MCHID}).to_string(),
    );
    assert_eq!(status, 200);
    let merchants = control(&sim, "GET", "/mock/merchants", "").1;
    let signed_with = |mchid: &str| {
        merchants["merchants"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["mchid"] == mchid))
            .map(|m| m["signed_with"].clone())
    };
    assert_eq!(
        signed_with(keys::TEST_MCHID),
        Some(json!(keys::TEST_PLATFORM_SERIAL))
    );
    assert_eq!(
        signed_with("1900000200"),
        Some(json!(keys::TEST_WECHATPAY_PUBLIC_KEY_ID))
    );
    let answer = call(&sim, &create("4208450740201411110007820500"));
    assert_eq!(
        answer.header("wechatpay-serial"),
        Some(keys::TEST_PLATFORM_SERIAL)
    );
}
