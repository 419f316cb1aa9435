//! `wechatpay profit-sharing orders create|query|finish|amounts` and `profit-sharing returns
//! create|query`, run as a process against the mock: a platform's whole flow (a declared paid
//! order, a receiver, a split whose receiver name leaves encrypted, the split polled to final,
//! what is left, a return, the finish), validation refused before anything is sent (exit 2),
//! the sandbox's money rules refusing a split (exit 1), final failures under `--wait` (exit 1),
//! an unknown outcome settled by the check or reported as `outcome: UNKNOWN`.

#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};

use wechatpay_mock_server::{
    Fault, MockBuilder, MockWechatPay, ReturnOutcome, Route, ShareOutcome, keys,
};

mod cli_support;

use cli_support::{BIN, public_key_command};
const APPID: &str = "wx8888888888888888";
const SUB: &str = "1900000109";
const TX: &str = "4208450740201411110007820472";
const MERCHANT: &str = "1900000110";
const NAME: &str = "示例商户全称有限公司";

struct External {
    _rt: tokio::runtime::Runtime,
    mock: MockWechatPay,
    dir: tempfile::TempDir,
}

impl External {
    /// Starts `builder`'s mock on a background runtime and writes the key files.
    fn with(builder: MockBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("rt");
        let mock = rt.block_on(builder.start()).expect("mock");
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, pem) in [
            ("apiclient_key.pem", keys::TEST_MERCHANT_PRIVATE_KEY),
            ("pub_key.pem", keys::TEST_WECHATPAY_PUBLIC_KEY),
        ] {
            std::fs::write(dir.path().join(name), pem).expect("write key");
        }
        std::fs::write(dir.path().join("apiv3.key"), keys::TEST_APIV3_KEY).expect("write key");
        Self { _rt: rt, mock, dir }
    }

    /// A mock whose splits and returns answer pending to their first query.
    fn start() -> Self {
        Self::with(MockWechatPay::builder())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `wechatpay` with this mock's base URL and merchant, public-key mode, a clean environment.
    fn run(&self, args: &[&str]) -> Output {
        public_key_command(
            &self.mock.base_url(),
            &self.path("apiclient_key.pem"),
            &self.path("pub_key.pem"),
        )
        .args(args)
        .output()
        .expect("run wechatpay")
    }

    /// Runs and expects exit 0; the one JSON object printed.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stdout)))
    }

    /// The receiver 1900000110 added, as a split needs.
    fn add_receiver(&self) {
        let out = self.run(&[
            "profit-sharing",
            "receivers",
            "add",
            "--appid",
            APPID,
            "--type",
            "MERCHANT_ID",
            "--account",
            MERCHANT,
            "--name",
            NAME,
            "--relation-type",
            "SUPPLIER",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    /// Nothing reached the WeChat Pay API (the control API does not count).
    fn nothing_sent(&self) {
        let sent: Vec<_> = self
            .mock
            .answers()
            .into_iter()
            .filter(|a| a.path.starts_with("/v3/"))
            .collect();
        assert!(sent.is_empty(), "{sent:?}");
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `orders create` of `tx` numbered `no`, with `receivers` and `extra` flags.
fn split<'a>(tx: &'a str, no: &'a str, receivers: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "profit-sharing",
        "orders",
        "create",
        "--sub-mchid",
        SUB,
        "--transaction-id",
        tx,
        "--out-order-no",
        no,
    ];
    for r in receivers {
        args.extend(["--receiver", r]);
    }
    args.extend_from_slice(extra);
    args
}

fn query_split<'a>(tx: &'a str, no: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "profit-sharing",
        "orders",
        "query",
        "--sub-mchid",
        SUB,
        "--transaction-id",
        tx,
        "--out-order-no",
        no,
    ];
    args.extend_from_slice(extra);
    args
}

fn amounts(tx: &str) -> Vec<&str> {
    vec![
        "profit-sharing",
        "orders",
        "amounts",
        "--transaction-id",
        tx,
    ]
}

/// `returns create` of `amount` fen from the receiver, out of the split `by` names.
fn give_back<'a>(
    by: [&'a str; 2],
    no: &'a str,
    amount: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "profit-sharing",
        "returns",
        "create",
        "--sub-mchid",
        SUB,
        by[0],
        by[1],
        "--out-return-no",
        no,
        "--return-mchid",
        MERCHANT,
        "--amount",
        amount,
        "--description",
        "用户退款",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_whole_flow_through_the_command_line() {
    let ext = External::start();
    ext.mock
        .declare_transaction(SUB, TX, 10_000)
        .expect("a paid order");
    ext.add_receiver();

    // A split with the receiver's name: it leaves encrypted, the sandbox reads it back.
    let share = format!("MERCHANT_ID:{MERCHANT}:3000:分给商户{MERCHANT}:{NAME}");
    let out = ext.run(&split(TX, "P1", &[&share], &["--verbose"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.starts_with("split: PROCESSING out_order_no=P1 order_id="),
        "{stdout}"
    );
    assert!(
        stdout.contains("  share: PENDING MERCHANT_ID 1900000110 amount=3000 fen"),
        "{stdout}"
    );
    assert!(stderr.contains("\"receiver_name\":\""), "{stderr}");
    assert!(!stderr.contains(NAME), "the name never shows: {stderr}");
    assert!(
        stderr.contains(&format!(
            "> wechatpay-serial: {}",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID
        )),
        "{stderr}"
    );
    let stored = ext.mock.splits(TX);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].receivers[0].name.as_deref(), Some(NAME));

    // Polled to final.
    let done = ext.json(&query_split(TX, "P1", &["--wait", "--wait-timeout", "30"]));
    assert_eq!(done["status"], "FINISHED", "{done}");
    assert_eq!(done["receivers"][0]["result"], "SUCCESS", "{done}");
    assert_eq!(done["receivers"][0]["amount"], 3000, "{done}");
    assert!(
        done["receivers"][0]["finish_time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00")),
        "{done}"
    );
    let order_id = done["order_id"].as_str().expect("order_id").to_owned();

    let left = ext.json(&amounts(TX));
    assert_eq!(
        left,
        serde_json::json!({"transaction_id": TX, "unsplit_amount": 7000})
    );

    // A return by the merchant's split number, waited for; then queried by WeChat Pay's.
    let back = ext.json(&give_back(
        ["--out-order-no", "P1"],
        "R1",
        "1000",
        &["--wait"],
    ));
    assert_eq!(back["result"], "SUCCESS", "{back}");
    assert_eq!(back["amount"], 1000, "{back}");
    assert_eq!(back["order_id"], order_id.as_str(), "{back}");
    let out = ext.run(&[
        "profit-sharing",
        "returns",
        "query",
        "--sub-mchid",
        SUB,
        "--order-id",
        &order_id,
        "--out-return-no",
        "R1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(
        line.starts_with("return: SUCCESS out_return_no=R1 ")
            && line.contains("return_mchid=1900000110 amount=1000 fen"),
        "{line}"
    );

    // The finish releases the rest.
    let finished = ext.json(&[
        "profit-sharing",
        "orders",
        "finish",
        "--sub-mchid",
        SUB,
        "--transaction-id",
        TX,
        "--out-order-no",
        "F1",
        "--description",
        "分账完结",
    ]);
    assert_eq!(finished["out_order_no"], "F1", "{finished}");
    assert!(finished["order_id"].is_string(), "{finished}");
    let out = ext.run(&amounts(TX));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("unsplit_amount: 0 fen transaction_id={TX}")
    );
    let finish = ext.json(&query_split(TX, "F1", &[]));
    assert_eq!(finish["finish_amount"], 7000, "{finish}");
    let t = ext.mock.transaction(TX).expect("kept");
    assert!(t.finished);
    assert_eq!((t.succeeded_amount, t.returned_amount), (3000, 1000));
}

#[test]
fn a_last_split_with_finish_waits_to_final() {
    let ext = External::start();
    ext.mock.declare_transaction(SUB, TX, 500).expect("paid");
    ext.add_receiver();
    let out = ext.run(&split(
        TX,
        "P1",
        &["merchant_id:1900000110:200:分给商户"],
        &["--finish", "--wait"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("split: FINISHED out_order_no=P1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("share: SUCCESS MERCHANT_ID 1900000110"),
        "{stdout}"
    );
    let t = ext.mock.transaction(TX).expect("kept");
    assert!(t.finished);
    assert_eq!(t.unsplit_amount, 0);
    assert_eq!(ext.mock.splits(TX).len(), 1, "sent once");
}

#[test]
fn bad_input_exits_2_naming_the_flag_before_anything_is_sent() {
    let ext = External::start();
    let share = "MERCHANT_ID:1900000110:100:分给商户";
    let long_no = "P".repeat(65);
    let long_name = format!("MERCHANT_ID:1900000110:100:分给商户:{}", "名".repeat(80));
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            split(TX, "P1", &["MERCHANT_ID:1900000110:0:分给商户"], &[]),
            &["`receivers[].amount`", "--receiver"],
        ),
        (
            split(TX, "P1", &["MERCHANT_ID:1900000110:100"], &[]),
            &["--receiver", "DESCRIPTION is missing"],
        ),
        (
            split(TX, "P1", &["MERCHANT_ID:1900000110:ten:分给商户"], &[]),
            &["--receiver", "AMOUNT \"ten\""],
        ),
        (
            split(TX, "P1", &["merchant id:1900000110:100:分给商户"], &[]),
            &["`receivers[].type`", "--receiver"],
        ),
        (
            split(TX, &long_no, &[share], &[]),
            &["`out_order_no`", "--out-order-no"],
        ),
        (
            split(TX, "P1", &[&long_name], &[]),
            &["`receivers[].receiver_name`", "--receiver"],
        ),
        (split(TX, "P1", &[], &[]), &["--receiver"]),
        (
            give_back(["--out-order-no", "P1"], "R1", "0", &[]),
            &["`amount`", "--amount"],
        ),
        (
            give_back(["--out-order-no", "P1"], "R1", "-5", &[]),
            &["`amount`", "--amount"],
        ),
        (
            [
                &give_back(["--out-order-no", "P1"], "R1", "5", &[])[..],
                &["--order-id", "300"],
            ]
            .concat(),
            &["--order-id", "cannot be used with"],
        ),
        (
            vec![
                "profit-sharing",
                "orders",
                "amounts",
                "--transaction-id",
                "",
            ],
            &["`transaction_id`"],
        ),
    ];
    for (args, says) in cases {
        let out = ext.run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        for needle in says {
            assert!(stderr.contains(needle), "{args:?}: {needle}: {stderr}");
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    ext.nothing_sent();
}

#[test]
fn the_sandbox_refuses_a_split_beyond_what_was_paid() {
    let ext = External::start();
    ext.mock.declare_transaction(SUB, TX, 1000).expect("paid");
    ext.add_receiver();
    let out = ext.run(&split(
        TX,
        "P1",
        &["MERCHANT_ID:1900000110:1001:分给商户"],
        &[],
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("code:       NOT_ENOUGH"), "{stderr}");
    assert!(stderr.contains("Request-ID:"), "{stderr}");
    assert!(
        !stderr.contains("outcome:"),
        "a refusal is a known fate: {stderr}"
    );
    assert!(ext.mock.splits(TX).is_empty());

    // A return beyond what the split gave is refused too; --json puts the error on stdout.
    let out = ext.run(&split(
        TX,
        "P2",
        &["MERCHANT_ID:1900000110:400:分给商户"],
        &["--wait"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = ext.run(&give_back(
        ["--out-order-no", "P2"],
        "R1",
        "401",
        &["--json"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(error["error"]["code"], "NOT_ENOUGH", "{error}");
    assert_eq!(error["error"]["fate_unknown"], false, "{error}");
}

#[test]
fn a_final_failure_under_wait_exits_1_after_printing_it() {
    let ext = External::start();
    ext.add_receiver();
    ext.mock
        .plan_share(
            SUB,
            "P1",
            None,
            ShareOutcome::Closed("RECEIVER_HIGH_RISK".into()),
        )
        .expect("a plan the sandbox accepts");
    let out = ext.run(&split(
        TX,
        "P1",
        &["MERCHANT_ID:1900000110:100:分给商户"],
        &["--wait"],
    ));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("share: CLOSED MERCHANT_ID 1900000110 amount=100 fen")
            && stdout.contains("fail_reason=RECEIVER_HIGH_RISK"),
        "{stdout}"
    );
    assert!(
        stderr.contains("error: final result: shares CLOSED unpaid: MERCHANT_ID 1900000110 (100 fen): RECEIVER_HIGH_RISK"),
        "{stderr}"
    );
    // Without --wait, the same record is a query that worked.
    let out = ext.run(&query_split(TX, "P1", &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let out = ext.run(&split(
        TX,
        "P2",
        &["MERCHANT_ID:1900000110:300:分给商户"],
        &["--wait"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    ext.mock
        .plan_return(SUB, "R1", ReturnOutcome::Fail("ACCOUNT_ABNORMAL".into()))
        .expect("a plan the sandbox accepts");
    let out = ext.run(&give_back(
        ["--out-order-no", "P2"],
        "R1",
        "100",
        &["--wait", "--json"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(shown["result"], "FAIL", "{shown}");
    assert_eq!(shown["fail_reason"], "ACCOUNT_ABNORMAL", "{shown}");
    assert!(
        text(&out.stderr).contains("the return FAILED: ACCOUNT_ABNORMAL"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_split_of_unknown_fate_is_checked_not_sent_twice() {
    let ext = External::start();
    ext.add_receiver();
    // Processed, then a 500: the check finds the split by its number and reports it.
    ext.mock
        .inject_on(Route::CreateSplit, Fault::ProcessedThenSystemError, 1);
    let out = ext.run(&split(
        TX,
        "P1",
        &["MERCHANT_ID:1900000110:100:分给商户"],
        &["--json"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(found["out_order_no"], "P1", "{found}");
    assert_eq!(ext.mock.splits(TX).len(), 1, "sent once");

    // Processed, then every check fails too: the fate stays unknown, and the command says so.
    ext.mock
        .inject_on(Route::CreateSplit, Fault::ProcessedThenSystemError, 1);
    ext.mock
        .inject_on(Route::QuerySplit, Fault::SystemError, 100);
    let out = ext.run(&split(
        TX,
        "P2",
        &["MERCHANT_ID:1900000110:100:分给商户"],
        &[],
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("outcome:    UNKNOWN"), "{stderr}");
    assert_eq!(
        ext.mock.splits(TX).len(),
        2,
        "P2 was made once, never resent"
    );
}

#[test]
fn in_certificate_mode_names_are_encrypted_with_the_downloaded_certificate() {
    let ext = External::with(MockWechatPay::builder().test_certificate_mode());
    let cert_mode = |args: &[&str]| {
        Command::new(BIN)
            .args([
                "--base-url",
                &ext.mock.base_url(),
                "--mchid",
                keys::TEST_MCHID,
                "--merchant-serial",
                keys::TEST_MERCHANT_SERIAL,
            ])
            .arg("--merchant-private-key")
            .arg(ext.path("apiclient_key.pem"))
            .arg("--apiv3-key-file")
            .arg(ext.path("apiv3.key"))
            .args(args)
            .env_clear()
            .output()
            .expect("run wechatpay")
    };
    // Refused before the certificates are even downloaded.
    let bad = format!("MERCHANT_ID:{MERCHANT}:0:分给商户:{NAME}");
    let out = cert_mode(&split(TX, "P1", &[&bad], &[]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    ext.nothing_sent();

    let out = cert_mode(&[
        "profit-sharing",
        "receivers",
        "add",
        "--appid",
        APPID,
        "--type",
        "MERCHANT_ID",
        "--account",
        MERCHANT,
        "--name",
        NAME,
        "--relation-type",
        "SUPPLIER",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let share = format!("MERCHANT_ID:{MERCHANT}:100:分给商户:{NAME}");
    let out = cert_mode(&split(TX, "P1", &[&share], &["--verbose", "--wait"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("/v3/certificates"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "> wechatpay-serial: {}",
            keys::TEST_PLATFORM_SERIAL
        )),
        "{stderr}"
    );
    assert!(text(&out.stdout).starts_with("split: FINISHED"));
    assert_eq!(
        ext.mock.splits(TX)[0].receivers[0].name.as_deref(),
        Some(NAME)
    );
}

#[test]
fn after_sales_follows_the_same_rule_a_final_failure_under_wait_exits_1() {
    let ext = External::start();
    ext.mock
        .fail_order(SUB, TX, wechatpay_core::FailReason::NoRelation)
        .expect("a plan the sandbox accepts");
    let out = ext.run(&[
        "after-sales",
        "create",
        "--sub-mchid",
        SUB,
        "--transaction-id",
        TX,
        "--amount",
        "100",
        "--scene",
        "REFUND_TICKET",
        "--refund-id",
        "50000000382019052709732678859",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let query = [
        "after-sales",
        "query",
        "--sub-mchid",
        SUB,
        "--transaction-id",
        TX,
    ];
    let out = ext.run(&[&query[..], &["--wait"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("result: FAILED"));
    assert!(
        text(&out.stderr)
            .contains("error: final result: the after-sales split FAILED: NO_RELATION"),
        "{}",
        text(&out.stderr)
    );
    // Asked once, the record is an answer: exit 0.
    assert_eq!(ext.run(&query).status.code(), Some(0));
}

#[test]
fn help_on_every_profit_sharing_command_ends_with_an_example() {
    for args in [
        &["profit-sharing", "orders", "--help"][..],
        &["profit-sharing", "orders", "create", "--help"],
        &["profit-sharing", "orders", "query", "--help"],
        &["profit-sharing", "orders", "finish", "--help"],
        &["profit-sharing", "orders", "amounts", "--help"],
        &["profit-sharing", "returns", "--help"],
        &["profit-sharing", "returns", "create", "--help"],
        &["profit-sharing", "returns", "query", "--help"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = text(&out.stdout);
        let example = help
            .rfind("Example:")
            .unwrap_or_else(|| panic!("{args:?}: {help}"));
        assert!(
            help[example..].contains("wechatpay --mock profit-sharing"),
            "{args:?}: {help}"
        );
    }
}

#[test]
fn against_the_embedded_mock() {
    let out = Command::new(BIN)
        .env_clear()
        .args([
            "--mock",
            "profit-sharing",
            "orders",
            "amounts",
            "--transaction-id",
            TX,
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("unsplit_amount: "));
    assert!(text(&out.stderr).contains("--mock: using the embedded mock"));
}
