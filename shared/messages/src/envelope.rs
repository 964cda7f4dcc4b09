use crate::newtypes::{CorrelationId, MessageId};
use crate::payloads::Payload;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The schema version this build writes. Older versions listed in
/// [`Envelope::from_json`] keep deserialising.
pub const CURRENT_SCHEMA_VERSION: u16 = 1;

/// The function that produced a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Producer {
    /// The HTTP API and webhooks (`functions/http-api`).
    HttpApi,
    IngestValidator,
    EtlTransformer,
    FilingFetcher,
    LlmAnalyzer,
    SseNotifier,
    PriceUpdater,
    /// The KPI tracker and deal-flow scorer (`functions/portfolio-analyst`).
    PortfolioAnalyst,
}

impl Producer {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::HttpApi => "http-api",
            Self::IngestValidator => "ingest-validator",
            Self::EtlTransformer => "etl-transformer",
            Self::FilingFetcher => "filing-fetcher",
            Self::LlmAnalyzer => "llm-analyzer",
            Self::SseNotifier => "sse-notifier",
            Self::PriceUpdater => "price-updater",
            Self::PortfolioAnalyst => "portfolio-analyst",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub schema_version: u16,
    pub message_id: MessageId,
    pub correlation_id: CorrelationId,
    pub producer: Producer,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub payload: Payload,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message is not valid JSON for its schema: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("schema version {0} is not one this build reads (it reads 1..={CURRENT_SCHEMA_VERSION})")]
    UnsupportedSchemaVersion(u16),
}

impl Envelope {
    pub fn new(producer: Producer, correlation_id: CorrelationId, payload: Payload) -> Self {
        Self {
            schema_version: CURRENT_SCHEMA_VERSION,
            message_id: MessageId::new(),
            correlation_id,
            producer,
            occurred_at: Utc::now(),
            payload,
        }
    }

    /// A feedback item for triage, from any intake (webhooks, review exports, e-mail):
    /// its id derives from its source, external id and revision, so the same delivery
    /// queued again is the same message.
    pub fn feedback(producer: Producer, correlation_id: CorrelationId, item: crate::FeedbackReceived) -> Self {
        let name = format!("{}:{}:{}", item.source.as_str(), item.external_id, item.revision);
        Self::new(producer, correlation_id, Payload::FeedbackReceived(item)).with_derived_id(&name)
    }

    /// Replaces the random message id with one derived from what the message is
    /// about, so producing it again (a redelivery) yields the same id.
    pub fn with_derived_id(mut self, name: &str) -> Self {
        self.message_id = MessageId::derived(self.payload.kind(), name);
        self
    }

    pub fn from_json(raw: &str) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            schema_version: u16,
        }
        let version: VersionOnly = serde_json::from_str(raw)?;
        match version.schema_version {
            1 => Ok(serde_json::from_str(raw)?),
            other => Err(EnvelopeError::UnsupportedSchemaVersion(other)),
        }
    }

    /// The body of an SQS record: the envelope itself (a work queue), or an SNS
    /// notification carrying it in `Message` (a queue subscribed to the events topic
    /// without raw message delivery). One decoder for every consumer.
    pub fn from_queue_body(body: &str) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct SnsNotification {
            #[serde(rename = "Type")]
            kind: String,
            #[serde(rename = "Message")]
            message: String,
        }
        match serde_json::from_str::<SnsNotification>(body) {
            Ok(sns) if sns.kind == "Notification" => Self::from_json(&sns.message),
            _ => Self::from_json(body),
        }
    }

    pub fn to_json(&self) -> String {
        // An Envelope holds only strings, numbers and maps with string keys: it always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// SQS FIFO message group: messages of one group are delivered in order, one at a time.
    pub fn fifo_group_id(&self) -> String {
        match &self.payload {
            Payload::UploadChecked(m) => m.dataset.map_or_else(|| "uploads".to_owned(), |d| d.to_string()),
            // Loads of one table are serialised.
            Payload::DatasetUploaded(m) => m.dataset.to_string(),
            Payload::DatasetLoaded(m) => m.dataset.to_string(),
            // One ticker's jobs run one at a time; different tickers in parallel.
            Payload::PriceJobRequested(m) => m.ticker.to_string(),
            Payload::PriceRefreshProgress(m) => m.refresh_id.to_string(),
            Payload::PriceRefreshSummary(m) => m.refresh_id.to_string(),
            // One filing request is handled at a time; different filings in parallel.
            Payload::FilingRequested(m) => fifo_safe(m.spec.key()),
            // One filing is fetched once; different filings in parallel.
            Payload::FilingPrefillRequested(m) => m.accession.to_string(),
            // Like a user's filing request: one filing at a time, different filings in parallel.
            Payload::BulkFilingRequested(m) => fifo_safe(m.spec.key()),
            Payload::BulkImportProgress(m) => m.import_id.to_string(),
            // Analyses of one filing run one after another, so its pool entry is made once.
            Payload::AnalysisRequested(m) => m.accession.to_string(),
            Payload::AnalysisCompleted(m) => m.task_id.to_string(),
            Payload::AnalysisFailed(m) => m.task_id.to_string(),
            // One ticket's versions are triaged in order; different tickets in parallel.
            Payload::FeedbackReceived(m) => fifo_safe(format!("{}:{}", m.source.as_str(), m.external_id)),
            Payload::FeedbackTriaged(m) => m.ticket_id.to_string(),
            // One company's alerts in order; companies in parallel.
            Payload::KpiAlert(m) => fifo_safe(m.company.clone()),
        }
    }

    /// SQS FIFO deduplication id (SQS remembers it for 5 minutes only).
    pub fn deduplication_id(&self) -> String {
        match &self.payload {
            Payload::UploadChecked(_) => self.message_id.to_string(),
            // The same file uploaded twice is loaded once.
            Payload::DatasetUploaded(m) => m.checksum.to_string(),
            Payload::DatasetLoaded(_) => self.message_id.to_string(),
            // A ticker is queued once per refresh and kind; a backfill's steps each once
            // (a later tick re-queueing a step is a distinct message: its id names the round).
            Payload::PriceJobRequested(m) => match m.step {
                None => format!("{}:{}:{}", m.refresh_id, m.ticker, m.kind.as_str()),
                Some(_) => self.message_id.to_string(),
            },
            Payload::PriceRefreshProgress(_) | Payload::PriceRefreshSummary(_) => self.message_id.to_string(),
            // Each accepted task is queued once (the API answers a repeated request with its
            // task). Keyed by filing and user (seed 002), SQS dropped a user's second kind of
            // analysis of one filing within 5 minutes and that task was never done (make chaos).
            Payload::FilingRequested(m) => m.task_id.to_string(),
            // A filing is queued for the demo set once (and the fetcher stores it once anyway).
            Payload::FilingPrefillRequested(m) => format!("prefill:{}", m.accession),
            // Each item of an import is queued once (and charged once whatever the queue does).
            Payload::BulkFilingRequested(m) => format!("bulk:{}", m.item_id),
            Payload::BulkImportProgress(_) => self.message_id.to_string(),
            Payload::AnalysisRequested(m) => m.task_id.to_string(),
            Payload::AnalysisCompleted(_) | Payload::AnalysisFailed(_) => self.message_id.to_string(),
            // The same delivery (same item, same version) is queued once.
            Payload::FeedbackReceived(m) => {
                fifo_safe(format!("{}:{}:{}", m.source.as_str(), m.external_id, m.revision))
            }
            Payload::FeedbackTriaged(_) => self.message_id.to_string(),
            // An alert is stored once: its id names it.
            Payload::KpiAlert(m) => format!("kpi-alert-{}", m.alert_id),
        }
    }
}

/// SQS accepts group and deduplication ids of at most 128 printable ASCII characters;
/// anything else (a long or exotic user id) is replaced by a stable UUID of itself.
fn fifo_safe(id: String) -> String {
    if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) {
        id
    } else {
        crate::newtypes::MessageId::derived("fifo-id", &id).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_bodies_are_read_bare_or_inside_an_sns_notification() {
        let golden = include_str!("../tests/golden/v1/analysis_failed.json");
        let bare = Envelope::from_queue_body(golden).unwrap();
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": golden}).to_string();
        assert_eq!(Envelope::from_queue_body(&sns).unwrap(), bare);
        assert!(Envelope::from_queue_body(r#"{"Type":"Notification","Message":"nope"}"#).is_err());
        assert!(Envelope::from_queue_body("").is_err());
    }

    #[test]
    fn two_analyses_of_one_filing_by_one_user_are_two_filing_requests() {
        let golden = include_str!("../tests/golden/v1/filing_requested.json");
        let first = Envelope::from_json(golden).unwrap();
        let Payload::FilingRequested(request) = &first.payload else {
            panic!("a filing request")
        };
        let mut other = request.clone();
        other.task_id = uuid::Uuid::new_v4();
        other.kind = crate::AnalysisKind::ALL
            .into_iter()
            .find(|k| *k != request.kind)
            .unwrap();
        let second = Envelope::new(
            first.producer,
            first.correlation_id.clone(),
            Payload::FilingRequested(other),
        );
        assert_ne!(first.deduplication_id(), second.deduplication_id());
        // The same task staged again is still one message.
        assert_eq!(
            first.deduplication_id(),
            Envelope::from_json(golden).unwrap().deduplication_id()
        );
    }

    #[test]
    fn fifo_ids_stay_within_what_sqs_accepts() {
        assert_eq!(fifo_safe("AAPL:10-K:FY2024_ana".into()), "AAPL:10-K:FY2024_ana");
        let long = fifo_safe("x".repeat(200));
        assert_eq!(long.len(), 36);
        assert_eq!(long, fifo_safe("x".repeat(200)));
        assert_eq!(fifo_safe("a b".into()).len(), 36);
    }
}
