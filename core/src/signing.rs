//! The two messages WeChat Pay signs, and the `Authorization` header that carries a request's
//! signature. Shared by the client (which writes it) and the mock server (which reads it).

use std::fmt::Write as _;

/// The authorization scheme of APIv3.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// The message a merchant signs for a request: `METHOD\nPATH_AND_QUERY\nTIMESTAMP\nNONCE\nBODY\n`.
///
/// `path_and_query` is exactly what goes on the wire after the host; `body` the exact bytes
/// sent (empty for GET).
///
/// ```
/// let m = wechatpay_core::signing::request_message("GET", "/v3/x?a=1", "1554208461", "N", b"");
/// assert_eq!(m, b"GET\n/v3/x?a=1\n1554208461\nN\n\n");
/// ```
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m =
        Vec::with_capacity(method.len() + path_and_query.len() + nonce.len() + body.len() + 32);
    m.extend_from_slice(method.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(path_and_query.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(timestamp.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(nonce.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// The message WeChat Pay signs for a response or notification: `TIMESTAMP\nNONCE\nBODY\n`,
/// over the raw body bytes.
///
/// ```
/// let m = wechatpay_core::signing::response_message("1764000300", "n", b"");
/// assert_eq!(m, b"1764000300\nn\n\n");
/// ```
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    m.extend_from_slice(timestamp.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(nonce.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// The five fields of an `Authorization` header. Its `Debug` redacts the signature.
///
/// ```
/// let a = wechatpay_core::signing::Authorization {
///     mchid: "1900000100".into(), serial_no: "ABC".into(), timestamp: "1".into(),
///     nonce_str: "n".into(), signature: "c2VjcmV0".into(),
/// };
/// assert!(!format!("{a:?}").contains("c2VjcmV0"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The merchant id.
    pub mchid: String,
    /// The merchant API certificate's serial.
    pub serial_no: String,
    /// Unix seconds, as sent.
    pub timestamp: String,
    /// The request nonce.
    pub nonce_str: String,
    /// The base64 signature.
    pub signature: String,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("mchid", &self.mchid)
            .field("serial_no", &self.serial_no)
            .field("timestamp", &self.timestamp)
            .field("nonce_str", &self.nonce_str)
            .field("signature", &"<redacted>")
            .finish()
    }
}

impl Authorization {
    /// The header value, fields in the order WeChat Pay's own SDKs write them:
    /// `mchid`, `serial_no`, `timestamp`, `nonce_str`, `signature`.
    ///
    /// ```
    /// use wechatpay_core::signing::Authorization;
    /// let a = Authorization {
    ///     mchid: "1900000100".into(), serial_no: "AB".into(), timestamp: "1".into(),
    ///     nonce_str: "n".into(), signature: "s".into(),
    /// };
    /// assert_eq!(a.to_header_value(), r#"WECHATPAY2-SHA256-RSA2048 mchid="1900000100",serial_no="AB",timestamp="1",nonce_str="n",signature="s""#);
    /// assert_eq!(Authorization::parse(&a.to_header_value()), Ok(a));
    /// ```
    pub fn to_header_value(&self) -> String {
        let mut s = String::with_capacity(
            SCHEME.len() + self.mchid.len() + self.serial_no.len() + self.signature.len() + 120,
        );
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            r#"{SCHEME} mchid="{}",serial_no="{}",timestamp="{}",nonce_str="{}",signature="{}""#,
            self.mchid, self.serial_no, self.timestamp, self.nonce_str, self.signature
        );
        s
    }

    /// Parses a header value, accepting the five fields in any order and optional spaces after
    /// the commas, as a server must.
    ///
    /// # Errors
    /// A [`AuthorizationError`] naming what is wrong: scheme, a missing, repeated or unknown
    /// field, or an unquoted value.
    pub fn parse(value: &str) -> Result<Self, AuthorizationError> {
        let rest = value
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(AuthorizationError::Scheme)?;
        let mut fields: [Option<String>; 5] = Default::default();
        const NAMES: [&str; 5] = ["mchid", "serial_no", "timestamp", "nonce_str", "signature"];
        let mut rest = rest.trim_start();
        while !rest.is_empty() {
            let eq = rest.find('=').ok_or(AuthorizationError::Syntax)?;
            let name = rest[..eq].trim();
            let after = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or(AuthorizationError::Unquoted(truncated(name)))?;
            let close = after
                .find('"')
                .ok_or(AuthorizationError::Unquoted(truncated(name)))?;
            let value = &after[..close];
            let idx = NAMES
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| AuthorizationError::UnknownField(truncated(name)))?;
            if fields[idx].replace(value.to_owned()).is_some() {
                return Err(AuthorizationError::Repeated(NAMES[idx]));
            }
            rest = after[close + 1..].trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            } else if !rest.is_empty() {
                return Err(AuthorizationError::Syntax);
            }
        }
        let [mchid, serial_no, timestamp, nonce_str, signature] = fields;
        Ok(Self {
            mchid: mchid.ok_or(AuthorizationError::Missing("mchid"))?,
            serial_no: serial_no.ok_or(AuthorizationError::Missing("serial_no"))?,
            timestamp: timestamp.ok_or(AuthorizationError::Missing("timestamp"))?,
            nonce_str: nonce_str.ok_or(AuthorizationError::Missing("nonce_str"))?,
            signature: signature.ok_or(AuthorizationError::Missing("signature"))?,
        })
    }
}

/// An `Authorization` value safe to log: the signature replaced by `<redacted>`, the other
/// fields kept. A value that does not parse is redacted whole.
///
/// ```
/// use wechatpay_core::signing::redact_authorization;
/// let v = r#"WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="AB",timestamp="1",nonce_str="n",signature="c2VjcmV0""#;
/// assert_eq!(redact_authorization(v),
///     r#"WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="AB",timestamp="1",nonce_str="n",signature="<redacted>""#);
/// assert_eq!(redact_authorization("Basic dXNlcjpwYXNz"), "<redacted>");
/// ```
pub fn redact_authorization(value: &str) -> String {
    match Authorization::parse(value) {
        Ok(a) => Authorization {
            signature: "<redacted>".into(),
            ..a
        }
        .to_header_value(),
        Err(_) => "<redacted>".into(),
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Why an `Authorization` header could not be read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationError {
    /// The scheme is not `WECHATPAY2-SHA256-RSA2048`.
    Scheme,
    /// The `name="value",...` list is malformed.
    Syntax,
    /// A field's value is not in double quotes.
    Unquoted(String),
    /// A field this scheme does not have.
    UnknownField(String),
    /// A field given twice.
    Repeated(&'static str),
    /// A required field is absent.
    Missing(&'static str),
}

impl std::fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scheme => write!(f, "the authorization scheme is not {SCHEME}"),
            Self::Syntax => f.write_str("the authorization fields are malformed"),
            Self::Unquoted(n) => write!(f, "the authorization field {n:?} is not quoted"),
            Self::UnknownField(n) => write!(f, "unknown authorization field {n:?}"),
            Self::Repeated(n) => write!(f, "the authorization field {n} is repeated"),
            Self::Missing(n) => write!(f, "the authorization field {n} is missing"),
        }
    }
}

impl std::error::Error for AuthorizationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_any_order_and_spaces() {
        let v = r#"WECHATPAY2-SHA256-RSA2048 signature="c2ln", nonce_str="N",timestamp="1" , serial_no="S",mchid="1""#;
        let a = Authorization::parse(v).expect("parses");
        assert_eq!(a.mchid, "1");
        assert_eq!(a.serial_no, "S");
        assert_eq!(a.signature, "c2ln");
    }

    #[test]
    fn parse_names_what_is_wrong() {
        assert_eq!(
            Authorization::parse("Bearer x"),
            Err(AuthorizationError::Scheme)
        );
        assert_eq!(
            Authorization::parse(
                r#"WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="S",timestamp="1",nonce_str="N""#
            ),
            Err(AuthorizationError::Missing("signature"))
        );
        assert_eq!(
            Authorization::parse(r#"WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2""#),
            Err(AuthorizationError::Repeated("mchid"))
        );
        assert_eq!(
            Authorization::parse(r#"WECHATPAY2-SHA256-RSA2048 mchid=1"#),
            Err(AuthorizationError::Unquoted("mchid".into()))
        );
        assert!(matches!(
            Authorization::parse(r#"WECHATPAY2-SHA256-RSA2048 foo="1""#),
            Err(AuthorizationError::UnknownField(_))
        ));
        assert_eq!(
            Authorization::parse(r#"WECHATPAY2-SHA256-RSA2048 mchid="1"x"#),
            Err(AuthorizationError::Syntax)
        );
    }
}
