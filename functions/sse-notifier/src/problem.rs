//! Refusals of the events endpoints as RFC 9457 problem details, with the same stable
//! `type`s as the HTTP API (`urn:sluice:problem:...`). Internal details are logged here
//! and never returned.

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// No token or ticket, or one that is invalid, expired or already used.
    #[error("a valid bearer token or stream ticket is required")]
    Unauthenticated,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Anything the caller cannot act on: logged, answered with a generic 500.
    #[error("internal error")]
    Internal(String),
}

impl Problem {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn problem_type(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "urn:sluice:problem:unauthenticated",
            Self::InvalidRequest(_) => "urn:sluice:problem:invalid-request",
            Self::NotFound => "urn:sluice:problem:not-found",
            Self::MethodNotAllowed => "urn:sluice:problem:method-not-allowed",
            Self::Internal(_) => "urn:sluice:problem:internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "Unauthenticated",
            Self::InvalidRequest(_) => "Invalid request",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Internal(_) => "Internal error",
        }
    }

    /// Status, headers and body of the answer.
    pub fn render(&self, instance: &str) -> (StatusCode, HeaderMap, Bytes) {
        if let Self::Internal(detail) = self {
            tracing::error!(%detail, instance, "request failed");
        }
        let body = serde_json::json!({
            "type": self.problem_type(),
            "title": self.title(),
            "status": self.status().as_u16(),
            "detail": self.to_string(),
            "instance": instance,
        });
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(self, Self::Unauthenticated) {
            headers.insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        (self.status(), headers, Bytes::from(body.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_are_never_returned() {
        let (status, headers, body) = Problem::internal("password=hunter2 at 10.0.0.7").render("/v1/events");
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(headers[CONTENT_TYPE], "application/problem+json");
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("10.0.0.7"), "{text}");
        let (status, _, body) = Problem::Unauthenticated.render("/v1/events/stream");
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["type"], "urn:sluice:problem:unauthenticated");
    }
}
