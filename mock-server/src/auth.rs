//! Authentication as WeChat Pay does it: headers, then the `Authorization` signature.

use base64::Engine as _;
use wechatpay_core::signing::{Authorization, request_message};
use wiremock::Request;

use crate::reply::Reply;
use crate::state::State;

/// The largest clock difference WeChat Pay tolerates, in seconds.
pub(crate) const MAX_SKEW_SECS: u64 = 300;

/// `Ok(mchid)` for a request WeChat Pay would accept, or the error answer it would give.
pub(crate) fn authenticate(
    state: &State,
    req: &Request,
    path_and_query: &str,
) -> Result<String, Reply> {
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
    let auth = Authorization::parse(value).map_err(|e| sign_error(e.to_string()))?;
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
    let skew = state.now().abs_diff(timestamp);
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
    let message = request_message(
        req.method.as_str(),
        path_and_query,
        &auth.timestamp,
        &auth.nonce_str,
        &req.body,
    );
    if !merchant.public_key.verify(&message, &signature) {
        return Err(sign_error(
            "the signature does not verify over the method, path and query, timestamp, nonce and body received".into(),
        ));
    }
    Ok(auth.mchid)
}
