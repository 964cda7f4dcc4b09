//! EDGAR's JSON, parsed into what the fetcher uses. Pure.
//!
//! EDGAR's data is old and uneven, so a row with a value that does not parse (an
//! accession number or date that is not one) is skipped and counted rather than
//! failing the whole answer; a document whose shape is wrong (columns of unequal
//! length, a missing column) is [`EdgarError::Malformed`].

use super::EdgarError;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use sluice_messages::{AccessionNumber, Cik, Ticker};
use std::collections::BTreeMap;

/// One row of `company_tickers.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyTicker {
    pub cik: Cik,
    pub ticker: Ticker,
    pub title: String,
}

/// One filing, as a row of the submissions' columnar arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingEntry {
    pub accession: AccessionNumber,
    /// EDGAR's form as written: `10-K`, `10-K/A`, `8-K`, `4`...
    pub form: String,
    pub filing_date: NaiveDate,
    /// The end of the period the filing reports on, when EDGAR gives one.
    pub report_date: Option<NaiveDate>,
    /// The main document's file name in the filing's archive folder (may be empty for old filings).
    pub primary_document: String,
    pub description: Option<String>,
    pub size: Option<u64>,
    pub inline_xbrl: bool,
}

/// A company's fiscal year end as EDGAR states it (`fiscalYearEnd`, `"0926"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalYearEnd {
    pub month: u32,
    pub day: u32,
}

impl FiscalYearEnd {
    /// The calendar year, for companies whose fiscal year end is unknown.
    pub const DECEMBER_31: FiscalYearEnd = FiscalYearEnd { month: 12, day: 31 };

    /// `MMDD`, as in the submissions file.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() != 4 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let month: u32 = raw[..2].parse().ok()?;
        let day: u32 = raw[2..].parse().ok()?;
        // 2024 is a leap year, so 0229 is accepted (and clamped in other years).
        NaiveDate::from_ymd_opt(2024, month, day).map(|_| Self { month, day })
    }
}

/// A pagination file named in `filings.files`, holding older filings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionsPageRef {
    /// e.g. `CIK0000320193-submissions-001.json`, under `/submissions/`.
    pub name: String,
    pub filing_count: Option<u64>,
    pub filing_from: Option<NaiveDate>,
    pub filing_to: Option<NaiveDate>,
}

/// A company's submissions: its recent filings, and whichever older pages were loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submissions {
    pub cik: Cik,
    pub name: String,
    /// As EDGAR lists them, upper-cased; individuals and delisted companies have none.
    pub tickers: Vec<String>,
    pub fiscal_year_end: Option<FiscalYearEnd>,
    /// Newest first, as EDGAR lists them: `filings.recent`, then each loaded page's rows.
    pub filings: Vec<FilingEntry>,
    /// Every page `filings.files` names, in EDGAR's order (newest first).
    pub pages: Vec<SubmissionsPageRef>,
    /// How many of `pages` (from the first) have been merged into `filings`.
    pub pages_loaded: usize,
    /// Rows dropped because a value did not parse.
    pub skipped_rows: usize,
}

impl Submissions {
    /// The pages not yet merged into `filings`.
    pub fn pending_pages(&self) -> &[SubmissionsPageRef] {
        &self.pages[self.pages_loaded.min(self.pages.len())..]
    }

    /// Appends the next pending page's rows (parsed by [`parse_submissions_page`]).
    pub fn merge_page(&mut self, page: FilingRows) {
        self.filings.extend(page.filings);
        self.skipped_rows += page.skipped_rows;
        self.pages_loaded = (self.pages_loaded + 1).min(self.pages.len());
    }
}

/// The rows of one columnar block (`filings.recent` or a pagination file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilingRows {
    pub filings: Vec<FilingEntry>,
    pub skipped_rows: usize,
}

fn malformed(what: impl Into<String>) -> EdgarError {
    EdgarError::Malformed(what.into())
}

/// `{"0":{"cik_str":320193,"ticker":"AAPL","title":"Apple Inc."},...}`, in EDGAR's
/// order (by the numeric key). Entries whose CIK or ticker does not parse are skipped.
pub fn parse_company_tickers(body: &[u8]) -> Result<Vec<CompanyTicker>, EdgarError> {
    let map: BTreeMap<String, Value> =
        serde_json::from_slice(body).map_err(|e| malformed(format!("company_tickers.json: {e}")))?;
    let mut rows: Vec<(u64, CompanyTicker)> = Vec::with_capacity(map.len());
    let mut skipped = 0usize;
    for (key, entry) in map {
        let cik = entry
            .get("cik_str")
            .and_then(scalar_text)
            .and_then(|c| Cik::parse(&c).ok());
        let ticker = entry
            .get("ticker")
            .and_then(Value::as_str)
            .and_then(|t| Ticker::parse(t).ok());
        let title = entry
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned();
        match (cik, ticker) {
            (Some(cik), Some(ticker)) => {
                rows.push((key.parse().unwrap_or(u64::MAX), CompanyTicker { cik, ticker, title }))
            }
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::debug!(skipped, "company_tickers.json entries skipped");
    }
    rows.sort_by_key(|(k, _)| *k);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// The first entry with this ticker.
pub fn find_ticker<'a>(tickers: &'a [CompanyTicker], ticker: &Ticker) -> Option<&'a CompanyTicker> {
    tickers.iter().find(|t| &t.ticker == ticker)
}

/// A string or a number, as text (EDGAR writes CIKs both ways).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct MainFile {
    cik: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tickers: Option<Vec<Value>>,
    #[serde(default, rename = "fiscalYearEnd")]
    fiscal_year_end: Option<String>,
    filings: MainFilings,
}

#[derive(Deserialize)]
struct MainFilings {
    recent: Columns,
    #[serde(default)]
    files: Vec<PageRefRaw>,
}

#[derive(Deserialize)]
struct PageRefRaw {
    name: String,
    #[serde(default, rename = "filingCount")]
    filing_count: Option<u64>,
    #[serde(default, rename = "filingFrom")]
    filing_from: Option<String>,
    #[serde(default, rename = "filingTo")]
    filing_to: Option<String>,
}

/// The columns the fetcher reads; EDGAR has more (acceptanceDateTime, act, items...).
#[derive(Deserialize)]
struct Columns {
    #[serde(rename = "accessionNumber")]
    accession_number: Vec<Value>,
    #[serde(rename = "filingDate")]
    filing_date: Vec<Value>,
    form: Vec<Value>,
    #[serde(rename = "primaryDocument")]
    primary_document: Vec<Value>,
    #[serde(default, rename = "reportDate")]
    report_date: Option<Vec<Value>>,
    #[serde(default, rename = "primaryDocDescription")]
    primary_doc_description: Option<Vec<Value>>,
    #[serde(default)]
    size: Option<Vec<Value>>,
    #[serde(default, rename = "isInlineXBRL")]
    is_inline_xbrl: Option<Vec<Value>>,
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// A non-empty trimmed string; `Err` when the value is there but not a string.
fn text(v: Option<&Value>) -> Result<Option<String>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Some(_) => Err(()),
    }
}

impl Columns {
    fn rows(self) -> Result<FilingRows, EdgarError> {
        let n = self.accession_number.len();
        let optional = [
            ("reportDate", self.report_date.as_ref()),
            ("primaryDocDescription", self.primary_doc_description.as_ref()),
            ("size", self.size.as_ref()),
            ("isInlineXBRL", self.is_inline_xbrl.as_ref()),
        ];
        let lengths = [
            ("filingDate", Some(&self.filing_date)),
            ("form", Some(&self.form)),
            ("primaryDocument", Some(&self.primary_document)),
        ]
        .into_iter()
        .chain(optional);
        for (name, column) in lengths {
            if let Some(column) = column {
                if column.len() != n {
                    return Err(malformed(format!(
                        "submissions column {name} has {} rows, accessionNumber has {n}",
                        column.len()
                    )));
                }
            }
        }
        let mut out = FilingRows::default();
        for i in 0..n {
            match self.row(i) {
                Some(entry) => out.filings.push(entry),
                None => out.skipped_rows += 1,
            }
        }
        Ok(out)
    }

    fn row(&self, i: usize) -> Option<FilingEntry> {
        fn at(col: &Option<Vec<Value>>, i: usize) -> Option<&Value> {
            col.as_ref().and_then(|c| c.get(i))
        }
        let accession = AccessionNumber::parse(self.accession_number[i].as_str()?).ok()?;
        let filing_date = date(self.filing_date[i].as_str()?)?;
        let form = text(Some(&self.form[i])).ok()??;
        let primary_document = text(Some(&self.primary_document[i])).ok()?.unwrap_or_default();
        let report_date = match text(at(&self.report_date, i)).ok()? {
            None => None,
            Some(raw) => Some(date(&raw)?),
        };
        let description = text(at(&self.primary_doc_description, i)).ok()?;
        let size = match at(&self.size, i) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64()?),
        };
        let inline_xbrl = match at(&self.is_inline_xbrl, i) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => v.as_u64()? != 0,
        };
        Some(FilingEntry {
            accession,
            form,
            filing_date,
            report_date,
            primary_document,
            description,
            size,
            inline_xbrl,
        })
    }
}

/// The main submissions file, `CIK##########.json`; pages in `filings.files` are
/// listed, not loaded.
pub fn parse_submissions(body: &[u8]) -> Result<Submissions, EdgarError> {
    let raw: MainFile = serde_json::from_slice(body).map_err(|e| malformed(format!("submissions: {e}")))?;
    let cik = scalar_text(&raw.cik)
        .and_then(|c| Cik::parse(&c).ok())
        .ok_or_else(|| malformed("submissions: cik is not a CIK"))?;
    let tickers = raw
        .tickers
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(|t| t.trim().to_ascii_uppercase())
        .filter(|t| !t.is_empty())
        .collect();
    let rows = raw.filings.recent.rows()?;
    let pages = raw
        .filings
        .files
        .into_iter()
        .map(|p| SubmissionsPageRef {
            name: p.name,
            filing_count: p.filing_count,
            filing_from: p.filing_from.as_deref().and_then(date),
            filing_to: p.filing_to.as_deref().and_then(date),
        })
        .collect();
    Ok(Submissions {
        cik,
        name: raw.name.unwrap_or_default().trim().to_owned(),
        tickers,
        fiscal_year_end: raw.fiscal_year_end.as_deref().and_then(FiscalYearEnd::parse),
        filings: rows.filings,
        pages,
        pages_loaded: 0,
        skipped_rows: rows.skipped_rows,
    })
}

/// A pagination file (`CIK##########-submissions-001.json`): the columns at top level.
pub fn parse_submissions_page(body: &[u8]) -> Result<FilingRows, EdgarError> {
    let columns: Columns = serde_json::from_slice(body).map_err(|e| malformed(format!("submissions page: {e}")))?;
    columns.rows()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = r#"{
        "cik": "0009999999", "name": "Example Co", "tickers": ["exco", ""],
        "fiscalYearEnd": "0930",
        "filings": {
            "recent": {
                "accessionNumber": ["0009999999-25-000002", "bad", "0009999999-25-000001"],
                "filingDate": ["2025-11-20", "2025-11-01", "2025-08-01"],
                "reportDate": ["2025-09-30", "", "2025-06-30"],
                "form": ["10-K", "8-K", "10-Q"],
                "primaryDocument": ["exco-20250930.htm", "x.htm", "exco-20250630.htm"],
                "primaryDocDescription": ["10-K", "", null],
                "size": [1000, 10, 500],
                "isXBRL": [1, 0, 1],
                "isInlineXBRL": [1, 0, 0]
            },
            "files": [{"name": "CIK0009999999-submissions-001.json", "filingCount": 2,
                       "filingFrom": "2001-01-01", "filingTo": "2015-01-01"}]
        }
    }"#;

    #[test]
    fn main_file_rows_and_pages() {
        let s = parse_submissions(MAIN.as_bytes()).unwrap();
        assert_eq!(s.cik.as_str(), "0009999999");
        assert_eq!(s.name, "Example Co");
        assert_eq!(s.tickers, ["EXCO"]);
        assert_eq!(s.fiscal_year_end, Some(FiscalYearEnd { month: 9, day: 30 }));
        assert_eq!((s.filings.len(), s.skipped_rows), (2, 1));
        let k = &s.filings[0];
        assert_eq!(k.accession.as_str(), "0009999999-25-000002");
        assert_eq!(k.report_date, NaiveDate::from_ymd_opt(2025, 9, 30));
        assert_eq!(
            (k.size, k.inline_xbrl, k.description.as_deref()),
            (Some(1000), true, Some("10-K"))
        );
        assert_eq!(s.filings[1].description, None);
        assert_eq!(s.pages.len(), 1);
        assert_eq!(s.pending_pages()[0].filing_count, Some(2));
    }

    #[test]
    fn unequal_columns_are_malformed_and_a_page_parses_alone() {
        let bad = MAIN.replace(r#""form": ["10-K", "8-K", "10-Q"]"#, r#""form": ["10-K", "8-K"]"#);
        assert!(matches!(parse_submissions(bad.as_bytes()), Err(EdgarError::Malformed(m)) if m.contains("form")));
        assert!(matches!(parse_submissions(b"<Error/>"), Err(EdgarError::Malformed(_))));
        let page = r#"{"accessionNumber": ["0009999999-10-000001"], "filingDate": ["2010-03-01"],
            "reportDate": ["2009-12-31"], "form": ["10-K"], "primaryDocument": ["a.htm"]}"#;
        let rows = parse_submissions_page(page.as_bytes()).unwrap();
        assert_eq!((rows.filings.len(), rows.skipped_rows), (1, 0));
        assert!(!rows.filings[0].inline_xbrl);
        let mut s = parse_submissions(MAIN.as_bytes()).unwrap();
        s.merge_page(rows);
        assert_eq!((s.filings.len(), s.pages_loaded, s.pending_pages().len()), (3, 1, 0));
    }

    #[test]
    fn company_tickers_in_edgar_order() {
        let body = br#"{"10":{"cik_str":3,"ticker":"CCC","title":"C"},"2":{"cik_str":"2","ticker":"BB","title":"B"},
            "0":{"cik_str":1,"ticker":"AA","title":"A Inc."},"3":{"cik_str":0,"ticker":"ZERO","title":"?"}}"#;
        let rows = parse_company_tickers(body).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.ticker.as_str()).collect();
        assert_eq!(names, ["AA", "BB", "CCC"]);
        let bb = find_ticker(&rows, &Ticker::parse("bb").unwrap()).unwrap();
        assert_eq!(bb.cik.as_str(), "0000000002");
        assert!(parse_company_tickers(b"[]").is_err());
    }

    #[test]
    fn fiscal_year_ends() {
        assert_eq!(FiscalYearEnd::parse("0926"), Some(FiscalYearEnd { month: 9, day: 26 }));
        assert_eq!(FiscalYearEnd::parse("0229"), Some(FiscalYearEnd { month: 2, day: 29 }));
        for bad in ["1332", "926", "", "abcd", "0931"] {
            assert_eq!(FiscalYearEnd::parse(bad), None, "{bad}");
        }
    }
}
