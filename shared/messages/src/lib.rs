//! Typed messages that cross Sluice's queues and topics.
//!
//! This crate has no AWS or database dependencies: it is the contract between
//! functions. Every message is an [`Envelope`] around a [`Payload`]; the envelope
//! derives the SQS FIFO group id and deduplication id from the payload, so every
//! producer names its messages the same way.

pub mod audience;
mod bulk;
mod envelope;
mod filings;
mod newtypes;
mod payloads;
mod tiers;

pub use bulk::{BulkForm, BulkSelection, BulkYear, MAX_FILINGS, MAX_FORMS, MAX_TICKERS, MAX_YEARS};
pub use envelope::{Envelope, EnvelopeError, Producer, CURRENT_SCHEMA_VERSION};
pub use filings::{
    AccessionNumber, AnalysisKind, CompanyRef, FilingSelector, FilingSpec, FilingType, ModelKey, TaskStatus,
};
pub use newtypes::{
    Cik, CorrelationId, DataVersionId, Dataset, Email, InvalidValue, MessageId, Money, MoneyView, Sha256Digest, Ticker,
    UserTier,
};
pub use payloads::{
    AlertSeverity, AnalysisCompleted, AnalysisFailed, AnalysisRequested, BulkFilingRequested, BulkImportProgress,
    DatasetLoaded, DatasetUploaded, FeedbackReceived, FeedbackSource, FeedbackTriaged, FilingPrefillRequested,
    FilingRequested, FromPayload, KpiAlert, LoadCounts, LoadStatus, Payload, PriceJobRequested, PriceRefreshKind,
    PriceRefreshProgress, PriceRefreshSummary, TaskStep, TickerReason, UploadChecked, UploadVerdict,
};
pub use tiers::TierPolicy;
