//! The payloads. Adding a field: make it `Option` or give it a serde default so
//! messages already on a queue keep deserialising; anything else is a new schema version.

use crate::filings::{AccessionNumber, AnalysisKind, FilingSpec, FilingType, ModelKey};
use crate::newtypes::{Cik, DataVersionId, Dataset, Money, Sha256Digest, Ticker, UserTier};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Payload {
    /// An upload was checked: queued for loading, refused (with why), or a duplicate (events topic).
    UploadChecked(UploadChecked),
    /// A spreadsheet passed ingest checks and waits on the ETL queue.
    DatasetUploaded(DatasetUploaded),
    /// A spreadsheet load finished (success, partial or failed).
    DatasetLoaded(DatasetLoaded),
    /// One ticker's market-data job of a refresh (price jobs FIFO queue).
    PriceJobRequested(PriceJobRequested),
    /// A market-data refresh is under way (events topic).
    PriceRefreshProgress(PriceRefreshProgress),
    /// A market-data refresh finished (events topic).
    PriceRefreshSummary(PriceRefreshSummary),
    /// A user asked for an analysis of a filing not yet fetched (filing FIFO queue).
    FilingRequested(FilingRequested),
    /// The demo prefill schedule found a filing of the cached set not yet stored (filing FIFO queue).
    FilingPrefillRequested(FilingPrefillRequested),
    /// One filing of a user's bulk import, to fetch and charge once (filing FIFO queue).
    BulkFilingRequested(BulkFilingRequested),
    /// A bulk import moved on: a filing arrived or failed, or it ended (events topic).
    BulkImportProgress(BulkImportProgress),
    /// A filing is stored and split into sections; its analysis waits (analysis FIFO queue).
    AnalysisRequested(AnalysisRequested),
    /// An analysis task finished and its result is in the pool (events topic).
    AnalysisCompleted(AnalysisCompleted),
    /// An analysis task failed; nothing was charged (events topic).
    AnalysisFailed(AnalysisFailed),
    /// A piece of customer feedback, normalised from any source (feedback FIFO queue).
    FeedbackReceived(FeedbackReceived),
    /// A feedback item was triaged into a ticket (events topic).
    FeedbackTriaged(FeedbackTriaged),
    /// A portfolio company's KPI met an alert rule after a load (events topic).
    KpiAlert(KpiAlert),
}

/// A payload a consumer expects, taken out of [`Payload`]: what the batch processor's
/// typed step decodes once for every consumer.
pub trait FromPayload: Sized {
    /// What the consumer expects, in words, for the reason a wrong message is refused with.
    const EXPECTED: &'static str;
    /// The payload, or `None` when the message is of another kind.
    fn from_payload(payload: Payload) -> Option<Self>;
}

/// Any payload (a consumer of every event, such as the notifier).
impl FromPayload for Payload {
    const EXPECTED: &'static str = "Sluice event";
    fn from_payload(payload: Payload) -> Option<Self> {
        Some(payload)
    }
}

macro_rules! from_payload {
    ($($variant:ident: $expected:literal),* $(,)?) => {$(
        impl FromPayload for $variant {
            const EXPECTED: &'static str = $expected;
            fn from_payload(payload: Payload) -> Option<Self> {
                match payload {
                    Payload::$variant(p) => Some(p),
                    _ => None,
                }
            }
        }
    )*};
}

from_payload!(
    UploadChecked: "UploadChecked message",
    DatasetUploaded: "DatasetUploaded message",
    DatasetLoaded: "DatasetLoaded message",
    PriceJobRequested: "price job",
    PriceRefreshProgress: "PriceRefreshProgress message",
    PriceRefreshSummary: "PriceRefreshSummary message",
    FilingRequested: "filing request",
    FilingPrefillRequested: "filing prefill request",
    BulkFilingRequested: "bulk import filing request",
    BulkImportProgress: "BulkImportProgress message",
    AnalysisRequested: "analysis request",
    AnalysisCompleted: "AnalysisCompleted message",
    AnalysisFailed: "AnalysisFailed message",
    FeedbackReceived: "feedback item",
    FeedbackTriaged: "FeedbackTriaged message",
    KpiAlert: "KpiAlert message",
);

impl Payload {
    /// The message in one line a person reads (`make events`, logs).
    pub fn summary(&self) -> String {
        match self {
            Self::UploadChecked(m) => match (m.verdict, &m.reason) {
                (UploadVerdict::Refused, Some(reason)) => format!("upload {} refused: {reason}", m.key),
                (UploadVerdict::Duplicate, _) => format!(
                    "upload {} is the same file as load #{}: not loaded again",
                    m.key,
                    m.duplicate_of.map_or_else(|| "?".to_owned(), |d| d.to_string())
                ),
                (verdict, _) => format!("upload {} {} (load #{})", m.key, verdict.as_str(), m.data_version_id),
            },
            Self::DatasetUploaded(m) => format!("{} queued for loading as #{}", m.key, m.data_version_id),
            Self::DatasetLoaded(m) => {
                let c = &m.counts;
                let why = m
                    .failure_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                format!(
                    "load #{} of {} {}: {} inserted, {} updated, {} unchanged, {} rejected{why}",
                    m.data_version_id,
                    m.dataset,
                    m.status.as_str(),
                    c.inserted,
                    c.updated,
                    c.unchanged,
                    c.rejected
                )
            }
            Self::PriceJobRequested(m) => match m.step {
                Some(step) => format!("{} job for {} (step {step})", m.kind.as_str(), m.ticker),
                None => format!("{} job for {}", m.kind.as_str(), m.ticker),
            },
            Self::PriceRefreshProgress(m) => format!("{} refresh: {} of {} tickers", m.kind.as_str(), m.done, m.total),
            Self::PriceRefreshSummary(m) => format!(
                "{} refresh done: {} updated, {} unchanged, {} failed, of {}",
                m.kind.as_str(),
                m.updated,
                m.unchanged,
                m.failed.len(),
                m.total
            ),
            Self::FilingRequested(m) => format!("{} {} requested by {}", m.kind, m.spec.key(), m.user_id),
            Self::FilingPrefillRequested(m) => {
                format!("{} {} of {} queued for the demo set", m.form, m.accession, m.cik)
            }
            Self::BulkFilingRequested(m) => format!("{} of bulk import {} queued", m.spec.key(), m.import_id),
            Self::BulkImportProgress(m) => format!(
                "bulk import {} {}: {} stored, {} already stored, {} failed, {} cancelled, {} queued; charged {}",
                m.import_id, m.status, m.stored, m.already_stored, m.failed, m.cancelled, m.queued, m.charged
            ),
            Self::AnalysisRequested(m) => format!("{} of {} waiting for the analyser", m.kind, m.accession),
            Self::AnalysisCompleted(m) => format!(
                "{} of {} completed by {} (charged {}): analysis {}",
                m.kind, m.accession, m.model, m.charged, m.analysis_id
            ),
            Self::AnalysisFailed(m) => format!("{} analysis failed: {}", m.kind, m.reason),
            Self::FeedbackReceived(m) => format!("{} {} received", m.source.as_str(), m.external_id),
            Self::FeedbackTriaged(m) => format!(
                "{} {} triaged {} {}: {}",
                m.source.as_str(),
                m.external_id,
                m.priority,
                m.category,
                m.summary
            ),
            Self::KpiAlert(m) => format!("{} alert for {}: {}", m.severity.as_str(), m.company, m.message),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::UploadChecked(_) => "UploadChecked",
            Self::DatasetUploaded(_) => "DatasetUploaded",
            Self::DatasetLoaded(_) => "DatasetLoaded",
            Self::PriceJobRequested(_) => "PriceJobRequested",
            Self::PriceRefreshProgress(_) => "PriceRefreshProgress",
            Self::PriceRefreshSummary(_) => "PriceRefreshSummary",
            Self::FilingRequested(_) => "FilingRequested",
            Self::FilingPrefillRequested(_) => "FilingPrefillRequested",
            Self::BulkFilingRequested(_) => "BulkFilingRequested",
            Self::BulkImportProgress(_) => "BulkImportProgress",
            Self::AnalysisRequested(_) => "AnalysisRequested",
            Self::AnalysisCompleted(_) => "AnalysisCompleted",
            Self::AnalysisFailed(_) => "AnalysisFailed",
            Self::FeedbackReceived(_) => "FeedbackReceived",
            Self::FeedbackTriaged(_) => "FeedbackTriaged",
            Self::KpiAlert(_) => "KpiAlert",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetUploaded {
    pub data_version_id: DataVersionId,
    pub dataset: Dataset,
    pub bucket: String,
    pub key: String,
    /// The S3 version when the bucket is versioned: the load reads exactly this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub etag: String,
    pub size_bytes: u64,
    pub checksum: Sha256Digest,
    /// S3 LastModified: decides which of two edits of a row wins.
    pub source_modified_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
    /// File column -> dataset column, for files whose headers differ from the known aliases.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_map: BTreeMap<String, String>,
    /// `dmy` (default) or `mdy`: how to read `01/02/2024`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_order: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadStatus {
    Success,
    Partial,
    Failed,
}

impl LoadStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub stale: u64,
    pub superseded: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetLoaded {
    pub data_version_id: DataVersionId,
    pub dataset: Dataset,
    pub bucket: String,
    pub key: String,
    pub checksum: Sha256Digest,
    pub status: LoadStatus,
    pub counts: LoadCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejects_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_report_key: Option<String>,
    /// Why a failed load failed, in words a person can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
}

/// How ingest-validator's checks of an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadVerdict {
    /// Passed the checks: waiting on the ETL queue (loads of one dataset run one at a time).
    Queued,
    /// Failed a check (`reason` says which): nothing is loaded.
    Refused,
    /// The same bytes as the dataset's latest load (`duplicate_of`): not loaded again.
    Duplicate,
}

impl UploadVerdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Refused => "refused",
            Self::Duplicate => "duplicate",
        }
    }
}

/// An upload was checked, whatever the verdict: the uploader hears of a refusal as of a
/// load (the live stream shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadChecked {
    pub data_version_id: DataVersionId,
    /// The dataset the folder names (none when it names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<Dataset>,
    pub bucket: String,
    pub key: String,
    pub verdict: UploadVerdict,
    /// Why it was refused, in words a person can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<DataVersionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
}

/// Which market-data refresh: the schedule that started it and the work each ticker's job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceRefreshKind {
    /// After the US close on weekdays: the latest daily bars of every tracked ticker.
    DailyQuotes,
    /// Saturdays: income statement, balance sheet and cash flow, annual and quarterly.
    WeeklyFundamentals,
    /// Years of daily bars, loaded a bounded step at a time (Sundays, or on request).
    Backfill,
}

impl PriceRefreshKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DailyQuotes => "daily_quotes",
            Self::WeeklyFundamentals => "weekly_fundamentals",
            Self::Backfill => "backfill",
        }
    }
}

/// One ticker's share of a refresh, on the price jobs FIFO queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceJobRequested {
    pub refresh_id: Uuid,
    pub kind: PriceRefreshKind,
    pub ticker: Ticker,
    /// A backfill's step for this ticker (0, 1, ...): each job loads one bounded window of
    /// bars and queues the next step. `None` for the daily and weekly refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
}

/// How far a refresh has got (published every few tickers while it runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRefreshProgress {
    pub refresh_id: Uuid,
    pub kind: PriceRefreshKind,
    /// Tickers finished (whatever their outcome) out of `total`.
    pub done: u32,
    pub total: u32,
}

/// A ticker and why it was not (fully) updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickerReason {
    pub ticker: Ticker,
    pub reason: String,
}

/// A refresh finished: published once, when its last ticker is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRefreshSummary {
    pub refresh_id: Uuid,
    pub kind: PriceRefreshKind,
    pub total: u32,
    /// Tickers with at least one row written or changed.
    pub updated: u32,
    /// Tickers whose vendor data matched what was stored.
    pub unchanged: u32,
    /// Tickers with vendor rows refused (null, NaN, negative, missing fields); the
    /// stored values were kept. A ticker with some rows refused and others written
    /// is counted in `updated` and listed here too.
    #[serde(default)]
    pub rejected: Vec<TickerReason>,
    /// Tickers the vendor could not serve after every retry.
    #[serde(default)]
    pub failed: Vec<TickerReason>,
}

/// A user's analysis task needs its filing: find it on EDGAR, store it, split it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilingRequested {
    pub task_id: Uuid,
    pub user_id: String,
    /// The tier when the task was accepted: the fetcher re-checks data access
    /// against the filing's real date.
    pub tier: UserTier,
    pub spec: FilingSpec,
    pub kind: AnalysisKind,
}

/// A filing of the demo set (seed 002: S&P 500, 10-K and 10-Q, last two years) that is not
/// stored yet, as the prefill schedule read it from the company's EDGAR submissions: the
/// fetcher downloads its document once (no second look at the submissions) and stores it
/// like any other filing. No task and no user: nothing is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilingPrefillRequested {
    pub cik: Cik,
    pub ticker: Option<Ticker>,
    pub company_name: String,
    pub accession: AccessionNumber,
    pub form: FilingType,
    /// The main document's file name in the filing's archive folder.
    pub primary_document: String,
    pub filing_date: NaiveDate,
    pub report_date: Option<NaiveDate>,
    pub fiscal_year: i32,
    /// A 10-Q's quarter of its fiscal year.
    pub fiscal_quarter: Option<u8>,
}

/// One filing of a bulk import: the fetcher fetches it (unless its item is no longer
/// queued: cancelled, or done on an earlier delivery) and charges the import's unit price
/// once when it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkFilingRequested {
    pub import_id: Uuid,
    /// The import's item this filing is: its state is the once-only guard.
    pub item_id: Uuid,
    pub user_id: String,
    /// The tier when the import was created: the fetcher checks the filing's real fiscal
    /// year against it.
    pub tier: UserTier,
    pub spec: FilingSpec,
}

/// Where a bulk import stands, after a filing arrived or failed, or when it ended
/// (`status` completed or cancelled). Counts are of the import's filings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkImportProgress {
    pub import_id: Uuid,
    pub user_id: String,
    /// `running`, `completed` or `cancelled`.
    pub status: String,
    pub queued: u32,
    pub stored: u32,
    pub already_stored: u32,
    pub failed: u32,
    pub cancelled: u32,
    pub charged: Money,
    /// Still held for the filings queued (zero once it ended).
    pub held: Money,
}

/// A message that moves an analysis task along: what ends the task when it cannot go on.
pub trait TaskStep {
    /// The `AnalysisFailed` that ends this message's task with `reason`.
    fn failed(&self, reason: &str) -> AnalysisFailed;
}

impl TaskStep for FilingRequested {
    fn failed(&self, reason: &str) -> AnalysisFailed {
        AnalysisFailed {
            task_id: self.task_id,
            user_id: self.user_id.clone(),
            kind: self.kind,
            reason: reason.to_owned(),
        }
    }
}

impl TaskStep for AnalysisRequested {
    fn failed(&self, reason: &str) -> AnalysisFailed {
        AnalysisFailed {
            task_id: self.task_id,
            user_id: self.user_id.clone(),
            kind: self.kind,
            reason: reason.to_owned(),
        }
    }
}

/// A task's filing is stored with its sections: analyse it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRequested {
    pub task_id: Uuid,
    pub user_id: String,
    pub filing_id: Uuid,
    pub accession: AccessionNumber,
    pub kind: AnalysisKind,
}

/// A task finished: its analysis is in the global pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisCompleted {
    pub task_id: Uuid,
    pub user_id: String,
    pub analysis_id: Uuid,
    pub filing_id: Uuid,
    pub accession: AccessionNumber,
    pub kind: AnalysisKind,
    pub model: ModelKey,
    /// What this task cost the user (filing access and analysis fees).
    pub charged: Money,
}

/// A task failed. Nothing was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisFailed {
    pub task_id: Uuid,
    pub user_id: String,
    pub kind: AnalysisKind,
    /// Why, in words the user can act on.
    pub reason: String,
}

/// Where a piece of feedback came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackSource {
    Zendesk,
    Intercom,
    /// Any sender of the Standard Webhooks format (our documented generic feedback JSON).
    Standard,
    AppStore,
    GooglePlay,
    Email,
}

impl FeedbackSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Zendesk => "zendesk",
            Self::Intercom => "intercom",
            Self::Standard => "standard",
            Self::AppStore => "app_store",
            Self::GooglePlay => "google_play",
            Self::Email => "email",
        }
    }
}

/// One piece of customer feedback, normalised: what triage reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackReceived {
    pub source: FeedbackSource,
    /// The source's own id (ticket id, conversation id, review id, Message-ID): with
    /// `source`, the ticket's identity.
    pub external_id: String,
    /// The version of the item at the source (an update time or event id): a later
    /// version of the same ticket updates it; the same version again changes nothing.
    pub revision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// 1-5 stars, when the source has ratings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The text to triage (quoted replies and signatures removed).
    pub text: String,
    /// BCP 47 tag when the source says (`en`, `es-ES`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Back to the item at the source (a ticket URL, the S3 key of the original e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// A feedback item became (or updated) a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTriaged {
    pub ticket_id: Uuid,
    pub source: FeedbackSource,
    pub external_id: String,
    pub category: String,
    pub priority: String,
    pub sentiment: f32,
    pub summary: String,
    /// `provider:model` that triaged it (`extractive:v1` for the rule-based triage).
    pub model: ModelKey,
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

impl AlertSeverity {
    pub const ALL: [AlertSeverity; 3] = [Self::Info, Self::Warning, Self::Critical];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| {
                crate::InvalidValue::new("severity", format!("`{raw}` is not one of info, warning, critical"))
            })
    }
}

/// A KPI of a portfolio company met an alert rule in a load. One per rule, company,
/// period and load: a redelivered load raises none again. Decimals are strings (every
/// digit the table keeps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiAlert {
    pub alert_id: i64,
    pub rule_id: i64,
    pub data_version_id: DataVersionId,
    pub company: String,
    pub indicator: String,
    /// The KPI's date (`fecha`).
    pub period: chrono::NaiveDate,
    pub severity: AlertSeverity,
    /// The rule's condition (`drop_qoq_pct`, `drop_yoy_pct`, `below_value`, `below_budget_pct`).
    pub condition: String,
    pub threshold: String,
    /// The value that met the rule.
    pub value: String,
    /// What it was compared with: the previous quarter's or year's value, or the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The change against `reference`, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<String>,
    /// In words, for a person.
    pub message: String,
}
