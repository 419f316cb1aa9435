//! Profit-sharing receivers on the mock: added with a name encrypted by core's `Encryptor`,
//! decrypted with the key `Wechatpay-Serial` names, refused when that key cannot open it, and
//! deleted.

mod common;

use common::{assert_error, json, send};
use serde_json::json;
use wechatpay_core::encryption::{Encryptor, Sealed};
use wechatpay_core::receivers::{
    ADD_PATH, AddReceiver, DELETE_PATH, Receiver, ReceiverType, RelationType,
};
use wechatpay_core::{Generic, http};
use wechatpay_mock_server::{MockWechatPay, keys};

const APPID: &str = "wx8888888888888888";
const ACCOUNT: &str = "1900000110";
const NAME: &str = "示例商户全称有限公司";

fn add(encryptor: &Encryptor) -> AddReceiver {
    AddReceiver::new(
        APPID,
        ReceiverType::MerchantId,
        ACCOUNT,
        RelationType::Supplier,
    )
    .name(encryptor, NAME)
    .expect("sealed")
}

async fn certificate_mock() -> MockWechatPay {
    MockWechatPay::builder()
        .test_platform_certificate()
        .start()
        .await
        .expect("mock")
}

/// `GET /mock/receivers` of the control API.
async fn listed(mock: &MockWechatPay, query: &str) -> serde_json::Value {
    let req = http::Request::get(format!("/mock/receivers{query}"))
        .body(Vec::new())
        .expect("request");
    let resp = send(mock.address(), &req).await;
    assert_eq!(resp.status(), 200);
    json(&resp)
}

#[tokio::test]
async fn a_receiver_added_with_an_encrypted_name_is_kept_with_the_name_decrypted() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let operation = add(&encryptor);
    let (req, pending) = client.prepare(&operation).expect("prepare");
    assert_eq!(
        req.headers()["wechatpay-serial"],
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID
    );
    let answer: Receiver = pending
        .finish(send(mock.address(), &req).await)
        .expect("accepted and verified");
    assert_eq!(answer.receiver_type, ReceiverType::MerchantId);
    assert_eq!(answer.account, ACCOUNT);

    let stored = mock.receivers(keys::TEST_MCHID);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name.as_deref(), Some(NAME));
    assert_eq!(stored[0].appid, APPID);
    assert_eq!(stored[0].relation_type, "SUPPLIER");
    assert_eq!(stored[0].serial, keys::TEST_WECHATPAY_PUBLIC_KEY_ID);

    // The same receiver again (a retry, or a new ciphertext of the same name): the same answer,
    // still one receiver.
    for operation in [operation.clone(), add(&encryptor)] {
        let (req, pending) = client.prepare(&operation).expect("prepare");
        let again = pending
            .finish(send(mock.address(), &req).await)
            .expect("accepted");
        assert_eq!(again, answer);
    }
    assert_eq!(mock.receivers(keys::TEST_MCHID).len(), 1);
    // Other merchants have none.
    assert!(mock.receivers("1900000200").is_empty());

    let all = listed(&mock, "").await;
    assert_eq!(all["receivers"][0]["name"], NAME);
    assert_eq!(all["receivers"][0]["type"], "MERCHANT_ID");
    assert_eq!(all["receivers"][0]["mchid"], keys::TEST_MCHID);
    let none = listed(&mock, "?mchid=1900000200").await;
    assert_eq!(none["receivers"], json!([]));
}

#[tokio::test]
async fn a_name_encrypted_for_a_platform_certificate_is_opened_with_its_key() {
    let mock = certificate_mock().await;
    let encryptor = Encryptor::with_serial(&mock.trusted_keys(), keys::TEST_PLATFORM_SERIAL)
        .expect("the platform certificate");
    let (req, pending) = mock.client().prepare(&add(&encryptor)).expect("prepare");
    assert_eq!(
        req.headers()["wechatpay-serial"],
        keys::TEST_PLATFORM_SERIAL
    );
    pending
        .finish(send(mock.address(), &req).await)
        .expect("accepted");
    let stored = mock.receivers(keys::TEST_MCHID);
    assert_eq!(stored[0].name.as_deref(), Some(NAME));
    assert_eq!(stored[0].serial, keys::TEST_PLATFORM_SERIAL);
}

#[tokio::test]
async fn a_serial_naming_another_key_than_the_one_that_encrypted_is_param_error() {
    let mock = certificate_mock().await;
    let client = mock.client();
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    assert_eq!(encryptor.serial(), keys::TEST_WECHATPAY_PUBLIC_KEY_ID);
    // Encrypted with the WeChat Pay public key, sent naming the platform certificate.
    let mut operation = add(&encryptor);
    let sealed = operation.name.clone().expect("sealed");
    operation.name = Some(Sealed::new(sealed.ciphertext(), keys::TEST_PLATFORM_SERIAL));
    let (req, pending) = client.prepare(&operation).expect("prepare");
    assert_eq!(
        req.headers()["wechatpay-serial"],
        keys::TEST_PLATFORM_SERIAL
    );
    let resp = send(mock.address(), &req).await;
    let body = assert_error(&resp, 400, "PARAM_ERROR");
    assert_eq!(body["detail"]["field"], "/encrypted_name", "{body}");
    assert!(
        body["message"].as_str().is_some_and(
            |m| m.contains("does not decrypt") && m.contains(keys::TEST_PLATFORM_SERIAL)
        ),
        "{body}"
    );
    let err = pending.finish(resp).expect_err("refused");
    assert_eq!(err.code(), Some("PARAM_ERROR"));

    // A serial naming no key the mock holds.
    operation.name = Some(Sealed::new(
        sealed.ciphertext(),
        format!("PUB_KEY_ID_{}", "7".repeat(34)),
    ));
    let (req, _pending) = client.prepare(&operation).expect("prepare");
    let body = assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
    assert_eq!(body["detail"]["field"], "Wechatpay-Serial", "{body}");
    assert_eq!(body["detail"]["location"], "header", "{body}");
    assert!(mock.receivers(keys::TEST_MCHID).is_empty());
}

#[tokio::test]
async fn a_receiver_is_deleted_and_deleting_again_answers_the_same() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let operation = add(&encryptor);
    let (req, pending) = client.prepare(&operation).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("added");
    assert_eq!(mock.receivers(keys::TEST_MCHID).len(), 1);

    for _ in 0..2 {
        let (req, pending) = client.prepare(&operation.delete()).expect("prepare");
        assert_eq!(req.uri().path(), DELETE_PATH);
        let resp = send(mock.address(), &req).await;
        assert_eq!(
            json(&resp),
            json!({ "type": "MERCHANT_ID", "account": ACCOUNT })
        );
        let deleted = pending.finish(resp).expect("verified");
        assert_eq!(deleted.account, ACCOUNT);
        assert!(mock.receivers(keys::TEST_MCHID).is_empty());
    }
}

/// Posts `body` to `path`, signed by the test merchant (Wechatpay-Serial: the preferred key).
async fn post(mock: &MockWechatPay, path: &str, body: &serde_json::Value) -> serde_json::Value {
    let operation: Generic = Generic::post(path).json(body).expect("json");
    let (req, _pending) = mock.client().prepare(&operation).expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_error(&resp, 400, "PARAM_ERROR")
}

#[tokio::test]
async fn bad_bodies_are_param_errors_naming_the_field() {
    let mock = MockWechatPay::start().await;
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let name = encryptor.seal(NAME).expect("sealed");
    let good = json!({
        "appid": APPID, "type": "MERCHANT_ID", "account": ACCOUNT,
        "encrypted_name": name.ciphertext(), "relation_type": "SUPPLIER"
    });
    let with = |field: &str, value: serde_json::Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().expect("object").remove(field);
        b
    };
    for (body, field) in [
        (with("type", json!("BANK_ACCOUNT")), "/type"),
        (with("type", json!("merchant_id")), "/type"),
        (with("relation_type", json!("COUSIN")), "/relation_type"),
        (without("relation_type"), "/relation_type"),
        (without("appid"), "/appid"),
        (with("account", json!(1900000110)), "/account"),
        (with("account", json!("not-a-mchid")), "/account"),
        (without("encrypted_name"), "/encrypted_name"),
        (
            with("encrypted_name", json!("%%% not base64")),
            "/encrypted_name",
        ),
        (with("name", json!(NAME)), "/name"),
    ] {
        let refused = post(&mock, ADD_PATH, &body).await;
        assert_eq!(refused["detail"]["field"], field, "{body} -> {refused}");
    }
    // A person needs no name; the relation is one of the relation enum's.
    let person = json!({
        "appid": APPID, "type": "PERSONAL_OPENID", "account": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "relation_type": "OTHERS", "custom_relation": "合伙人"
    });
    let operation: Generic = Generic::post(ADD_PATH).json(&person).expect("json");
    let (req, pending) = mock.client().prepare(&operation).expect("prepare");
    let answer = pending
        .finish(send(mock.address(), &req).await)
        .expect("accepted");
    assert_eq!(answer["type"], "PERSONAL_OPENID");
    let stored = mock.receivers(keys::TEST_MCHID);
    assert_eq!(stored[0].name, None);
    assert_eq!(stored[0].custom_relation.as_deref(), Some("合伙人"));

    // Delete checks the same identity fields.
    let refused = post(
        &mock,
        DELETE_PATH,
        &json!({ "appid": APPID, "type": "NOBODY", "account": ACCOUNT }),
    )
    .await;
    assert_eq!(refused["detail"]["field"], "/type");
}

#[tokio::test]
async fn add_without_a_wechatpay_serial_header_is_refused() {
    let mock = MockWechatPay::start().await;
    let encryptor = Encryptor::preferred(&mock.trusted_keys()).expect("encryptor");
    let (mut req, _pending) = mock.client().prepare(&add(&encryptor)).expect("prepare");
    // The serial is not signed: removing it leaves the signature valid.
    req.headers_mut().remove("wechatpay-serial");
    let body = assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
    assert_eq!(body["detail"]["field"], "Wechatpay-Serial", "{body}");
}
