//! The runner's side of sse-notifier: the events function URL served on API_URL and the
//! live page at `/`.
//!
//! In AWS the events endpoints are a Lambda function URL with `InvokeMode:
//! RESPONSE_STREAM` (template.yaml `SseStreamFunction`); here each request becomes the
//! `LambdaFunctionUrlRequest` the function would get, and the handler's body is streamed
//! to the client chunk by chunk, as a function URL streams it, never buffered. The
//! function's timeout is played too: a stream ends its margin before it.

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use sluice_core::{ConfigError, ConfigSource, DbSettings, Pool};
use sse_notifier::{EventsService, Hub, StreamConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The live page (web/), carried by the binary so the runner serves it wherever it runs.
pub const INDEX_HTML: &str = include_str!("../../../web/index.html");
pub const APP_JS: &str = include_str!("../../../web/app.js");
pub const CONFIG_JS: &str = include_str!("../../../web/config.js");

/// A function URL's request body limit (6 MB); the events routes need none of it.
const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// The events function as the runner plays it.
#[derive(Clone)]
pub struct EventsFront {
    pub service: EventsService,
    /// The function's timeout (template.yaml: 900 s): every invocation's deadline.
    pub function_timeout: Duration,
}

impl EventsFront {
    /// Built as sse-stream's `main.rs` builds it: `SSE_*` settings, the hub on a connection
    /// of its own, tokens verified with `LOCAL_JWT_SECRET`; `SSE_FUNCTION_TIMEOUT_SECS` (900)
    /// plays the function's timeout.
    pub fn build(cfg: &ConfigSource, pool: &Pool, settings: DbSettings, secret: &[u8]) -> Result<Self, ConfigError> {
        let config = StreamConfig::load(cfg)?;
        Ok(Self {
            service: EventsService {
                hub: Hub::start(settings, config.hub_capacity),
                pool: pool.clone(),
                verifier: Arc::new(sluice_core::auth::TokenVerifier::local(secret.to_vec())),
                config,
            },
            function_timeout: Duration::from_secs(cfg.or("SSE_FUNCTION_TIMEOUT_SECS", 900u64)?),
        })
    }
}

/// The events routes and the page; merge it with the API's router (which has the fallback).
pub fn router(front: EventsFront) -> axum::Router {
    axum::Router::new()
        .route("/v1/events", axum::routing::any(invoke))
        .route("/v1/events/stream", axum::routing::any(invoke))
        .route("/v1/events/ticket", axum::routing::any(invoke))
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route(
            "/index.html",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/config.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONFIG_JS) }),
        )
        .with_state(Arc::new(front))
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    response
}

async fn invoke(State(front): State<Arc<EventsFront>>, request: Request) -> Response {
    let deadline = tokio::time::Instant::now() + front.function_timeout;
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
        return response;
    };
    let event = function_url_request(&parts, &bytes);
    let reply = front.service.handle(event, deadline).await;
    let mut response = Response::new(Body::from_stream(reply.body));
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers;
    response
}

/// The event a function URL hands its function (payload format 2.0).
pub fn function_url_request(parts: &http::request::Parts, body: &[u8]) -> LambdaFunctionUrlRequest {
    let mut event = LambdaFunctionUrlRequest::default();
    let query = parts.uri.query().unwrap_or_default();
    event.version = Some("2.0".into());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(query.to_owned());
    // A function URL joins repeated parameters with commas.
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        params
            .entry(k.into_owned())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    event.query_string_parameters = params;
    event.headers = parts.headers.clone();
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => {
                event.body = Some(text.to_owned());
            }
            Err(_) => {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    event.request_context.http.method = Some(parts.method.to_string());
    event.request_context.http.path = Some(parts.uri.path().to_owned());
    event.request_context.http.protocol = Some("HTTP/1.1".into());
    event.request_context.request_id = Some(uuid::Uuid::new_v4().to_string());
    event.request_context.time_epoch = chrono::Utc::now().timestamp_millis();
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_become_function_url_events() {
        let request = http::Request::builder()
            .method("GET")
            .uri("/v1/events/stream?ticket=abc&last_event_id=4&x=1&x=2")
            .header("last-event-id", "3")
            .body(())
            .unwrap();
        let (parts, _) = request.into_parts();
        let event = function_url_request(&parts, b"");
        assert_eq!(event.raw_path.as_deref(), Some("/v1/events/stream"));
        assert_eq!(event.query_string_parameters["ticket"], "abc");
        assert_eq!(event.query_string_parameters["x"], "1,2");
        assert_eq!(event.headers["last-event-id"], "3");
        assert_eq!(event.request_context.http.method.as_deref(), Some("GET"));
        assert!(INDEX_HTML.contains("app.js") && APP_JS.contains("EventSource"));
    }
}
