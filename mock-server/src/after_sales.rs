//! The two after-sales endpoints, validated as WeChat Pay validates them (SPEC §1), with rules
//! written here rather than borrowed from the client's validation.

use serde_json::json;

use crate::reply::Reply;
use crate::request::{
    MAX_ID, SimRequest, check, enum_form_problem, id_problem, integer, json_object, query_param,
    string, text_problem,
};
use crate::state::{Created, State};
use crate::wire::{AfterSalesAccepted, AfterSalesRequest};
/// The longest `refund_id` accepted (WeChat's own limit is unconfirmed; its ids have 29 digits).
const MAX_REFUND_ID: usize = 64;
const SCENES: [&str; 3] = ["REFUND_TICKET", "CHANGE_TICKET", "RETURN_GOODS"];
const TYPES: [&str; 1] = ["SERVICE_FEE_INCOME"];

/// `POST /v3/ecommerce/profitsharing/after-sales-orders` by merchant `mchid`.
pub(crate) fn create(state: &State, mchid: &str, req: &SimRequest<'_>, now: i64) -> Reply {
    match parse_create(req) {
        Ok(order) => {
            let answer = json!(AfterSalesAccepted {
                sub_mchid: &order.sub_mchid,
                transaction_id: &order.transaction_id,
                amount: order.amount,
            });
            match state.create(mchid, order, now) {
                Created::New | Created::Repeat => Reply::json(200, &answer),
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

fn parse_create(req: &SimRequest<'_>) -> Result<AfterSalesRequest, Reply> {
    let obj = json_object(req)?;
    let field = |name: &str, problem: Option<String>| check(&obj, name, problem);
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
    Ok(AfterSalesRequest {
        sub_mchid,
        transaction_id,
        amount,
        sharing_type,
        scene,
        refund_id,
    })
}

/// `GET /v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=…&transaction_id=…` by
/// merchant `mchid`: only its own orders exist for it.
pub(crate) fn query(state: &State, mchid: &str, query: &str, now: i64) -> Reply {
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
    match state.query(mchid, &sub_mchid, &transaction_id, now) {
        Some(order) => Reply::json(200, &order),
        None => Reply::error(
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在: no after-sales split for this order",
        ),
    }
}
