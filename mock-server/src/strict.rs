//! Control-API bodies read strictly: a JSON object whose every field is one the route takes,
//! of the type it takes. A misspelt or camelCase field is refused naming it, the fields the
//! route accepts and the one it probably meant; a wrong type is refused naming the field and
//! the type expected. Nothing is silently ignored.

use serde_json::{Map, Value};

use crate::reply::Reply;

/// A field's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// A string.
    Text,
    /// A whole number, 0 or more.
    Count,
    /// A whole number, negative allowed.
    Int,
    /// `true` or `false`.
    Bool,
    /// A JSON object.
    Object,
    /// An array of strings.
    TextList,
    /// A whole number 0 or more, or `null` (which means something: "off").
    CountOrNull,
    /// An array of strings, or `null`.
    TextListOrNull,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Self::Text => "a string",
            Self::Count => "a whole number, 0 or more",
            Self::Int => "a whole number",
            Self::Bool => "true or false",
            Self::Object => "a JSON object",
            Self::TextList => "an array of strings",
            Self::CountOrNull => "a whole number, 0 or more, or null",
            Self::TextListOrNull => "an array of strings, or null",
        }
    }

    fn admits(self, v: &Value) -> bool {
        match self {
            Self::Text => v.is_string(),
            Self::Count => v.is_u64(),
            Self::Int => v.is_i64() || v.is_u64() && v.as_i64().is_some(),
            Self::Bool => v.is_boolean(),
            Self::Object => v.is_object(),
            Self::TextList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Self::CountOrNull => v.is_null() || v.is_u64(),
            Self::TextListOrNull => v.is_null() || Self::TextList.admits(v),
        }
    }
}

/// One field a route takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
}

/// A required field.
pub(crate) const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}

/// An optional field.
pub(crate) const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}

/// A body read and checked against its fields.
#[derive(Debug)]
pub(crate) struct Body(Map<String, Value>);

/// Reads `bytes` as the body of `route` (e.g. `POST /mock/faults`), which takes `fields`. An
/// empty body is an empty object.
pub(crate) fn read(bytes: &[u8], route: &str, fields: &[Field]) -> Result<Body, Reply> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            Reply::error(
                400,
                "PARAM_ERROR",
                format!("the body of {route} is not JSON: {e}"),
            )
        })?
    };
    let Value::Object(map) = value else {
        return Err(Reply::error(
            400,
            "PARAM_ERROR",
            format!("the body of {route} must be a JSON object"),
        ));
    };
    let accepted = || fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
    for (key, value) in &map {
        let Some(field) = fields.iter().find(|f| f.name == key) else {
            let shown: String = key.chars().take(64).collect();
            let hint = closest(key, fields)
                .map(|f| format!(" (did you mean `{f}`?)"))
                .unwrap_or_default();
            return Err(Reply::param_error(
                &shown,
                None,
                format!(
                    "is not a field of {route}{hint}; it takes {}",
                    if fields.is_empty() {
                        "no field".to_owned()
                    } else {
                        accepted()
                    }
                ),
            ));
        };
        // `null` is a value only where it means something ("off"): elsewhere leave the
        // field out.
        if !field.ty.admits(value) {
            return Err(Reply::param_error(
                field.name,
                Some(value),
                format!("must be {}", field.ty.name()),
            ));
        }
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| f.required && map.get(f.name).is_none_or(Value::is_null))
    {
        return Err(Reply::param_error(
            missing.name,
            None,
            format!("is required ({})", missing.ty.name()),
        ));
    }
    Ok(Body(map))
}

/// Checks the query parameters of `route` (e.g. `GET /mock/log`): each one of `names`.
pub(crate) fn query(query: &str, route: &str, names: &[&str]) -> Result<(), Reply> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        if !names.contains(&name) {
            let shown: String = name.chars().take(64).collect();
            let hint = names
                .iter()
                .find(|n| near(n, name) || n.replace('_', "") == name.replace(['_', '-'], ""))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            let takes = if names.is_empty() {
                "no query parameter".to_owned()
            } else {
                names.join(", ")
            };
            return Err(Reply::query_param_error(
                &shown,
                format!("is not a query parameter of {route}{hint}; it takes {takes}"),
            ));
        }
    }
    Ok(())
}

/// The field `key` was probably meant to be: the same letters once case and `_` are ignored
/// (`retryAfter`, `RETRY_AFTER`), or one letter off (`cuont`, `coutn`).
fn closest(key: &str, fields: &[Field]) -> Option<&'static str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let k = fold(key);
    fields
        .iter()
        .map(|f| f.name)
        .find(|f| fold(f) == k)
        .or_else(|| fields.iter().map(|f| f.name).find(|f| near(&fold(f), &k)))
}

/// Whether `a` and `b` differ by one edit or one swap of neighbours.
fn near(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if ra.is_empty() || rb.is_empty() {
        return ra.len() + rb.len() <= 1;
    }
    ra[1..] == rb[1..]
        || ra[1..] == *rb
        || *ra == rb[1..]
        || (ra.len() >= 2
            && rb.len() >= 2
            && ra[0] == rb[1]
            && ra[1] == rb[0]
            && ra[2..] == rb[2..])
}

impl Body {
    /// A text field, if present (its type was checked).
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(Value::as_str).map(str::to_owned)
    }

    /// A count field, if present.
    pub(crate) fn count(&self, name: &str) -> Option<u64> {
        self.0.get(name).and_then(Value::as_u64)
    }

    /// An integer field, if present.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    /// A boolean field, if present.
    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    /// An object field, if present.
    pub(crate) fn object(&self, name: &str) -> Option<Value> {
        self.0.get(name).filter(|v| v.is_object()).cloned()
    }

    /// Whether the field is present (`null` included).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// A list of strings, if present and not `null`.
    pub(crate) fn texts(&self, name: &str) -> Option<Vec<String>> {
        self.0.get(name).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Ty, near, opt, read, req};

    const FIELDS: [super::Field; 3] = [
        req("kind", Ty::Text),
        opt("count", Ty::Count),
        opt("retry_after", Ty::Count),
    ];

    fn refusal(body: &str) -> serde_json::Value {
        let reply = read(body.as_bytes(), "POST /mock/faults", &FIELDS).expect_err("refused");
        assert_eq!(reply.status, 400);
        serde_json::from_slice(&reply.body).expect("JSON")
    }

    #[test]
    fn unknown_fields_are_refused_naming_them_and_the_one_meant() {
        let r = refusal(r#"{"kind":"system_error","retryAfter":60}"#);
        assert_eq!(r["detail"]["field"], "/retryAfter");
        let m = r["message"].as_str().expect("message");
        assert!(m.contains("did you mean `retry_after`"), "{m}");
        assert!(m.contains("kind, count, retry_after"), "{m}");
        let r = refusal(r#"{"kind":"system_error","cuont":3}"#);
        assert!(r["message"].as_str().expect("message").contains("`count`"));
        let r = refusal(r#"{"kind":"x","zzz":1}"#);
        assert!(
            !r["message"]
                .as_str()
                .expect("message")
                .contains("did you mean")
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_are_named() {
        let r = refusal(r#"{"kind":"system_error","count":"3"}"#);
        assert_eq!(r["detail"]["field"], "/count");
        assert_eq!(r["detail"]["value"], "3");
        let r = refusal(r#"{"kind":"system_error","count":-1}"#);
        assert_eq!(r["detail"]["field"], "/count");
        let r = refusal(r#"{"count":1}"#);
        assert_eq!(r["detail"]["field"], "/kind");
        let r = refusal("[1]");
        assert!(r["message"].as_str().expect("m").contains("JSON object"));
        let r = refusal("{");
        assert!(r["message"].as_str().expect("m").contains("not JSON"));
        // `null` is not "absent": leave the field out.
        let r = refusal(r#"{"kind":"system_error","count":null}"#);
        assert_eq!(r["detail"]["field"], "/count");
    }

    #[test]
    fn query_parameters_are_checked_too() {
        assert!(super::query("limit=5", "GET /mock/log", &["limit"]).is_ok());
        assert!(super::query("", "GET /mock/log", &["limit"]).is_ok());
        let reply = super::query("limt=5", "GET /mock/log", &["limit"]).expect_err("refused");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
        assert_eq!(body["detail"]["field"], "limt");
        assert!(
            body["message"]
                .as_str()
                .expect("m")
                .contains("did you mean `limit`")
        );
        assert!(super::query("x=1", "POST /mock/reset", &[]).is_err());
    }

    #[test]
    fn a_good_body_reads() {
        let b = read(br#"{"kind":"k","count":3}"#, "r", &FIELDS).expect("read");
        assert_eq!(b.text("kind").as_deref(), Some("k"));
        assert_eq!(b.count("count"), Some(3));
        assert_eq!(b.count("retry_after"), None);
        assert!(read(b"", "r", &[opt("x", Ty::Bool)]).is_ok());
    }

    #[test]
    fn near_is_one_edit_or_one_swap() {
        assert!(near("count", "cuont"));
        assert!(near("count", "coun"));
        assert!(near("count", "counts"));
        assert!(near("count", "cound"));
        assert!(!near("count", "route"));
        assert!(!near("kind", "mchid"));
    }
}
