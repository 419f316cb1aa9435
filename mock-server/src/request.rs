//! A request as the simulator receives it, and the checks every handler shares: text fields,
//! enumeration values, ids, JSON bodies and query parameters, refused as WeChat Pay refuses
//! them.

use serde_json::{Map, Value};

use crate::reply::Reply;

/// At most the first `n` characters of `s` (cut at a character boundary, not copied): what
/// messages and the log show of a value.
pub(crate) fn cap(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The longest `sub_mchid` and `transaction_id`.
pub(crate) const MAX_ID: usize = 32;
/// The longest `out_order_no` and `out_return_no` (SPEC-profitsharing §B).
pub(crate) const MAX_OUT_NO: usize = 64;
/// The longest receiver `account` (an openid is 28 characters; a mchid 10 digits or so).
pub(crate) const MAX_ACCOUNT: usize = 64;

/// One request, as received: nothing normalised.
#[derive(Debug, Clone, Copy)]
pub struct SimRequest<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The request target exactly as it arrived (origin form: path and query).
    pub target: &'a str,
    /// The headers.
    pub headers: &'a http::HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
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

pub(crate) fn optional_string(
    obj: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, Reply> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Reply::param_error(name, Some(other), "must be a string")),
    }
}

/// A field's check: `issue` (when there is one) refused as `400 PARAM_ERROR` naming `name`
/// and quoting the value sent.
pub(crate) fn check(
    obj: &Map<String, Value>,
    name: &str,
    issue: Option<String>,
) -> Result<(), Reply> {
    match issue {
        Some(issue) => Err(Reply::param_error(name, obj.get(name), issue)),
        None => Ok(()),
    }
}
