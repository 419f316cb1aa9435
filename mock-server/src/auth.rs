//! Authentication as WeChat Pay does it, written from the protocol (SPEC §2), not from the
//! client's code: headers, the `Authorization` value, then its signature over the method, the
//! request target exactly as received, the timestamp, the nonce and the raw body.

use base64::Engine as _;

use crate::reply::Reply;
use crate::request::{SimRequest, cap};
use crate::state::State;

/// The largest clock difference WeChat Pay tolerates, in seconds.
pub(crate) const MAX_SKEW_SECS: u64 = 300;

/// The only scheme WeChat Pay accepts.
const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// The five items of an `Authorization` value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) mchid: String,
    pub(crate) serial_no: String,
    pub(crate) timestamp: String,
    pub(crate) nonce_str: String,
    pub(crate) signature: String,
}

/// Parses `WECHATPAY2-SHA256-RSA2048 k="v",k="v",…`: the five items in any order, each once,
/// values quoted; unknown items are ignored.
pub(crate) fn parse_authorization(value: &str) -> Result<Credentials, String> {
    let rest = value
        .strip_prefix(SCHEME)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| format!("the scheme must be {SCHEME}"))?;
    let mut c = Credentials::default();
    let mut seen = [false; 5];
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("an empty item".into());
        }
        let (key, quoted) = item
            .split_once('=')
            .ok_or_else(|| format!("item {:?} is not key=\"value\"", cap(item, 40)))?;
        let value = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"'))
            .ok_or_else(|| format!("the value of {:?} is not quoted", cap(key, 40)))?;
        let (slot, index) = match key.trim() {
            "mchid" => (&mut c.mchid, 0),
            "serial_no" => (&mut c.serial_no, 1),
            "timestamp" => (&mut c.timestamp, 2),
            "nonce_str" => (&mut c.nonce_str, 3),
            "signature" => (&mut c.signature, 4),
            _ => continue,
        };
        if seen[index] {
            return Err(format!("{} appears twice", key.trim()));
        }
        seen[index] = true;
        value.clone_into(slot);
    }
    let names = ["mchid", "serial_no", "timestamp", "nonce_str", "signature"];
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(format!("{} is missing", names[i]));
    }
    Ok(c)
}

/// The signed message: `METHOD\nTARGET\nTIMESTAMP\nNONCE\nBODY\n`.
fn message(method: &str, target: &str, timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(method.len() + target.len() + 64 + body.len());
    for part in [method, target, timestamp, nonce] {
        m.extend_from_slice(part.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// `Ok(mchid)` for a request WeChat Pay would accept, or the error answer it would give.
pub(crate) fn authenticate(state: &State, req: &SimRequest<'_>, now: i64) -> Result<String, Reply> {
    let header = |name: &str| req.headers.get(name).map(|v| v.to_str());
    match header("user-agent") {
        Some(Ok(v)) if !v.trim().is_empty() => {}
        _ => {
            return Err(Reply::error(
                400,
                "INVALID_REQUEST",
                "请求头缺少 User-Agent: a User-Agent header is required",
            ));
        }
    }
    match header("accept") {
        Some(Ok(v)) if v.contains("application/json") || v.contains("*/*") => {}
        _ => {
            return Err(Reply::error(
                400,
                "INVALID_REQUEST",
                "Accept header must allow application/json",
            ));
        }
    }
    let sign_error = |why: String| Reply::error(401, "SIGN_ERROR", format!("签名错误: {why}"));
    let value = match header("authorization") {
        None => return Err(sign_error("the Authorization header is missing".into())),
        Some(Err(_)) => return Err(sign_error("the Authorization header is not ASCII".into())),
        Some(Ok(v)) => v,
    };
    let auth = parse_authorization(value).map_err(|e| sign_error(format!("Authorization: {e}")))?;
    let merchant = state
        .merchant(&auth.mchid)
        .ok_or_else(|| sign_error(format!("mchid {:?} is not a known merchant", auth.mchid)))?;
    if merchant.serial != auth.serial_no {
        return Err(sign_error(format!(
            "serial_no {:?} is not the API certificate serial of merchant {}",
            auth.serial_no, auth.mchid
        )));
    }
    let timestamp: i64 = auth.timestamp.parse().map_err(|_| {
        sign_error(format!(
            "timestamp {:?} is not Unix seconds",
            auth.timestamp
        ))
    })?;
    let skew = now.abs_diff(timestamp);
    if skew > MAX_SKEW_SECS {
        return Err(sign_error(format!(
            "timestamp is {skew} s away from the server clock (limit {MAX_SKEW_SECS} s)"
        )));
    }
    if auth.nonce_str.is_empty() || auth.nonce_str.len() > 64 {
        return Err(sign_error("nonce_str must be 1 to 64 characters".into()));
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&auth.signature)
        .map_err(|_| sign_error("signature is not base64".into()))?;
    let message = message(
        req.method,
        req.target,
        &auth.timestamp,
        &auth.nonce_str,
        req.body,
    );
    if !merchant.public_key.verify(&message, &signature) {
        return Err(sign_error(
            "the signature does not verify over the method, the request target as received, timestamp, nonce and body".into(),
        ));
    }
    Ok(auth.mchid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_in_any_order_each_once() {
        let c = parse_authorization(
            r#"WECHATPAY2-SHA256-RSA2048 signature="c2ln",timestamp="1",mchid="19",nonce_str="n",serial_no="AB""#,
        )
        .expect("parses");
        assert_eq!((c.mchid.as_str(), c.signature.as_str()), ("19", "c2ln"));
        for bad in [
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",serial_no="a",timestamp="1",nonce_str="n",signature="s""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="a",timestamp="1",nonce_str="n""#,
            r#"Bearer mchid="1""#,
            r#"WECHATPAY2-SHA256-RSA2048mchid="1""#,
            r#"WECHATPAY2-SHA256-RSA2048 mchid=1,serial_no="a",timestamp="1",nonce_str="n",signature="s""#,
            "WECHATPAY2-SHA256-RSA2048 ",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_message_is_five_lines() {
        assert_eq!(
            message("GET", "/v3/x?a=1", "1", "n", b""),
            b"GET\n/v3/x?a=1\n1\nn\n\n"
        );
    }
}
