//! Stripe's Checkout API as Sluice calls it: `POST /v1/checkout/sessions` with a
//! form-encoded body and `Authorization: Bearer sk_...`, answering a `checkout.session`
//! object with its hosted `url`. Sessions are remembered so a test can complete one and
//! send the signed `checkout.session.completed` event Stripe would send.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One session as created: the form fields Sluice sent, flattened (`metadata[user_id]`).
#[derive(Debug, Clone)]
pub struct CreatedSession {
    pub id: String,
    pub form: BTreeMap<String, String>,
    pub authorization: Option<String>,
}

#[derive(Debug, Default)]
struct Log {
    sessions: Vec<CreatedSession>,
}

/// The running fake; stops when dropped.
pub struct FakeStripe {
    pub base_url: String,
    /// The secret key the fake accepts (`sk_test_...`).
    pub secret_key: String,
    log: Arc<Mutex<Log>>,
    _server: crate::Server,
}

impl FakeStripe {
    /// Every session created so far, oldest first.
    pub fn sessions(&self) -> Vec<CreatedSession> {
        self.log.lock().map(|l| l.sessions.clone()).unwrap_or_default()
    }

    /// The `checkout.session.completed` event Stripe sends when `session` is paid.
    pub fn completed_event(&self, session: &CreatedSession, event_id: &str) -> Value {
        let amount: i64 = session
            .form
            .get("line_items[0][price_data][unit_amount]")
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        let metadata: BTreeMap<String, String> = session
            .form
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_owned(), v.clone()))
            })
            .collect();
        json!({
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": chrono::Utc::now().timestamp(),
            "livemode": false,
            "type": "checkout.session.completed",
            "data": {"object": {
                "id": session.id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": amount,
                "currency": "usd",
                "client_reference_id": session.form.get("client_reference_id"),
                "metadata": metadata,
            }},
        })
    }
}

struct AppState {
    secret_key: String,
    log: Arc<Mutex<Log>>,
    base_url: Mutex<String>,
}

async fn create_session(State(app): State<Arc<AppState>>, headers: HeaderMap, body: String) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if authorization.as_deref() != Some(&format!("Bearer {}", app.secret_key)) {
        let error = json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}});
        return (StatusCode::UNAUTHORIZED, Json(error)).into_response();
    }
    let form: BTreeMap<String, String> = form_urlencoded(&body);
    let required = [
        "mode",
        "success_url",
        "line_items[0][price_data][currency]",
        "line_items[0][price_data][unit_amount]",
        "line_items[0][quantity]",
    ];
    if let Some(missing) = required.iter().find(|k| !form.contains_key(**k)) {
        let error = json!({"error": {"type": "invalid_request_error", "message": format!("Missing required param: {missing}."), "param": missing}});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let id = format!("cs_test_{}", uuid_like());
    let base = app.base_url.lock().map(|b| b.clone()).unwrap_or_default();
    let session = CreatedSession {
        id: id.clone(),
        form: form.clone(),
        authorization,
    };
    if let Ok(mut log) = app.log.lock() {
        log.sessions.push(session);
    }
    let amount: i64 = form
        .get("line_items[0][price_data][unit_amount]")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    Json(json!({
        "id": id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": amount,
        "currency": form.get("line_items[0][price_data][currency]"),
        "client_reference_id": form.get("client_reference_id"),
        "url": format!("{base}/c/pay/{id}"),
    }))
    .into_response()
}

/// `application/x-www-form-urlencoded` into a map (the last value of a repeated key wins).
fn form_urlencoded(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{n:06}", chrono::Utc::now().timestamp_micros())
}

/// Starts the fake on a free port.
pub async fn start(secret_key: &str) -> std::io::Result<FakeStripe> {
    let log = Arc::new(Mutex::new(Log::default()));
    let state = Arc::new(AppState {
        secret_key: secret_key.to_owned(),
        log: log.clone(),
        base_url: Mutex::new(String::new()),
    });
    let app = Router::new()
        .route("/v1/checkout/sessions", post(create_session))
        .with_state(state.clone());
    let server = crate::Server::serve(0, app, "stripe").await?;
    if let Ok(mut base) = state.base_url.lock() {
        *base = server.base_url.clone();
    }
    Ok(FakeStripe {
        base_url: server.base_url.clone(),
        secret_key: secret_key.to_owned(),
        log,
        _server: server,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_like_stripe_reads_them() {
        let form = form_urlencoded(
            "mode=payment&metadata%5Buser_id%5D=u-1&success_url=http%3A%2F%2Fx%2Fok%3Fa%3D1&name=Top+up",
        );
        assert_eq!(form["mode"], "payment");
        assert_eq!(form["metadata[user_id]"], "u-1");
        assert_eq!(form["success_url"], "http://x/ok?a=1");
        assert_eq!(form["name"], "Top up");
        assert!(percent_decode("%zz").is_none());
    }
}
