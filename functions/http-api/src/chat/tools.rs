//! The tools the chat's model may call. Each is a JSON Schema and one `GET` route of this
//! API: a call is checked against its schema, turned into that route's query and answered
//! by the router itself, as the caller ([`crate::caller::AsCaller`]). So a tool reads
//! exactly what the caller may read through the API (team data for the team, market data
//! by tier), with the route's own query and checks; it is read-only (only these `GET`
//! routes), answers at most [`ToolLimits::rows`] rows and is abandoned after
//! [`ToolLimits::timeout`]. The model never writes SQL, and nothing a document says can
//! widen what a tool reads: the caller's principal is fixed by the turn, not by the model.

use crate::caller::AsCaller;
use crate::ApiState;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use llm_analyzer::provider::chat::ToolSpec;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use sluice_core::auth::Principal;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// How long past the statement timeout a call may take in all (embedding a search
/// question, reading the answer) before it is abandoned.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// How much a tool may read.
#[derive(Debug, Clone, Copy)]
pub struct ToolLimits {
    /// Rows (list items, search results, bars) in one answer: `CHAT_TOOL_ROWS` (20).
    pub rows: usize,
    /// Each statement of the call: `CHAT_TOOL_TIMEOUT_MS` (5000); the whole call is
    /// abandoned [`DEADLINE_MARGIN`] later.
    pub timeout: Duration,
}

/// One argument of a tool: its JSON type and, for strings, the values it may take.
struct Arg {
    name: &'static str,
    description: &'static str,
    kind: ArgKind,
    required: bool,
}

#[derive(Clone, Copy)]
enum ArgKind {
    Text,
    Date,
    Integer,
    OneOf(&'static [&'static str]),
}

/// A tool: its name, what it does, its arguments, and the route that answers it.
struct Tool {
    name: &'static str,
    description: &'static str,
    args: &'static [Arg],
    /// The route, with `{ticker}` for a path argument.
    path: &'static str,
    /// Arguments that go in the path (all others go in the query string).
    path_args: &'static [&'static str],
    /// Argument name -> query parameter name, where they differ.
    renames: &'static [(&'static str, &'static str)],
    /// Whether the route pages with `limit` (the tool sets it to the row limit).
    pages: bool,
}

const fn arg(name: &'static str, description: &'static str, kind: ArgKind, required: bool) -> Arg {
    Arg {
        name,
        description,
        kind,
        required,
    }
}

const TICKER: Arg = arg("ticker", "The stock ticker, e.g. AAPL", ArgKind::Text, true);
const FROM: Arg = arg("from", "First date, YYYY-MM-DD", ArgKind::Date, false);
const TO: Arg = arg("to", "Last date, YYYY-MM-DD", ArgKind::Date, false);

const TOOLS: &[Tool] = &[
    Tool {
        name: "search",
        description: "Search filings, completed analyses and the team's documents (hybrid full-text and vector). Answers ranked passages with citations.",
        args: &[
            arg("query", "What to look for, in words", ArgKind::Text, true),
            arg("ticker", "Only passages about this ticker", ArgKind::Text, false),
            arg("source", "Only this kind of document", ArgKind::OneOf(&["team", "filing", "analysis"]), false),
            arg("limit", "How many passages (1-10)", ArgKind::Integer, false),
        ],
        path: "/v1/search",
        path_args: &[],
        renames: &[("query", "q")],
        pages: false,
    },
    Tool {
        name: "portfolio_kpis",
        description: "KPI values of portfolio companies by date (team members only). tipo is the scenario as loaded: Real (actual), Presupuesto (budget).",
        args: &[
            arg("company", "The company's name, exactly as loaded", ArgKind::Text, false),
            arg("indicator", "The indicator, exactly as loaded (EBITDA, Ventas, Caja...)", ArgKind::Text, false),
            arg("tipo", "Real, Presupuesto, ...", ArgKind::Text, false),
            FROM,
            TO,
        ],
        path: "/v1/kpis",
        path_args: &[],
        renames: &[],
        pages: true,
    },
    Tool {
        name: "budget_vs_actual",
        description: "Per company, indicator and date: actual, budget, variance and attainment (team members only).",
        args: &[
            arg("company", "The company's name, exactly as loaded", ArgKind::Text, false),
            arg("indicator", "The indicator, exactly as loaded", ArgKind::Text, false),
            FROM,
            TO,
        ],
        path: "/v1/kpis/budget-vs-actual",
        path_args: &[],
        renames: &[],
        pages: true,
    },
    Tool {
        name: "companies",
        description: "Portfolio companies (team members only); name matches part of the name.",
        args: &[
            arg("name", "Part of the company's name", ArgKind::Text, false),
            arg("city", "The city", ArgKind::Text, false),
        ],
        path: "/v1/companies",
        path_args: &[],
        renames: &[],
        pages: true,
    },
    Tool {
        name: "deal_flow",
        description: "Deals in the deal flow with their scores (team members only).",
        args: &[
            arg("status", "Deal status", ArgKind::Text, false),
            arg("stage", "Deal stage", ArgKind::Text, false),
            arg("industry", "Industry", ArgKind::Text, false),
            arg("sort", "Order", ArgKind::OneOf(&["id", "score", "recent"]), false),
        ],
        path: "/v1/dealflow",
        path_args: &[],
        renames: &[],
        pages: true,
    },
    Tool {
        name: "quote",
        description: "The latest quote of a ticker.",
        args: &[TICKER],
        path: "/v1/quotes/{ticker}",
        path_args: &["ticker"],
        renames: &[],
        pages: false,
    },
    Tool {
        name: "price_history",
        description: "Daily bars of a ticker between two dates (the last 30 days by default); the latest rows when there are many.",
        args: &[TICKER, FROM, TO],
        path: "/v1/prices/{ticker}",
        path_args: &["ticker"],
        renames: &[],
        pages: false,
    },
    Tool {
        name: "fundamentals",
        description: "Stored financial statements of a ticker, newest first, within the caller's tier.",
        args: &[
            TICKER,
            arg("statement", "Which statement", ArgKind::OneOf(&["income", "balance", "cash_flow"]), false),
            arg("period", "Annual or quarterly", ArgKind::OneOf(&["annual", "quarter"]), false),
        ],
        path: "/v1/fundamentals/{ticker}",
        path_args: &["ticker"],
        renames: &[],
        pages: false,
    },
    Tool {
        name: "filing_analyses",
        description: "Completed analyses of filings the caller may read (the global pool), newest first, without bodies.",
        args: &[arg("kind", "The kind of analysis", ArgKind::Text, false)],
        path: "/v1/analyses",
        path_args: &[],
        renames: &[],
        pages: true,
    },
];

/// Every tool, as the providers send them to the model.
pub fn specs() -> Vec<ToolSpec> {
    TOOLS.iter().map(spec).collect()
}

fn spec(tool: &Tool) -> ToolSpec {
    let mut properties = Map::new();
    for a in tool.args {
        let schema = match a.kind {
            ArgKind::Text => json!({ "type": "string", "description": a.description }),
            ArgKind::Date => json!({ "type": "string", "format": "date", "description": a.description }),
            ArgKind::Integer => json!({ "type": "integer", "minimum": 1, "description": a.description }),
            ArgKind::OneOf(values) => json!({ "type": "string", "enum": values, "description": a.description }),
        };
        properties.insert(a.name.to_owned(), schema);
    }
    let required: Vec<&str> = tool.args.iter().filter(|a| a.required).map(|a| a.name).collect();
    ToolSpec {
        name: tool.name.to_owned(),
        description: tool.description.to_owned(),
        parameters: json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }),
    }
}

/// A call whose arguments satisfy its tool's schema: the route to ask. Pure.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedCall {
    pub tool: &'static str,
    pub path_and_query: String,
    pages: bool,
}

/// Checks a call (its name, and its arguments against the schema) and builds the
/// route's path and query. The error says what is wrong, for the model to correct.
pub fn check(name: &str, arguments: &str, limits: ToolLimits) -> Result<CheckedCall, String> {
    let tool = TOOLS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("there is no tool called `{name}`"))?;
    let raw = if arguments.trim().is_empty() { "{}" } else { arguments };
    let args: Value = serde_json::from_str(raw).map_err(|e| format!("the arguments are not JSON: {e}"))?;
    let Value::Object(args) = args else {
        return Err("the arguments must be a JSON object".to_owned());
    };
    if let Some(unknown) = args.keys().find(|k| !tool.args.iter().any(|a| a.name == k.as_str())) {
        return Err(format!("`{unknown}` is not an argument of {name}"));
    }
    let mut path = tool.path.to_owned();
    let mut query: Vec<(String, String)> = Vec::new();
    for a in tool.args {
        let Some(value) = args.get(a.name).filter(|v| !v.is_null()) else {
            if a.required {
                return Err(format!("`{}` is required", a.name));
            }
            continue;
        };
        let text = match (a.kind, value) {
            (ArgKind::Integer, Value::Number(n)) => match n.as_u64() {
                Some(n) if n >= 1 => n.min(limits.rows as u64).to_string(),
                _ => return Err(format!("`{}` must be a whole number of at least 1", a.name)),
            },
            (ArgKind::Integer, _) => return Err(format!("`{}` must be a number", a.name)),
            (_, Value::String(s)) if s.trim().is_empty() => {
                return Err(format!("`{}` must not be blank", a.name));
            }
            (ArgKind::Date, Value::String(s)) => {
                chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| format!("`{}` must be a date as YYYY-MM-DD", a.name))?;
                s.trim().to_owned()
            }
            (ArgKind::OneOf(values), Value::String(s)) => {
                if !values.contains(&s.trim()) {
                    return Err(format!("`{}` must be one of {}", a.name, values.join(", ")));
                }
                s.trim().to_owned()
            }
            (ArgKind::Text, Value::String(s)) => s.trim().to_owned(),
            _ => return Err(format!("`{}` must be a string", a.name)),
        };
        if tool.path_args.contains(&a.name) {
            path = path.replace(
                &format!("{{{}}}", a.name),
                &utf8_percent_encode(&text, NON_ALPHANUMERIC).to_string(),
            );
        } else {
            let param = tool
                .renames
                .iter()
                .find(|(from, _)| *from == a.name)
                .map_or(a.name, |(_, to)| to);
            query.push((param.to_owned(), text));
        }
    }
    if (tool.pages || tool.name == "search") && !query.iter().any(|(k, _)| k == "limit") {
        query.push(("limit".to_owned(), limits.rows.to_string()));
    }
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    let path_and_query = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    Ok(CheckedCall {
        tool: tool.name,
        path_and_query,
        pages: tool.pages,
    })
}

/// What a tool answered: the route's status and body (a problem's `detail` when refused).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    pub status: u16,
    pub body: Value,
    /// Rows in the answer (items, results, bars, statements); 1 for a single object.
    pub rows: usize,
}

impl ToolOutcome {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Runs a checked call through the router as `caller`, within the limits.
pub async fn run(api: &Arc<ApiState>, caller: &Principal, call: &CheckedCall, limits: ToolLimits) -> ToolOutcome {
    let request = Request::builder()
        .method(Method::GET)
        .uri(&call.path_and_query)
        .body(Body::empty());
    let Ok(mut request) = request else {
        return refused(StatusCode::BAD_REQUEST, "the call could not be built");
    };
    request.extensions_mut().insert(AsCaller(caller.clone()));
    // The routes run over the tools' own pool, whose sessions cancel long statements.
    let router = crate::router(api.tool_api.clone().unwrap_or_else(|| api.clone()));
    let answer = tokio::time::timeout(limits.timeout + DEADLINE_MARGIN, router.oneshot(request)).await;
    let response = match answer {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => return refused(StatusCode::GATEWAY_TIMEOUT, "the tool took too long and was stopped"),
    };
    let status = response.status();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        return refused(status, "the tool failed or its query took too long and was cancelled");
    }
    let bytes = match tokio::time::timeout(
        limits.timeout,
        axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        _ => return refused(StatusCode::BAD_GATEWAY, "the tool's answer could not be read"),
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        let detail = body["detail"].as_str().unwrap_or("refused").to_owned();
        return refused(status, &detail);
    }
    let (body, rows) = trim(body, limits.rows, call.pages);
    ToolOutcome {
        status: status.as_u16(),
        body,
        rows,
    }
}

fn refused(status: StatusCode, detail: &str) -> ToolOutcome {
    ToolOutcome {
        status: status.as_u16(),
        body: json!({ "error": detail }),
        rows: 0,
    }
}

/// Keeps at most `rows` rows of an answer's list (`items` or `results`): the newest
/// for price history (bars come oldest first). Pure.
fn trim(mut body: Value, rows: usize, pages: bool) -> (Value, usize) {
    for key in ["items", "results"] {
        if let Some(list) = body.get_mut(key).and_then(Value::as_array_mut) {
            if list.len() > rows {
                let cut = list.len() - rows;
                if key == "items" && !pages {
                    list.drain(..cut);
                } else {
                    list.truncate(rows);
                }
                body["truncated"] = json!(true);
            }
            let n = body[key].as_array().map_or(0, Vec::len);
            return (body, n);
        }
    }
    (body, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ToolLimits = ToolLimits {
        rows: 20,
        timeout: Duration::from_secs(5),
    };

    #[test]
    fn every_tool_has_an_object_schema() {
        let specs = specs();
        assert_eq!(specs.len(), TOOLS.len());
        for s in specs {
            assert_eq!(s.parameters["type"], "object", "{}", s.name);
            assert_eq!(s.parameters["additionalProperties"], false);
        }
    }

    #[test]
    fn calls_become_their_routes() {
        let c = check("quote", r#"{"ticker": "AAPL"}"#, LIMITS).unwrap();
        assert_eq!(c.path_and_query, "/v1/quotes/AAPL");
        let c = check(
            "portfolio_kpis",
            r#"{"company": "Acme Corp", "indicator": "EBITDA"}"#,
            LIMITS,
        )
        .unwrap();
        assert_eq!(
            c.path_and_query,
            "/v1/kpis?company=Acme%20Corp&indicator=EBITDA&limit=20"
        );
        let c = check("search", r#"{"query": "cash runway", "limit": 500}"#, LIMITS).unwrap();
        assert_eq!(c.path_and_query, "/v1/search?q=cash%20runway&limit=20");
        // A path argument cannot climb out of its route.
        let c = check("quote", r#"{"ticker": "../admin/credits"}"#, LIMITS).unwrap();
        assert_eq!(c.path_and_query, "/v1/quotes/%2E%2E%2Fadmin%2Fcredits");
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        for (name, args, says) in [
            ("quote", "{\"ticker\": ", "not JSON"),
            ("quote", "[]", "JSON object"),
            ("quote", "{}", "`ticker` is required"),
            ("quote", r#"{"ticker": 5}"#, "must be a string"),
            ("quote", r#"{"ticker": "A", "sql": "DROP"}"#, "`sql` is not an argument"),
            ("portfolio_kpis", r#"{"from": "yesterday"}"#, "YYYY-MM-DD"),
            ("fundamentals", r#"{"ticker": "A", "period": "weekly"}"#, "one of"),
            ("run_sql", "{}", "no tool called"),
        ] {
            let err = check(name, args, LIMITS).unwrap_err();
            assert!(err.contains(says), "{name} {args}: {err}");
        }
    }

    #[test]
    fn answers_keep_the_row_limit() {
        let bars = json!({ "items": [1, 2, 3, 4, 5] });
        assert_eq!(
            trim(bars.clone(), 2, false),
            (json!({ "items": [4, 5], "truncated": true }), 2)
        );
        assert_eq!(trim(bars, 2, true), (json!({ "items": [1, 2], "truncated": true }), 2));
        assert_eq!(trim(json!({ "price": 1 }), 2, false), (json!({ "price": 1 }), 1));
    }
}
