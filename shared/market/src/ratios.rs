//! Financial ratios from stored statements (FMP's field names) and a share price. Pure:
//! the caller reads the statements and the price. The formulas are listed in the README.
//!
//! Flows (revenue, profits, EBITDA, free cash flow) are over one year: the latest annual
//! statement, or the sum of the latest four quarters (trailing twelve months). Stocks
//! (assets, equity, debt, cash) are the latest balance sheet's. A ratio whose inputs are
//! missing, or whose denominator is zero, is `None`: never a division by zero.

use serde::Serialize;
use serde_json::{Map, Value};

/// One statement period's figures (the vendor's row).
pub type Figures = Map<String, Value>;

/// The statements ratios are computed from.
#[derive(Debug, Clone, Default)]
pub struct Statements {
    /// Income statements, newest first: one (annual) or four (quarters, for TTM).
    pub income: Vec<Figures>,
    /// Cash-flow statements, newest first, as many as `income`.
    pub cash_flow: Vec<Figures>,
    /// The latest balance sheet.
    pub balance: Option<Figures>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ratios {
    pub gross_margin: Option<f64>,
    pub operating_margin: Option<f64>,
    pub net_margin: Option<f64>,
    pub roe: Option<f64>,
    pub roa: Option<f64>,
    pub current_ratio: Option<f64>,
    pub debt_to_equity: Option<f64>,
    pub pe: Option<f64>,
    pub ev_to_ebitda: Option<f64>,
    pub fcf_yield: Option<f64>,
    /// Price times diluted shares (the latest income statement's weighted average).
    pub market_cap: Option<f64>,
    /// Market cap plus total debt minus cash and equivalents.
    pub enterprise_value: Option<f64>,
}

fn number(figures: &Figures, field: &str) -> Option<f64> {
    figures.get(field).and_then(Value::as_f64).filter(|v| v.is_finite())
}

/// A flow over the year: the sum of `field` over every statement, `None` if any lacks it.
fn yearly(statements: &[Figures], field: &str) -> Option<f64> {
    if statements.is_empty() {
        return None;
    }
    statements.iter().map(|s| number(s, field)).sum()
}

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d != 0.0 => Some(round(n / d)),
        _ => None,
    }
}

/// Four decimals: a ratio, not a stored value.
fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

impl Ratios {
    pub fn compute(s: &Statements, price: Option<f64>) -> Self {
        let revenue = yearly(&s.income, "revenue");
        let net_income = yearly(&s.income, "netIncome");
        let ebitda = yearly(&s.income, "ebitda");
        let eps = yearly(&s.income, "epsDiluted").or_else(|| yearly(&s.income, "eps"));
        let fcf = yearly(&s.cash_flow, "freeCashFlow");
        let latest = s.income.first();
        let shares =
            latest.and_then(|i| number(i, "weightedAverageShsOutDil").or_else(|| number(i, "weightedAverageShsOut")));
        let balance = |field: &str| s.balance.as_ref().and_then(|b| number(b, field));
        let equity = balance("totalStockholdersEquity");
        let debt = balance("totalDebt");
        let market_cap = match (price, shares) {
            (Some(p), Some(n)) => Some(p * n),
            _ => None,
        };
        let enterprise_value = match (market_cap, debt, balance("cashAndCashEquivalents")) {
            (Some(m), Some(d), Some(c)) => Some(m + d - c),
            _ => None,
        };
        Self {
            gross_margin: ratio(yearly(&s.income, "grossProfit"), revenue),
            operating_margin: ratio(yearly(&s.income, "operatingIncome"), revenue),
            net_margin: ratio(net_income, revenue),
            roe: ratio(net_income, equity),
            roa: ratio(net_income, balance("totalAssets")),
            current_ratio: ratio(balance("totalCurrentAssets"), balance("totalCurrentLiabilities")),
            debt_to_equity: ratio(debt, equity),
            pe: ratio(price, eps),
            ev_to_ebitda: ratio(enterprise_value, ebitda),
            fcf_yield: ratio(fcf, market_cap),
            market_cap,
            enterprise_value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn figures(v: Value) -> Figures {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn ratios_by_hand() {
        let s = Statements {
            income: vec![figures(json!({
                "revenue": 1000.0, "grossProfit": 450, "operatingIncome": 300, "netIncome": 240,
                "ebitda": 340, "epsDiluted": 2.4, "weightedAverageShsOutDil": 100
            }))],
            cash_flow: vec![figures(json!({"freeCashFlow": 250}))],
            balance: Some(figures(json!({
                "totalStockholdersEquity": 1000, "totalAssets": 2500, "totalCurrentAssets": 900,
                "totalCurrentLiabilities": 700, "totalDebt": 600, "cashAndCashEquivalents": 200
            }))),
        };
        let r = Ratios::compute(&s, Some(48.0));
        assert_eq!(r.gross_margin, Some(0.45));
        assert_eq!(r.operating_margin, Some(0.3));
        assert_eq!(r.net_margin, Some(0.24));
        assert_eq!(r.roe, Some(0.24));
        assert_eq!(r.roa, Some(0.096));
        assert_eq!(r.current_ratio, Some(1.2857));
        assert_eq!(r.debt_to_equity, Some(0.6));
        assert_eq!(r.pe, Some(20.0));
        assert_eq!(r.market_cap, Some(4800.0));
        assert_eq!(r.enterprise_value, Some(5200.0));
        assert_eq!(r.ev_to_ebitda, Some(15.2941));
        assert_eq!(r.fcf_yield, Some(0.0521));
    }

    #[test]
    fn quarters_add_up_to_a_year_and_gaps_give_none() {
        let q = |rev: f64, eps: f64| figures(json!({"revenue": rev, "netIncome": rev / 10.0, "epsDiluted": eps}));
        let s = Statements {
            income: vec![q(100.0, 1.0), q(100.0, 1.0), q(100.0, 0.5), q(100.0, 0.5)],
            cash_flow: vec![],
            balance: Some(figures(json!({"totalStockholdersEquity": 0}))),
        };
        let r = Ratios::compute(&s, Some(30.0));
        assert_eq!(r.net_margin, Some(0.1));
        assert_eq!(r.pe, Some(10.0));
        assert_eq!(r.roe, None, "zero equity: no ratio");
        assert_eq!(r.fcf_yield, None);
        assert_eq!(Ratios::compute(&Statements::default(), None), Ratios::default());
    }
}
