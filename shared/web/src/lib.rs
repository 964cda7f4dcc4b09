//! What Sluice's HTTP functions share: the HTTP API (`functions/http-api`) and the
//! events stream (`sse-stream`). Both are axum routers, served by lambda_http in AWS
//! and directly by the local runner: the same router in both places.
//!
//! - [`problem`]: the one error-to-response mapping (RFC 9457 problem details).
//! - [`auth`]: who is calling (the API Gateway authorizer's claims, or a verified bearer token).
//! - [`request`]: bounded bodies and validated query parameters.
//! - [`rate_limit`]: every authenticated request counted against its tier's allowance.
//! - [`spreadsheet`]: CSV cells a spreadsheet will not run as formulas.

pub mod auth;
pub mod problem;
pub mod rate_limit;
pub mod request;
pub mod spreadsheet;

pub use auth::Authenticator;
pub use problem::{with_instance, ApiError};
pub use request::{query_date, JsonBody, QueryParams, RawBody, MAX_BODY_BYTES};

/// A JSON answer with its status.
pub fn json(status: http::StatusCode, body: &serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(body)).into_response()
}
