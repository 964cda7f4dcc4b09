//! The HTTP API (API Gateway HTTP API in AWS, the runner's HTTP front locally).
//! Every route needs an authenticated [`Caller`]; every refusal is an [`ApiError`]
//! rendered as problem+json by one mapping.

pub mod analyses;
pub mod caller;
pub mod problem;
pub mod tickets;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use base64::Engine;
use caller::Caller;
use deadpool_postgres::Pool;
use problem::{json_response, ApiError};
use serde::de::DeserializeOwned;
use serde_json::json;
use sluice_messages::{Dataset, Money, Ticker, UserTier};

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct Api {
    pub pool: Pool,
    pub market: Option<price_updater::MarketData>,
    pub analyses: analyses::Analyses,
    /// Feedback intake, when the feedback queue is configured.
    pub feedback: Option<crate::feedback::FeedbackIntake>,
    /// Feedback tickets and their per-day metrics (team members).
    pub tickets: tickets::Tickets,
}

/// The routes, as `METHOD /path` with `{param}` segments: also what openapi.yaml documents.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/me"),
    ("GET", "/v1/data-versions"),
    ("GET", "/v1/data-versions/{id}"),
    ("GET", "/v1/quotes/{ticker}"),
    ("GET", "/v1/prices/{ticker}"),
    ("POST", "/v1/analyses"),
    ("GET", "/v1/analyses/{id}"),
    ("GET", "/v1/tasks/{id}"),
    ("GET", "/v1/filings"),
    ("POST", "/v1/webhooks/{source}"),
    ("GET", "/v1/tickets"),
    ("GET", "/v1/tickets/{id}"),
    ("PATCH", "/v1/tickets/{id}"),
    ("GET", "/v1/metrics/feedback"),
];

impl Api {
    pub async fn handle(&self, request: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let path = request.raw_path.clone().unwrap_or_else(|| "/".into());
        let span = tracing::info_span!("http", method = %request.request_context.http.method, path = %path,
            request_id = request.request_context.request_id.as_deref().unwrap_or("-"));
        let _entered = span.enter();
        match self.route(request, &path).await {
            Ok(response) => response,
            Err(e) => e.into_response(&path),
        }
    }

    async fn route(&self, request: &ApiGatewayV2httpRequest, path: &str) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let method = request.request_context.http.method.as_str();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let matched = ROUTES.iter().find(|(_, pattern)| matches_pattern(pattern, &segments));
        let Some((route_method, pattern)) = matched else {
            return Err(ApiError::NotFound);
        };
        if !ROUTES.iter().any(|(m, p)| p == pattern && *m == method) {
            let _ = route_method;
            return Err(ApiError::MethodNotAllowed);
        }
        // Webhooks carry the sender's signature instead of a user's token.
        if *pattern == "/v1/webhooks/{source}" {
            let intake = self
                .feedback
                .as_ref()
                .ok_or_else(|| ApiError::internal("FEEDBACK_QUEUE_URL is not configured"))?;
            return intake
                .webhook(segments.get(2).copied().unwrap_or_default(), request)
                .await;
        }
        let caller = authenticated(request)?;
        self.touch_account(&caller).await?;
        match (method, *pattern) {
            ("GET", "/v1/me") => self.me(&caller).await,
            ("GET", "/v1/data-versions") => self.list_data_versions(&caller, request).await,
            ("GET", "/v1/data-versions/{id}") => {
                let id = segments
                    .get(2)
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or(ApiError::NotFound)?;
                self.data_version(&caller, id).await
            }
            ("GET", "/v1/quotes/{ticker}") => self.quote(segments.get(2).copied().unwrap_or_default()).await,
            ("GET", "/v1/prices/{ticker}") => self.prices(segments.get(2).copied().unwrap_or_default(), request).await,
            ("POST", "/v1/analyses") => self.analyses.request(&caller, json_body(request)?).await,
            ("GET", "/v1/analyses/{id}") => {
                self.analyses
                    .analysis(&caller, segments.get(2).copied().unwrap_or_default())
                    .await
            }
            ("GET", "/v1/tasks/{id}") => {
                self.analyses
                    .task(&caller, segments.get(2).copied().unwrap_or_default())
                    .await
            }
            ("GET", "/v1/filings") => {
                let q = &request.query_string_parameters;
                self.analyses.filings(&caller, q.first("ticker"), q.first("cik")).await
            }
            ("GET", "/v1/tickets") => self.tickets.list(&caller, &request.query_string_parameters).await,
            ("GET", "/v1/tickets/{id}") => {
                self.tickets
                    .get(&caller, segments.get(2).copied().unwrap_or_default())
                    .await
            }
            ("PATCH", "/v1/tickets/{id}") => {
                let id = segments.get(2).copied().unwrap_or_default();
                self.tickets.update(&caller, id, json_body(request)?).await
            }
            ("GET", "/v1/metrics/feedback") => self.tickets.metrics(&caller, &request.query_string_parameters).await,
            _ => Err(ApiError::NotFound),
        }
    }

    fn market(&self) -> Result<&price_updater::MarketData, ApiError> {
        self.market
            .as_ref()
            .ok_or_else(|| ApiError::internal("QUOTE_CACHE_TABLE is not configured"))
    }

    /// The latest quote: the cache when fresh, else the latest stored daily bar.
    async fn quote(&self, raw_ticker: &str) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let ticker = Ticker::parse(raw_ticker).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        let quote = self
            .market()?
            .quote(&ticker)
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::NotFound)?;
        Ok(json_response(
            200,
            &serde_json::to_value(quote).map_err(ApiError::internal)?,
        ))
    }

    /// Daily bars between `from` and `to` (ISO dates; the last 30 days by default).
    async fn prices(
        &self,
        raw_ticker: &str,
        request: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let ticker = Ticker::parse(raw_ticker).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        let date = |name: &str| -> Result<Option<chrono::NaiveDate>, ApiError> {
            request
                .query_string_parameters
                .first(name)
                .map(|raw| {
                    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .map_err(|_| ApiError::InvalidRequest(format!("{name} must be a date like 2026-01-31")))
                })
                .transpose()
        };
        let to = date("to")?.unwrap_or_else(|| chrono::Utc::now().date_naive());
        let from = date("from")?.unwrap_or(to - chrono::Duration::days(30));
        if from > to {
            return Err(ApiError::InvalidRequest("from must not be after to".into()));
        }
        if (to - from).num_days() > 366 * 20 {
            return Err(ApiError::InvalidRequest("ask for at most 20 years at a time".into()));
        }
        let bars = self
            .market()?
            .prices(&ticker, from, to)
            .await
            .map_err(ApiError::internal)?;
        Ok(json_response(
            200,
            &json!({ "ticker": ticker, "from": from, "to": to, "items": bars }),
        ))
    }

    /// Creates the account on first use, from the claims.
    async fn touch_account(&self, caller: &Caller) -> Result<(), ApiError> {
        let client = self.pool.get().await.map_err(ApiError::internal)?;
        let credits = caller.tier.policy().monthly_credits.micros();
        client
            .execute(
                "INSERT INTO user_accounts (user_id, email, tier, credit_balance_micros, team_member)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (user_id) DO UPDATE SET last_seen_at = now(), email = EXCLUDED.email,
                     tier = EXCLUDED.tier, team_member = EXCLUDED.team_member,
                     updated_at = CASE WHEN (user_accounts.tier, user_accounts.team_member)
                         IS DISTINCT FROM (EXCLUDED.tier, EXCLUDED.team_member) THEN now() ELSE user_accounts.updated_at END",
                &[
                    &caller.user_id,
                    &caller.email.as_ref().map(|e| e.as_str()),
                    &caller.tier.as_str(),
                    &credits,
                    &caller.team_member,
                ],
            )
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    }

    async fn me(&self, caller: &Caller) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let client = self.pool.get().await.map_err(ApiError::internal)?;
        let row = client
            .query_one(
                "SELECT credit_balance_micros, created_at FROM user_accounts WHERE user_id = $1",
                &[&caller.user_id],
            )
            .await
            .map_err(ApiError::internal)?;
        let balance = Money::from_micros(row.get(0));
        let created: chrono::DateTime<chrono::Utc> = row.get(1);
        let policy = caller.tier.policy();
        let usage = analyses::usage(&self.pool, caller).await?;
        Ok(json_response(
            200,
            &json!({
                "user_id": caller.user_id,
                "email": caller.email.as_ref().map(|e| e.as_str()),
                "tier": caller.tier.as_str(),
                "team_member": caller.team_member,
                "credit_balance": {"micros": balance.micros(), "display": balance.to_string()},
                "limits": policy,
                "usage": usage,
                "member_since": created,
            }),
        ))
    }

    async fn list_data_versions(
        &self,
        caller: &Caller,
        request: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        require_team(caller)?;
        let dataset = match request.query_string_parameters.first("dataset") {
            Some(d) => Some(Dataset::parse(d).map_err(|e| ApiError::InvalidRequest(e.to_string()))?),
            None => None,
        };
        let limit: i64 = match request.query_string_parameters.first("limit") {
            Some(l) => l
                .parse()
                .ok()
                .filter(|n| (1..=200).contains(n))
                .ok_or_else(|| ApiError::InvalidRequest("limit must be a number from 1 to 200".into()))?,
            None => 50,
        };
        let client = self.pool.get().await.map_err(ApiError::internal)?;
        let rows = client
            .query(
                &format!("{DATA_VERSION_SELECT} WHERE ($1::text IS NULL OR table_name = $1) ORDER BY version_id DESC LIMIT $2"),
                &[&dataset.map(|d| d.as_str()), &limit],
            )
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<serde_json::Value> = rows.iter().map(data_version_json).collect();
        Ok(json_response(200, &json!({ "items": items })))
    }

    async fn data_version(&self, caller: &Caller, id: i64) -> Result<ApiGatewayV2httpResponse, ApiError> {
        require_team(caller)?;
        let client = self.pool.get().await.map_err(ApiError::internal)?;
        let row = client
            .query_opt(&format!("{DATA_VERSION_SELECT} WHERE version_id = $1"), &[&id])
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::NotFound)?;
        Ok(json_response(200, &data_version_json(&row)))
    }
}

const DATA_VERSION_SELECT: &str = "SELECT version_id, table_name, file_name, s3_path, checksum, imported_by, status,
    failure_reason, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rows_stale, rows_superseded,
    rejects_key, change_report_key, import_timestamp, finished_at FROM data_versions";

fn data_version_json(r: &tokio_postgres::Row) -> serde_json::Value {
    json!({
        "id": r.get::<_, i64>(0),
        "dataset": r.get::<_, Option<String>>(1),
        "file_name": r.get::<_, String>(2),
        "s3_path": r.get::<_, String>(3),
        "checksum": r.get::<_, Option<String>>(4),
        "uploaded_by": r.get::<_, Option<String>>(5),
        "status": r.get::<_, String>(6),
        "failure_reason": r.get::<_, Option<String>>(7),
        "counts": {
            "inserted": r.get::<_, Option<i32>>(8), "updated": r.get::<_, Option<i32>>(9),
            "unchanged": r.get::<_, Option<i32>>(10), "rejected": r.get::<_, Option<i32>>(11),
            "stale": r.get::<_, Option<i32>>(12), "superseded": r.get::<_, Option<i32>>(13),
        },
        "rejects_key": r.get::<_, Option<String>>(14),
        "change_report_key": r.get::<_, Option<String>>(15),
        "received_at": r.get::<_, chrono::DateTime<chrono::Utc>>(16),
        "finished_at": r.get::<_, Option<chrono::DateTime<chrono::Utc>>>(17),
    })
}

fn require_team(caller: &Caller) -> Result<(), ApiError> {
    if caller.team_member || caller.tier == UserTier::Enterprise {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only members of the research team may read spreadsheet loads".into(),
        ))
    }
}

/// The caller, from the claims the JWT authorizer (or the local runner) verified.
pub fn authenticated(request: &ApiGatewayV2httpRequest) -> Result<Caller, ApiError> {
    let claims = request
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .map(|jwt| &jwt.claims)
        .ok_or(ApiError::Unauthenticated)?;
    Caller::from_claims(claims).ok_or(ApiError::Unauthenticated)
}

fn matches_pattern(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    parts.len() == segments.len()
        && parts
            .iter()
            .zip(segments)
            .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
}

/// The body exactly as the client sent it (API Gateway base64-encodes binary bodies),
/// refused over [`MAX_BODY_BYTES`] (413).
pub fn raw_body(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, ApiError> {
    let raw = request.body.as_deref().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| ApiError::MalformedJson("body is not valid base64".into()))?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    Ok(bytes)
}

/// Parses a JSON body strictly: size-limited (413), valid JSON of `T` with no unknown
/// fields (`T` uses `deny_unknown_fields`) (400).
pub fn json_body<T: DeserializeOwned>(request: &ApiGatewayV2httpRequest) -> Result<T, ApiError> {
    serde_json::from_slice(&raw_body(request)?).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        let seg = |p: &str| p.trim_matches('/').split('/').map(str::to_owned).collect::<Vec<_>>();
        let s = seg("/v1/data-versions/42");
        let refs: Vec<&str> = s.iter().map(String::as_str).collect();
        assert!(matches_pattern("/v1/data-versions/{id}", &refs));
        assert!(!matches_pattern("/v1/data-versions", &refs));
        let s = seg("/v1/me/x");
        let refs: Vec<&str> = s.iter().map(String::as_str).collect();
        assert!(!matches_pattern("/v1/me", &refs));
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        ticker: String,
    }

    fn with_body(body: &str) -> ApiGatewayV2httpRequest {
        let mut r = ApiGatewayV2httpRequest::default();
        r.body = Some(body.to_owned());
        r
    }

    #[test]
    fn bodies_are_parsed_strictly() {
        assert!(json_body::<Example>(&with_body(r#"{"ticker":"AAPL"}"#)).is_ok());
        assert!(matches!(
            json_body::<Example>(&with_body("{nope")),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            json_body::<Example>(&with_body(r#"{"ticker":"AAPL","extra":1}"#)),
            Err(ApiError::MalformedJson(_))
        ));
        let big = format!(r#"{{"ticker":"{}"}}"#, "A".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            json_body::<Example>(&with_body(&big)),
            Err(ApiError::PayloadTooLarge { .. })
        ));
    }
}
