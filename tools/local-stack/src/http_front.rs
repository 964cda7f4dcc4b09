//! The runner's HTTP front on API_URL: plays API Gateway (HTTP API, payload 2.0)
//! with a JWT authorizer. It verifies the bearer token itself (HS256 with the
//! stack's local secret), turns the request into the `ApiGatewayV2httpRequest` the
//! function would get in AWS, with the verified claims in the authorizer context,
//! and turns the function's response back into HTTP.

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as LambdaBody;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

// Local tokens are issued and verified by the one verifier (sluice_core::auth).
pub use sluice_core::auth::local::{issue_token, LocalClaims, AUDIENCE, ISSUER};

/// API Gateway's own payload limit; the handlers enforce their smaller ones.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

pub type HttpHandler = Arc<
    dyn Fn(ApiGatewayV2httpRequest) -> Pin<Box<dyn Future<Output = ApiGatewayV2httpResponse> + Send>> + Send + Sync,
>;

/// Verifies a local token with the one verifier; `None` for a missing, forged or expired one.
pub fn verify_token(secret: &[u8], token: &str) -> Option<HashMap<String, String>> {
    sluice_core::auth::local::verify_token(secret, token).ok()
}

#[derive(Clone)]
pub struct Front {
    pub secret: Arc<Vec<u8>>,
    pub api: HttpHandler,
    pub health: serde_json::Value,
}

pub fn router(front: Front) -> axum::Router {
    axum::Router::new().fallback(serve).with_state(Arc::new(front))
}

async fn serve(State(front): State<Arc<Front>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.method == http::Method::GET && parts.uri.path() == "/health" {
        return plain(200, "application/json", front.health.to_string());
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return plain(
            413,
            "application/problem+json",
            r#"{"type":"urn:sluice:problem:payload-too-large","title":"Payload too large","status":413}"#.into(),
        );
    };
    let token = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let claims = token.and_then(|t| verify_token(&front.secret, t));

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some("$default".into());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(parts.uri.query().unwrap_or_default().to_owned());
    event.query_string_parameters = parts.uri.query().unwrap_or_default().parse().unwrap_or_default();
    event.headers = parts.headers.clone();
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) if !text.is_empty() => event.body = Some(text),
        Ok(_) => {}
        Err(_) => {
            event.body = Some(base64::engine::general_purpose::STANDARD.encode(&bytes));
            event.is_base64_encoded = true;
        }
    }
    event.request_context.http.method = parts.method;
    event.request_context.http.path = Some(parts.uri.path().to_owned());
    event.request_context.request_id = Some(uuid::Uuid::new_v4().to_string());
    event.request_context.stage = Some("$default".into());
    event.request_context.time_epoch = chrono::Utc::now().timestamp_millis();
    if let Some(claims) = claims {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims = claims;
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        event.request_context.authorizer = Some(authorizer);
    }
    let answer = (front.api)(event).await;
    to_response(answer)
}

fn to_response(answer: ApiGatewayV2httpResponse) -> Response {
    let body = match answer.body {
        Some(LambdaBody::Text(t)) => Body::from(t),
        Some(LambdaBody::Binary(b)) => Body::from(b),
        _ => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status_code as u16).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *response.headers_mut() = answer.headers;
    response
}

fn plain(status: u16, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let token = issue_token(b"s3cret", "ana", "basic", true, 1).unwrap();
        let claims = verify_token(b"s3cret", &token).unwrap();
        assert_eq!(claims["sub"], "ana");
        assert_eq!(claims["tier"], "basic");
        assert_eq!(claims["cognito:groups"], "[team]");
        assert!(verify_token(b"other", &token).is_none());
        let expired = issue_token(b"s3cret", "ana", "basic", false, -2).unwrap();
        assert!(verify_token(b"s3cret", &expired).is_none());
    }
}
