//! Bulk import (seed 002): a list of tickers, forms and fiscal years, as one selection of
//! filings to fetch into the store. Pure: what a request may name, how many filings it
//! names at most, and the [`FilingSpec`] of each.

use crate::filings::{CompanyRef, FilingSelector, FilingSpec, FilingType};
use crate::newtypes::{InvalidValue, Ticker};
use std::fmt;

/// Limits of one import: a request names at most this many of each, and filings in all.
pub const MAX_TICKERS: usize = 50;
pub const MAX_FORMS: usize = 4;
pub const MAX_YEARS: usize = 10;
pub const MAX_FILINGS: usize = 1_000;

/// The forms a bulk import fetches: those a company files a known number of a fiscal
/// year (a 10-K, 20-F or DEF 14A once, a 10-Q three times), so a quote is a count, not a
/// guess. 8-K and S-1 come one at a time (`POST /v1/analyses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BulkForm(FilingType);

impl BulkForm {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let form = FilingType::parse(raw)?;
        match form {
            FilingType::TenK | FilingType::TenQ | FilingType::TwentyF | FilingType::Def14A => Ok(Self(form)),
            FilingType::EightK | FilingType::S1 => Err(InvalidValue::new(
                "form",
                format!(
                    "bulk import fetches 10-K, 10-Q, 20-F and DEF 14A (a known number a year); \
                     ask for a {} one at a time",
                    form.as_str()
                ),
            )),
        }
    }

    pub fn form(&self) -> FilingType {
        self.0
    }

    /// The filings of this form a company makes in one fiscal year: one, or a 10-Q per
    /// quarter but the fourth (which the 10-K reports).
    fn selectors(&self, year: i32) -> Vec<FilingSelector> {
        match self.0 {
            FilingType::TenQ => (1..=3)
                .map(|quarter| FilingSelector::FiscalQuarter { year, quarter })
                .collect(),
            _ => vec![FilingSelector::FiscalYear(year)],
        }
    }
}

/// A fiscal year a bulk import may name: from 1993 (EDGAR's first electronic filings) to
/// the current calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BulkYear(i32);

impl BulkYear {
    pub fn parse(year: i64, this_year: i32) -> Result<Self, InvalidValue> {
        match i32::try_from(year) {
            Ok(y) if (1993..=this_year).contains(&y) => Ok(Self(y)),
            _ => Err(InvalidValue::new(
                "year",
                format!("{year} is not a fiscal year from 1993 to {this_year}"),
            )),
        }
    }

    pub fn get(&self) -> i32 {
        self.0
    }
}

/// What a bulk import fetches: every form of every ticker for every year named. Holds
/// only valid, distinct, bounded lists (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkSelection {
    tickers: Vec<Ticker>,
    forms: Vec<BulkForm>,
    years: Vec<BulkYear>,
}

impl BulkSelection {
    /// From the request's lists, with the reason a person can act on when one is wrong.
    /// Repeats are dropped; order is kept.
    pub fn parse(tickers: &[String], forms: &[String], years: &[i64], this_year: i32) -> Result<Self, InvalidValue> {
        let tickers = distinct(
            tickers
                .iter()
                .map(|t| Ticker::parse(t))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let forms = distinct(
            forms
                .iter()
                .map(|f| BulkForm::parse(f))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let years = distinct(
            years
                .iter()
                .map(|y| BulkYear::parse(*y, this_year))
                .collect::<Result<Vec<_>, _>>()?,
        );
        for (what, n, max) in [
            ("tickers", tickers.len(), MAX_TICKERS),
            ("forms", forms.len(), MAX_FORMS),
            ("years", years.len(), MAX_YEARS),
        ] {
            if n == 0 {
                return Err(InvalidValue::new(
                    "bulk import",
                    format!("{what} is empty: name at least one"),
                ));
            }
            if n > max {
                return Err(InvalidValue::new(
                    "bulk import",
                    format!("{n} {what} named; one import takes at most {max}"),
                ));
            }
        }
        let selection = Self { tickers, forms, years };
        let count = selection.filing_count();
        if count > MAX_FILINGS {
            return Err(InvalidValue::new(
                "bulk import",
                format!("this selection names {count} filings; one import takes at most {MAX_FILINGS} (split it)"),
            ));
        }
        Ok(selection)
    }

    pub fn tickers(&self) -> &[Ticker] {
        &self.tickers
    }

    pub fn forms(&self) -> &[BulkForm] {
        &self.forms
    }

    pub fn years(&self) -> &[BulkYear] {
        &self.years
    }

    /// The earliest fiscal year named.
    pub fn earliest_year(&self) -> i32 {
        self.years.iter().map(BulkYear::get).min().unwrap_or(i32::MAX)
    }

    /// How many filings the selection names at most (a company may have filed fewer).
    pub fn filing_count(&self) -> usize {
        let per_year: usize = self
            .forms
            .iter()
            .map(|f| if f.0 == FilingType::TenQ { 3 } else { 1 })
            .sum();
        self.tickers.len() * self.years.len() * per_year
    }

    /// Every filing of the selection, ticker by ticker, year by year.
    pub fn specs(&self) -> Vec<FilingSpec> {
        let mut specs = Vec::with_capacity(self.filing_count());
        for ticker in &self.tickers {
            for year in &self.years {
                for form in &self.forms {
                    for selector in form.selectors(year.0) {
                        specs.push(FilingSpec {
                            company: CompanyRef::Ticker(ticker.clone()),
                            form: form.0,
                            selector,
                        });
                    }
                }
            }
        }
        specs
    }

    /// The selection as the API shows it back.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tickers": self.tickers.iter().map(Ticker::as_str).collect::<Vec<_>>(),
            "forms": self.forms.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            "years": self.years.iter().map(BulkYear::get).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for BulkSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ticker(s) x {} form(s) x {} year(s)",
            self.tickers.len(),
            self.forms.len(),
            self.years.len()
        )
    }
}

fn distinct<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_selection_counts_a_10q_per_quarter_and_one_of_the_other_forms() {
        let s = BulkSelection::parse(
            &strings(&["aapl", "MSFT", "AAPL"]),
            &strings(&["10-K", "10q"]),
            &[2024, 2025],
            2026,
        )
        .unwrap();
        assert_eq!(s.tickers().len(), 2, "repeats dropped");
        assert_eq!(s.filing_count(), 2 * 2 * (1 + 3));
        let keys: Vec<String> = s.specs().iter().map(FilingSpec::key).collect();
        assert_eq!(keys.len(), 16);
        assert_eq!(
            keys[..5],
            [
                "AAPL:10-K:FY2024",
                "AAPL:10-Q:FY2024Q1",
                "AAPL:10-Q:FY2024Q2",
                "AAPL:10-Q:FY2024Q3",
                "AAPL:10-K:FY2025"
            ]
        );
        assert_eq!(s.earliest_year(), 2024);
        assert_eq!(s.to_string(), "2 ticker(s) x 2 form(s) x 2 year(s)");
    }

    #[test]
    fn bad_lists_are_refused_with_the_reason() {
        let why = |t: &[&str], f: &[&str], y: &[i64]| {
            BulkSelection::parse(&strings(t), &strings(f), y, 2026)
                .unwrap_err()
                .to_string()
        };
        assert!(why(&[], &["10-K"], &[2025]).contains("tickers is empty"));
        assert!(why(&["AAPL"], &[], &[2025]).contains("forms is empty"));
        assert!(why(&["AAPL"], &["10-K"], &[]).contains("years is empty"));
        assert!(why(&["TOOLONGX"], &["10-K"], &[2025]).contains("TOOLONGX"));
        assert!(why(&["AAPL"], &["10-X"], &[2025]).contains("10-X"));
        assert!(why(&["AAPL"], &["8-K"], &[2025]).contains("one at a time"));
        assert!(why(&["AAPL"], &["10-K"], &[2027]).contains("1993 to 2026"));
        assert!(why(&["AAPL"], &["10-K"], &[1992]).contains("1993 to 2026"));
        assert!(why(&["AAPL"], &["10-K"], &[i64::MAX]).contains("not a fiscal year"));
        let many: Vec<String> = (0..51).map(|i| format!("T{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(why(&many, &["10-K"], &[2025]).contains("at most 50"));
        // 50 tickers x 10 years x (10-K + 10-Q) = 2,000 filings: too many.
        let fifty: Vec<&str> = many[..50].to_vec();
        let years: Vec<i64> = (2016..=2025).collect();
        assert!(why(&fifty, &["10-K", "10-Q"], &years).contains("at most 1000"));
    }
}
