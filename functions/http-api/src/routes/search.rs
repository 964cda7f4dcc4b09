//! Ask Sluice's search: `GET /v1/search?q=&ticker=&form=&period=&source=&document=&limit=`.
//! Ranked passages with their citations, from full-text and vector candidates fused by
//! reciprocal rank (`sluice-knowledge`): the same retrieval the chat uses. A caller sees
//! only what they may: team documents with the team group, filings and analyses by their
//! tier (demo: S&P 500 companies only).

use crate::caller::Caller;
use crate::ApiState;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use sluice_knowledge::store::{self, SearchMode, SearchQuery, Source, Visibility};
use sluice_web::{json, ApiError, QueryParams};
use std::sync::Arc;
use uuid::Uuid;

/// The longest question, in characters (a question, not a document).
pub const MAX_QUESTION_CHARS: usize = 2000;
pub const DEFAULT_RESULTS: usize = 10;
pub const MAX_RESULTS: usize = 50;

/// The question, checked: not empty, not longer than [`MAX_QUESTION_CHARS`].
pub fn question(raw: Option<&str>) -> Result<String, ApiError> {
    let q = raw.map(str::trim).unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::invalid("q is required: the question or words to search for"));
    }
    if q.chars().count() > MAX_QUESTION_CHARS {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_QUESTION_CHARS,
        });
    }
    Ok(q.to_owned())
}

pub async fn search(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["q", "ticker", "form", "period", "source", "document", "limit"])?;
    let text = question(query.first("q"))?;
    let source = match query.first("source") {
        None => None,
        Some(s) => {
            Some(Source::parse(s).ok_or_else(|| ApiError::invalid("source must be one of team, filing, analysis"))?)
        }
    };
    if source == Some(Source::Team) && !caller.team_member {
        return Err(ApiError::Forbidden(
            "team documents are for members of the research team".into(),
        ));
    }
    let ticker = query
        .first("ticker")
        .map(sluice_messages::Ticker::parse)
        .transpose()?
        .map(|t| t.as_str().to_owned());
    let document = query
        .first("document")
        .map(|d| Uuid::parse_str(d).map_err(|_| ApiError::invalid("document must be a document id (a UUID)")))
        .transpose()?;
    let limit = match query.parsed::<usize>("limit", "a number from 1 to 50")? {
        None => DEFAULT_RESULTS,
        Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(_) => return Err(ApiError::invalid("limit must be a number from 1 to 50")),
    };
    let search = SearchQuery {
        text,
        ticker,
        form: query.first("form").map(|f| f.trim().to_ascii_uppercase()),
        period: query.first("period").map(str::to_owned),
        source,
        document,
        limit,
        visibility: Visibility {
            team_documents: caller.team_member,
            sp500_only: caller.tier.policy().sp500_only,
        },
    };
    let embedder = api.knowledge.as_ref();
    let vector = embedder
        .embed(std::slice::from_ref(&search.text))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "embedding the question failed");
            ApiError::Unavailable("the search model did not answer; try again shortly".into())
        })?
        .pop()
        .ok_or_else(|| ApiError::internal("no vector for the question"))?;
    let client = api.pool.get().await?;
    let hits = store::search(
        &**client,
        embedder.model_id(),
        embedder.dimensions(),
        &vector,
        &search,
        SearchMode::Hybrid,
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "query": search.text, "model": embedder.model_id(), "results": hits }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_checked() {
        assert!(matches!(question(None), Err(ApiError::InvalidRequest(_))));
        assert!(matches!(question(Some("   ")), Err(ApiError::InvalidRequest(_))));
        assert!(matches!(
            question(Some(&"x".repeat(MAX_QUESTION_CHARS + 1))),
            Err(ApiError::PayloadTooLarge { .. })
        ));
        assert_eq!(question(Some(" revenue ")).ok().as_deref(), Some("revenue"));
    }
}
