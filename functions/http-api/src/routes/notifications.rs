//! `GET/PUT /v1/me/notifications`: which kinds of e-mail the caller gets (every kind
//! unless muted), and the unsubscribe link of every e-mail: `GET /v1/unsubscribe?token=`
//! shows a page asking to confirm, `POST` (the page's button, or a mail client's RFC 8058
//! one-click) mutes that kind. The link needs no login: its token is signed by the
//! notifier with `NOTIFY_SIGNING_SECRET` and names the user and the kind, nothing else.

use crate::caller::Caller;
use crate::ApiState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Map, Value};
use sluice_core::Secret;
use sluice_notify::unsubscribe::{self, Unsubscribe};
use sluice_notify::NotificationKind;
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The unsubscribe tokens' key (`NOTIFY_SIGNING_SECRET`, shared with the notifier).
#[derive(Clone)]
pub struct NotificationConfig {
    pub signing_key: Secret,
}

impl std::fmt::Debug for NotificationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationConfig").finish_non_exhaustive()
    }
}

impl NotificationConfig {
    pub async fn load(
        cfg: &sluice_core::ConfigSource,
        secrets: &sluice_core::Secrets,
    ) -> Result<Self, sluice_core::InitError> {
        let signing_key = secrets.required(cfg, "NOTIFY_SIGNING_SECRET").await?;
        if signing_key.expose().len() < 16 {
            return Err(sluice_core::InitError::unusable(
                "NOTIFY_SIGNING_SECRET",
                "at least 16 characters",
            ));
        }
        Ok(Self { signing_key })
    }
}

async fn muted(client: &deadpool_postgres::Client, user_id: &str) -> Result<BTreeSet<NotificationKind>, ApiError> {
    let row = client
        .query_opt(
            "SELECT muted FROM notification_preferences WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    let names: Vec<String> = row.map(|r| r.get(0)).unwrap_or_default();
    Ok(names.iter().filter_map(|n| NotificationKind::parse(n)).collect())
}

async fn store_muted(
    client: &deadpool_postgres::Client,
    user_id: &str,
    muted: &BTreeSet<NotificationKind>,
) -> Result<(), ApiError> {
    let names: Vec<&str> = muted.iter().map(|k| k.as_str()).collect();
    client
        .execute(
            "INSERT INTO notification_preferences (user_id, muted) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET muted = EXCLUDED.muted, updated_at = now()",
            &[&user_id, &names],
        )
        .await?;
    Ok(())
}

fn preferences_json(address: Option<&str>, muted: &BTreeSet<NotificationKind>) -> Value {
    let email: Map<String, Value> = NotificationKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), Value::Bool(!muted.contains(k))))
        .collect();
    json!({
        // Where e-mail goes: the address of the caller's token, stored when seen.
        "email_address": address,
        "email": email,
    })
}

/// `GET /v1/me/notifications`.
pub async fn get(State(api): State<Arc<ApiState>>, Caller(caller): Caller) -> Result<Response, ApiError> {
    let client = api.pool.get().await?;
    let address: Option<String> = client
        .query_one("SELECT email FROM user_accounts WHERE user_id = $1", &[&caller.user_id])
        .await?
        .get(0);
    let muted = muted(&client, &caller.user_id).await?;
    Ok(json(StatusCode::OK, &preferences_json(address.as_deref(), &muted)))
}

/// The changes a PUT body asks for: `{"email": {"<kind>": true|false, ...}}`, every
/// field checked and the first bad one named.
pub fn parse_changes(body: &Value) -> Result<Vec<(NotificationKind, bool)>, ApiError> {
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("the body must be a JSON object like {\"email\": {\"kpi_alert\": false}}"))?;
    if let Some(unknown) = object.keys().find(|k| k.as_str() != "email") {
        return Err(ApiError::invalid(format!(
            "{unknown}: unknown field (the only one is email)"
        )));
    }
    let email = object
        .get("email")
        .ok_or_else(|| ApiError::invalid("email: required, an object of kinds of e-mail to true or false"))?
        .as_object()
        .ok_or_else(|| ApiError::invalid("email: must be an object of kinds of e-mail to true or false"))?;
    let known = || {
        NotificationKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut changes = Vec::new();
    for (name, value) in email {
        let kind = NotificationKind::parse(name)
            .ok_or_else(|| ApiError::invalid(format!("email.{name}: not a kind of e-mail (one of {})", known())))?;
        let on = value
            .as_bool()
            .ok_or_else(|| ApiError::invalid(format!("email.{name}: must be true or false")))?;
        changes.push((kind, on));
    }
    Ok(changes)
}

/// `PUT /v1/me/notifications` `{"email": {"kpi_alert": false}}`: the kinds named change,
/// the others stay.
pub async fn put(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let changes = parse_changes(&body)?;
    let client = api.pool.get().await?;
    let mut muted = muted(&client, &caller.user_id).await?;
    for (kind, on) in changes {
        if on {
            muted.remove(&kind);
        } else {
            muted.insert(kind);
        }
    }
    store_muted(&client, &caller.user_id, &muted).await?;
    let address: Option<String> = client
        .query_one("SELECT email FROM user_accounts WHERE user_id = $1", &[&caller.user_id])
        .await?
        .get(0);
    tracing::info!(user = %caller.user_id, muted = muted.len(), "notification preferences changed");
    Ok(json(StatusCode::OK, &preferences_json(address.as_deref(), &muted)))
}

fn token(api: &ApiState, query: &QueryParams) -> Result<Unsubscribe, ApiError> {
    query.only(&["token"])?;
    let raw = query
        .first("token")
        .ok_or_else(|| ApiError::invalid("token: required (the link in the e-mail carries it)"))?;
    unsubscribe::verify(api.notifications.signing_key.expose().as_bytes(), raw)
        .map_err(|e| ApiError::invalid(format!("token: {e}")))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    );
    (
        status,
        [
            (http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (http::header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// `GET /v1/unsubscribe?token=`: what the link would stop, and a button that does it
/// (a GET changes nothing: link scanners open links).
pub async fn confirm(State(api): State<Arc<ApiState>>, query: QueryParams) -> Result<Response, ApiError> {
    let Unsubscribe { kind, .. } = token(&api, &query)?;
    Ok(page(
        StatusCode::OK,
        "Unsubscribe from Sluice e-mail",
        &format!(
            "<p>Stop e-mail about {what}?</p>\
             <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>\
             <p>Other kinds of e-mail are not affected; turn any back on in your account's settings \
             (PUT /v1/me/notifications).</p>",
            what = kind.describe()
        ),
    ))
}

/// `POST /v1/unsubscribe?token=`: mutes the token's kind for its user (idempotent).
pub async fn unsubscribe(State(api): State<Arc<ApiState>>, query: QueryParams) -> Result<Response, ApiError> {
    let Unsubscribe { user_id, kind } = token(&api, &query)?;
    let client = api.pool.get().await?;
    let exists = client
        .query_opt("SELECT 1 FROM user_accounts WHERE user_id = $1", &[&user_id])
        .await?
        .is_some();
    if exists {
        let mut muted = muted(&client, &user_id).await?;
        muted.insert(kind);
        store_muted(&client, &user_id, &muted).await?;
        tracing::info!(user = %user_id, kind = kind.as_str(), "unsubscribed through the link");
    }
    Ok(page(
        StatusCode::OK,
        "Unsubscribed",
        &format!(
            "<p>You will no longer get e-mail about {what}.</p>",
            what = kind.describe()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_the_bad_field() {
        let ok = parse_changes(&json!({"email": {"kpi_alert": false, "low_balance": true}})).unwrap();
        assert_eq!(
            ok,
            vec![
                (NotificationKind::KpiAlert, false),
                (NotificationKind::LowBalance, true)
            ]
        );
        for (body, field) in [
            (json!({"sms": {}}), "sms"),
            (json!({"email": {"kpi_alerts": false}}), "email.kpi_alerts"),
            (json!({"email": {"kpi_alert": "no"}}), "email.kpi_alert"),
            (json!({"email": true}), "email"),
            (json!({}), "email"),
            (json!([1]), "body"),
        ] {
            let message = parse_changes(&body).unwrap_err().to_string();
            assert!(message.contains(field), "{body}: {message}");
        }
    }
}
