//! Profit-sharing receivers: `POST /v3/ecommerce/profitsharing/receivers/add` and
//! `…/receivers/delete` (SPEC-profitsharing §B, §D), with rules written here rather than
//! borrowed from the client: the body is read field by field into the mock's own types.
//!
//! `encrypted_name` is decrypted the way WeChat Pay does it: with the private key of the key
//! that `Wechatpay-Serial` names (the WeChat Pay public key, or a published platform
//! certificate), RSAES-OAEP with SHA-1. A serial naming no key the mock holds, or a ciphertext
//! that key does not open, is 400 `PARAM_ERROR`.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::reply::Reply;
use crate::request::{
    MAX_ACCOUNT, SimRequest, check, enum_form_problem, json_object, optional_string, string,
    text_problem,
};
use crate::state::{State, StoredReceiver};

/// `type` values WeChat Pay knows.
pub(crate) const TYPES: [&str; 2] = ["MERCHANT_ID", "PERSONAL_OPENID"];
/// `relation_type` values the mock accepts: the relation enum
/// (`ProfitSharingReceiverRelationType`; the upstream field table lists the receiver-type enum
/// by mistake).
const RELATIONS: [&str; 5] = [
    "SUPPLIER",
    "DISTRIBUTOR",
    "SERVICE_PROVIDER",
    "PLATFORM",
    "OTHERS",
];
/// The longest `appid`.
const MAX_APPID: usize = 32;
/// The longest mchid taken as a `MERCHANT_ID` account.
pub(crate) const MAX_MCHID: usize = 32;
/// The longest `custom_relation`, in bytes (10 Chinese characters).
const MAX_CUSTOM_RELATION: usize = 30;
/// The longest `encrypted_name` read (base64 of a 4096-bit block is 684 characters).
pub(crate) const MAX_ENCRYPTED_NAME: usize = 1024;
/// The longest name once decrypted (one RSA-2048 OAEP block).
const MAX_NAME: usize = 214;

/// The three fields both endpoints share, checked.
struct Identity {
    appid: String,
    receiver_type: String,
    account: String,
}

/// `appid`, `type` and `account`: present, well-formed, known.
fn identity(obj: &Map<String, Value>) -> Result<Identity, Reply> {
    let appid = string(obj, "appid")?;
    check(
        obj,
        "appid",
        text_problem(&appid, MAX_APPID).or_else(|| {
            (!appid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then(|| "must be letters and digits, e.g. wx8888888888888888".into())
        }),
    )?;
    let receiver_type = string(obj, "type")?;
    check(obj, "type", enum_form_problem(&receiver_type))?;
    let account = string(obj, "account")?;
    check(obj, "account", text_problem(&account, MAX_ACCOUNT))?;
    check(
        obj,
        "type",
        (!TYPES.contains(&receiver_type.as_str()))
            .then(|| "unknown type; expected MERCHANT_ID or PERSONAL_OPENID".into()),
    )?;
    if receiver_type == "MERCHANT_ID" {
        check(
            obj,
            "account",
            (account.len() > MAX_MCHID || !account.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("a MERCHANT_ID account is a mchid: 1 to {MAX_MCHID} digits")),
        )?;
    }
    Ok(Identity {
        appid,
        receiver_type,
        account,
    })
}

fn answer(receiver_type: &str, account: &str) -> Reply {
    Reply::json(200, &json!({ "type": receiver_type, "account": account }))
}

/// `POST /v3/ecommerce/profitsharing/receivers/add` by merchant `mchid`.
pub(crate) fn add(state: &State, mchid: &str, req: &SimRequest<'_>, now: i64) -> Reply {
    match parse_add(state, mchid, req, now) {
        Ok(receiver) => {
            let reply = answer(&receiver.receiver_type, &receiver.account);
            state.add_receiver(receiver);
            reply
        }
        Err(reply) => reply,
    }
}

fn parse_add(
    state: &State,
    mchid: &str,
    req: &SimRequest<'_>,
    now: i64,
) -> Result<StoredReceiver, Reply> {
    let obj = json_object(req)?;
    let id = identity(&obj)?;
    let relation_type = string(&obj, "relation_type")?;
    check(&obj, "relation_type", enum_form_problem(&relation_type))?;
    check(
        &obj,
        "relation_type",
        (!RELATIONS.contains(&relation_type.as_str())).then(|| {
            format!(
                "unknown relation_type; expected one of {}",
                RELATIONS.join(", ")
            )
        }),
    )?;
    let custom_relation = optional_string(&obj, "custom_relation")?;
    if let Some(c) = &custom_relation {
        check(
            &obj,
            "custom_relation",
            text_problem(c, MAX_CUSTOM_RELATION),
        )?;
    }
    if obj.contains_key("name") {
        return Err(Reply::param_error(
            "name",
            None,
            "a name in plain text is not accepted: encrypt it with WeChat Pay's key (RSAES-OAEP) and send it as encrypted_name",
        ));
    }
    let encrypted_name = optional_string(&obj, "encrypted_name")?;
    if let Some(c) = &encrypted_name {
        check(&obj, "encrypted_name", text_problem(c, MAX_ENCRYPTED_NAME))?;
    } else if id.receiver_type == "MERCHANT_ID" {
        return Err(Reply::param_error(
            "encrypted_name",
            None,
            "is required for a MERCHANT_ID receiver (the merchant's full name, encrypted)",
        ));
    }
    let serial = serial_of(req, "encrypted_name")?;
    let name = match &encrypted_name {
        None => {
            known_serial(state, &serial)?;
            None
        }
        Some(ciphertext) => Some(decrypt_sensitive(
            state,
            &serial,
            "encrypted_name",
            ciphertext,
        )?),
    };
    Ok(StoredReceiver {
        mchid: mchid.to_owned(),
        appid: id.appid,
        receiver_type: id.receiver_type,
        account: id.account,
        relation_type,
        custom_relation,
        name,
        serial,
        added_at: now,
    })
}

/// The request's `Wechatpay-Serial`: required when `field` is encrypted, as it names the key
/// that encrypted it.
pub(crate) fn serial_of(req: &SimRequest<'_>, field: &str) -> Result<String, Reply> {
    match req.headers.get("wechatpay-serial").map(|v| v.to_str()) {
        Some(Ok(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Ok(_)) | None => Err(Reply::header_error(
            "Wechatpay-Serial",
            format!("is required: it names the WeChat Pay key that encrypted {field}"),
        )),
        Some(Err(_)) => Err(Reply::header_error("Wechatpay-Serial", "is not ASCII")),
    }
}

/// The private key of the WeChat Pay key `serial` names; 400 `PARAM_ERROR` on the header when
/// it names none.
fn known_serial(state: &State, serial: &str) -> Result<wechatpay_core::PrivateKey, Reply> {
    state.decrypting_key(serial).ok_or_else(|| {
        let shown: String = serial.chars().take(64).collect();
        Reply::header_error(
            "Wechatpay-Serial",
            format!(
                "{shown:?} names no WeChat Pay key: use the WeChat Pay public key id or the serial of a platform certificate /v3/certificates publishes"
            ),
        )
    })
}

/// A sensitive field (`field`, a JSON pointer without its `/`) decrypted as WeChat Pay does:
/// with the private key of the WeChat Pay key `serial` names, RSAES-OAEP with SHA-1; the text
/// checked as a name. A serial naming no key, or a ciphertext that key does not open, is 400
/// `PARAM_ERROR`.
pub(crate) fn decrypt_sensitive(
    state: &State,
    serial: &str,
    field: &str,
    ciphertext: &str,
) -> Result<String, Reply> {
    let shown: String = serial.chars().take(64).collect();
    let key = known_serial(state, serial)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(ciphertext)
        .map_err(|_| Reply::param_error(field, None, "is not standard base64"))?;
    let plain = key.decrypt_oaep(&raw).map_err(|_| {
        Reply::param_error(
            field,
            None,
            format!(
                "does not decrypt with the key Wechatpay-Serial names ({shown}): encrypt it with that key (RSAES-OAEP, SHA-1), or name the key you encrypted it with"
            ),
        )
    })?;
    let text = String::from_utf8(plain)
        .map_err(|_| Reply::param_error(field, None, "decrypts to bytes that are not UTF-8"))?;
    if let Some(issue) = text_problem(&text, MAX_NAME) {
        return Err(Reply::param_error(
            field,
            None,
            format!("the decrypted name {issue}"),
        ));
    }
    Ok(text)
}

/// `POST /v3/ecommerce/profitsharing/receivers/delete` by merchant `mchid`: answers the same
/// whether the receiver existed or not (deleting again is harmless).
pub(crate) fn delete(state: &State, mchid: &str, req: &SimRequest<'_>) -> Reply {
    let id = match json_object(req).and_then(|obj| identity(&obj)) {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    state.delete_receiver(mchid, &id.receiver_type, &id.account);
    answer(&id.receiver_type, &id.account)
}
