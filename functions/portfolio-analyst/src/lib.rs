//! portfolio-analyst: the consumer of `DatasetLoaded` (its subscription to the events
//! topic lets only those through). After a KPI load the tracker evaluates the alert
//! rules over the rows the load wrote and announces each new alert as `KpiAlert`; after
//! a deal-flow load the deals are scored again. Each load is handled in one transaction
//! with the messages it stages, so a redelivery changes nothing and announces nothing.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use sluice_core::{
    Answer, BatchProcessor, Delivery, Function, FunctionError, InitError, Instance, Pool, RecordError, Trigger,
};
use sluice_messages::{Dataset, DatasetLoaded, LoadStatus, Producer};
use sluice_portfolio::{tracker, PortfolioError};

pub const SERVICE: &str = "portfolio-analyst";

#[derive(Debug, thiserror::Error)]
pub enum AnalystError {
    #[error(transparent)]
    Portfolio(#[from] PortfolioError),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl RecordError for AnalystError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Portfolio(e) => e.is_retryable(),
            Self::Database(e) => !sluice_core::db::is_permanent(e),
            Self::Pool(_) => true,
        }
    }
}

/// What a load led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    pub alerts: usize,
    /// Deals scored again (after a deal-flow load).
    pub scored: u64,
}

#[derive(Clone)]
pub struct PortfolioAnalyst {
    pub pool: Pool,
    pub events_topic_arn: String,
    /// The subscription queue's consumer (its DLQ: `DEAD_LETTER_QUEUE_URL`), flushing `KpiAlert`s.
    pub processor: BatchProcessor,
}

impl PortfolioAnalyst {
    /// The one constructor (Lambda, the local runner, the tests).
    pub fn build(instance: &Instance) -> Result<Self, InitError> {
        Ok(Self {
            pool: instance.pool.clone(),
            events_topic_arn: instance.cfg.required("EVENTS_TOPIC_ARN")?,
            processor: instance
                .processor("DEAD_LETTER_QUEUE_URL")?
                .with_outbox(instance.outbox(Producer::PortfolioAnalyst)),
        })
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.processor
            .consume(event, |d| async move { self.handle_delivery(d).await.map(|_| ()) })
            .await
    }

    pub async fn handle_delivery(&self, delivery: Delivery<DatasetLoaded>) -> Result<Outcome, AnalystError> {
        let loaded = &delivery.payload;
        if loaded.status == LoadStatus::Failed {
            return Ok(Outcome::default());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let outcome = match loaded.dataset {
            Dataset::Kpis => {
                let alerts = tracker::track_load(
                    &tx,
                    loaded.data_version_id,
                    &self.events_topic_arn,
                    &delivery.correlation_id,
                )
                .await?;
                Outcome {
                    alerts: alerts.len(),
                    scored: 0,
                }
            }
            Dataset::Dealflow => Outcome {
                alerts: 0,
                scored: sluice_portfolio::deals::rescore_all(&tx).await?,
            },
            Dataset::Companies => Outcome::default(),
        };
        tx.commit().await?;
        tracing::info!(
            data_version_id = loaded.data_version_id.0,
            dataset = %loaded.dataset,
            alerts = outcome.alerts,
            scored = outcome.scored,
            "load tracked"
        );
        Ok(outcome)
    }
}

impl Function for PortfolioAnalyst {
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Sqs(batch) => Ok(Answer::Batch(self.handle_batch(batch).await)),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}
