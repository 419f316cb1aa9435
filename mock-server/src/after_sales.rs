//! The two after-sales endpoints, validated as WeChat Pay validates them (SPEC §1), with rules
//! written here rather than borrowed from the client's validation.

use serde_json::{Map, Value, json};
use wechatpay_core::{AfterSalesOrderAccepted, CreateAfterSalesOrder, Scene, SharingType};

use crate::reply::Reply;
use crate::simulator::SimRequest;
use crate::state::{Created, State};

/// The longest `sub_mchid` and `transaction_id`.
pub(crate) const MAX_ID: usize = 32;
/// The longest `refund_id` accepted (WeChat's own limit is unconfirmed; its ids have 29 digits).
const MAX_REFUND_ID: usize = 64;
const SCENES: [&str; 3] = ["REFUND_TICKET", "CHANGE_TICKET", "RETURN_GOODS"];
const TYPES: [&str; 1] = ["SERVICE_FEE_INCOME"];

/// `POST /v3/ecommerce/profitsharing/after-sales-orders` by merchant `mchid`.
pub(crate) fn create(state: &State, mchid: &str, req: &SimRequest<'_>) -> Reply {
    match parse_create(req) {
        Ok(order) => {
            let answer = AfterSalesOrderAccepted {
                sub_mchid: order.sub_mchid.clone(),
                transaction_id: order.transaction_id.clone(),
                amount: Some(order.amount),
            };
            match state.create(mchid, order) {
                Created::New | Created::Repeat => Reply::json(200, &json!(answer)),
                Created::Conflict => Reply::error(
                    400,
                    "INVALID_REQUEST",
                    "an after-sales split with different parameters already exists for this sub_mchid and transaction_id",
                ),
            }
        }
        Err(reply) => reply,
    }
}

/// Why a text field is refused, if it is: empty, too long, characters WeChat Pay refuses
/// (outside 1-3 byte UTF-8, or control characters).
pub(crate) fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.is_empty() {
        return Some("must not be empty".into());
    }
    if value.len() > max {
        return Some(format!("is {} bytes; at most {max}", value.len()));
    }
    if let Some(c) = value.chars().find(|c| c.len_utf8() > 3) {
        return Some(format!(
            "character U+{:04X} is outside the 1-3 byte UTF-8 range accepted",
            u32::from(c)
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Some(format!(
            "control character U+{:04X} is not accepted",
            u32::from(c)
        ));
    }
    None
}

/// An enumeration value's form: 1 to 64 of `A-Z`, `0-9`, `_`.
pub(crate) fn enum_form_problem(value: &str) -> Option<String> {
    if value.is_empty() || value.len() > 64 {
        return Some("must be 1 to 64 characters".into());
    }
    (!value
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
    .then(|| "must be an uppercase value such as REFUND_TICKET".into())
}

pub(crate) fn id_problem(value: &str) -> Option<String> {
    text_problem(value, MAX_ID)
        .or_else(|| (!value.bytes().all(|b| b.is_ascii_digit())).then(|| "must be digits".into()))
}

/// The body of a JSON request as an object, refused as WeChat Pay refuses it: a Content-Type
/// other than JSON, bytes that are not UTF-8 or not JSON, JSON that is not an object.
pub(crate) fn json_object(req: &SimRequest<'_>) -> Result<Map<String, Value>, Reply> {
    let content_type = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(Reply::error(
            400,
            "INVALID_REQUEST",
            "Content-Type must be application/json",
        ));
    }
    let text = std::str::from_utf8(req.body).map_err(|e| {
        Reply::error(
            400,
            "PARAM_ERROR",
            format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Reply::error(
            400,
            "PARAM_ERROR",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(Reply::error(
            400,
            "PARAM_ERROR",
            "the body must be a JSON object",
        ));
    };
    Ok(obj)
}

fn parse_create(req: &SimRequest<'_>) -> Result<CreateAfterSalesOrder, Reply> {
    let obj = json_object(req)?;
    let field = |name: &str, problem: Option<String>| match problem {
        Some(issue) => Err(Reply::param_error(name, obj.get(name), issue)),
        None => Ok(()),
    };
    let sub_mchid = string(&obj, "sub_mchid")?;
    field("sub_mchid", id_problem(&sub_mchid))?;
    let transaction_id = string(&obj, "transaction_id")?;
    field("transaction_id", text_problem(&transaction_id, MAX_ID))?;
    let amount = integer(&obj, "amount")?;
    field(
        "amount",
        (amount <= 0).then(|| format!("must be a positive number of fen, got {amount}")),
    )?;
    // Enumerations: first their form, in field order; whether the value is one WeChat Pay
    // knows is checked once every field is well-formed.
    let sharing_type = string(&obj, "type")?;
    field("type", enum_form_problem(&sharing_type))?;
    let scene = string(&obj, "scene")?;
    field("scene", enum_form_problem(&scene))?;
    let refund_id = string(&obj, "refund_id")?;
    field("refund_id", text_problem(&refund_id, MAX_REFUND_ID))?;
    field(
        "type",
        (!TYPES.contains(&sharing_type.as_str()))
            .then(|| "unknown type; expected SERVICE_FEE_INCOME".into()),
    )?;
    field(
        "scene",
        (!SCENES.contains(&scene.as_str()))
            .then(|| "unknown scene; expected REFUND_TICKET, CHANGE_TICKET or RETURN_GOODS".into()),
    )?;
    Ok(CreateAfterSalesOrder {
        sub_mchid,
        transaction_id,
        amount,
        sharing_type: SharingType::from(sharing_type),
        scene: Scene::from(scene),
        refund_id,
    })
}

pub(crate) fn string(obj: &Map<String, Value>, field: &str) -> Result<String, Reply> {
    match obj.get(field) {
        None => Err(Reply::param_error(field, None, "is required")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Reply::param_error(field, Some(other), "must be a string")),
    }
}

pub(crate) fn integer(obj: &Map<String, Value>, field: &str) -> Result<i64, Reply> {
    match obj.get(field) {
        None => Err(Reply::param_error(field, None, "is required")),
        Some(v @ Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| Reply::param_error(field, Some(v), "must be an integer number of fen")),
        Some(other) => Err(Reply::param_error(
            field,
            Some(other),
            "must be an integer number of fen",
        )),
    }
}

/// The first value of each query parameter, percent-decoded (`+` stays a plus, as RFC 3986
/// has it).
pub(crate) fn query_param(query: &str, name: &str) -> Option<Result<String, ()>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| ())
        })
    })
}

/// `GET /v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=…&transaction_id=…` by
/// merchant `mchid`: only its own orders exist for it.
pub(crate) fn query(state: &State, mchid: &str, query: &str) -> Reply {
    let param = |name: &str| match query_param(query, name) {
        None => Err(Reply::query_param_error(name, "is required")),
        Some(Err(())) => Err(Reply::query_param_error(name, "is not UTF-8 once decoded")),
        Some(Ok(v)) => Ok(v),
    };
    let (sub_mchid, transaction_id) = match (param("sub_mchid"), param("transaction_id")) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if let Some(issue) = id_problem(&sub_mchid) {
        return Reply::query_param_error("sub_mchid", issue);
    }
    if let Some(issue) = text_problem(&transaction_id, MAX_ID) {
        return Reply::query_param_error("transaction_id", issue);
    }
    match state.query(mchid, &sub_mchid, &transaction_id) {
        Some(order) => Reply::json(200, &json!(order)),
        None => Reply::error(
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在: no after-sales split for this order",
        ),
    }
}
