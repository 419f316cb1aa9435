//! Timeouts, limits and retries shared by the transports (plain data: core still does no IO).

use std::time::Duration;

use crate::Error;
use crate::retry::RetryPolicy;

/// Limits a transport applies around core's calls. The defaults suit WeChat Pay's production
/// hosts.
///
/// ```
/// use std::time::Duration;
/// let config = wechatpay_core::TransportConfig {
///     attempt_timeout: Duration::from_secs(5),
///     ..Default::default()
/// };
/// assert_eq!(config.max_body, 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Connection setup (DNS, TCP, TLS). Default 5 s.
    pub connect_timeout: Duration,
    /// One attempt, from sending to the last body byte. Default 10 s.
    pub attempt_timeout: Duration,
    /// The whole call, retries and waits included. Default 30 s.
    pub deadline: Duration,
    /// Pooled connections idle longer than this are dropped. Default 5 s (WeChat Pay closes
    /// idle connections at about 8 s).
    pub idle_timeout: Duration,
    /// The largest response body accepted. Default 1 MiB.
    pub max_body: u64,
    /// When to retry.
    pub retry: RetryPolicy,
    /// Which HTTP proxy requests go through. Default: the environment's, as curl reads it.
    pub proxy: ProxySetting,
    /// PEM certificates to trust besides the usual (Mozilla) roots, e.g. the CA of a
    /// TLS-inspecting corporate proxy. Each string may hold several certificates.
    pub extra_root_certificates: Vec<String>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(5),
            max_body: 1024 * 1024,
            retry: RetryPolicy::default(),
            proxy: ProxySetting::default(),
            extra_root_certificates: Vec::new(),
        }
    }
}

/// Which HTTP proxy a transport goes through (HTTP `CONNECT` for https targets).
///
/// ```
/// use wechatpay_core::{ProxySetting, ProxyUrl};
/// let proxy = ProxyUrl::new("http://ops:s3cret@proxy.internal:3128")?;
/// assert_eq!(format!("{proxy:?}"), "ProxyUrl(\"http://***@proxy.internal:3128\")");
/// assert_eq!(proxy.to_string(), "http://***@proxy.internal:3128");
/// let setting = ProxySetting::Url(proxy);
/// # Ok::<(), wechatpay_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySetting {
    /// `HTTPS_PROXY` / `https_proxy` (then `ALL_PROXY` / `all_proxy`) for https targets,
    /// `HTTP_PROXY` / `http_proxy` for http ones, except hosts in `NO_PROXY` / `no_proxy` —
    /// as curl reads them.
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Off,
    /// This proxy for every request.
    Url(ProxyUrl),
}

/// An HTTP proxy's URL, `http://[user:password@]host:port`. Its `Debug` and `Display` never
/// show the credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    /// Checks the form: `http://`, a host, a port, optional credentials.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] (the message never repeats the credentials).
    pub fn new(url: &str) -> Result<Self, Error> {
        let proxy = Self(url.to_owned());
        let bad = |what: &str| Error::config(format!("the proxy URL {proxy}: {what}"));
        let uri: http::Uri = url.parse().map_err(|_| bad("is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad(
                "must start with http:// (the proxy is spoken to in plain HTTP; https targets go through CONNECT)",
            ));
        }
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        if authority.host().is_empty() || authority.port_u16().is_none() {
            return Err(bad("must name a host and a port"));
        }
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(bad("must not have a path"));
        }
        Ok(proxy)
    }

    /// The URL with its credentials, for the transport that connects (never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProxyUrl {
    /// The URL without its credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.contains("://") {
            f.write_str(&redact_userinfo(&self.0))
        } else {
            f.write_str("<not a URL>")
        }
    }
}

/// `text` with the user information of every URL in it (`scheme://user:password@host`)
/// replaced by `***`: for messages that may quote a proxy URL (an HTTP stack's errors).
///
/// ```
/// assert_eq!(
///     wechatpay_core::redact_userinfo("proxy http://ops:s3cret@127.0.0.1:8080/x refused"),
///     "proxy http://***@127.0.0.1:8080/x refused"
/// );
/// ```
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ProxyUrl").field(&self.to_string()).finish()
    }
}

impl TransportConfig {
    /// Checks that every limit is usable.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] for a zero timeout, deadline or body cap, or a retry policy
    /// with no attempt.
    pub fn validate(&self) -> Result<(), Error> {
        if self.connect_timeout.is_zero()
            || self.attempt_timeout.is_zero()
            || self.deadline.is_zero()
            || self.max_body == 0
        {
            return Err(Error::config(
                "timeouts, the deadline and the body cap must be greater than zero",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config(
                "the retry policy must allow at least one attempt",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{ProxyUrl, redact_userinfo};

    #[test]
    fn credentials_in_urls_are_hidden() {
        assert_eq!(
            redact_userinfo("proxy http://ops:s3cret@127.0.0.1:8080/x refused"),
            "proxy http://***@127.0.0.1:8080/x refused"
        );
        assert_eq!(
            redact_userinfo("https://127.0.0.1:1/v3 and http://a@b"),
            "https://127.0.0.1:1/v3 and http://***@b"
        );
        assert_eq!(redact_userinfo("no url"), "no url");
        let url = ProxyUrl::new("http://ops:s3cret@127.0.0.1:8080").expect("a proxy URL");
        assert_eq!(url.to_string(), "http://***@127.0.0.1:8080");
    }
}
