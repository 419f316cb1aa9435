//! The profit-sharing family around after-sales (SPEC-profitsharing §B): `POST orders` (split),
//! `GET orders` (query a split or a finish), `POST finish-order`, `GET orders/{id}/amounts`,
//! `POST returnorders` and `GET returnorders`. Bodies are read field by field into the mock's
//! own types with rules written here (a serde mistake in the client is caught, not shared);
//! the money rules are the [`crate::ledger`]'s.

use serde_json::{Map, Value, json};

use crate::ledger::{FinishAsk, Notice, ReturnAsk, Settle, SplitAsk, return_json, split_json};
use crate::receivers::{MAX_ENCRYPTED_NAME, MAX_MCHID, TYPES, decrypt_sensitive, serial_of};
use crate::reply::Reply;
use crate::request::{
    MAX_ACCOUNT, MAX_ID, MAX_OUT_NO, SimRequest, check, enum_form_problem, id_problem, integer,
    json_object, optional_string, query_param, string, text_problem,
};
use crate::state::State;

/// `POST` splits, `GET` queries a split.
pub(crate) const ORDERS_PATH: &str = "/v3/ecommerce/profitsharing/orders";
/// `POST` finishes.
pub(crate) const FINISH_PATH: &str = "/v3/ecommerce/profitsharing/finish-order";
/// `POST` returns, `GET` queries a return.
pub(crate) const RETURNS_PATH: &str = "/v3/ecommerce/profitsharing/returnorders";
/// The longest `description`.
const MAX_DESCRIPTION: usize = 80;
/// The most receivers one split names.
const MAX_RECEIVERS: usize = 50;
/// The longest `appid`.
const MAX_APPID: usize = 32;

/// The raw transaction-id segment of `GET orders/{transaction_id}/amounts`, if `path` is one.
pub(crate) fn amounts_segment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(ORDERS_PATH)?.strip_prefix('/')?;
    let segment = rest.strip_suffix("/amounts")?;
    (!segment.contains('/')).then_some(segment)
}

/// The string field `name`, refused with `problem`'s issue when it has one.
fn checked(
    obj: &Map<String, Value>,
    name: &str,
    problem: impl FnOnce(&str) -> Option<String>,
) -> Result<String, Reply> {
    let value = string(obj, name)?;
    check(obj, name, problem(&value))?;
    Ok(value)
}

/// A field of a receiver, `receivers/{i}/{name}` in refusals.
struct Item<'a> {
    obj: &'a Map<String, Value>,
    index: usize,
}

impl Item<'_> {
    fn pointer(&self, name: &str) -> String {
        format!("receivers/{}/{name}", self.index)
    }

    fn refuse(&self, name: &str, issue: impl Into<String>) -> Reply {
        Reply::param_error(&self.pointer(name), self.obj.get(name), issue)
    }

    fn check(&self, name: &str, issue: Option<String>) -> Result<(), Reply> {
        issue.map_or(Ok(()), |issue| Err(self.refuse(name, issue)))
    }

    fn string(&self, name: &str) -> Result<String, Reply> {
        match self.obj.get(name) {
            None => Err(Reply::param_error(&self.pointer(name), None, "is required")),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.refuse(name, "must be a string")),
        }
    }

    fn optional_string(&self, name: &str) -> Result<Option<String>, Reply> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.refuse(name, "must be a string")),
        }
    }

    fn amount(&self) -> Result<i64, Reply> {
        let amount = match self.obj.get("amount") {
            None => {
                return Err(Reply::param_error(
                    &self.pointer("amount"),
                    None,
                    "is required",
                ));
            }
            Some(Value::Number(n)) => n.as_i64(),
            Some(_) => None,
        }
        .ok_or_else(|| self.refuse("amount", "must be an integer number of fen"))?;
        self.check(
            "amount",
            (amount <= 0).then(|| format!("must be a positive number of fen, got {amount}")),
        )?;
        Ok(amount)
    }
}

/// A receiver of a split, read and checked (its name still encrypted).
struct AskedReceiver {
    receiver_type: String,
    account: String,
    amount: i64,
    description: String,
    receiver_name: Option<String>,
}

fn appid(obj: &Map<String, Value>) -> Result<Option<String>, Reply> {
    let appid = optional_string(obj, "appid")?;
    if let Some(a) = &appid {
        check(
            obj,
            "appid",
            text_problem(a, MAX_APPID).or_else(|| {
                (!a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                    .then(|| "must be letters and digits, e.g. wx8888888888888888".into())
            }),
        )?;
    }
    Ok(appid)
}

fn receivers(obj: &Map<String, Value>) -> Result<Vec<AskedReceiver>, Reply> {
    let list = match obj.get("receivers") {
        None => return Err(Reply::param_error("receivers", None, "is required")),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(Reply::param_error(
                "receivers",
                Some(other),
                "must be an array of receivers",
            ));
        }
    };
    if list.is_empty() || list.len() > MAX_RECEIVERS {
        return Err(Reply::param_error(
            "receivers",
            None,
            format!(
                "must name 1 to {MAX_RECEIVERS} receivers, got {}",
                list.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (index, value) in list.iter().enumerate() {
        let Value::Object(obj) = value else {
            return Err(Reply::param_error(
                &format!("receivers/{index}"),
                Some(value),
                "must be an object",
            ));
        };
        let item = Item { obj, index };
        let receiver_type = item.string("type")?;
        item.check("type", enum_form_problem(&receiver_type))?;
        let account = item.string("receiver_account")?;
        item.check("receiver_account", text_problem(&account, MAX_ACCOUNT))?;
        let amount = item.amount()?;
        let description = item.string("description")?;
        item.check("description", text_problem(&description, MAX_DESCRIPTION))?;
        let receiver_name = item.optional_string("receiver_name")?;
        if let Some(c) = &receiver_name {
            item.check("receiver_name", text_problem(c, MAX_ENCRYPTED_NAME))?;
        }
        out.push((
            item,
            AskedReceiver {
                receiver_type,
                account,
                amount,
                description,
                receiver_name,
            },
        ));
    }
    // Known values once every receiver is well-formed.
    for (item, r) in &out {
        item.check(
            "type",
            (!TYPES.contains(&r.receiver_type.as_str()))
                .then(|| "unknown type; expected MERCHANT_ID or PERSONAL_OPENID".into()),
        )?;
        if r.receiver_type == "MERCHANT_ID" {
            item.check(
                "receiver_account",
                (r.account.len() > MAX_MCHID || !r.account.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| format!("a MERCHANT_ID account is a mchid: 1 to {MAX_MCHID} digits")),
            )?;
        }
    }
    for (i, (item, r)) in out.iter().enumerate() {
        if out[..i]
            .iter()
            .any(|(_, o)| o.receiver_type == r.receiver_type && o.account == r.account)
        {
            return Err(item.refuse(
                "receiver_account",
                "names a receiver already named by this split",
            ));
        }
    }
    if out
        .iter()
        .try_fold(0i64, |sum, (_, r)| sum.checked_add(r.amount))
        .is_none()
    {
        return Err(Reply::param_error(
            "receivers",
            None,
            "the amounts add up past what a 64-bit number holds",
        ));
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// Reads a split, its receivers' names decrypted.
fn parse_split(state: &State, req: &SimRequest<'_>) -> Result<SplitAsk, Reply> {
    let obj = json_object(req)?;
    let appid = appid(&obj)?;
    let sub_mchid = checked(&obj, "sub_mchid", id_problem)?;
    let transaction_id = checked(&obj, "transaction_id", |v| text_problem(v, MAX_ID))?;
    let out_order_no = checked(&obj, "out_order_no", |v| text_problem(v, MAX_OUT_NO))?;
    let asked = receivers(&obj)?;
    let finish = match obj.get("finish") {
        None => return Err(Reply::param_error("finish", None, "is required")),
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(Reply::param_error(
                "finish",
                Some(other),
                "must be true or false",
            ));
        }
    };
    let serial = if asked.iter().any(|r| r.receiver_name.is_some()) {
        Some(serial_of(req, "receivers[].receiver_name")?)
    } else {
        None
    };
    let mut receivers = Vec::with_capacity(asked.len());
    for (i, r) in asked.into_iter().enumerate() {
        let name = match (&r.receiver_name, &serial) {
            (Some(c), Some(serial)) => Some(decrypt_sensitive(
                state,
                serial,
                &format!("receivers/{i}/receiver_name"),
                c,
            )?),
            _ => None,
        };
        receivers.push((r.receiver_type, r.account, r.amount, r.description, name));
    }
    Ok(SplitAsk {
        appid,
        sub_mchid,
        transaction_id,
        out_order_no,
        receivers,
        finish,
    })
}

/// `POST /v3/ecommerce/profitsharing/orders` by merchant `mchid`.
pub(crate) fn create_split(state: &State, mchid: &str, req: &SimRequest<'_>, now: i64) -> Reply {
    let ask = match parse_split(state, req) {
        Ok(ask) => ask,
        Err(reply) => return reply,
    };
    let bound = state.order_bound();
    let mut ledger = state.ledger();
    if let Some(limited) = ledger.rate_check(now, mchid, &ask) {
        return limited;
    }
    let lenient = ledger.transaction(&ask.transaction_id).is_none();
    let transaction_id = ask.transaction_id.clone();
    let result = ledger.split(mchid, ask, now, bound, |receiver_type, account| {
        state.has_receiver(mchid, receiver_type, account)
    });
    drop(ledger);
    match result {
        Ok(split) => {
            let mut reply = Reply::json(200, &split_json(&split));
            if lenient {
                reply.notes.push(format!(
                    "transaction {transaction_id} was not declared: taken as paid {} fen (--strict-transactions refuses it)",
                    crate::ledger::LENIENT_PAID_AMOUNT
                ));
            }
            reply
        }
        Err(reply) => reply,
    }
}

/// `POST /v3/ecommerce/profitsharing/finish-order` by merchant `mchid`.
pub(crate) fn finish(state: &State, mchid: &str, req: &SimRequest<'_>, now: i64) -> Reply {
    let parsed = (|| {
        let obj = json_object(req)?;
        let sub_mchid = checked(&obj, "sub_mchid", id_problem)?;
        let transaction_id = checked(&obj, "transaction_id", |v| text_problem(v, MAX_ID))?;
        let out_order_no = checked(&obj, "out_order_no", |v| text_problem(v, MAX_OUT_NO))?;
        let description = checked(&obj, "description", |v| text_problem(v, MAX_DESCRIPTION))?;
        Ok((sub_mchid, transaction_id, out_order_no, description))
    })();
    let ask = match parsed {
        Ok((sub_mchid, transaction_id, out_order_no, description)) => FinishAsk {
            sub_mchid,
            transaction_id,
            out_order_no,
            description,
        },
        Err(reply) => return reply,
    };
    let bound = state.order_bound();
    let result = state.ledger().finish(mchid, ask, now, bound);
    match result {
        Ok(record) => Reply::json(
            200,
            &json!({
                "sub_mchid": record.sub_mchid,
                "transaction_id": record.transaction_id,
                "out_order_no": record.out_order_no,
                "order_id": record.order_id,
            }),
        ),
        Err(reply) => reply,
    }
}

/// A required query parameter, decoded and checked.
fn param(
    query: &str,
    name: &str,
    problem: impl Fn(&str) -> Option<String>,
) -> Result<String, Reply> {
    match query_param(query, name) {
        None => Err(Reply::query_param_error(name, "is required")),
        Some(Err(())) => Err(Reply::query_param_error(name, "is not UTF-8 once decoded")),
        Some(Ok(v)) => match problem(&v) {
            Some(issue) => Err(Reply::query_param_error(name, issue)),
            None => Ok(v),
        },
    }
}

/// An optional query parameter, decoded and checked.
fn optional_param(
    query: &str,
    name: &str,
    problem: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, Reply> {
    if query_param(query, name).is_none() {
        return Ok(None);
    }
    param(query, name, problem).map(Some)
}

/// `GET /v3/ecommerce/profitsharing/orders?sub_mchid&transaction_id&out_order_no` by merchant
/// `mchid`: its own splits and finishes only.
pub(crate) fn query_split(
    state: &State,
    mchid: &str,
    query: &str,
    now: i64,
    notices: &mut Vec<Notice>,
) -> Reply {
    let parsed = (|| {
        Ok::<_, Reply>((
            param(query, "sub_mchid", id_problem)?,
            param(query, "transaction_id", |v| text_problem(v, MAX_ID))?,
            param(query, "out_order_no", |v| text_problem(v, MAX_OUT_NO))?,
        ))
    })();
    let (sub_mchid, transaction_id, out_order_no) = match parsed {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let default = state.processing();
    let found = state.ledger().query_split(
        mchid,
        &sub_mchid,
        &transaction_id,
        &out_order_no,
        Settle {
            now,
            default,
            notices,
        },
    );
    match found {
        Some(split) => Reply::json(200, &split_json(&split)),
        None => Reply::error(
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在: no split or finish with this out_order_no for this sub_mchid and transaction_id",
        ),
    }
}

/// `GET /v3/ecommerce/profitsharing/orders/{transaction_id}/amounts`, the segment as sent.
pub(crate) fn amounts(state: &State, segment: &str) -> Reply {
    let transaction_id = match percent_encoding::percent_decode_str(segment).decode_utf8() {
        Ok(t) => t.into_owned(),
        Err(_) => {
            return Reply::path_param_error("transaction_id", "is not UTF-8 once decoded");
        }
    };
    if let Some(issue) = text_problem(&transaction_id, MAX_ID) {
        return Reply::path_param_error("transaction_id", issue);
    }
    match state.ledger().unsplit(&transaction_id) {
        Ok(unsplit) => Reply::json(
            200,
            &json!({ "transaction_id": transaction_id, "unsplit_amount": unsplit }),
        ),
        Err(reply) => reply,
    }
}

fn parse_return(req: &SimRequest<'_>) -> Result<ReturnAsk, Reply> {
    let obj = json_object(req)?;
    let sub_mchid = checked(&obj, "sub_mchid", id_problem)?;
    let order_id = optional_string(&obj, "order_id")?;
    if let Some(id) = &order_id {
        check(&obj, "order_id", text_problem(id, MAX_ID))?;
    }
    let out_order_no = optional_string(&obj, "out_order_no")?;
    if let Some(no) = &out_order_no {
        check(&obj, "out_order_no", text_problem(no, MAX_OUT_NO))?;
    }
    if order_id.is_none() && out_order_no.is_none() {
        return Err(Reply::param_error(
            "out_order_no",
            None,
            "order_id or out_order_no is required: it names the split the funds come back from",
        ));
    }
    let out_return_no = checked(&obj, "out_return_no", |v| text_problem(v, MAX_OUT_NO))?;
    let return_mchid = checked(&obj, "return_mchid", id_problem)?;
    let amount = integer(&obj, "amount")?;
    check(
        &obj,
        "amount",
        (amount <= 0).then(|| format!("must be a positive number of fen, got {amount}")),
    )?;
    let description = checked(&obj, "description", |v| text_problem(v, MAX_DESCRIPTION))?;
    let transaction_id = optional_string(&obj, "transaction_id")?;
    if let Some(t) = &transaction_id {
        check(&obj, "transaction_id", text_problem(t, MAX_ID))?;
    }
    Ok(ReturnAsk {
        sub_mchid,
        order_id,
        out_order_no,
        transaction_id,
        out_return_no,
        return_mchid,
        amount,
        description,
    })
}

/// `POST /v3/ecommerce/profitsharing/returnorders` by merchant `mchid`.
pub(crate) fn create_return(state: &State, mchid: &str, req: &SimRequest<'_>, now: i64) -> Reply {
    let ask = match parse_return(req) {
        Ok(ask) => ask,
        Err(reply) => return reply,
    };
    let bound = state.order_bound();
    let result = state.ledger().give_back(mchid, ask, now, bound);
    match result {
        Ok(record) => Reply::json(200, &return_json(&record)),
        Err(reply) => reply,
    }
}

/// `GET /v3/ecommerce/profitsharing/returnorders?sub_mchid&(order_id|out_order_no)&out_return_no`
/// by merchant `mchid`.
pub(crate) fn query_return(
    state: &State,
    mchid: &str,
    query: &str,
    now: i64,
    notices: &mut Vec<Notice>,
) -> Reply {
    let parsed = (|| {
        let sub_mchid = param(query, "sub_mchid", id_problem)?;
        let order_id = optional_param(query, "order_id", |v| text_problem(v, MAX_ID))?;
        let out_order_no = optional_param(query, "out_order_no", |v| text_problem(v, MAX_OUT_NO))?;
        if order_id.is_none() && out_order_no.is_none() {
            return Err(Reply::query_param_error(
                "out_order_no",
                "order_id or out_order_no is required",
            ));
        }
        let out_return_no = param(query, "out_return_no", |v| text_problem(v, MAX_OUT_NO))?;
        Ok((sub_mchid, order_id, out_order_no, out_return_no))
    })();
    let (sub_mchid, order_id, out_order_no, out_return_no) = match parsed {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let default = state.processing();
    let found = state.ledger().query_return(
        mchid,
        &sub_mchid,
        order_id.as_deref(),
        out_order_no.as_deref(),
        &out_return_no,
        Settle {
            now,
            default,
            notices,
        },
    );
    match found {
        Some(record) => Reply::json(200, &return_json(&record)),
        None => Reply::error(
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在: no return with this out_return_no for this sub_mchid and split",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amounts_path_is_one_segment() {
        assert_eq!(
            amounts_segment("/v3/ecommerce/profitsharing/orders/4208/amounts"),
            Some("4208")
        );
        assert_eq!(
            amounts_segment("/v3/ecommerce/profitsharing/orders/42%2F..%2Fx/amounts"),
            Some("42%2F..%2Fx")
        );
        assert_eq!(
            amounts_segment("/v3/ecommerce/profitsharing/orders/a/b/amounts"),
            None
        );
        assert_eq!(amounts_segment("/v3/ecommerce/profitsharing/orders"), None);
    }
}
