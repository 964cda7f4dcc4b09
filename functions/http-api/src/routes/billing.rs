//! Credits: top-ups through Stripe Checkout, Stripe's signed completion webhook, a team
//! admin's grants and corrections, and the caller's ledger by month. Every movement goes
//! through `sluice_core::ledger` with a key that makes it happen once.

use crate::caller::{Admin, Caller};
use crate::ApiState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_core::ledger::{self, Credit, CreditKind, CreditOutcome};
use sluice_core::retry::Backoff;
use sluice_core::{ConfigSource, Secret, Secrets};
use sluice_feedback::WebhookError;
use sluice_messages::Money;
use sluice_vendor_http::{send_with_retry, BaseUrl};
use sluice_web::{json, ApiError, JsonBody, QueryParams, RawBody};
use std::sync::Arc;
use std::time::Duration;

/// The smallest and largest top-up one checkout buys.
pub const MIN_TOP_UP: Money = Money::from_micros(5_000_000);
pub const MAX_TOP_UP: Money = Money::from_micros(500_000_000);

/// Stripe: where its API is, the secret key, the webhook endpoint's signing secret and
/// where Checkout sends the browser back. Without a key, checkout answers 503; without
/// a signing secret, the webhook refuses every delivery.
#[derive(Clone)]
pub struct BillingConfig {
    pub stripe_api: BaseUrl,
    pub secret_key: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    pub success_url: String,
    pub cancel_url: String,
}

impl std::fmt::Debug for BillingConfig {
    // The keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingConfig")
            .field("stripe_api", &self.stripe_api)
            .field("success_url", &self.success_url)
            .finish_non_exhaustive()
    }
}

impl BillingConfig {
    /// `STRIPE_API_URL` (default `https://api.stripe.com`), the secrets `STRIPE_SECRET_KEY`
    /// and `STRIPE_WEBHOOK_SECRET`, `CHECKOUT_SUCCESS_URL` and `CHECKOUT_CANCEL_URL`.
    pub async fn load(cfg: &ConfigSource, secrets: &Secrets) -> Result<Self, sluice_core::InitError> {
        let raw: String = cfg.or("STRIPE_API_URL", "https://api.stripe.com".to_owned())?;
        let stripe_api = BaseUrl::parse(&raw).map_err(|e| sluice_core::InitError::unusable("STRIPE_API_URL", e))?;
        let present = |s: Option<Secret>| s.filter(|s| !s.expose().trim().is_empty());
        Ok(Self {
            stripe_api,
            secret_key: present(secrets.get(cfg, "STRIPE_SECRET_KEY").await?),
            webhook_secret: present(secrets.get(cfg, "STRIPE_WEBHOOK_SECRET").await?),
            success_url: cfg.or("CHECKOUT_SUCCESS_URL", "https://sluice.invalid/billing/done".to_owned())?,
            cancel_url: cfg.or("CHECKOUT_CANCEL_URL", "https://sluice.invalid/billing".to_owned())?,
        })
    }
}

/// A top-up amount: whole cents from [`MIN_TOP_UP`] to [`MAX_TOP_UP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopUp(Money);

impl TopUp {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let amount = Money::parse_dollars(raw).map_err(|e| e.to_string())?;
        if amount.micros() % 10_000 != 0 {
            return Err(format!("amount `{raw}` must be whole cents"));
        }
        if amount < MIN_TOP_UP || amount > MAX_TOP_UP {
            return Err(format!("amount must be from {MIN_TOP_UP} to {MAX_TOP_UP}"));
        }
        Ok(Self(amount))
    }

    pub fn cents(&self) -> i64 {
        self.0.micros() / 10_000
    }

    pub fn money(&self) -> Money {
        self.0
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// Dollars, e.g. `"10.00"`.
    pub amount: String,
}

/// `POST /v1/billing/checkout`: a Stripe Checkout session for a top-up; 201 with its URL.
pub async fn checkout(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<CheckoutRequest>,
) -> Result<Response, ApiError> {
    let top_up = TopUp::parse(&request.amount).map_err(ApiError::InvalidRequest)?;
    let billing = &api.billing;
    let key = billing
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("payments are not configured on this deployment".into()))?;
    let cents = top_up.cents().to_string();
    let form = [
        ("mode", "payment"),
        ("success_url", billing.success_url.as_str()),
        ("cancel_url", billing.cancel_url.as_str()),
        ("client_reference_id", caller.user_id.as_str()),
        ("metadata[user_id]", caller.user_id.as_str()),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", cents.as_str()),
        ("line_items[0][price_data][product_data][name]", "Sluice credits"),
    ];
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    // One key for every attempt: a retried create makes one session at Stripe.
    let idempotency_key = uuid::Uuid::new_v4().to_string();
    let url = billing.stripe_api.join("/v1/checkout/sessions");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(ApiError::internal)?;
    let backoff = Backoff {
        max_attempts: 3,
        base: Duration::from_millis(200),
        max: Duration::from_secs(2),
    };
    let answer = send_with_retry::<std::convert::Infallible>(
        || {
            http.post(&url)
                .bearer_auth(key.expose())
                .header("Idempotency-Key", &idempotency_key)
                .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone())
        },
        backoff,
        None,
        Some(1024 * 1024),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "Stripe refused or did not answer a checkout session");
        ApiError::Unavailable("the payment provider did not answer; try again in a minute".into())
    })?;
    let session: Value = serde_json::from_slice(&answer).map_err(ApiError::internal)?;
    let (Some(id), Some(checkout_url)) = (session["id"].as_str(), session["url"].as_str()) else {
        return Err(ApiError::internal("a Stripe checkout session without id or url"));
    };
    let client = api.pool.get().await?;
    client
        .execute(
            "INSERT INTO checkout_sessions (id, user_id, amount_micros) VALUES ($1, $2, $3)",
            &[&id, &caller.user_id, &top_up.money().micros()],
        )
        .await?;
    tracing::info!(user = %caller.user_id, session = id, cents = top_up.cents(), "checkout session created");
    Ok(json(
        StatusCode::CREATED,
        &json!({"session_id": id, "url": checkout_url, "amount": top_up.money().view()}),
    ))
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `POST /v1/webhooks/stripe`: Stripe's events, signed. `checkout.session.completed` for a
/// paid session Sluice created credits that session's amount once, however often Stripe
/// delivers it; other events are acknowledged and ignored. A refused signature is 401 and
/// changes nothing; a failure of ours is 500, so Stripe delivers again.
pub async fn stripe_webhook(
    State(api): State<Arc<ApiState>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let Some(secret) = &api.billing.webhook_secret else {
        tracing::error!("a Stripe event arrived but STRIPE_WEBHOOK_SECRET is not configured");
        return Err(ApiError::Unavailable(
            "payments are not configured on this deployment".into(),
        ));
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    sluice_feedback::verify_stripe(secret.expose(), &body, signature, api.clock.now()).map_err(|e| match e {
        WebhookError::NotConfigured => ApiError::Unavailable("payments are not configured on this deployment".into()),
        other => ApiError::BadSignature(other.to_string()),
    })?;
    let event: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidRequest(format!("not a Stripe event: {e}")))?;
    let kind = event["type"].as_str().unwrap_or_default();
    let session = &event["data"]["object"];
    if kind != "checkout.session.completed" || session["payment_status"].as_str() != Some("paid") {
        tracing::info!(kind, "Stripe event acknowledged; nothing to credit");
        return Ok(json(StatusCode::OK, &json!({"received": true, "credited": false})));
    }
    let session_id = session["id"].as_str().unwrap_or_default();
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT user_id, amount_micros FROM checkout_sessions WHERE id = $1 FOR UPDATE",
            &[&session_id],
        )
        .await?
    else {
        // Not a session of ours (another integration on the same account): nothing to do.
        tracing::warn!(
            session = session_id,
            "a completed Stripe session Sluice did not create; ignored"
        );
        return Ok(json(StatusCode::OK, &json!({"received": true, "credited": false})));
    };
    let user_id: String = row.get(0);
    let amount = Money::from_micros(row.get(1));
    // Stripe's amount must be what the session was created for; the session's is credited.
    if session["amount_total"].as_i64() != Some(amount.micros() / 10_000) {
        tracing::error!(
            session = session_id,
            "a completed Stripe session's amount differs from the one created"
        );
    }
    let outcome = ledger::credit(
        &tx,
        &Credit {
            user_id: &user_id,
            kind: CreditKind::TopUp,
            amount,
            idempotency_key: format!("stripe:{session_id}"),
            description: format!("top-up of {amount} through Stripe Checkout"),
            granted_by: None,
        },
    )
    .await?;
    tx.execute(
        "UPDATE checkout_sessions SET status = 'completed', completed_at = coalesce(completed_at, now()) WHERE id = $1",
        &[&session_id],
    )
    .await?;
    tx.commit().await?;
    let credited = matches!(outcome, CreditOutcome::Credited { .. });
    tracing::info!(user = %user_id, session = session_id, credited, "Stripe checkout completed");
    Ok(json(StatusCode::OK, &json!({"received": true, "credited": credited})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    pub user_id: String,
    /// Dollars; negative takes credits back.
    pub amount: String,
    pub reason: String,
}

/// `POST /v1/admin/credits`: a team admin grants or takes back credits, with a reason.
/// An `Idempotency-Key` header makes a retried request apply once.
pub async fn adjust(
    State(api): State<Arc<ApiState>>,
    Admin(admin): Admin,
    headers: HeaderMap,
    JsonBody(request): JsonBody<AdjustmentRequest>,
) -> Result<Response, ApiError> {
    let amount = Money::parse_dollars(&request.amount).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    if amount.is_zero() || amount.micros().abs() > MAX_TOP_UP.micros() * 10 {
        return Err(ApiError::invalid(format!(
            "amount must be non-zero and at most {} either way",
            Money::from_micros(MAX_TOP_UP.micros() * 10)
        )));
    }
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason is required (at most 500 characters)"));
    }
    let key = match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        Some(k) if !k.trim().is_empty() && k.len() <= 200 => format!("adjustment:{}:{}", admin.user_id, k.trim()),
        Some(_) => return Err(ApiError::invalid("Idempotency-Key must be 1 to 200 characters")),
        None => format!("adjustment:{}", uuid::Uuid::new_v4()),
    };
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    let exists = tx
        .query_opt("SELECT 1 FROM user_accounts WHERE user_id = $1", &[&request.user_id])
        .await?;
    if exists.is_none() {
        return Err(ApiError::not_found(format!("no account `{}`", request.user_id)));
    }
    let outcome = ledger::credit(
        &tx,
        &Credit {
            user_id: &request.user_id,
            kind: CreditKind::Adjustment,
            amount,
            idempotency_key: key,
            description: reason.to_owned(),
            granted_by: Some(&admin.user_id),
        },
    )
    .await?;
    tx.commit().await?;
    match outcome {
        CreditOutcome::Credited { balance_after } => {
            tracing::info!(admin = %admin.user_id, user = %request.user_id, amount = %amount, "credits adjusted");
            Ok(json(
                StatusCode::CREATED,
                &json!({"user_id": request.user_id, "amount": amount.view(), "credit_balance": balance_after.view()}),
            ))
        }
        CreditOutcome::AlreadyCredited => Ok(json(
            StatusCode::OK,
            &json!({"user_id": request.user_id, "amount": amount.view(), "already_applied": true}),
        )),
        CreditOutcome::Insufficient { available } => Err(ApiError::InvalidRequest(format!(
            "the account has {available} not held by running analyses: it cannot give back {}",
            Money::from_micros(-amount.micros())
        ))),
    }
}

/// `GET /v1/me/usage?month=2026-12`: every credit movement of the caller in a month (this
/// month by default) with totals by kind; CSV with `Accept: text/csv`.
pub async fn usage(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["month"])?;
    let month = match query.first("month") {
        Some(raw) => sluice_web::query_date("month", &format!("{}-01", raw.trim()))
            .map_err(|_| ApiError::invalid("month must be a month like 2026-12"))?,
        None => ledger::month_of(api.clock.today()),
    };
    let next = ledger::credit_reset_date(month);
    let client = api.pool.get().await?;
    let rows = client
        .query(
            "SELECT created_at, kind, amount_micros, balance_after_micros, description, task_id
             FROM usage_transactions
             WHERE user_id = $1 AND created_at >= $2::date AND created_at < $3::date
             ORDER BY created_at, id",
            &[&caller.user_id, &month, &next],
        )
        .await?;
    let wants_csv = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut write = |fields: &[&str]| {
            w.write_record(fields.iter().map(|f| sluice_web::spreadsheet::cell(f).into_owned()))
                .map_err(ApiError::internal)
        };
        write(&[
            "time",
            "kind",
            "amount_usd",
            "balance_after_usd",
            "description",
            "task_id",
        ])?;
        for r in &rows {
            let time: chrono::DateTime<chrono::Utc> = r.get(0);
            let task: Option<uuid::Uuid> = r.get(5);
            write(&[
                &time.to_rfc3339(),
                &r.get::<_, String>(1),
                &dollars(r.get(2)),
                &dollars(r.get(3)),
                &r.get::<_, String>(4),
                &task.map(|t| t.to_string()).unwrap_or_default(),
            ])?;
        }
        let csv = w.into_inner().map_err(ApiError::internal)?;
        let name = format!("attachment; filename=\"sluice-usage-{}.csv\"", month.format("%Y-%m"));
        return Ok((
            [
                (http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (http::header::CONTENT_DISPOSITION, name),
            ],
            csv,
        )
            .into_response());
    }
    let mut totals = std::collections::BTreeMap::<String, i64>::new();
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let kind: String = r.get(1);
            let amount: i64 = r.get(2);
            *totals.entry(kind.clone()).or_default() += amount;
            json!({
                "time": r.get::<_, chrono::DateTime<chrono::Utc>>(0),
                "kind": kind,
                "amount": Money::from_micros(amount).view(),
                "balance_after": Money::from_micros(r.get(3)).view(),
                "description": r.get::<_, String>(4),
                "task_id": r.get::<_, Option<uuid::Uuid>>(5),
            })
        })
        .collect();
    let totals: serde_json::Map<String, Value> = totals
        .into_iter()
        .map(|(k, v)| (k, json!(Money::from_micros(v).view())))
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "month": month.format("%Y-%m").to_string(),
            "items": items,
            "totals": totals,
        }),
    ))
}

/// Exact dollars for a spreadsheet: `-0.015`, `5`.
fn dollars(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let fraction = format!("{:06}", abs % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{}", abs / 1_000_000)
    } else {
        format!("{sign}{}.{fraction}", abs / 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_ups_are_whole_cents_within_bounds() {
        assert_eq!(TopUp::parse("10").map(|t| t.cents()), Ok(1000));
        assert_eq!(TopUp::parse("5.50").map(|t| t.cents()), Ok(550));
        for bad in ["4.99", "500.01", "10.001", "-10", "ten", ""] {
            assert!(TopUp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_dollars() {
        assert_eq!(dollars(-15_000), "-0.015");
        assert_eq!(dollars(5_000_000), "5");
    }

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(form_encode("http://x/ok?a=1 b"), "http%3A%2F%2Fx%2Fok%3Fa%3D1+b");
        assert_eq!(form_encode("line_items[0]"), "line_items%5B0%5D");
    }
}
