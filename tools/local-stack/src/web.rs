//! What the runner serves besides the functions: the web app (`web/`) at `/`, as
//! CloudFront would in AWS, and `/health` (what runs, with which queues).

use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

/// The web app, carried by the binary so the runner serves it wherever it runs.
pub const INDEX_HTML: &str = include_str!("../../../web/index.html");
pub const APP_JS: &str = include_str!("../../../web/app.js");
pub const CONFIG_JS: &str = include_str!("../../../web/config.js");

pub fn router(health: serde_json::Value) -> Router {
    let health = health.to_string();
    Router::new()
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
        .route(
            "/health",
            get(move || {
                let health = health.clone();
                async move {
                    let mut response = Response::new(Body::from(health));
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    response
                }
            }),
        )
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_script_are_carried() {
        assert!(INDEX_HTML.contains("app.js") && APP_JS.contains("EventSource"));
    }
}
