//! The team's spreadsheets read back (team members only): `GET /v1/companies`,
//! `GET /v1/companies/{id}`, `GET /v1/kpis`, `GET /v1/kpis/budget-vs-actual` and
//! `GET /v1/dealflow`. Lists page with a cursor, or stream as CSV (see [`listing`]).
//! Decimals are given as text: every digit the table keeps.

use super::listing::{self, Format, Listing, Param};
use crate::caller::Team;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use sluice_web::{json, ApiError, QueryParams};
use std::sync::Arc;

/// A company as the API shows it (`c` is `companies`).
const COMPANY_JSON: &str = "jsonb_build_object(
    'id', c.company_id, 'key', c.company_key, 'name', c.company_name, 'website_url', c.website_url,
    'city', c.city, 'founding_date', c.founding_date, 'headcount', c.headcount,
    'funding_total', c.funding_total::text, 'description', c.description, 'founders', c.founders,
    'investors', c.investors, 'last_funding_date', c.last_funding_date, 'last_funding_type', c.last_funding_type,
    'linkedin_followers', c.linkedin_followers, 'web_traffic', c.web_traffic, 'data_source', c.data_source,
    'extra', c.extra, 'version', c.version, 'updated_at', c.updated_at, 'data_version_id', c.data_version_id)";

pub const COMPANY_COLUMNS: &[&str] = &[
    "id",
    "key",
    "name",
    "website_url",
    "city",
    "founding_date",
    "headcount",
    "funding_total",
    "description",
    "founders",
    "investors",
    "last_funding_date",
    "last_funding_type",
    "linkedin_followers",
    "web_traffic",
    "data_source",
    "extra",
    "version",
    "updated_at",
    "data_version_id",
];

/// `GET /v1/companies?name=&city=&limit=&cursor=`: by id; `name` matches part of the
/// name, `city` the whole city (both ignoring case).
pub async fn companies(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["name", "city", "limit", "cursor"])?;
    let limit = listing::limit(&query)?;
    let after = listing::cursor(&query, |k| k.first()?.as_i64())?;
    let params: Vec<Param> = vec![
        Box::new(query.first("name").map(|n| n.trim().to_lowercase())),
        Box::new(query.first("city").map(|c| c.trim().to_lowercase())),
        Box::new(after),
    ];
    Listing::jsonb(
        format!(
            "SELECT {COMPANY_JSON}, jsonb_build_array(c.company_id) FROM companies c
             WHERE ($1::text IS NULL OR strpos(lower(c.company_name), $1) > 0)
               AND ($2::text IS NULL OR lower(c.city) = $2)
               AND ($3::bigint IS NULL OR c.company_id > $3)
             ORDER BY c.company_id LIMIT $4"
        ),
        params,
        COMPANY_COLUMNS,
        "companies.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

/// `GET /v1/companies/{id}`: the company, the latest value of each of its KPIs (actual
/// figures), and links to its KPIs and budget attainment.
pub async fn company(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no company {raw_id}"));
    let id: i64 = raw_id.trim().parse().map_err(|_| unknown())?;
    let client = api.pool.get().await?;
    let row = client
        .query_opt(
            &format!("SELECT {COMPANY_JSON} FROM companies c WHERE c.company_id = $1"),
            &[&id],
        )
        .await?
        .ok_or_else(unknown)?;
    let mut company: Value = row.try_get(0)?;
    let name = company["name"].as_str().unwrap_or_default().to_owned();
    let latest = client
        .query(
            "SELECT DISTINCT ON (indicador) jsonb_build_object('indicator', indicador, 'date', fecha,
                 'quarter', cuarto, 'unit', unidad, 'value', valor::text, 'fund', fondo)
             FROM kpis WHERE empresa = $1 AND kpi_scenario(tipo) = 'actual'
             ORDER BY indicador, fecha DESC",
            &[&name],
        )
        .await?;
    company["latest_kpis"] = latest
        .iter()
        .map(|r| r.try_get::<_, Value>(0))
        .collect::<Result<Vec<_>, _>>()?
        .into();
    let encoded = url_encode(&name);
    company["links"] = json!({
        "self": format!("/v1/companies/{id}"),
        "kpis": format!("/v1/kpis?company={encoded}"),
        "budget_vs_actual": format!("/v1/kpis/budget-vs-actual?company={encoded}"),
    });
    Ok(json(StatusCode::OK, &company))
}

/// A value as one query-string component.
fn url_encode(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub const KPI_COLUMNS: &[&str] = &[
    "id",
    "fund",
    "company",
    "date",
    "quarter",
    "tipo",
    "scenario",
    "indicator",
    "unit",
    "value",
    "data_source",
    "extra",
    "version",
    "updated_at",
    "data_version_id",
];

/// The date range of `from` and `to` (ISO dates, both optional).
pub(crate) fn date_range(
    query: &QueryParams,
) -> Result<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>), ApiError> {
    let (from, to) = (query.date("from")?, query.date("to")?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::invalid("from must not be after to"));
        }
    }
    Ok((from, to))
}

fn trimmed(query: &QueryParams, name: &str) -> Option<String> {
    query.first(name).map(|v| v.trim().to_owned())
}

/// `GET /v1/kpis?company=&indicator=&tipo=&fund=&from=&to=&limit=&cursor=`: by date, then id.
/// `company`, `indicator`, `tipo` and `fund` match whole values exactly.
pub async fn kpis(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["company", "indicator", "tipo", "fund", "from", "to", "limit", "cursor"])?;
    let limit = listing::limit(&query)?;
    let (from, to) = date_range(&query)?;
    let after = listing::cursor(&query, |k| {
        let date = chrono::NaiveDate::parse_from_str(k.first()?.as_str()?, "%Y-%m-%d").ok()?;
        Some((date, k.get(1)?.as_i64()?))
    })?;
    let params: Vec<Param> = vec![
        Box::new(trimmed(&query, "company")),
        Box::new(trimmed(&query, "indicator")),
        Box::new(trimmed(&query, "tipo")),
        Box::new(trimmed(&query, "fund")),
        Box::new(from),
        Box::new(to),
        Box::new(after.map(|a| a.0)),
        Box::new(after.map(|a| a.1)),
    ];
    Listing::jsonb(
        "SELECT jsonb_build_object('id', kpi_id, 'fund', fondo, 'company', empresa, 'date', fecha,
                'quarter', cuarto, 'tipo', tipo, 'scenario', kpi_scenario(tipo), 'indicator', indicador,
                'unit', unidad, 'value', valor::text, 'data_source', data_source, 'extra', extra,
                'version', version, 'updated_at', updated_at, 'data_version_id', data_version_id),
            jsonb_build_array(fecha, kpi_id)
         FROM kpis
         WHERE ($1::text IS NULL OR empresa = $1) AND ($2::text IS NULL OR indicador = $2)
           AND ($3::text IS NULL OR tipo = $3) AND ($4::text IS NULL OR fondo = $4)
           AND ($5::date IS NULL OR fecha >= $5) AND ($6::date IS NULL OR fecha <= $6)
           AND ($7::date IS NULL OR (fecha, kpi_id) > ($7, $8::bigint))
         ORDER BY fecha, kpi_id LIMIT $9"
            .to_owned(),
        params,
        KPI_COLUMNS,
        "kpis.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

pub const BUDGET_COLUMNS: &[&str] = &[
    "company",
    "indicator",
    "date",
    "quarter",
    "unit",
    "actual",
    "budget",
    "variance",
    "variance_pct",
    "attainment_pct",
];

/// `GET /v1/kpis/budget-vs-actual?company=&indicator=&fund=&from=&to=&limit=&cursor=`: per
/// company, indicator and period, the actual and budgeted values, the variance (actual
/// minus budget), and both as a percentage of the budget (when it is not zero).
pub async fn budget_vs_actual(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["company", "indicator", "fund", "from", "to", "limit", "cursor"])?;
    let limit = listing::limit(&query)?;
    let (from, to) = date_range(&query)?;
    let after = listing::cursor(&query, |k| {
        let company = k.first()?.as_str()?.to_owned();
        let indicator = k.get(1)?.as_str()?.to_owned();
        let date = chrono::NaiveDate::parse_from_str(k.get(2)?.as_str()?, "%Y-%m-%d").ok()?;
        Some((company, indicator, date))
    })?;
    let (after_company, after_indicator, after_date) = match after {
        Some((c, i, d)) => (Some(c), Some(i), Some(d)),
        None => (None, None, None),
    };
    let params: Vec<Param> = vec![
        Box::new(trimmed(&query, "company")),
        Box::new(trimmed(&query, "indicator")),
        Box::new(trimmed(&query, "fund")),
        Box::new(from),
        Box::new(to),
        Box::new(after_company),
        Box::new(after_indicator),
        Box::new(after_date),
    ];
    Listing::jsonb(
        "SELECT jsonb_build_object('company', empresa, 'indicator', indicador, 'date', fecha,
                'quarter', quarter, 'unit', unit, 'actual', actual::text, 'budget', budget::text,
                'variance', (actual - budget)::text,
                'variance_pct', CASE WHEN budget <> 0 THEN round((actual - budget) / abs(budget) * 100, 2)::text END,
                'attainment_pct', CASE WHEN budget <> 0 THEN round(actual / budget * 100, 2)::text END),
            jsonb_build_array(empresa, indicador, fecha)
         FROM (SELECT empresa, indicador, fecha, max(cuarto) AS quarter, max(unidad) AS unit,
                      max(valor) FILTER (WHERE kpi_scenario(tipo) = 'actual') AS actual,
                      max(valor) FILTER (WHERE kpi_scenario(tipo) = 'budget') AS budget
               FROM kpis
               WHERE ($1::text IS NULL OR empresa = $1) AND ($2::text IS NULL OR indicador = $2)
                 AND ($3::text IS NULL OR fondo = $3)
                 AND ($4::date IS NULL OR fecha >= $4) AND ($5::date IS NULL OR fecha <= $5)
                 AND ($6::text IS NULL OR (empresa, indicador, fecha) > ($6, $7::text, $8::date))
               GROUP BY empresa, indicador, fecha) periods
         WHERE actual IS NOT NULL OR budget IS NOT NULL
         ORDER BY empresa, indicador, fecha LIMIT $9"
            .to_owned(),
        params,
        BUDGET_COLUMNS,
        "budget-vs-actual.csv",
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

pub const DEAL_COLUMNS: &[&str] = &[
    "id",
    "company",
    "status",
    "stage",
    "funding_round",
    "deal_size_usd",
    "valuation",
    "industry",
    "headquarters",
    "year_founded",
    "contact_person",
    "date_of_first_contact",
    "date_of_last_contact",
    "reason_for_rejection",
    "algorithm_score",
    "score",
    "data_source",
    "extra",
    "version",
    "updated_at",
    "data_version_id",
];

/// A deal as the API shows it (the columns of `dealflow` and its `score`).
pub const DEAL_JSON: &str = "jsonb_build_object('id', deal_id, 'company', company, 'status', status, 'stage', stage,
    'funding_round', funding_round, 'deal_size_usd', deal_size_usd::text, 'valuation', valuation::text,
    'industry', industry, 'headquarters', headquarters, 'year_founded', year_founded,
    'contact_person', contact_person, 'date_of_first_contact', date_of_first_contact,
    'date_of_last_contact', date_of_last_contact, 'reason_for_rejection', reason_for_rejection,
    'algorithm_score', algorithm_score::text, 'score', score::text, 'data_source', data_source,
    'extra', extra, 'version', version, 'updated_at', updated_at, 'data_version_id', data_version_id)";

/// The orders of `GET /v1/dealflow`.
const DEAL_SORTS: [&str; 3] = ["id", "score", "recent"];

/// `GET /v1/dealflow?status=&stage=&industry=&sort=id|score|recent&limit=&cursor=`.
/// `score`: highest first (unscored last); `recent`: latest contact first.
pub async fn dealflow(
    State(api): State<Arc<ApiState>>,
    _team: Team,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Response, ApiError> {
    query.only(&["status", "stage", "industry", "sort", "limit", "cursor"])?;
    let limit = listing::limit(&query)?;
    let sort = listing::one_of("sort", query.first("sort"), &DEAL_SORTS)?.unwrap_or("id");
    // Every order is a key (rank, id): rank descends, id ascends. A NULL rank sorts last.
    let (rank, file_name) = match sort {
        "score" => ("coalesce(s.score, -1)::numeric", "dealflow-by-score.csv"),
        "recent" => (
            "coalesce(d.date_of_last_contact, d.date_of_first_contact, DATE '0001-01-01') - DATE '0001-01-01'",
            "dealflow-recent.csv",
        ),
        _ => ("0", "dealflow.csv"),
    };
    let after = listing::cursor(&query, |k| {
        let rank = k.first()?.as_str()?;
        rank.parse::<f64>().ok().filter(|r| r.is_finite())?;
        Some((rank.to_owned(), k.get(1)?.as_i64()?))
    })?;
    let params: Vec<Param> = vec![
        Box::new(trimmed(&query, "status").map(|s| s.to_lowercase())),
        Box::new(trimmed(&query, "stage").map(|s| s.to_lowercase())),
        Box::new(trimmed(&query, "industry").map(|s| s.to_lowercase())),
        Box::new(after.as_ref().map(|a| a.0.clone())),
        Box::new(after.map(|a| a.1)),
    ];
    Listing::jsonb(
        format!(
            "WITH deals AS (
                 SELECT d.*, s.score, ({rank})::numeric AS rank
                 FROM dealflow d LEFT JOIN LATERAL ({DEAL_SCORE}) s ON true)
             SELECT {DEAL_JSON}, jsonb_build_array(rank::text, deal_id)
             FROM deals
             WHERE ($1::text IS NULL OR lower(status) = $1) AND ($2::text IS NULL OR lower(stage) = $2)
               AND ($3::text IS NULL OR lower(industry) = $3)
               AND ($4::text IS NULL OR rank < $4::text::numeric OR (rank = $4::text::numeric AND deal_id > $5::bigint))
             ORDER BY rank DESC, deal_id LIMIT $6"
        ),
        params,
        DEAL_COLUMNS,
        file_name,
    )
    .respond(&api, Format::of(&headers), limit)
    .await
}

/// A deal's score (`d` is the deal), as the scorer stored it.
const DEAL_SCORE: &str = "SELECT ds.score FROM deal_scores ds WHERE ds.deal_id = d.deal_id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_for_links() {
        assert_eq!(url_encode("Acme Labs & Co"), "Acme%20Labs%20%26%20Co");
        assert_eq!(url_encode("Ñandú"), "%C3%91and%C3%BA");
        assert_eq!(url_encode("a-b"), "a%2Db");
    }

    #[test]
    fn date_ranges_run_forwards() {
        assert!(date_range(&QueryParams::parse("from=2026-01-01&to=2026-03-31")).is_ok());
        assert!(date_range(&QueryParams::parse("from=2026-04-01&to=2026-03-31")).is_err());
        assert!(date_range(&QueryParams::parse("from=31/03/2026")).is_err());
    }
}
