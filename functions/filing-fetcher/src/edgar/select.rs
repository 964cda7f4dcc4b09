//! Which filing a request means. Pure.
//!
//! A fiscal year is named by the calendar year it ends in (Apple's fiscal 2024
//! ended 2024-09-28). A filing's period end is its `reportDate`; it belongs to the
//! first fiscal year whose end, plus a week of slack for 52/53-week years, is on or
//! after it. Without a report date the period is estimated from the filing date:
//! an annual report (10-K, 20-F) covers the fiscal year before the one it is filed
//! in; anything else is dated 45 days before filing (a 10-Q is due within 45 days
//! of its quarter's end, so this lands in the quarter's fiscal year).
//!
//! By fiscal year, only the original form counts (`10-K/A` is not a `10-K`) and the
//! latest period wins (the third quarter's 10-Q of a year). By accession number the
//! match is exact, and the form must be the one asked for.

use super::parse::{FilingEntry, FiscalYearEnd, Submissions};
use chrono::{Datelike, Duration, NaiveDate};
use sluice_messages::{FilingSelector, FilingType};

/// A 52/53-week fiscal year can end a few days after its nominal end.
const YEAR_END_SLACK_DAYS: i64 = 7;
/// A 10-Q is due at most 45 days after its quarter ends.
const QUARTERLY_DUE_DAYS: i64 = 45;

fn year_end_in(year: i32, fye: FiscalYearEnd) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, fye.month, fye.day)
        .or_else(|| NaiveDate::from_ymd_opt(year, fye.month, 28))
        .unwrap_or(NaiveDate::MIN)
}

/// The fiscal year a period ending on `end` belongs to.
pub fn fiscal_year_of(end: NaiveDate, fye: FiscalYearEnd) -> i32 {
    let slack = Duration::days(YEAR_END_SLACK_DAYS);
    (end.year() - 1..=end.year() + 1)
        .find(|y| end <= year_end_in(*y, fye) + slack)
        .unwrap_or(end.year() + 1)
}

fn is_annual(form: &str) -> bool {
    matches!(form, "10-K" | "20-F")
}

/// The fiscal year a filing reports on (see the module's rule).
pub fn filing_fiscal_year(entry: &FilingEntry, fye: FiscalYearEnd) -> i32 {
    match entry.report_date {
        Some(end) => fiscal_year_of(end, fye),
        None if is_annual(&entry.form) => fiscal_year_of(entry.filing_date, fye) - 1,
        None => fiscal_year_of(entry.filing_date - Duration::days(QUARTERLY_DUE_DAYS), fye),
    }
}

/// The fiscal quarter (1 to 4) a period ending on `end` closes: the fourth ends with the
/// fiscal year, the others three, six and nine months before it (to the nearest quarter,
/// so 52/53-week quarters land where they belong).
pub fn fiscal_quarter_of(end: NaiveDate, fye: FiscalYearEnd) -> u8 {
    let year_end = year_end_in(fiscal_year_of(end, fye), fye);
    let quarters_before = ((year_end - end).num_days().max(0) as f64 / 91.3).round() as i64;
    u8::try_from((4 - quarters_before).clamp(1, 4)).unwrap_or(4)
}

/// The fiscal quarter a quarterly report covers; `None` for other forms, or without a
/// report date (then only its year is known).
pub fn filing_fiscal_quarter(entry: &FilingEntry, fye: FiscalYearEnd) -> Option<u8> {
    match (entry.form.as_str(), entry.report_date) {
        ("10-Q", Some(end)) => Some(fiscal_quarter_of(end, fye)),
        _ => None,
    }
}

/// [`select_filing_for_year_end`] for a company whose fiscal year is the calendar year.
pub fn select_filing<'a>(
    filings: &'a [FilingEntry],
    form: FilingType,
    selector: &FilingSelector,
) -> Option<&'a FilingEntry> {
    select_filing_for_year_end(filings, form, selector, FiscalYearEnd::DECEMBER_31)
}

/// The filing `selector` names among `filings`, for a company whose fiscal year ends on `fye`.
pub fn select_filing_for_year_end<'a>(
    filings: &'a [FilingEntry],
    form: FilingType,
    selector: &FilingSelector,
    fye: FiscalYearEnd,
) -> Option<&'a FilingEntry> {
    let mut of_form = filings.iter().filter(move |f| f.form == form.as_str());
    match selector {
        FilingSelector::Accession(accession) => of_form.find(|f| &f.accession == accession),
        FilingSelector::FiscalYear(year) => of_form
            .filter(|f| filing_fiscal_year(f, fye) == *year)
            .max_by_key(|f| (f.report_date, f.filing_date)),
        FilingSelector::FiscalQuarter { year, quarter } => of_form
            .filter(|f| filing_fiscal_year(f, fye) == *year && filing_fiscal_quarter(f, fye) == Some(*quarter))
            .max_by_key(|f| (f.report_date, f.filing_date)),
    }
}

impl Submissions {
    /// The filing `selector` names, by this company's own fiscal year end.
    pub fn select(&self, form: FilingType, selector: &FilingSelector) -> Option<&FilingEntry> {
        let fye = self.fiscal_year_end.unwrap_or(FiscalYearEnd::DECEMBER_31);
        select_filing_for_year_end(&self.filings, form, selector, fye)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_messages::AccessionNumber;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(acc: &str, form: &str, filed: &str, report: Option<&str>) -> FilingEntry {
        FilingEntry {
            accession: AccessionNumber::parse(acc).unwrap(),
            form: form.into(),
            filing_date: d(filed),
            report_date: report.map(d),
            primary_document: "doc.htm".into(),
            description: None,
            size: None,
            inline_xbrl: true,
        }
    }

    const SEPT: FiscalYearEnd = FiscalYearEnd { month: 9, day: 26 };

    #[test]
    fn fiscal_quarters_by_period_end() {
        let dec = FiscalYearEnd::DECEMBER_31;
        assert_eq!(fiscal_quarter_of(d("2026-03-31"), dec), 1);
        assert_eq!(fiscal_quarter_of(d("2026-06-30"), dec), 2);
        assert_eq!(fiscal_quarter_of(d("2026-09-30"), dec), 3);
        assert_eq!(fiscal_quarter_of(d("2026-12-31"), dec), 4);
        // Apple: a year ending late September, 13-week quarters.
        assert_eq!(fiscal_quarter_of(d("2024-12-28"), SEPT), 1);
        assert_eq!(fiscal_quarter_of(d("2025-03-29"), SEPT), 2);
        assert_eq!(fiscal_quarter_of(d("2025-06-28"), SEPT), 3);
        let q = |acc, report| entry(acc, "10-Q", "2026-05-01", Some(report));
        let filings = [
            q("0000000001-26-000001", "2026-03-31"),
            q("0000000001-26-000002", "2026-06-30"),
            q("0000000001-26-000003", "2026-09-30"),
        ];
        let second = FilingSelector::FiscalQuarter { year: 2026, quarter: 2 };
        assert_eq!(
            select_filing(&filings, FilingType::TenQ, &second).map(|f| f.accession.as_str()),
            Some("0000000001-26-000002")
        );
        let none = FilingSelector::FiscalQuarter { year: 2025, quarter: 2 };
        assert!(select_filing(&filings, FilingType::TenQ, &none).is_none());
    }

    #[test]
    fn fiscal_years_by_period_end() {
        let dec = FiscalYearEnd::DECEMBER_31;
        assert_eq!(fiscal_year_of(d("2025-12-31"), dec), 2025);
        assert_eq!(fiscal_year_of(d("2025-09-30"), dec), 2025);
        // A 52/53-week year ending just after 31 December.
        assert_eq!(fiscal_year_of(d("2022-01-01"), dec), 2021);
        assert_eq!(fiscal_year_of(d("2024-09-28"), SEPT), 2024);
        assert_eq!(fiscal_year_of(d("2022-09-24"), SEPT), 2022);
        assert_eq!(fiscal_year_of(d("2025-12-27"), SEPT), 2026);
        assert_eq!(fiscal_year_of(d("2025-06-28"), SEPT), 2025);
        let feb29 = FiscalYearEnd { month: 2, day: 29 };
        assert_eq!(fiscal_year_of(d("2025-02-28"), feb29), 2025);
    }

    #[test]
    fn without_a_report_date_the_period_is_estimated() {
        let k = entry("0000000001-26-000001", "10-K", "2026-02-20", None);
        assert_eq!(filing_fiscal_year(&k, FiscalYearEnd::DECEMBER_31), 2025);
        let k = entry("0000000001-24-000001", "10-K", "2024-11-01", None);
        assert_eq!(filing_fiscal_year(&k, SEPT), 2024);
        let q = entry("0000000001-26-000002", "10-Q", "2026-02-05", None);
        assert_eq!(filing_fiscal_year(&q, FiscalYearEnd::DECEMBER_31), 2025);
        assert_eq!(filing_fiscal_year(&q, SEPT), 2026);
    }

    #[test]
    fn originals_only_latest_period_wins_accession_needs_the_form() {
        let filings = vec![
            entry("0000000001-26-000005", "10-K/A", "2026-04-01", Some("2025-12-31")),
            entry("0000000001-25-000004", "10-Q", "2025-11-05", Some("2025-09-30")),
            entry("0000000001-25-000003", "10-Q", "2025-08-05", Some("2025-06-30")),
            entry("0000000001-25-000002", "10-K", "2025-02-20", Some("2024-12-31")),
            entry("0000000001-25-000001", "8-K", "2025-01-10", None),
        ];
        let fy = |y| FilingSelector::FiscalYear(y);
        let acc = |a| FilingSelector::Accession(AccessionNumber::parse(a).unwrap());
        let pick = |form, sel: &FilingSelector| select_filing(&filings, form, sel).map(|f| f.accession.to_string());
        assert_eq!(
            pick(FilingType::TenK, &fy(2024)).as_deref(),
            Some("0000000001-25-000002")
        );
        assert_eq!(
            pick(FilingType::TenK, &fy(2025)),
            None,
            "an amendment is not the original"
        );
        assert_eq!(
            pick(FilingType::TenQ, &fy(2025)).as_deref(),
            Some("0000000001-25-000004")
        );
        assert_eq!(
            pick(FilingType::EightK, &fy(2024)).as_deref(),
            Some("0000000001-25-000001")
        );
        assert_eq!(
            pick(FilingType::TenQ, &acc("0000000001-25-000003")).as_deref(),
            Some("0000000001-25-000003")
        );
        assert_eq!(pick(FilingType::TenK, &acc("0000000001-25-000003")), None);
        assert_eq!(pick(FilingType::TenK, &acc("0000000001-26-000005")), None);
    }
}
