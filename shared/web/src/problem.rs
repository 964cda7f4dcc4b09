//! The one error-to-response mapping of Sluice's HTTP functions: RFC 9457 problem
//! details (`application/problem+json`) with a stable `type` per kind of refusal.
//! Internal details are logged here and never returned. The `instance` member (the
//! request's path) is filled in by [`with_instance`], a layer on every router.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::StatusCode;
use serde_json::{json, Value};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// A webhook whose signature is missing, wrong or too old.
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    /// What was not found, in words (`no route GET /v1/nope`, `no quote for ZZZZ`).
    #[error("{0}")]
    NotFound(String),
    #[error("{0} is not allowed here")]
    MethodNotAllowed(String),
    /// The thing is in a state that does not allow the change (a task past `queued`).
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    #[error("{0}")]
    InsufficientCredits(String),
    /// A service this route needs is not configured or did not answer; the detail says
    /// which in words a user can act on (never the upstream's own error).
    #[error("{0}")]
    Unavailable(String),
    /// Anything the caller cannot act on: logged, answered with a generic 500.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated | Self::BadSignature(_) => StatusCode::UNAUTHORIZED,
            Self::InsufficientCredits(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MalformedJson(_) | Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable identifiers clients can switch on.
    pub fn problem_type(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "urn:sluice:problem:unauthenticated",
            Self::BadSignature(_) => "urn:sluice:problem:bad-signature",
            Self::InsufficientCredits(_) => "urn:sluice:problem:insufficient-credits",
            Self::Forbidden(_) => "urn:sluice:problem:forbidden",
            Self::NotFound(_) => "urn:sluice:problem:not-found",
            Self::MethodNotAllowed(_) => "urn:sluice:problem:method-not-allowed",
            Self::Conflict(_) => "urn:sluice:problem:conflict",
            Self::PayloadTooLarge { .. } => "urn:sluice:problem:payload-too-large",
            Self::MalformedJson(_) => "urn:sluice:problem:malformed-json",
            Self::InvalidRequest(_) => "urn:sluice:problem:invalid-request",
            Self::RateLimited { .. } => "urn:sluice:problem:rate-limited",
            Self::Unavailable(_) => "urn:sluice:problem:unavailable",
            Self::Internal(_) => "urn:sluice:problem:internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "Unauthenticated",
            Self::BadSignature(_) => "Bad signature",
            Self::InsufficientCredits(_) => "Insufficient credits",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound(_) => "Not found",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::Conflict(_) => "Conflict",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::MalformedJson(_) => "Malformed JSON",
            Self::InvalidRequest(_) => "Invalid request",
            Self::RateLimited { .. } => "Rate limited",
            Self::Unavailable(_) => "Unavailable",
            Self::Internal(_) => "Internal error",
        }
    }

    /// The problem document, without `instance`.
    pub fn body(&self) -> Value {
        json!({
            "type": self.problem_type(),
            "title": self.title(),
            "status": self.status().as_u16(),
            "detail": self.to_string(),
        })
    }
}

/// The problem document of a response, kept so [`with_instance`] can add the path.
#[derive(Debug, Clone)]
struct ProblemDocument(Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let body = self.body();
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match &self {
            Self::Unauthenticated => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::RateLimited { retry_after_secs, .. } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response.extensions_mut().insert(ProblemDocument(body));
        response
    }
}

/// Adds the request's path as `instance` to every problem a handler answered with.
pub async fn with_instance(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if let Some(ProblemDocument(mut body)) = response.extensions_mut().remove::<ProblemDocument>() {
        body["instance"] = Value::String(path);
        *response.body_mut() = Body::from(body.to_string());
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    response
}

macro_rules! internal_from {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                Self::Internal(e.to_string())
            }
        }
    )*};
}

// Library failures a caller cannot act on: logged, answered with a generic 500.
internal_from!(
    sluice_core::DbError,
    tokio_postgres::Error,
    deadpool_postgres::PoolError,
    sluice_core::lifecycle::LifecycleError,
    sluice_core::PublishError,
    sluice_core::ledger::LedgerError,
    serde_json::Error,
);

impl From<sluice_messages::InvalidValue> for ApiError {
    fn from(e: sluice_messages::InvalidValue) -> Self {
        Self::InvalidRequest(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn answer(error: fn() -> ApiError) -> (StatusCode, http::HeaderMap, Value) {
        let app = axum::Router::new()
            .route("/v1/x", get(move || async move { Err::<(), _>(error()) }))
            .layer(axum::middleware::from_fn(with_instance));
        let response = app
            .oneshot(http::Request::get("/v1/x").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn internal_details_are_never_returned() {
        let (status, headers, body) =
            answer(|| ApiError::internal("connection to 10.0.0.7:5432 refused, password=hunter2")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = body.to_string();
        assert!(!text.contains("hunter2") && !text.contains("10.0.0.7"), "{text}");
        assert_eq!(headers[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body["instance"], "/v1/x");
    }

    #[tokio::test]
    async fn rate_limits_say_when_to_come_back_and_401s_how_to_authenticate() {
        let (status, headers, body) = answer(|| ApiError::RateLimited {
            message: "10 per hour".into(),
            retry_after_secs: 42,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[RETRY_AFTER], "42");
        assert_eq!(body["type"], "urn:sluice:problem:rate-limited");
        let (status, headers, _) = answer(|| ApiError::Unauthenticated).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn not_found_says_what() {
        let (status, _, body) = answer(|| ApiError::not_found("no quote for ticker ZZZZ")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["detail"], "no quote for ticker ZZZZ");
    }
}
