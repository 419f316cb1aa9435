//! What an API call is, to the client: a method, a path with its query, a body, and how to read
//! the verified answer.

use http::Method;
use serde::de::DeserializeOwned;

use crate::Error;

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
