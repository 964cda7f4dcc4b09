//! Demo prefill (seed 002): demo users are served from a pre-cached set, the S&P 500's
//! 10-K and 10-Q filings of the fiscal years the demo tier covers (the last two, counted
//! as [`sluice_messages::TierPolicy::earliest_fiscal_year`] counts them), and no EDGAR
//! request is ever made for them. The `demo-prefill` schedule keeps that set:
//!
//! - each tick takes the next companies of the universe (`tickers` with `SP500`
//!   membership), those never listed or listed longest ago (older than the refresh
//!   interval), at most `DEMO_PREFILL_COMPANIES_PER_TICK` of them: a tick is bounded, and a
//!   run that stopped midway resumes where it stopped;
//! - for each it reads the company's EDGAR submissions (one request, older pages only
//!   while they reach back into the covered years) through the fetcher's client and its
//!   rate limiter, and queues a [`FilingPrefillRequested`] on the filing requests queue for
//!   every filing of the set that is not stored yet (in one transaction with the company's
//!   place, through the outbox), so a rerun queues only what is new;
//! - the fetcher consumes those like a user's request: the document once, S3, sections,
//!   the `filings` row (a filing already stored is not fetched again).

use crate::edgar::{filing_fiscal_quarter, EdgarError, FilingEntry, FiscalYearEnd, Submissions};
use crate::fetch::{fiscal_year, FetchError, FilingFacts, FilingFetcher};
use chrono::Datelike;
use serde::Serialize;
use sluice_core::{Delivery, Destination, EventPublisher};
use sluice_messages::{
    Cik, CorrelationId, Envelope, FilingPrefillRequested, FilingType, Payload, Producer, Ticker, UserTier,
};

/// The schedule's name (template.yaml's input, `make tick NAME=demo-prefill`).
pub const DEMO_PREFILL: &str = "demo-prefill";

/// The forms of the demo set.
pub const DEMO_FORMS: [FilingType; 2] = [FilingType::TenK, FilingType::TenQ];

/// What one tick did (the schedule's answer, and the log line).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PrefillTick {
    /// The earliest fiscal year of the set (the demo tier's, as of today).
    pub from_fiscal_year: i32,
    /// Companies whose EDGAR list was read this tick.
    pub companies: usize,
    /// Filings of the set queued for fetching (not stored yet).
    pub queued: usize,
    /// Filings of the set already stored (not fetched again).
    pub already_stored: usize,
    /// Companies EDGAR could not list, with why (they are tried again after the refresh interval).
    pub failed: Vec<String>,
    /// Why the tick stopped early (EDGAR unavailable or throttling): the companies not
    /// reached are the first of the next tick.
    pub stopped: Option<String>,
}

/// A filing of the demo set, as the company's submissions list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFiling<'a> {
    pub entry: &'a FilingEntry,
    pub form: FilingType,
    pub fiscal_year: i32,
    pub fiscal_quarter: Option<u8>,
}

/// The company's filings that belong to the demo set: original 10-Ks and 10-Qs (not
/// amendments) of fiscal `earliest` on. Pure.
pub fn demo_set(submissions: &Submissions, earliest: i32) -> Vec<DemoFiling<'_>> {
    let fye = submissions.fiscal_year_end;
    submissions
        .filings
        .iter()
        .filter_map(|entry| {
            let form = DEMO_FORMS.into_iter().find(|f| f.as_str() == entry.form)?;
            if entry.primary_document.is_empty() {
                return None;
            }
            let year = fiscal_year(entry, fye);
            (year >= earliest).then(|| DemoFiling {
                entry,
                form,
                fiscal_year: year,
                fiscal_quarter: match form {
                    FilingType::TenQ => filing_fiscal_quarter(entry, fye.unwrap_or(FiscalYearEnd::DECEMBER_31)),
                    _ => None,
                },
            })
        })
        .collect()
}

/// Whether an older page of the submissions may still hold filings of the set: the
/// oldest filing loaded was filed in or after the calendar year before `earliest` (a
/// fiscal year can start in the calendar year before it). Pure.
pub fn may_reach_further(submissions: &Submissions, earliest: i32) -> bool {
    !submissions.pending_pages().is_empty()
        && submissions
            .filings
            .iter()
            .map(|f| f.filing_date)
            .min()
            .is_none_or(|oldest| oldest.year() >= earliest - 1)
}

/// How a company's listing ended.
enum Listed {
    /// Its filings of the set: how many were queued and how many were stored already.
    Done { queued: usize, stored: usize },
    /// EDGAR will not list it (unknown CIK, say): recorded, tried after the refresh interval.
    Refused(String),
}

impl FilingFetcher {
    /// One tick of the `demo-prefill` schedule.
    pub async fn prefill_tick(&self) -> Result<PrefillTick, FetchError> {
        let queue = self.config.filings_queue_url.clone().ok_or_else(|| {
            FetchError::NotConfigured("FILINGS_QUEUE_URL (where the demo prefill queues its filings)".into())
        })?;
        let earliest = UserTier::Demo
            .policy()
            .earliest_fiscal_year(self.clock.today())
            .unwrap_or(i32::MIN);
        let mut tick = PrefillTick {
            from_fiscal_year: earliest,
            ..PrefillTick::default()
        };
        let refresh_secs = self.config.prefill_refresh_after.as_secs_f64();
        let companies = {
            let client = self.pool.get().await?;
            client
                .query(
                    "SELECT t.ticker, coalesce(t.cik, e.cik)
                     FROM tickers t
                     LEFT JOIN demo_prefill_companies p ON p.ticker = t.ticker
                     LEFT JOIN edgar_companies e ON e.ticker = t.ticker
                     WHERE 'SP500' = ANY(t.index_membership)
                       AND (p.listed_at IS NULL OR p.listed_at < now() - make_interval(secs => $1))
                     ORDER BY p.listed_at NULLS FIRST, t.ticker
                     LIMIT $2",
                    &[&refresh_secs, &self.config.prefill_companies_per_tick],
                )
                .await?
        };
        let correlation = CorrelationId::parse(&format!("demo-prefill-{}", self.clock.today())).unwrap_or_default();
        for row in &companies {
            let ticker: String = row.get(0);
            let cik: Option<String> = row.get(1);
            let listed = match self.list_company(&ticker, cik, earliest, &queue, &correlation).await {
                Ok(listed) => listed,
                Err(FetchError::Edgar(e)) if e.is_retryable() => {
                    tick.stopped = Some(format!("EDGAR at {ticker}: {e}"));
                    break;
                }
                Err(e) => return Err(e),
            };
            tick.companies += 1;
            match listed {
                Listed::Done { queued, stored } => {
                    tick.queued += queued;
                    tick.already_stored += stored;
                }
                Listed::Refused(reason) => tick.failed.push(format!("{ticker}: {reason}")),
            }
        }
        self.publisher
            .flush(&self.pool, Producer::FilingFetcher)
            .await
            .map_err(|e| FetchError::Storage(e.to_string()))?;
        tracing::info!(
            companies = tick.companies,
            queued = tick.queued,
            already_stored = tick.already_stored,
            failed = tick.failed.len(),
            stopped = tick.stopped.as_deref().unwrap_or(""),
            "demo prefill tick"
        );
        Ok(tick)
    }

    /// Reads one company's list and queues its filings of the set not stored yet; its
    /// place in the universe moves in the same transaction.
    async fn list_company(
        &self,
        ticker: &str,
        cik: Option<String>,
        earliest: i32,
        queue: &str,
        correlation: &CorrelationId,
    ) -> Result<Listed, FetchError> {
        let cik = match cik.as_deref().map(Cik::parse) {
            Some(Ok(cik)) => Some(cik),
            _ => match Ticker::parse(ticker) {
                Ok(t) => self.resolve_ticker(&t).await?,
                Err(_) => None,
            },
        };
        let Some(cik) = cik else {
            let reason = format!("EDGAR lists no company with the ticker {ticker}");
            self.mark_listed(ticker, None, 0, Some(&reason)).await?;
            return Ok(Listed::Refused(reason));
        };
        let submissions = match self.submissions_reaching(&cik, earliest).await {
            Ok(s) => s,
            Err(e) if !e.is_retryable() => {
                let reason = e.to_string();
                self.mark_listed(ticker, Some(&cik), 0, Some(&reason)).await?;
                return Ok(Listed::Refused(reason));
            }
            Err(e) => return Err(e.into()),
        };
        let set = demo_set(&submissions, earliest);
        let accessions: Vec<&str> = set.iter().map(|f| f.entry.accession.as_str()).collect();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let stored: Vec<String> = tx
            .query(
                "SELECT accession FROM filings WHERE accession = ANY($1)",
                &[&accessions],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let ticker_value = Ticker::parse(ticker).ok();
        let mut queued = 0;
        for filing in set
            .iter()
            .filter(|f| !stored.iter().any(|s| s == f.entry.accession.as_str()))
        {
            let request = FilingPrefillRequested {
                cik: cik.clone(),
                ticker: ticker_value.clone(),
                company_name: submissions.name.clone(),
                accession: filing.entry.accession.clone(),
                form: filing.form,
                primary_document: filing.entry.primary_document.clone(),
                filing_date: filing.entry.filing_date,
                report_date: filing.entry.report_date,
                fiscal_year: filing.fiscal_year,
                fiscal_quarter: filing.fiscal_quarter,
            };
            let envelope = Envelope::new(
                Producer::FilingFetcher,
                correlation.clone(),
                Payload::FilingPrefillRequested(request),
            );
            EventPublisher::stage(&tx, &Destination::FifoQueue(queue.to_owned()), &envelope)
                .await
                .map_err(|e| FetchError::Storage(e.to_string()))?;
            queued += 1;
        }
        upsert_listed(&tx, ticker, Some(&cik), queued, None).await?;
        tx.commit().await?;
        Ok(Listed::Done {
            queued,
            stored: stored.len(),
        })
    }

    /// The recent submissions, and older pages while they may hold filings of the set.
    async fn submissions_reaching(&self, cik: &Cik, earliest: i32) -> Result<Submissions, EdgarError> {
        let mut submissions = self.edgar.submissions_recent(cik).await?;
        while may_reach_further(&submissions, earliest) {
            if !self.edgar.load_next_page(&mut submissions).await? {
                break;
            }
        }
        Ok(submissions)
    }

    async fn mark_listed(
        &self,
        ticker: &str,
        cik: Option<&Cik>,
        queued: usize,
        error: Option<&str>,
    ) -> Result<(), FetchError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        upsert_listed(&tx, ticker, cik, queued, error).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A filing of the demo set the schedule queued: its document once (no look at the
    /// submissions again), stored like any other filing. Stored already: nothing to do.
    pub async fn handle_prefill(&self, delivery: Delivery<FilingPrefillRequested>) -> Result<(), FetchError> {
        let request = &delivery.payload;
        if self.stored(&request.accession).await?.is_some() {
            tracing::info!(accession = %request.accession, "demo prefill: filing already stored");
            return Ok(());
        }
        let bytes = self
            .edgar
            .document(&request.cik, &request.accession, &request.primary_document)
            .await?;
        let entry = FilingEntry {
            accession: request.accession.clone(),
            form: request.form.as_str().to_owned(),
            filing_date: request.filing_date,
            report_date: request.report_date,
            primary_document: request.primary_document.clone(),
            description: None,
            size: None,
            inline_xbrl: false,
        };
        let facts = FilingFacts {
            cik: &request.cik,
            company_name: &request.company_name,
            ticker: request.ticker.as_ref().map(Ticker::to_string),
            form: request.form,
            fiscal_year: request.fiscal_year,
            fiscal_quarter: request.fiscal_quarter,
        };
        match self.store(&facts, &entry, bytes.to_vec()).await? {
            Ok(_) => {
                tracing::info!(accession = %request.accession, "demo prefill: filing stored");
                Ok(())
            }
            Err(refusal) => Err(FetchError::Unusable(format!(
                "{} {}: {}",
                request.form,
                request.accession,
                refusal.reason()
            ))),
        }
    }
}

/// Records that a company's list was read (now), what it queued and any error.
async fn upsert_listed(
    tx: &deadpool_postgres::Transaction<'_>,
    ticker: &str,
    cik: Option<&Cik>,
    queued: usize,
    error: Option<&str>,
) -> Result<(), FetchError> {
    let queued = i32::try_from(queued).unwrap_or(i32::MAX);
    // A company with no CIK anywhere is recorded under the zero CIK, so it waits its turn.
    let cik = cik.map_or("0000000000", Cik::as_str);
    tx.execute(
        "INSERT INTO demo_prefill_companies (ticker, cik, listed_at, filings_queued, last_error)
         VALUES ($1, $2, now(), $3, $4)
         ON CONFLICT (ticker) DO UPDATE SET cik = EXCLUDED.cik, listed_at = EXCLUDED.listed_at,
             filings_queued = EXCLUDED.filings_queued, last_error = EXCLUDED.last_error",
        &[&ticker, &cik, &queued, &error],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use sluice_messages::AccessionNumber;

    fn accessions<'a>(set: &'a [DemoFiling<'_>]) -> Vec<&'a AccessionNumber> {
        set.iter().map(|f| &f.entry.accession).collect()
    }

    fn entry(accession: &str, form: &str, filed: &str, report: &str) -> FilingEntry {
        FilingEntry {
            accession: AccessionNumber::parse(accession).unwrap(),
            form: form.into(),
            filing_date: filed.parse().unwrap(),
            report_date: Some(report.parse().unwrap()),
            primary_document: "doc.htm".into(),
            description: None,
            size: None,
            inline_xbrl: true,
        }
    }

    fn submissions(filings: Vec<FilingEntry>, fye: &str) -> Submissions {
        Submissions {
            cik: Cik::parse("320193").unwrap(),
            name: "Apple Inc.".into(),
            tickers: vec!["AAPL".into()],
            fiscal_year_end: FiscalYearEnd::parse(fye),
            filings,
            pages: vec![],
            pages_loaded: 0,
            skipped_rows: 0,
        }
    }

    #[test]
    fn the_set_is_original_10ks_and_10qs_of_the_covered_fiscal_years() {
        let s = submissions(
            vec![
                entry("0000320193-26-000010", "10-Q", "2026-08-01", "2026-06-27"),
                entry("0000320193-26-000005", "8-K", "2026-05-01", "2026-05-01"),
                entry("0000320193-25-000079", "10-K", "2025-10-31", "2025-09-27"),
                entry("0000320193-25-000080", "10-K/A", "2025-11-20", "2025-09-27"),
                entry("0000320193-24-000123", "10-K", "2024-11-01", "2024-09-28"),
                // Apple's fiscal 2024 starts in September 2023: its first 10-Q is in the set.
                entry("0000320193-24-000006", "10-Q", "2024-02-02", "2023-12-30"),
                entry("0000320193-23-000106", "10-K", "2023-11-03", "2023-09-30"),
            ],
            "0928",
        );
        let set = demo_set(&s, 2024);
        let names: Vec<String> = accessions(&set).iter().map(|a| a.to_string()).collect();
        assert_eq!(
            names,
            [
                "0000320193-26-000010",
                "0000320193-25-000079",
                "0000320193-24-000123",
                "0000320193-24-000006"
            ]
        );
        assert_eq!(set[0].fiscal_quarter, Some(3));
        assert_eq!(set[1].fiscal_year, 2025);
        assert_eq!(set[1].fiscal_quarter, None);
        assert_eq!(set[3].fiscal_year, 2024);
        assert_eq!(set[3].fiscal_quarter, Some(1));
    }

    #[test]
    fn older_pages_are_read_only_while_they_can_reach_the_covered_years() {
        let mut s = submissions(
            vec![entry("0000320193-25-000079", "10-K", "2025-10-31", "2025-09-27")],
            "0928",
        );
        assert!(!may_reach_further(&s, 2024), "no page left");
        s.pages.push(crate::edgar::SubmissionsPageRef {
            name: "CIK0000320193-submissions-001.json".into(),
            filing_count: None,
            filing_from: None,
            filing_to: Some(NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()),
        });
        assert!(may_reach_further(&s, 2024));
        s.filings
            .push(entry("0000320193-22-000001", "10-K", "2022-10-28", "2022-09-24"));
        assert!(
            !may_reach_further(&s, 2024),
            "the loaded list already reaches back far enough"
        );
    }
}
