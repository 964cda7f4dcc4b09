//! Outbound webhooks a user registers: `POST /v1/webhook-endpoints` (the `whsec_` secret
//! is in this answer only), `GET` (list, never the secret), `DELETE .../{id}`, and the
//! delivery log `GET .../{id}/deliveries`. The notifier delivers the events the owner
//! may see (the live stream's rule), signed as Standard Webhooks.

use crate::caller::Caller;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_notify::kinds::WEBHOOK_EVENT_TYPES;
use sluice_notify::target::TargetPolicy;
use sluice_notify::webhooks::new_secret;
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;
use uuid::Uuid;

/// Endpoints one user may have.
pub const MAX_ENDPOINTS_PER_USER: i64 = 10;
/// Deliveries one page of the log shows at most.
const MAX_DELIVERIES: i64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Event types to deliver (absent or empty: all of [`WEBHOOK_EVENT_TYPES`]).
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
}

/// A body's fields, checked; the first bad one is named.
pub fn validate(
    body: &EndpointBody,
    targets: &TargetPolicy,
) -> Result<(String, Option<String>, Vec<String>), ApiError> {
    let url = targets
        .check_url(&body.url)
        .map_err(|e| ApiError::invalid(e.to_string()))?
        .to_string();
    let description = match body.description.as_deref().map(str::trim) {
        Some(d) if d.chars().count() > 200 => {
            return Err(ApiError::invalid("description: at most 200 characters"));
        }
        Some("") | None => None,
        Some(d) => Some(d.to_owned()),
    };
    let mut types = Vec::new();
    for t in body.event_types.iter().flatten() {
        if !WEBHOOK_EVENT_TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid(format!(
                "event_types: {t:?} is not an event type; one of {}",
                WEBHOOK_EVENT_TYPES.join(", ")
            )));
        }
        if !types.contains(t) {
            types.push(t.clone());
        }
    }
    Ok((url, description, types))
}

const ENDPOINT_JSON: &str = "json_build_object('id', id, 'url', url, 'description', description,
    'event_types', event_types, 'enabled', disabled_at IS NULL, 'disabled_at', disabled_at,
    'disabled_reason', disabled_reason, 'consecutive_failures', consecutive_failures, 'created_at', created_at)";

/// `POST /v1/webhook-endpoints` `{url, description?, event_types?}`.
pub async fn create(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<EndpointBody>,
) -> Result<Response, ApiError> {
    let (url, description, types) = validate(&body, &api.webhook_targets)?;
    let client = api.pool.get().await?;
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM webhook_endpoints WHERE user_id = $1",
            &[&caller.user_id],
        )
        .await?
        .get(0);
    if count >= MAX_ENDPOINTS_PER_USER {
        return Err(ApiError::Conflict(format!(
            "you have {count} webhook endpoints, the most one user may have; delete one first"
        )));
    }
    let secret = new_secret();
    let row = client
        .query_one(
            &format!(
                "INSERT INTO webhook_endpoints (id, user_id, url, description, event_types, secret)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT_JSON}"
            ),
            &[&Uuid::new_v4(), &caller.user_id, &url, &description, &types, &secret],
        )
        .await?;
    let mut endpoint: Value = row.try_get(0)?;
    // Shown this once: Sluice never shows it again.
    endpoint["secret"] = Value::String(secret);
    tracing::info!(user = %caller.user_id, id = %endpoint["id"], "webhook endpoint created");
    Ok(json(StatusCode::CREATED, &endpoint))
}

/// `GET /v1/webhook-endpoints`: the caller's endpoints, oldest first, without secrets.
pub async fn list(State(api): State<Arc<ApiState>>, Caller(caller): Caller) -> Result<Response, ApiError> {
    let client = api.pool.get().await?;
    let rows = client
        .query(
            &format!("SELECT {ENDPOINT_JSON} FROM webhook_endpoints WHERE user_id = $1 ORDER BY created_at, id"),
            &[&caller.user_id],
        )
        .await?;
    let items: Vec<Value> = rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

fn endpoint_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found(format!("no webhook endpoint {raw}")))
}

/// `DELETE /v1/webhook-endpoints/{id}`: the endpoint, its deliveries and their log go.
pub async fn delete(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = endpoint_id(&raw)?;
    let client = api.pool.get().await?;
    let deleted = client
        .execute(
            "DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2",
            &[&id, &caller.user_id],
        )
        .await?;
    if deleted == 0 {
        return Err(ApiError::not_found(format!("no webhook endpoint {raw}")));
    }
    tracing::info!(user = %caller.user_id, id = %id, "webhook endpoint deleted");
    Ok(json(StatusCode::OK, &json!({ "deleted": id })))
}

/// `GET /v1/webhook-endpoints/{id}/deliveries?limit=`: newest first, each with its attempts.
pub async fn deliveries(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw): Path<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["limit"])?;
    let limit = query
        .parsed::<i64>("limit", "a whole number from 1 to 100")?
        .unwrap_or(50);
    if !(1..=MAX_DELIVERIES).contains(&limit) {
        return Err(ApiError::invalid("limit: a whole number from 1 to 100"));
    }
    let id = endpoint_id(&raw)?;
    let client = api.pool.get().await?;
    let owned = client
        .query_opt(
            "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND user_id = $2",
            &[&id, &caller.user_id],
        )
        .await?;
    if owned.is_none() {
        return Err(ApiError::not_found(format!("no webhook endpoint {raw}")));
    }
    let rows = client
        .query(
            "SELECT json_build_object('id', d.id, 'webhook_id', 'msg_' || replace(d.message_id::text, '-', ''),
                 'event_type', d.event_type, 'status', d.status, 'attempts', d.attempts,
                 'next_attempt_at', d.next_attempt_at, 'last_status_code', d.last_status_code,
                 'last_error', d.last_error, 'created_at', d.created_at, 'finished_at', d.finished_at,
                 'log', coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.attempted_at,
                          'status_code', a.status_code, 'error', a.error, 'duration_ms', a.duration_ms)
                          ORDER BY a.attempt) FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::json))
             FROM webhook_deliveries d WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2",
            &[&id, &limit],
        )
        .await?;
    let items: Vec<Value> = rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> EndpointBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn bad_fields_are_named() {
        let aws = TargetPolicy::default();
        assert!(validate(&body(json!({"url": "https://hooks.example.com/x"})), &aws).is_ok());
        for (b, field) in [
            (json!({"url": "http://hooks.example.com/x"}), "url"),
            (json!({"url": "https://10.0.0.8/x"}), "url"),
            (
                json!({"url": "https://hooks.example.com/x", "event_types": ["Nope"]}),
                "event_types",
            ),
            (
                json!({"url": "https://hooks.example.com/x", "description": "x".repeat(201)}),
                "description",
            ),
        ] {
            let message = validate(&body(b.clone()), &aws).unwrap_err().to_string();
            assert!(message.starts_with(field), "{b}: {message}");
        }
    }
}
