//! What every list route shares: a page size, an opaque keyset cursor, and the answer
//! as a JSON page (`items`, `next_cursor`) or, with `Accept: text/csv`, every matching
//! row as CSV streamed straight from PostgreSQL (`query_raw`: rows are read from the
//! socket as the client takes them, so an export of any size runs in constant memory).
//!
//! A list route's SQL answers two columns per row: the item as `jsonb` (decimals as
//! text, so no digit is lost to a double) and its cursor key as a `jsonb` array. Its last
//! parameter is the row limit: the page size plus one for JSON, `NULL` (no limit) for CSV.

use crate::ApiState;
use axum::body::Body;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use http::StatusCode;
use serde_json::{json, Value};
use sluice_web::{json, ApiError, QueryParams};
use tokio_postgres::types::ToSql;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
/// A CSV chunk is sent once it holds this many bytes.
const CSV_CHUNK_BYTES: usize = 64 * 1024;

/// How the client wants a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One page of items and the cursor of the next.
    Json,
    /// Every matching row (from the cursor on, when one is given), streamed.
    Csv,
}

impl Format {
    /// CSV when `Accept` names `text/csv`; JSON otherwise.
    pub fn of(headers: &HeaderMap) -> Self {
        let wants_csv = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|media| {
                media
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
            });
        if wants_csv {
            Self::Csv
        } else {
            Self::Json
        }
    }
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn limit(query: &QueryParams) -> Result<i64, ApiError> {
    let expected = format!("a number from 1 to {MAX_LIMIT}");
    match query.parsed::<i64>("limit", &expected)? {
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(format!("limit must be {expected}"))),
        None => Ok(DEFAULT_LIMIT),
    }
}

/// Where a page ends: the last item's sort key (a JSON array), base64url. Opaque to clients.
pub fn encode_cursor(key: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

/// The `cursor` parameter's key, read by `read` (`None` when the cursor is not one this
/// API gave out for this route: a 400).
pub fn cursor<T>(query: &QueryParams, read: impl Fn(&[Value]) -> Option<T>) -> Result<Option<T>, ApiError> {
    let Some(raw) = query.first("cursor") else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|key| key.as_array().and_then(|parts| read(parts)))
        .map(Some)
        .ok_or_else(|| ApiError::invalid("cursor is not one this route gave out"))
}

/// A parameter of a list query, owned so it can outlive the handler's borrows.
pub type Param = Box<dyn ToSql + Sync + Send>;

/// A list route's query: SQL whose last placeholder is the row limit, how a row becomes
/// an item and a cursor key (by default: the first two columns, both `jsonb`), and the
/// item fields a CSV export has as columns.
pub struct Listing {
    pub sql: String,
    pub params: Vec<Param>,
    pub item: fn(&tokio_postgres::Row) -> Result<Value, tokio_postgres::Error>,
    pub key: fn(&tokio_postgres::Row) -> Result<Value, tokio_postgres::Error>,
    /// The CSV columns, in order: keys of each item (nested values are written as JSON).
    pub columns: &'static [&'static str],
    /// The name a CSV download is saved under.
    pub file_name: &'static str,
}

/// What a list query answered.
pub enum Answer {
    /// A page, for the route to finish (add links) before [`page_response`].
    Page {
        items: Vec<Value>,
        next_cursor: Option<String>,
    },
    /// The CSV export, already streaming.
    Csv(Response),
}

impl Listing {
    /// A query answering (item jsonb, cursor key jsonb) per row.
    pub fn jsonb(sql: String, params: Vec<Param>, columns: &'static [&'static str], file_name: &'static str) -> Self {
        Self {
            sql,
            params,
            item: |r| r.try_get(0),
            key: |r| r.try_get(1),
            columns,
            file_name,
        }
    }

    /// Runs the query: a page of `limit` for JSON, every row for CSV.
    pub async fn run(mut self, api: &ApiState, format: Format, limit: i64) -> Result<Answer, ApiError> {
        let client = api.pool.get().await?;
        self.params.push(Box::new(match format {
            Format::Json => Some(limit + 1),
            Format::Csv => None::<i64>,
        }));
        let rows = client
            .query_raw(&self.sql, self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)))
            .await?;
        match format {
            Format::Json => {
                let rows: Vec<tokio_postgres::Row> =
                    rows.collect::<Vec<_>>().await.into_iter().collect::<Result<_, _>>()?;
                drop(client);
                let more = rows.len() as i64 > limit;
                let page = &rows[..rows.len().min(limit as usize)];
                let next_cursor = match page.last() {
                    Some(last) if more => Some(encode_cursor(&(self.key)(last)?)),
                    _ => None,
                };
                let items = page.iter().map(self.item).collect::<Result<Vec<_>, _>>()?;
                Ok(Answer::Page { items, next_cursor })
            }
            Format::Csv => Ok(Answer::Csv(csv_response(
                client,
                rows,
                self.item,
                self.columns,
                self.file_name,
            ))),
        }
    }

    /// Runs the query and answers it as it is.
    pub async fn respond(self, api: &ApiState, format: Format, limit: i64) -> Result<Response, ApiError> {
        Ok(match self.run(api, format, limit).await? {
            Answer::Page { items, next_cursor } => page_response(items, next_cursor),
            Answer::Csv(response) => response,
        })
    }
}

/// A JSON page.
pub fn page_response(items: Vec<Value>, next_cursor: Option<String>) -> Response {
    json(StatusCode::OK, &json!({ "items": items, "next_cursor": next_cursor }))
}

/// One CSV field of an item's value: text as it is (defused if a spreadsheet would run it
/// as a formula: company names and KPI labels come from uploaded files), numbers and
/// booleans as written, nothing for null, anything nested as its JSON.
fn csv_field(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => sluice_web::spreadsheet::cell(s).into_owned(),
        Some(other) => other.to_string(),
    }
}

/// The rows of `rows` as a CSV body, a chunk at a time. The connection stays with the
/// stream until its last row is sent (or the client goes away and the body is dropped).
fn csv_response(
    client: deadpool_postgres::Object,
    rows: tokio_postgres::RowStream,
    item: fn(&tokio_postgres::Row) -> Result<Value, tokio_postgres::Error>,
    columns: &'static [&'static str],
    file_name: &'static str,
) -> Response {
    let header = {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(columns);
        w.into_inner().unwrap_or_default()
    };
    let body_rows = futures::stream::unfold(Some((client, Box::pin(rows))), move |state| async move {
        let (client, mut rows) = state?;
        let mut w = csv::Writer::from_writer(Vec::with_capacity(CSV_CHUNK_BYTES + 1024));
        loop {
            match rows.next().await {
                Some(Ok(row)) => {
                    let item: Value = match item(&row) {
                        Ok(item) => item,
                        Err(e) => return Some((Err(export_failed(e)), None)),
                    };
                    let record: Vec<String> = columns.iter().map(|c| csv_field(item.get(*c))).collect();
                    if let Err(e) = w.write_record(&record) {
                        return Some((Err(export_failed(e)), None));
                    }
                    if w.get_ref().len() >= CSV_CHUNK_BYTES {
                        let chunk = w.into_inner().unwrap_or_default();
                        return Some((Ok(Bytes::from(chunk)), Some((client, rows))));
                    }
                }
                Some(Err(e)) => return Some((Err(export_failed(e)), None)),
                None => {
                    let chunk = w.into_inner().unwrap_or_default();
                    drop(client);
                    return (!chunk.is_empty()).then(|| (Ok(Bytes::from(chunk)), None));
                }
            }
        }
    });
    let stream = futures::stream::once(async move { Ok(Bytes::from(header)) }).chain(body_rows);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    response
}

/// A failure after the answer started: logged; the body ends early, so the client sees a
/// broken transfer rather than a file that looks complete.
fn export_failed(e: impl std::fmt::Display) -> std::io::Error {
    tracing::error!(error = %e, "CSV export failed part-way");
    std::io::Error::other("the export failed part-way")
}

/// Refuses a value not in `allowed`, naming the parameter.
pub fn one_of(name: &str, raw: Option<&str>, allowed: &[&'static str]) -> Result<Option<&'static str>, ApiError> {
    match raw {
        None => Ok(None),
        Some(value) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value.trim()))
            .map(|a| Some(*a))
            .ok_or_else(|| ApiError::invalid(format!("{name} must be one of {}", allowed.join(", ")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_chosen_by_the_accept_header_only() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
            Format::of(&h)
        };
        assert_eq!(Format::of(&HeaderMap::new()), Format::Json);
        assert_eq!(with("application/json"), Format::Json);
        assert_eq!(with("text/csv"), Format::Csv);
        assert_eq!(with("application/json;q=0.5, TEXT/CSV; charset=utf-8"), Format::Csv);
        assert_eq!(with("text/csvx"), Format::Json);
    }

    #[test]
    fn cursors_round_trip_and_forged_ones_are_refused() {
        let key = json!(["2026-03-31", 42]);
        let q = QueryParams::parse(&format!("cursor={}", encode_cursor(&key)));
        let read = |parts: &[Value]| Some((parts.first()?.as_str()?.to_owned(), parts.get(1)?.as_i64()?));
        assert_eq!(cursor(&q, read).unwrap(), Some(("2026-03-31".to_owned(), 42)));
        for forged in ["nope", "eyJ4IjoxfQ", &encode_cursor(&json!([1, 2]))] {
            let q = QueryParams::parse(&format!("cursor={forged}"));
            assert!(matches!(cursor(&q, read), Err(ApiError::InvalidRequest(_))), "{forged}");
        }
        assert_eq!(cursor(&QueryParams::default(), read).unwrap(), None);
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(limit(&QueryParams::default()).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(&QueryParams::parse("limit=200")).unwrap(), 200);
        for bad in ["limit=0", "limit=201", "limit=x", "limit=-1"] {
            assert!(limit(&QueryParams::parse(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_fields_keep_text_and_digits() {
        assert_eq!(csv_field(Some(&json!("1300.50"))), "1300.50");
        assert_eq!(csv_field(Some(&json!(null))), "");
        assert_eq!(csv_field(None), "");
        assert_eq!(csv_field(Some(&json!(3))), "3");
        assert_eq!(csv_field(Some(&json!({"a": 1}))), r#"{"a":1}"#);
        assert_eq!(csv_field(Some(&json!("=cmd|' /C calc'!A0"))), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field(Some(&json!("-12.5"))), "-12.5");
    }
}
