//! What an API call is, to the client: a method, a path with its query, a body, and how to read
//! the verified answer.

use http::{HeaderMap, Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::{Client, Error};

/// One WeChat Pay API call. The after-sales operations implement it; so can any other APIv3
/// endpoint, and the client signs and verifies it the same way.
pub trait Operation {
    /// The typed answer.
    type Output: DeserializeOwned;

    /// The HTTP method.
    const METHOD: Method;

    /// Refuses values WeChat Pay would reject, naming the field.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`].
    fn validate(&self) -> Result<(), Error>;

    /// The path and query exactly as they go on the wire (percent-encoded). Called after
    /// [`Operation::validate`] succeeded.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`].
    fn path_and_query(&self) -> Result<String, Error>;

    /// The body bytes (empty for GET). Called after [`Operation::validate`] succeeded.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] if the value cannot be serialised.
    fn body(&self) -> Result<Vec<u8>, Error>;

    /// For an operation that must not take effect twice: how to find out whether an attempt
    /// whose fate is unknown (timeout after sending) took effect. `None` (the default) for
    /// operations that are safe to repeat.
    fn recovery(&self) -> Option<Recovery<Self::Output>> {
        None
    }

    /// Reads the body of a verified 2xx answer.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidResponse`] when the body is not the expected JSON.
    fn parse(body: &[u8]) -> Result<Self::Output, Error> {
        serde_json::from_slice(body).map_err(|e| {
            Error::invalid_response("the answer's body is not the JSON this operation expects")
                .with_source(e)
        })
    }
}

type Prepare<T> =
    Box<dyn Fn(&Client) -> Result<(Request<Vec<u8>>, RecoveryPending<T>), Error> + Send + Sync>;
type Finish<T> = Box<dyn FnOnce(StatusCode, &HeaderMap, &[u8]) -> Result<Option<T>, Error> + Send>;

/// How to check whether a non-idempotent operation already took effect: a query whose answer
/// either gives the operation's output (it did) or says the thing does not exist (it did not).
pub struct Recovery<T> {
    prepare: Prepare<T>,
}

impl<T: 'static> Recovery<T> {
    /// Checks with `query`: its output becomes the answer through `found`; an error for which
    /// `absent` holds means the operation did not take effect and may be sent again.
    pub fn by_query<Q>(query: Q, found: fn(Q::Output) -> T, absent: fn(&Error) -> bool) -> Self
    where
        Q: Operation + Send + Sync + 'static,
    {
        Self {
            prepare: Box::new(move |client: &Client| {
                let (request, pending) = client.prepare(&query)?;
                let finish: Finish<T> = Box::new(move |status, headers, body| {
                    match pending.finish_parts(status, headers, body) {
                        Ok(out) => Ok(Some(found(out))),
                        Err(e) if absent(&e) => Ok(None),
                        Err(e) => Err(e),
                    }
                });
                Ok((request, RecoveryPending { finish }))
            }),
        }
    }
}

impl<T> Recovery<T> {
    /// Signs the check.
    ///
    /// # Errors
    /// As [`Client::prepare`].
    pub fn prepare(
        &self,
        client: &Client,
    ) -> Result<(Request<Vec<u8>>, RecoveryPending<T>), Error> {
        (self.prepare)(client)
    }
}

/// The answer still to come for a [`Recovery`] check.
#[must_use = "the response must go through RecoveryPending::finish"]
pub struct RecoveryPending<T> {
    finish: Finish<T>,
}

impl<T> RecoveryPending<T> {
    /// `Some(output)` if the operation had taken effect, `None` if it had not.
    ///
    /// # Errors
    /// Any other error of the check (API, verification, parsing).
    pub fn finish<B: AsRef<[u8]>>(self, response: Response<B>) -> Result<Option<T>, Error> {
        let (parts, body) = response.into_parts();
        (self.finish)(parts.status, &parts.headers, body.as_ref())
    }
}
