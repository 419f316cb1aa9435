//! What an API call is, to the client: a method, a path with its query, a body, how to read the
//! verified answer and, for an operation that must not take effect twice, how to check whether
//! it already did.
//!
//! Any APIv3 endpoint can implement [`Operation`] outside this crate: [`crate::validate`] holds
//! the field checks, [`crate::query`] the query-string encoding, and [`crate::Generic`] reaches
//! an endpoint without a type of its own.

use std::sync::Arc;

use http::{Method, Request, Response};
use serde::de::DeserializeOwned;

use crate::{Client, Error};

/// One WeChat Pay API call. The after-sales operations implement it; so can any other APIv3
/// endpoint, and the client signs, verifies and retries it the same way.
///
/// ```
/// use wechatpay_core::{Error, Operation, http::Method, query::QueryString, validate};
///
/// /// `GET /v3/ecommerce/profitsharing/orders`: one profit-sharing order.
/// #[derive(Clone)]
/// struct QueryProfitSharing { sub_mchid: String, transaction_id: String, out_order_no: String }
///
/// #[derive(serde::Deserialize)]
/// struct ProfitSharingOrder { order_id: String, status: String }
///
/// impl Operation for QueryProfitSharing {
///     type Output = ProfitSharingOrder;
///     fn method(&self) -> Method { Method::GET }
///     fn validate(&self) -> Result<(), Error> {
///         validate::digits("sub_mchid", &self.sub_mchid, 32)?;
///         validate::text("transaction_id", &self.transaction_id, 32)?;
///         validate::text("out_order_no", &self.out_order_no, 64)
///     }
///     fn path_and_query(&self) -> Result<String, Error> {
///         Ok(QueryString::new("/v3/ecommerce/profitsharing/orders")
///             .pair("sub_mchid", &self.sub_mchid)
///             .pair("transaction_id", &self.transaction_id)
///             .pair("out_order_no", &self.out_order_no)
///             .finish())
///     }
///     fn body(&self) -> Result<Vec<u8>, Error> { Ok(Vec::new()) }
/// }
/// let q = QueryProfitSharing { sub_mchid: "1900000109".into(),
///     transaction_id: "4208450740201411110007820472".into(), out_order_no: "P 1".into() };
/// assert!(q.path_and_query()?.ends_with("&out_order_no=P%201"));
/// # Ok::<(), Error>(())
/// ```
pub trait Operation {
    /// The typed answer.
    type Output: DeserializeOwned;

    /// The HTTP method.
    fn method(&self) -> Method;

    /// Refuses values WeChat Pay would reject, naming the field ([`Error::invalid_input`]).
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

    /// The `Wechatpay-Serial` this request must name: for an operation with encrypted fields,
    /// the serial of the key that encrypted them ([`crate::encryption`]). `None`, the default:
    /// the key ring's preferred serial.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] when fields were encrypted with different keys.
    fn serial(&self) -> Result<Option<String>, Error> {
        Ok(None)
    }

    /// What may follow an attempt of unknown fate (see [`crate::call`]): send the same request
    /// again ([`Repeat::Resend`]), find out first with a [`Check`] ([`Repeat::Check`]), or
    /// never ([`Repeat::Never`]: the call stops, its fate unknown). The default is
    /// [`Repeat::Resend`] for the safe methods (GET, HEAD) and [`Repeat::Never`] for any other.
    fn repeat(&self) -> Repeat<Check<Self::Output>> {
        Repeat::by_method(&self.method())
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

type NotFoundRule = Arc<dyn Fn(&Error) -> bool + Send + Sync>;
type Prepare<T> = Arc<
    dyn Fn(&Client, &NotFoundRule) -> Result<(Request<Vec<u8>>, CheckPending<T>), Error>
        + Send
        + Sync,
>;
type Finish<T> = Box<dyn FnOnce(Response<Vec<u8>>) -> Result<Option<T>, Error> + Send>;

/// What may follow an attempt whose fate is unknown (it may or may not have taken effect).
///
/// ```
/// use wechatpay_core::{Check, Repeat, http::Method};
/// assert!(matches!(Repeat::<Check<()>>::by_method(&Method::GET), Repeat::Resend));
/// assert!(matches!(Repeat::<Check<()>>::by_method(&Method::POST), Repeat::Never));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Repeat<C> {
    /// Sending the same request again does no harm: a GET or HEAD, or an operation WeChat Pay
    /// applies once however often the same body arrives. It is sent again, with backoff.
    Resend,
    /// It must not take effect twice: this check finds out first, and the operation is sent
    /// again only when the check says it did not happen.
    Check(C),
    /// It must not take effect twice and nothing can tell: the call stops, its fate unknown.
    Never,
}

impl<C> Repeat<C> {
    /// [`Repeat::Resend`] for the safe methods (GET, HEAD), [`Repeat::Never`] for any other.
    pub fn by_method(method: &Method) -> Self {
        if matches!(*method, Method::GET | Method::HEAD) {
            Self::Resend
        } else {
            Self::Never
        }
    }
}

/// How to find out whether a non-idempotent operation already took effect: a query whose
/// verified answer is judged against the request.
///
/// - a verified answer the judge accepts: it took effect, and that is the operation's answer;
/// - a verified answer the judge refuses ([`Error::conflict`]): something else was done;
/// - 404 `RESOURCE_NOT_EXISTS` / `ORDER_NOT_EXIST` ([`Error::is_not_found`]): it did not take
///   effect, and the operation may be sent again;
/// - anything else: still unknown.
///
/// An operation of your own with a check, using only public items (here: a deposit that is
/// queried by its number and must show the same amount):
///
/// ```
/// use wechatpay_core::{Check, Error, Operation, Repeat, http::Method, query::QueryString, validate};
///
/// #[derive(Clone, serde::Serialize)]
/// struct Deposit { out_deposit_no: String, amount: i64 }
/// #[derive(Clone)]
/// struct QueryDeposit { out_deposit_no: String }
/// #[derive(Debug, serde::Deserialize)]
/// struct Record { out_deposit_no: String, amount: i64 }
///
/// impl Operation for QueryDeposit {
///     type Output = Record;
///     fn method(&self) -> Method { Method::GET }
///     fn validate(&self) -> Result<(), Error> { validate::text("out_deposit_no", &self.out_deposit_no, 64) }
///     fn path_and_query(&self) -> Result<String, Error> {
///         Ok(QueryString::new("/v3/x/deposits").pair("out_deposit_no", &self.out_deposit_no).finish())
///     }
///     fn body(&self) -> Result<Vec<u8>, Error> { Ok(Vec::new()) }
/// }
///
/// impl Operation for Deposit {
///     type Output = Record;
///     fn method(&self) -> Method { Method::POST }
///     fn validate(&self) -> Result<(), Error> {
///         validate::text("out_deposit_no", &self.out_deposit_no, 64)?;
///         validate::amount("amount", self.amount)
///     }
///     fn path_and_query(&self) -> Result<String, Error> { Ok("/v3/x/deposits".into()) }
///     fn body(&self) -> Result<Vec<u8>, Error> {
///         serde_json::to_vec(self).map_err(|e| Error::invalid_input("body", "cannot be serialised").with_source(e))
///     }
///     fn repeat(&self) -> Repeat<Check<Record>> {
///         let asked = self.amount;
///         let query = QueryDeposit { out_deposit_no: self.out_deposit_no.clone() };
///         Repeat::Check(Check::by_query(query, move |record: Record| {
///             if record.amount == asked { Ok(record) }
///             else { Err(Error::conflict(format!("deposited {} fen, not {asked}", record.amount))) }
///         })
///         // This API answers 404 NOT_FOUND for a deposit it never saw.
///         .not_found_when(|e| e.status().map(|s| s.as_u16()) == Some(404) && e.code() == Some("NOT_FOUND")))
///     }
/// }
///
/// let deposit = Deposit { out_deposit_no: "D1".into(), amount: 100 };
/// assert!(matches!(deposit.repeat(), Repeat::Check(_)));
/// ```
pub struct Check<T> {
    prepare: Prepare<T>,
    not_found: NotFoundRule,
}

impl<T> Clone for Check<T> {
    fn clone(&self) -> Self {
        Self {
            prepare: Arc::clone(&self.prepare),
            not_found: Arc::clone(&self.not_found),
        }
    }
}

/// What a check's verified answer shows, as its judge sees it ([`Check::by_query_found`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    /// The operation took effect as asked: this is its answer.
    Done(T),
    /// The record exists but shows the operation did not take effect: it may be sent again.
    NotDone,
}

impl<T: 'static> Check<T> {
    /// Checks with `query`, whose verified answer `judge` turns into the operation's output, or
    /// into an error ([`Error::conflict`]) when it shows something other than what was asked.
    /// WeChat Pay's 404 `RESOURCE_NOT_EXISTS` / `ORDER_NOT_EXIST` means it did not happen
    /// (change that with [`Check::not_found_when`]).
    pub fn by_query<Q>(
        query: Q,
        judge: impl Fn(Q::Output) -> Result<T, Error> + Send + Sync + 'static,
    ) -> Self
    where
        Q: Operation + Send + Sync + 'static,
    {
        Self::by_query_found(query, move |out| judge(out).map(Found::Done))
    }

    /// As [`Check::by_query`], with a judge that can also say the record shows the operation
    /// did not take effect ([`Found::NotDone`]).
    pub fn by_query_found<Q>(
        query: Q,
        judge: impl Fn(Q::Output) -> Result<Found<T>, Error> + Send + Sync + 'static,
    ) -> Self
    where
        Q: Operation + Send + Sync + 'static,
    {
        let judge = Arc::new(judge);
        Self {
            prepare: Arc::new(move |client: &Client, not_found: &NotFoundRule| {
                let (request, pending) = client.prepare(&query)?;
                let (judge, not_found) = (Arc::clone(&judge), Arc::clone(not_found));
                let finish: Finish<T> = Box::new(move |response| match pending.finish(response) {
                    Ok(out) => judge(out).map(|found| match found {
                        Found::Done(t) => Some(t),
                        Found::NotDone => None,
                    }),
                    Err(e) if not_found(&e) => Ok(None),
                    Err(e) => Err(e),
                });
                Ok((request, CheckPending { finish }))
            }),
            not_found: Arc::new(Error::is_not_found),
        }
    }

    /// Which of the query's errors mean the operation did not take effect (default:
    /// [`Error::is_not_found`]). Keep it narrow: any other answer leaves the fate unknown.
    #[must_use]
    pub fn not_found_when(mut self, rule: impl Fn(&Error) -> bool + Send + Sync + 'static) -> Self {
        self.not_found = Arc::new(rule);
        self
    }
}

impl<T> Check<T> {
    /// Signs the check (afresh on every call).
    ///
    /// # Errors
    /// As [`Client::prepare`].
    pub fn prepare(&self, client: &Client) -> Result<(Request<Vec<u8>>, CheckPending<T>), Error> {
        (self.prepare)(client, &self.not_found)
    }
}

impl<T> std::fmt::Debug for Check<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").finish_non_exhaustive()
    }
}

/// The answer still to come for a [`Check`].
#[must_use = "the response must go through CheckPending::finish"]
pub struct CheckPending<T> {
    finish: Finish<T>,
}

impl<T> CheckPending<T> {
    /// `Some(output)` if the operation had taken effect as asked, `None` if it had not.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Conflict`] when it took effect otherwise; any other error of the
    /// check (API, verification, parsing).
    pub fn finish(self, response: Response<Vec<u8>>) -> Result<Option<T>, Error> {
        (self.finish)(response)
    }
}

impl<T> std::fmt::Debug for CheckPending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckPending").finish_non_exhaustive()
    }
}
