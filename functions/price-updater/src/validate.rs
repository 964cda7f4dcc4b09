//! What vendor data is accepted, without I/O. A row that is null, NaN, negative
//! where that is impossible, or missing a field is refused with a reason; the
//! caller keeps the value it had.

use crate::vendor::Statement;
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
pub use sluice_market::{DailyBar, Quote};
use sluice_messages::Ticker;
use std::collections::BTreeMap;

/// A vendor row that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// What the row was about (a date, a fiscal date, a position).
    pub row: String,
    pub reason: String,
}

/// One period of one statement, as stored in `fundamentals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementRow {
    pub fiscal_date: NaiveDate,
    /// The vendor's row, every field kept.
    pub figures: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Any,
    NonNegative,
    Positive,
}

fn field<'a>(row: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    match row.get(name) {
        None => Err(format!("missing field {name}")),
        Some(Value::Null) => Err(format!("{name} is null")),
        Some(v) => Ok(v),
    }
}

fn number(row: &Map<String, Value>, name: &str, sign: Sign) -> Result<f64, String> {
    let value = field(row, name)?;
    let n = match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{name} is not a number"))?,
        Value::String(s) if is_nan_text(s) => return Err(format!("{name} is NaN")),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{name} is not a number ({})", clip(s)))?,
        _ => return Err(format!("{name} is not a number")),
    };
    if !n.is_finite() {
        return Err(format!("{name} is NaN"));
    }
    match sign {
        Sign::Positive if n <= 0.0 => Err(format!("{name} is not positive ({n})")),
        Sign::NonNegative if n < 0.0 => Err(format!("{name} is negative ({n})")),
        _ => Ok(n),
    }
}

fn optional_number(row: &Map<String, Value>, name: &str, sign: Sign) -> Result<Option<f64>, String> {
    match row.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => number(row, name, sign).map(Some),
    }
}

fn is_nan_text(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "nan" | "-nan" | "inf" | "-inf" | "infinity" | "-infinity" | "+infinity"
    )
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn date(row: &Map<String, Value>, name: &str) -> Result<NaiveDate, String> {
    match field(row, name)? {
        // "2024-02-28" or "2024-02-28 00:00:00".
        Value::String(s) => s
            .get(..10)
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| format!("{name} is not a date ({})", clip(s))),
        _ => Err(format!("{name} is not a date")),
    }
}

fn symbol_matches(row: &Map<String, Value>, ticker: &Ticker) -> Result<(), String> {
    match row.get("symbol") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s.eq_ignore_ascii_case(ticker.as_str()) => Ok(()),
        Some(other) => Err(format!("row is for {other}, not {ticker}")),
    }
}

fn label(row: &Value, index: usize, date_field: &str) -> String {
    row.get(date_field)
        .and_then(Value::as_str)
        .map(|d| d.chars().take(10).collect())
        .unwrap_or_else(|| format!("row {}", index + 1))
}

pub fn validate_bar(ticker: &Ticker, row: &Value) -> Result<DailyBar, String> {
    let row = row.as_object().ok_or("not a JSON object")?;
    symbol_matches(row, ticker)?;
    let date = date(row, "date")?;
    let open = number(row, "open", Sign::Positive)?;
    let high = number(row, "high", Sign::Positive)?;
    let low = number(row, "low", Sign::Positive)?;
    let close = number(row, "close", Sign::Positive)?;
    let adj_close = optional_number(row, "adjClose", Sign::Positive)?;
    let volume = number(row, "volume", Sign::NonNegative)?;
    if volume.fract() != 0.0 || volume > i64::MAX as f64 {
        return Err(format!("volume is not a whole number ({volume})"));
    }
    if high < low {
        return Err(format!("high ({high}) is below low ({low})"));
    }
    Ok(DailyBar {
        ticker: ticker.clone(),
        date,
        open,
        high,
        low,
        close,
        adj_close,
        volume: volume as i64,
    })
}

/// Every usable bar (one per date: a date given twice is refused) and every refusal.
pub fn validate_bars(ticker: &Ticker, rows: &[Value]) -> (Vec<DailyBar>, Vec<Rejection>) {
    let mut by_date: BTreeMap<NaiveDate, DailyBar> = BTreeMap::new();
    let mut rejected = Vec::new();
    let mut duplicates = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match validate_bar(ticker, row) {
            Ok(bar) => {
                if let std::collections::btree_map::Entry::Vacant(slot) = by_date.entry(bar.date) {
                    slot.insert(bar);
                } else {
                    duplicates.push(bar.date);
                }
            }
            Err(reason) => rejected.push(Rejection {
                row: label(row, i, "date"),
                reason,
            }),
        }
    }
    for d in duplicates {
        if by_date.remove(&d).is_some() {
            rejected.push(Rejection {
                row: d.to_string(),
                reason: "the vendor sent this date more than once".into(),
            });
        }
    }
    (by_date.into_values().collect(), rejected)
}

pub fn validate_quote(row: &Value) -> Result<Quote, String> {
    let obj = row.as_object().ok_or("not a JSON object")?;
    let symbol = match field(obj, "symbol")? {
        Value::String(s) => Ticker::parse(s).map_err(|e| e.to_string())?,
        _ => return Err("symbol is not text".into()),
    };
    let with_symbol = |e: String| format!("{symbol}: {e}");
    let price = number(obj, "price", Sign::Positive).map_err(with_symbol)?;
    let volume = optional_number(obj, "volume", Sign::NonNegative).map_err(with_symbol)?;
    let as_of = match obj.get("timestamp") {
        Some(Value::Number(n)) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    };
    Ok(Quote {
        ticker: symbol.clone(),
        price,
        open: optional_number(obj, "open", Sign::Positive).map_err(with_symbol)?,
        day_high: optional_number(obj, "dayHigh", Sign::Positive).map_err(with_symbol)?,
        day_low: optional_number(obj, "dayLow", Sign::Positive).map_err(with_symbol)?,
        previous_close: optional_number(obj, "previousClose", Sign::Positive).map_err(with_symbol)?,
        change: optional_number(obj, "change", Sign::Any).map_err(with_symbol)?,
        change_percent: optional_number(obj, "changePercentage", Sign::Any)
            .or_else(|_| optional_number(obj, "changesPercentage", Sign::Any))
            .map_err(with_symbol)?,
        volume: volume.map(|v| v as i64),
        as_of,
    })
}

/// The fields a statement row must have, and the sign each must have.
fn required_figures(statement: Statement) -> &'static [(&'static str, Sign)] {
    match statement {
        Statement::Income => &[("revenue", Sign::NonNegative), ("netIncome", Sign::Any)],
        Statement::Balance => &[
            ("totalAssets", Sign::NonNegative),
            ("totalLiabilities", Sign::NonNegative),
            ("totalStockholdersEquity", Sign::Any),
        ],
        Statement::CashFlow => &[("operatingCashFlow", Sign::Any), ("freeCashFlow", Sign::Any)],
    }
}

pub fn validate_statement_row(ticker: &Ticker, statement: Statement, row: &Value) -> Result<StatementRow, String> {
    let obj = row.as_object().ok_or("not a JSON object")?;
    symbol_matches(obj, ticker)?;
    let fiscal_date = date(obj, "date")?;
    for (name, sign) in required_figures(statement) {
        number(obj, name, *sign)?;
    }
    // NaN anywhere, even in a field nobody requires, means the row was computed badly.
    for (name, value) in obj {
        if let Value::String(s) = value {
            if is_nan_text(s) {
                return Err(format!("{name} is NaN"));
            }
        }
    }
    Ok(StatementRow {
        fiscal_date,
        figures: row.clone(),
    })
}

pub fn validate_statements(
    ticker: &Ticker,
    statement: Statement,
    rows: &[Value],
) -> (Vec<StatementRow>, Vec<Rejection>) {
    let mut by_date: BTreeMap<NaiveDate, StatementRow> = BTreeMap::new();
    let mut rejected = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match validate_statement_row(ticker, statement, row) {
            // The vendor lists the newest filing first: a restated period keeps its first (newest) row.
            Ok(r) => {
                by_date.entry(r.fiscal_date).or_insert(r);
            }
            Err(reason) => rejected.push(Rejection {
                row: label(row, i, "date"),
                reason,
            }),
        }
    }
    (by_date.into_values().collect(), rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Ticker {
        Ticker::parse(s).unwrap()
    }

    fn bar() -> Value {
        json!({"symbol":"AAPL","date":"2024-02-28","open":182.51,"high":183.12,"low":180.13,"close":181.42,
               "volume":48953939,"change":-1.09,"changePercent":-0.59723,"vwap":181.795})
    }

    fn with(mut v: Value, k: &str, x: Value) -> Value {
        v[k] = x;
        v
    }

    fn without(mut v: Value, k: &str) -> Value {
        v.as_object_mut().unwrap().remove(k);
        v
    }

    #[test]
    fn a_good_bar() {
        let b = validate_bar(&t("AAPL"), &bar()).unwrap();
        assert_eq!(b.date.to_string(), "2024-02-28");
        assert_eq!(
            (b.open, b.close, b.volume, b.adj_close),
            (182.51, 181.42, 48_953_939, None)
        );
        let adj = validate_bar(&t("AAPL"), &with(bar(), "adjClose", json!(180.0))).unwrap();
        assert_eq!(adj.adj_close, Some(180.0));
    }

    #[test]
    fn bad_bars_say_why() {
        let a = t("AAPL");
        let cases = [
            (with(bar(), "close", Value::Null), "close is null"),
            (with(bar(), "close", json!("NaN")), "close is NaN"),
            (with(bar(), "close", json!(-1.5)), "close is not positive (-1.5)"),
            (with(bar(), "open", json!(0)), "open is not positive (0)"),
            (without(bar(), "high"), "missing field high"),
            (with(bar(), "volume", json!(-3)), "volume is negative (-3)"),
            (with(bar(), "volume", json!(1.5)), "volume is not a whole number (1.5)"),
            (
                with(bar(), "date", json!("yesterday")),
                "date is not a date (yesterday)",
            ),
            (with(bar(), "symbol", json!("MSFT")), "row is for \"MSFT\", not AAPL"),
            (with(bar(), "adjClose", json!(-2)), "adjClose is not positive (-2)"),
            (with(bar(), "low", json!(200.0)), "high (183.12) is below low (200)"),
            (json!([1]), "not a JSON object"),
        ];
        for (row, reason) in cases {
            assert_eq!(validate_bar(&a, &row).unwrap_err(), reason);
        }
    }

    #[test]
    fn a_list_keeps_the_good_and_names_the_bad() {
        let rows = vec![
            bar(),
            with(with(bar(), "date", json!("2024-02-27")), "close", Value::Null),
            with(bar(), "date", json!("2024-02-26")),
        ];
        let (good, bad) = validate_bars(&t("AAPL"), &rows);
        assert_eq!(good.len(), 2);
        assert_eq!(
            bad,
            [Rejection {
                row: "2024-02-27".into(),
                reason: "close is null".into()
            }]
        );
        let (good, bad) = validate_bars(&t("AAPL"), &[bar(), bar()]);
        assert!(good.is_empty());
        assert_eq!(bad.len(), 1);
    }

    #[test]
    fn quotes() {
        let q = validate_quote(
            &json!({"symbol":"aapl","price":232.8,"changePercentage":2.1008,"volume":44489128,
                                       "timestamp":1738702801,"previousClose":228.01}),
        )
        .unwrap();
        assert_eq!(q.ticker.as_str(), "AAPL");
        assert_eq!(q.change_percent, Some(2.1008));
        assert!(q.as_of.is_some());
        assert_eq!(
            validate_quote(&json!({"symbol":"AAPL","price":null})).unwrap_err(),
            "AAPL: price is null"
        );
        assert!(validate_quote(&json!({"price":1})).is_err());
    }

    #[test]
    fn statements() {
        let a = t("AAPL");
        let inc = json!({"date":"2024-09-28","symbol":"AAPL","revenue":391035000000i64,"netIncome":-5,"eps":6.11});
        assert!(validate_statement_row(&a, Statement::Income, &inc).is_ok());
        assert_eq!(
            validate_statement_row(&a, Statement::Income, &with(inc.clone(), "revenue", json!(-1))).unwrap_err(),
            "revenue is negative (-1)"
        );
        assert_eq!(
            validate_statement_row(&a, Statement::Income, &with(inc.clone(), "eps", json!("NaN"))).unwrap_err(),
            "eps is NaN"
        );
        assert_eq!(
            validate_statement_row(&a, Statement::Balance, &inc).unwrap_err(),
            "missing field totalAssets"
        );
        let (rows, rejected) = validate_statements(&a, Statement::Income, &[inc.clone(), without(inc, "date")]);
        assert_eq!((rows.len(), rejected[0].reason.as_str()), (1, "missing field date"));
    }
}
