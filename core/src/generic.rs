//! Any APIv3 endpoint without a type of its own: method, path, query and an optional JSON body,
//! signed, verified, retried and judged by the fate rules like every other operation.

use std::marker::PhantomData;

use http::Method;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::operation::Operation;
use crate::query::QueryString;

/// A call to any APIv3 endpoint, answered as `T` (default: [`serde_json::Value`]).
///
/// It repeats by its method ([`crate::Repeat::by_method`]): after an attempt of unknown fate a
/// GET or HEAD is sent again, and any other method stops with the error (its
/// [`Error::is_fate_unknown`] says so). Give an endpoint that must not run twice a type of its
/// own whose [`Operation::repeat`] has a [`crate::Check`].
///
/// ```
/// use wechatpay_core::{Generic, Operation, http::Method};
/// let op: Generic = Generic::get("/v3/ecommerce/profitsharing/orders")
///     .query("sub_mchid", "1900000109")
///     .query("out_order_no", "P20150806125346");
/// assert_eq!(op.path_and_query()?,
///     "/v3/ecommerce/profitsharing/orders?sub_mchid=1900000109&out_order_no=P20150806125346");
/// let post: Generic = Generic::post("/v3/x").json(&serde_json::json!({"amount": 100}))?;
/// assert_eq!(post.method(), Method::POST);
/// assert_eq!(post.body()?, br#"{"amount":100}"#);
/// # Ok::<(), wechatpay_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Generic<T = serde_json::Value> {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    output: PhantomData<fn() -> T>,
}

impl<T> Clone for Generic<T> {
    fn clone(&self) -> Self {
        Self {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.body.clone(),
            output: PhantomData,
        }
    }
}

impl<T> Generic<T> {
    /// `method` on `path` (e.g. `/v3/ecommerce/profitsharing/orders`), no query, no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Vec::new(),
            output: PhantomData,
        }
    }

    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A POST.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// Appends a query parameter (percent-encoded when sent).
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets the JSON body.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] (field `body`) when `value` cannot be serialised.
    pub fn json(mut self, value: &impl serde::Serialize) -> Result<Self, Error> {
        self.body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input("body", "cannot be serialised").with_source(e))?;
        Ok(self)
    }
}

impl<T: DeserializeOwned> Operation for Generic<T> {
    type Output = T;

    fn method(&self) -> Method {
        self.method.clone()
    }

    fn validate(&self) -> Result<(), Error> {
        if !self.path.starts_with("/v3/")
            || self
                .path
                .bytes()
                .any(|b| !(b.is_ascii_graphic()) || b == b'?' || b == b'#')
        {
            return Err(Error::invalid_input(
                "path",
                "must start with /v3/ and hold printable ASCII without ? or #",
            ));
        }
        if self.path.split('/').any(|s| s == "." || s == "..") {
            return Err(Error::invalid_input(
                "path",
                "must not hold . or .. segments",
            ));
        }
        for (name, value) in &self.query {
            crate::validate::text("query", name, 64)?;
            if value.chars().any(char::is_control) {
                return Err(Error::invalid_input(
                    "query",
                    "values must not contain control characters",
                ));
            }
        }
        Ok(())
    }

    fn path_and_query(&self) -> Result<String, Error> {
        Ok(self
            .query
            .iter()
            .fold(QueryString::new(&self.path), |q, (n, v)| q.pair(n, v))
            .finish())
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(self.body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_would_change_the_signed_target_are_refused() {
        for bad in [
            "v3/x",
            "/v3/x?a=1",
            "/v3/a b",
            "/v3/../x",
            "/v2/x",
            "/v3/x#f",
        ] {
            let op: Generic = Generic::get(bad);
            assert_eq!(op.validate().expect_err(bad).field(), Some("path"), "{bad}");
        }
        let ok: Generic = Generic::get("/v3/ecommerce/profitsharing/orders").query("a", "b c");
        assert!(ok.validate().is_ok());
    }
}
