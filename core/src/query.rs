//! Query strings as WeChat Pay signs them: each value percent-encoded (everything but RFC 3986's
//! unreserved characters), in the order given.
//!
//! ```
//! use wechatpay_core::query::QueryString;
//! let pq = QueryString::new("/v3/x").pair("sub_mchid", "1900000109").pair("id", "a b&c=售").finish();
//! assert_eq!(pq, "/v3/x?sub_mchid=1900000109&id=a%20b%26c%3D%E5%94%AE");
//! assert_eq!(QueryString::new("/v3/x").finish(), "/v3/x");
//! ```

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters left as they are in a query value: RFC 3986's unreserved set.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Builds `path?name=value&…`, exactly as it goes on the wire and into the signature.
#[derive(Debug, Clone)]
#[must_use = "call .finish() for the path and query"]
pub struct QueryString {
    text: String,
    first: bool,
}

impl QueryString {
    /// Starts with `path` (already a valid path, e.g. `/v3/ecommerce/profitsharing/orders`).
    pub fn new(path: &str) -> Self {
        Self {
            text: path.to_owned(),
            first: true,
        }
    }

    /// Appends `name=value`, the value percent-encoded (names are WeChat's fixed ASCII names and
    /// are encoded the same way).
    pub fn pair(mut self, name: &str, value: &str) -> Self {
        self.text.push(if self.first { '?' } else { '&' });
        self.first = false;
        self.text.extend(utf8_percent_encode(name, QUERY_VALUE));
        self.text.push('=');
        self.text.extend(utf8_percent_encode(value, QUERY_VALUE));
        self
    }

    /// Appends `name=value` when `value` is present.
    pub fn optional(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.pair(name, v),
            None => self,
        }
    }

    /// The path and query.
    pub fn finish(self) -> String {
        self.text
    }
}

/// One path segment, percent-encoded like a query value (so `/`, `?` and `%` cannot change the
/// path that is signed).
///
/// ```
/// use wechatpay_core::query::segment;
/// assert_eq!(segment("4208450740201411110007820472"), "4208450740201411110007820472");
/// assert_eq!(segment("a/../b?c"), "a%2F..%2Fb%3Fc");
/// ```
pub fn segment(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}
