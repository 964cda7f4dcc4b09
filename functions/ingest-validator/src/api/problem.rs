//! The one error-to-response mapping of the HTTP API: RFC 9457 problem details
//! (`application/problem+json`) with a stable `type` per kind of refusal. Internal
//! details are logged here and never returned.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// A webhook whose signature is missing, wrong or too old.
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
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
    /// Anything the caller cannot act on: logged, answered with a generic 500.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::BadSignature(_) => 401,
            Self::InsufficientCredits(_) => 402,
            Self::Forbidden(_) => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge { .. } => 413,
            Self::MalformedJson(_) | Self::InvalidRequest(_) => 400,
            Self::RateLimited { .. } => 429,
            Self::Internal(_) => 500,
        }
    }

    /// Stable identifiers clients can switch on.
    pub fn problem_type(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "urn:sluice:problem:unauthenticated",
            Self::BadSignature(_) => "urn:sluice:problem:bad-signature",
            Self::InsufficientCredits(_) => "urn:sluice:problem:insufficient-credits",
            Self::Forbidden(_) => "urn:sluice:problem:forbidden",
            Self::NotFound => "urn:sluice:problem:not-found",
            Self::MethodNotAllowed => "urn:sluice:problem:method-not-allowed",
            Self::PayloadTooLarge { .. } => "urn:sluice:problem:payload-too-large",
            Self::MalformedJson(_) => "urn:sluice:problem:malformed-json",
            Self::InvalidRequest(_) => "urn:sluice:problem:invalid-request",
            Self::RateLimited { .. } => "urn:sluice:problem:rate-limited",
            Self::Internal(_) => "urn:sluice:problem:internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "Unauthenticated",
            Self::BadSignature(_) => "Bad signature",
            Self::InsufficientCredits(_) => "Insufficient credits",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::MalformedJson(_) => "Malformed JSON",
            Self::InvalidRequest(_) => "Invalid request",
            Self::RateLimited { .. } => "Rate limited",
            Self::Internal(_) => "Internal error",
        }
    }

    pub fn into_response(self, instance: &str) -> ApiGatewayV2httpResponse {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, instance, "request failed");
        }
        let body = serde_json::json!({
            "type": self.problem_type(),
            "title": self.title(),
            "status": self.status(),
            "detail": self.to_string(),
            "instance": instance,
        });
        let mut response = json_response(self.status(), &body);
        response
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Self::RateLimited { retry_after_secs, .. } = self {
            response
                .headers
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

pub fn json_response(status: u16, body: &serde_json::Value) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(body.to_string()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &ApiGatewayV2httpResponse) -> serde_json::Value {
        match &r.body {
            Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn internal_details_are_never_returned() {
        let r = ApiError::internal("connection to 10.0.0.7:5432 refused, password=hunter2").into_response("/v1/me");
        assert_eq!(r.status_code, 500);
        let text = body(&r).to_string();
        assert!(!text.contains("hunter2") && !text.contains("10.0.0.7"), "{text}");
        assert_eq!(r.headers[CONTENT_TYPE], "application/problem+json");
    }

    #[test]
    fn rate_limits_say_when_to_come_back() {
        let r = ApiError::RateLimited {
            message: "10 per hour".into(),
            retry_after_secs: 42,
        }
        .into_response("/x");
        assert_eq!(r.status_code, 429);
        assert_eq!(r.headers[RETRY_AFTER], "42");
        assert_eq!(body(&r)["type"], "urn:sluice:problem:rate-limited");
    }
}
