//! Feedback tickets on the HTTP API (team members only): `GET /v1/tickets` (filters
//! and cursor pagination, newest first), `GET /v1/tickets/{id}` (with its processing
//! log), `PATCH /v1/tickets/{id}` (a person changes status or priority; logged), and
//! `GET /v1/metrics/feedback` (the per-day DynamoDB counters). Parsing is pure, below.

use super::listing::one_of;
use crate::caller::Team;
use crate::ApiState;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_feedback::metrics::{self, SentimentBucket};
use sluice_web::{json, ApiError, JsonBody, QueryParams};
use std::sync::Arc;
use uuid::Uuid;

pub const STATUSES: [&str; 5] = ["new", "open", "in_progress", "resolved", "closed"];
pub const PRIORITIES: [&str; 4] = ["P0", "P1", "P2", "P3"];
pub const CATEGORIES: [&str; 7] = [
    "bug",
    "feature_request",
    "billing",
    "performance",
    "ux",
    "praise",
    "other",
];
pub const SOURCES: [&str; 6] = ["zendesk", "intercom", "standard", "app_store", "google_play", "email"];
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
/// Default and largest window of `GET /v1/metrics/feedback`, in days (both ends included).
pub const DEFAULT_METRICS_DAYS: i64 = 30;
pub const MAX_METRICS_DAYS: i64 = metrics::RETENTION_DAYS as i64;

/// The per-day counters table.
#[derive(Clone)]
pub struct MetricsTable {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
}

/// The filters and page of `GET /v1/tickets`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<&'static str>,
    pub priority: Option<&'static str>,
    pub category: Option<&'static str>,
    pub source: Option<&'static str>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
    pub after: Option<Cursor>,
}

/// Where a page ends: the last ticket's (received_at, id). Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub received_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.received_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once('|')?;
        Some(Self {
            received_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

impl ListQuery {
    /// From the query string (`get` answers a parameter's first value).
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, ApiError> {
        let since = get("since")
            .map(|raw| {
                let raw = raw.trim();
                DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
                    .filter(|t| sluice_web::request::QUERY_DATE_YEARS.contains(&t.year()))
                    .or_else(|| {
                        sluice_web::query_date("since", raw)
                            .ok()
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|t| t.and_utc())
                    })
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "since must be a date (2026-11-22) or an RFC 3339 time (2026-11-22T10:00:00Z)",
                        )
                    })
            })
            .transpose()?;
        let limit = match get("limit") {
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::invalid(format!("limit must be a number from 1 to {MAX_LIMIT}")))?,
            None => DEFAULT_LIMIT,
        };
        let after = get("cursor")
            .map(|raw| Cursor::decode(raw).ok_or_else(|| ApiError::invalid("cursor is not one this API gave out")))
            .transpose()?;
        Ok(Self {
            status: one_of("status", get("status"), &STATUSES)?,
            priority: one_of("priority", get("priority"), &PRIORITIES)?,
            category: one_of("category", get("category"), &CATEGORIES)?,
            source: one_of("source", get("source"), &SOURCES)?,
            since,
            limit,
            after,
        })
    }
}

/// The body of `PATCH /v1/tickets/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub status: Option<String>,
    pub priority: Option<String>,
}

impl TicketPatch {
    /// (status, priority), validated; at least one.
    pub fn parse(&self) -> Result<(Option<&'static str>, Option<&'static str>), ApiError> {
        let status = one_of("status", self.status.as_deref(), &STATUSES)?;
        let priority = one_of("priority", self.priority.as_deref(), &PRIORITIES)?;
        if status.is_none() && priority.is_none() {
            return Err(ApiError::invalid("give status, priority or both"));
        }
        Ok((status, priority))
    }
}

/// `from`..=`to` of the metrics route: ISO dates, the last 30 days by default, 90 at most.
pub fn metrics_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let days_before = |d: NaiveDate| d - Duration::days(DEFAULT_METRICS_DAYS - 1);
    // Dates come from `query_date` (years 1900..=2999): a 30-day step cannot overflow.
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, (f + Duration::days(DEFAULT_METRICS_DAYS - 1)).min(today.max(f))),
        (None, Some(t)) => (days_before(t), t),
        (None, None) => (days_before(today), today),
    };
    if from > to {
        return Err(ApiError::invalid("from must not be after to"));
    }
    if (to - from).num_days() + 1 > MAX_METRICS_DAYS {
        return Err(ApiError::invalid(format!(
            "ask for at most {MAX_METRICS_DAYS} days at a time (counters are kept that long)"
        )));
    }
    Ok((from, to))
}

const TICKET_COLUMNS: &str =
    "id, source, external_id, revision, status, priority, priority_set_by, category, sentiment,
    summary, language, author, rating, subject, link, received_at, triaged_at, model, created_at, updated_at, text";

fn ticket_json(r: &tokio_postgres::Row, with_text: bool) -> Value {
    // Stored as a 4-byte float; shown to the two decimals the model means.
    let sentiment = (f64::from(r.get::<_, f32>(8)) * 100.0).round() / 100.0;
    let mut ticket = json!({
        "id": r.get::<_, Uuid>(0),
        "source": r.get::<_, String>(1),
        "external_id": r.get::<_, String>(2),
        "revision": r.get::<_, String>(3),
        "status": r.get::<_, String>(4),
        "priority": r.get::<_, String>(5),
        "priority_set_by": r.get::<_, Option<String>>(6),
        "category": r.get::<_, String>(7),
        "sentiment": sentiment,
        "sentiment_bucket": SentimentBucket::of(r.get::<_, f32>(8)),
        "summary": r.get::<_, String>(9),
        "language": r.get::<_, String>(10),
        "author": r.get::<_, Option<String>>(11),
        "rating": r.get::<_, Option<i16>>(12),
        "subject": r.get::<_, Option<String>>(13),
        "link": r.get::<_, Option<String>>(14),
        "received_at": r.get::<_, DateTime<Utc>>(15),
        "triaged_at": r.get::<_, DateTime<Utc>>(16),
        "model": r.get::<_, String>(17),
        "created_at": r.get::<_, DateTime<Utc>>(18),
        "updated_at": r.get::<_, DateTime<Utc>>(19),
    });
    if with_text {
        ticket["text"] = json!(r.get::<_, String>(20));
    }
    ticket
}

fn no_ticket(raw: &str) -> ApiError {
    ApiError::not_found(format!("no ticket {raw}"))
}

fn ticket_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| no_ticket(raw))
}

/// `GET /v1/tickets`.
pub async fn list(State(api): State<Arc<ApiState>>, _team: Team, query: QueryParams) -> Result<Response, ApiError> {
    query.only(&["status", "priority", "category", "source", "since", "limit", "cursor"])?;
    let q = ListQuery::parse(|k| query.first(k))?;
    let client = api.pool.get().await?;
    {
        let rows = client
            .query(
                &format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets
                     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR priority = $2)
                       AND ($3::text IS NULL OR category = $3) AND ($4::text IS NULL OR source = $4)
                       AND ($5::timestamptz IS NULL OR received_at >= $5)
                       AND ($6::timestamptz IS NULL OR (received_at, id) < ($6, $7::uuid))
                     ORDER BY received_at DESC, id DESC LIMIT $8"
                ),
                &[
                    &q.status,
                    &q.priority,
                    &q.category,
                    &q.source,
                    &q.since,
                    &q.after.map(|c| c.received_at),
                    &q.after.map(|c| c.id),
                    &(q.limit + 1),
                ],
            )
            .await?;
        let more = rows.len() as i64 > q.limit;
        let page = &rows[..rows.len().min(q.limit as usize)];
        let next_cursor = match page.last() {
            Some(last) if more => Some(
                Cursor {
                    received_at: last.get(15),
                    id: last.get(0),
                }
                .encode(),
            ),
            _ => None,
        };
        let items: Vec<Value> = page.iter().map(|r| ticket_json(r, false)).collect();
        Ok(json(
            StatusCode::OK,
            &json!({ "items": items, "next_cursor": next_cursor }),
        ))
    }
}

/// `GET /v1/tickets/{id}`: the ticket, its text and its processing log.
pub async fn get(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = ticket_id(&raw_id)?;
    let client = api.pool.get().await?;
    Ok(json(StatusCode::OK, &full_ticket(&client, id).await?))
}

async fn full_ticket<C: deadpool_postgres::GenericClient>(client: &C, id: Uuid) -> Result<Value, ApiError> {
    {
        let row = client
            .query_opt(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"), &[&id])
            .await?
            .ok_or_else(|| no_ticket(&id.to_string()))?;
        let log = client
            .query(
                "SELECT id, action, actor, details, duration_ms, created_at FROM processing_logs
                 WHERE ticket_id = $1 ORDER BY id",
                &[&id],
            )
            .await?;
        let mut ticket = ticket_json(&row, true);
        ticket["log"] = log
            .iter()
            .map(|r| {
                json!({
                    "id": r.get::<_, i64>(0),
                    "action": r.get::<_, String>(1),
                    "actor": r.get::<_, String>(2),
                    "details": r.get::<_, Value>(3),
                    "duration_ms": r.get::<_, Option<i64>>(4),
                    "at": r.get::<_, DateTime<Utc>>(5),
                })
            })
            .collect();
        Ok(ticket)
    }
}

/// `PATCH /v1/tickets/{id}`: a person sets status and/or priority; each change is logged.
pub async fn update(
    State(api): State<Arc<ApiState>>,
    Team(caller): Team,
    Path(raw_id): Path<String>,
    JsonBody(patch): JsonBody<TicketPatch>,
) -> Result<Response, ApiError> {
    {
        let id = ticket_id(&raw_id)?;
        let (status, priority) = patch.parse()?;
        let mut client = api.pool.get().await?;
        let tx = client.transaction().await?;
        let current = tx
            .query_opt("SELECT status, priority FROM tickets WHERE id = $1 FOR UPDATE", &[&id])
            .await?
            .ok_or_else(|| no_ticket(&raw_id))?;
        let (old_status, old_priority): (String, String) = (current.get(0), current.get(1));
        let log = |action: &'static str, field: &'static str, from: String, to: &'static str| {
            (action, json!({ "field": field, "from": from, "to": to }))
        };
        let mut changes = Vec::new();
        if let Some(to) = status.filter(|s| *s != old_status) {
            tx.execute(
                "UPDATE tickets SET status = $2, updated_at = now() WHERE id = $1",
                &[&id, &to],
            )
            .await?;
            changes.push(log("status_changed", "status", old_status, to));
        }
        if let Some(to) = priority.filter(|p| *p != old_priority) {
            tx.execute(
                "UPDATE tickets SET priority = $2, priority_set_by = $3, updated_at = now() WHERE id = $1",
                &[&id, &to, &caller.user_id],
            )
            .await?;
            changes.push(log("priority_changed", "priority", old_priority, to));
        }
        for (action, details) in &changes {
            tx.execute(
                "INSERT INTO processing_logs (ticket_id, action, actor, details) VALUES ($1, $2, $3, $4)",
                &[&id, action, &caller.user_id, details],
            )
            .await?;
        }
        let ticket = full_ticket(&tx, id).await?;
        tx.commit().await?;
        tracing::info!(ticket_id = %id, user = %caller.user_id, changes = changes.len(), "ticket updated");
        Ok(json(StatusCode::OK, &ticket))
    }
}

/// `GET /v1/metrics/feedback?from=&to=`: one `Query` per day, folded into days and totals.
pub async fn metrics(State(api): State<Arc<ApiState>>, _team: Team, query: QueryParams) -> Result<Response, ApiError> {
    query.only(&["from", "to"])?;
    {
        let (from, to) = metrics_range(query.date("from")?, query.date("to")?, api.clock.today())?;
        let table = &api.feedback_metrics;
        let per_day: Vec<Vec<(String, String, i64)>> = futures::stream::iter(metrics::days(from, to))
            .map(|day| table.day(day))
            .buffered(8)
            .try_collect()
            .await?;
        let answer = metrics::fold(from, to, per_day.into_iter().flatten());
        Ok(json(StatusCode::OK, &serde_json::to_value(answer)?))
    }
}

impl MetricsTable {
    /// Every counter of one day: (pk, sk, count).
    async fn day(&self, day: NaiveDate) -> Result<Vec<(String, String, i64)>, ApiError> {
        let pk = metrics::day_pk(day);
        let pages: Vec<_> = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(pages
            .into_iter()
            .filter_map(|item| {
                let sk = item.get("sk")?.as_s().ok()?.clone();
                let count = item.get(metrics::COUNT_ATTR)?.as_n().ok()?.parse().ok()?;
                Some((pk.clone(), sk, count))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<ListQuery, ApiError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ListQuery::parse(|k| map.get(k).map(String::as_str))
    }

    #[test]
    fn list_filters_are_validated() {
        let q = parse(&[]).unwrap();
        assert_eq!((q.limit, q.status, q.after), (DEFAULT_LIMIT, None, None));
        let q = parse(&[
            ("status", "open"),
            ("priority", "P0"),
            ("category", "bug"),
            ("source", "app_store"),
            ("since", "2026-11-01"),
            ("limit", "200"),
        ])
        .unwrap();
        assert_eq!(
            (q.status, q.priority, q.category, q.source, q.limit),
            (Some("open"), Some("P0"), Some("bug"), Some("app_store"), 200)
        );
        assert_eq!(q.since.unwrap().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert!(parse(&[("since", "2026-11-01T10:00:00+02:00")]).is_ok());
        for bad in [
            ("status", "done"),
            ("priority", "P4"),
            ("category", "rant"),
            ("source", "twitter"),
            ("since", "yesterday"),
            ("limit", "0"),
            ("limit", "201"),
            ("limit", "ten"),
            ("cursor", "not-a-cursor"),
        ] {
            assert!(matches!(parse(&[bad]), Err(ApiError::InvalidRequest(_))), "{bad:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_stay_opaque() {
        let c = Cursor {
            received_at: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        let encoded = c.encode();
        assert!(encoded
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
        assert_eq!(Cursor::decode(&encoded), Some(c));
        assert_eq!(parse(&[("cursor", &encoded)]).unwrap().after, Some(c));
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x|y");
        assert_eq!(Cursor::decode(&forged), None);
    }

    #[test]
    fn patches_need_a_known_status_or_priority() {
        let p = |s: Option<&str>, pr: Option<&str>| TicketPatch {
            status: s.map(str::to_owned),
            priority: pr.map(str::to_owned),
        };
        assert_eq!(p(Some("resolved"), None).parse().unwrap(), (Some("resolved"), None));
        assert_eq!(p(None, Some("P1")).parse().unwrap(), (None, Some("P1")));
        assert!(p(None, None).parse().is_err());
        assert!(p(Some("done"), None).parse().is_err());
        assert!(serde_json::from_str::<TicketPatch>(r#"{"status":"open","owner":"me"}"#).is_err());
    }

    #[test]
    fn metrics_ranges_default_to_thirty_days_and_stop_at_ninety() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(metrics_range(None, None, today).unwrap(), (d("2026-10-24"), today));
        assert_eq!(
            metrics_range(Some(d("2026-11-01")), Some(d("2026-11-05")), today).unwrap(),
            (d("2026-11-01"), d("2026-11-05"))
        );
        assert_eq!(
            metrics_range(Some(d("2026-11-20")), None, today).unwrap(),
            (d("2026-11-20"), today)
        );
        assert_eq!(
            metrics_range(None, Some(d("2026-01-30")), today).unwrap(),
            (d("2026-01-01"), d("2026-01-30"))
        );
        assert!(metrics_range(Some(d("2026-08-25")), Some(d("2026-11-22")), today).is_ok());
        assert!(metrics_range(Some(d("2026-08-24")), Some(d("2026-11-22")), today).is_err());
        assert!(metrics_range(Some(d("2026-11-05")), Some(d("2026-11-01")), today).is_err());
    }
}
