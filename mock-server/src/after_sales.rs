//! The two after-sales endpoints, validated as WeChat Pay validates them.

use serde_json::{Map, Value, json};
use wechatpay_core::{
    AfterSalesOrderAccepted, CreateAfterSalesOrder, Operation, QueryAfterSalesOrder, Scene,
    SharingType,
};
use wiremock::Request;

use crate::reply::Reply;
use crate::state::{Created, State};

/// `POST /v3/ecommerce/profitsharing/after-sales-orders`.
pub(crate) fn create(state: &State, req: &Request) -> Reply {
    match parse_create(req) {
        Ok(order) => {
            let answer = AfterSalesOrderAccepted {
                sub_mchid: order.sub_mchid.clone(),
                transaction_id: order.transaction_id.clone(),
                amount: Some(order.amount),
            };
            match state.create(order) {
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

fn parse_create(req: &Request) -> Result<CreateAfterSalesOrder, Reply> {
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
    let text = std::str::from_utf8(&req.body).map_err(|e| {
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
    let order = CreateAfterSalesOrder {
        sub_mchid: string(&obj, "sub_mchid")?,
        transaction_id: string(&obj, "transaction_id")?,
        amount: integer(&obj, "amount")?,
        sharing_type: SharingType::from(string(&obj, "type")?),
        scene: Scene::from(string(&obj, "scene")?),
        refund_id: string(&obj, "refund_id")?,
    };
    order.validate().map_err(|e| {
        let field = e.field().unwrap_or("body");
        Reply::param_error(field, obj.get(field), e.to_string())
    })?;
    if !order.sharing_type.is_known() {
        return Err(Reply::param_error(
            "type",
            obj.get("type"),
            "unknown type; expected SERVICE_FEE_INCOME",
        ));
    }
    if !order.scene.is_known() {
        return Err(Reply::param_error(
            "scene",
            obj.get("scene"),
            "unknown scene; expected REFUND_TICKET, CHANGE_TICKET or RETURN_GOODS",
        ));
    }
    Ok(order)
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<String, Reply> {
    match obj.get(field) {
        None => Err(Reply::param_error(field, None, "is required")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Reply::param_error(field, Some(other), "must be a string")),
    }
}

fn integer(obj: &Map<String, Value>, field: &str) -> Result<i64, Reply> {
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

/// `GET /v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=…&transaction_id=…`.
pub(crate) fn query(state: &State, req: &Request) -> Reply {
    let mut sub_mchid = None;
    let mut transaction_id = None;
    for (name, value) in req.url.query_pairs() {
        match name.as_ref() {
            "sub_mchid" if sub_mchid.is_none() => sub_mchid = Some(value.into_owned()),
            "transaction_id" if transaction_id.is_none() => {
                transaction_id = Some(value.into_owned())
            }
            _ => {}
        }
    }
    let Some(sub_mchid) = sub_mchid else {
        return Reply::query_param_error("sub_mchid", "is required");
    };
    let Some(transaction_id) = transaction_id else {
        return Reply::query_param_error("transaction_id", "is required");
    };
    let q = QueryAfterSalesOrder::new(sub_mchid, transaction_id);
    if let Err(e) = q.validate() {
        return Reply::query_param_error(e.field().unwrap_or("query"), e.to_string());
    }
    match state.query(&q.sub_mchid, &q.transaction_id) {
        Some(order) => Reply::json(200, &json!(order)),
        None => Reply::error(
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在: no after-sales split for this order",
        ),
    }
}
