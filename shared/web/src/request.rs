//! What a handler reads from a request, bounded and validated, refusing with the one
//! problem mapping: a JSON body (413 over [`MAX_BODY_BYTES`], 400 when it is not
//! valid JSON of the expected type, unknown fields included), the raw body (webhook
//! signatures are computed over the exact bytes), and query parameters (unknown ones
//! and bad values are 400, never a 500).

use crate::problem::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body exactly as the client sent it, at most [`MAX_BODY_BYTES`].
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map(RawBody)
            .map_err(|_| ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES })
    }
}

/// A JSON body of `T`, parsed strictly (`T` uses `deny_unknown_fields`).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))
    }
}

/// The query string's parameters (a repeated name keeps its first value).
#[derive(Debug, Clone, Default)]
pub struct QueryParams(BTreeMap<String, String>);

impl QueryParams {
    pub fn parse(query: &str) -> Self {
        let mut params = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            params.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Self(params)
    }

    /// A parameter's value, when present and not blank.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// 400 naming the first parameter the route does not know.
    pub fn only(&self, known: &[&str]) -> Result<&Self, ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::invalid(format!(
                "unknown query parameter `{unknown}`; this route takes {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))),
            None => Ok(self),
        }
    }

    /// A parameter parsed into `T`, or 400 naming it and what it should look like.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>, ApiError> {
        self.first(name)
            .map(|raw| {
                raw.trim()
                    .parse::<T>()
                    .map_err(|_| ApiError::invalid(format!("{name} must be {expected}")))
            })
            .transpose()
    }

    /// A calendar date parameter (see [`query_date`]).
    pub fn date(&self, name: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
        self.first(name).map(|raw| query_date(name, raw)).transpose()
    }
}

/// The years a date in a query string may name. Anything outside is a 400 naming the
/// parameter: no arithmetic further on (a default range, a day count) can overflow.
pub const QUERY_DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// A calendar date (`2026-01-31`) within [`QUERY_DATE_YEARS`], or 400 naming `name`.
pub fn query_date(name: &str, raw: &str) -> Result<chrono::NaiveDate, ApiError> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| QUERY_DATE_YEARS.contains(&d.year()))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "{name} must be a date like 2026-01-31, in the years {} to {}",
                QUERY_DATE_YEARS.start(),
                QUERY_DATE_YEARS.end()
            ))
        })
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn query_dates_outside_the_sensible_years_are_refused_by_name() {
        assert_eq!(
            query_date("to", " 2026-01-31 ").ok(),
            chrono::NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        for raw in [
            "-262143-01-01",
            "+262142-12-31",
            "0000-01-01",
            "1899-12-31",
            "3000-01-01",
            "22/11/2026",
            "",
        ] {
            let refused = query_date("to", raw).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains("to must be a date"), "{raw:?}: {refused}");
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        ticker: String,
    }

    async fn json(body: String) -> Result<JsonBody<Example>, ApiError> {
        JsonBody::from_request(http::Request::post("/").body(Body::from(body)).unwrap(), &()).await
    }

    #[tokio::test]
    async fn bodies_are_parsed_strictly_and_bounded() {
        assert!(json(r#"{"ticker":"AAPL"}"#.into()).await.is_ok());
        assert!(matches!(json("{nope".into()).await, Err(ApiError::MalformedJson(_))));
        assert!(matches!(
            json(r#"{"ticker":"AAPL","extra":1}"#.into()).await,
            Err(ApiError::MalformedJson(_))
        ));
        let big = format!(r#"{{"ticker":"{}"}}"#, "A".repeat(MAX_BODY_BYTES));
        assert!(matches!(json(big).await, Err(ApiError::PayloadTooLarge { .. })));
    }

    #[test]
    fn query_parameters_are_validated_with_their_names() {
        let q = QueryParams::parse("from=2026-01-31&to=-262143-01-01&limit=x&limit=3&blank=");
        assert_eq!(
            q.date("from").unwrap(),
            Some(chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap())
        );
        assert!(q.date("to").unwrap_err().to_string().contains("to must be a date"));
        assert!(q.date("nope").unwrap().is_none());
        assert!(q.parsed::<i64>("limit", "a number").is_err());
        assert_eq!(q.first("blank"), None);
        let err = q.only(&["from", "to"]).unwrap_err().to_string();
        assert!(err.contains("`blank`"), "{err}");
        assert!(QueryParams::parse("from=1").only(&["from"]).is_ok());
        assert!(QueryParams::parse("to=99999-01-01").date("to").is_err());
    }
}
