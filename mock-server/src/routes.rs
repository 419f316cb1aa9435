//! Which route a request takes: the paths the sandbox serves and the control API's prefix.

use crate::faults::Route;
use crate::profit_sharing::{FINISH_PATH, ORDERS_PATH, RETURNS_PATH, amounts_segment};

/// The path prefix of the control API.
pub const CONTROL_PREFIX: &str = "/mock/";

/// `POST` creates and `GET` queries after-sales splits (SPEC §1), written here rather than
/// taken from the client: a typo there must not be mirrored.
pub(crate) const AFTER_SALES_PATH: &str = "/v3/ecommerce/profitsharing/after-sales-orders";
/// `GET` the platform certificates (SPEC §3).
pub(crate) const CERTIFICATES_PATH: &str = "/v3/certificates";
/// `POST` adds a receiver.
pub(crate) const ADD_PATH: &str = "/v3/ecommerce/profitsharing/receivers/add";
/// `POST` deletes a receiver.
pub(crate) const DELETE_PATH: &str = "/v3/ecommerce/profitsharing/receivers/delete";

pub(crate) fn route_of(method: &str, path: &str) -> Route {
    match (method, path) {
        ("POST", AFTER_SALES_PATH) => Route::CreateAfterSales,
        ("GET", AFTER_SALES_PATH) => Route::QueryAfterSales,
        ("GET", CERTIFICATES_PATH) => Route::Certificates,
        ("POST", ADD_PATH) => Route::AddReceiver,
        ("POST", DELETE_PATH) => Route::DeleteReceiver,
        ("POST", ORDERS_PATH) => Route::CreateSplit,
        ("GET", ORDERS_PATH) => Route::QuerySplit,
        ("POST", FINISH_PATH) => Route::FinishOrder,
        ("POST", RETURNS_PATH) => Route::CreateReturn,
        ("GET", RETURNS_PATH) => Route::QueryReturn,
        ("GET", p) if amounts_segment(p).is_some() => Route::UnsplitAmount,
        _ => Route::Unknown,
    }
}

/// Whether the mock serves `path` with some method (every path it serves takes GET or POST).
pub(crate) fn served(path: &str) -> bool {
    route_of("GET", path) != Route::Unknown || route_of("POST", path) != Route::Unknown
}
