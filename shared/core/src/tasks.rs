//! The end of an analysis task that cannot succeed, the same from every function that
//! can end one (filing-fetcher, llm-analyzer): the task fails with its reason, nothing
//! is charged, and its user hears of it.

use crate::publish::{Destination, EventPublisher, PublishError};
use deadpool_postgres::Transaction;
use sluice_messages::{AnalysisFailed, CorrelationId, Envelope, Payload, Producer};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Marks the task failed and stages `AnalysisFailed` on the events topic, in `tx` (the
/// caller has claimed the message's idempotency key in it and commits it). The event's
/// id derives from the task, so a repeat produces the same message.
pub async fn fail(
    tx: &Transaction<'_>,
    events_topic_arn: &str,
    producer: Producer,
    correlation: CorrelationId,
    failed: AnalysisFailed,
) -> Result<(), TaskError> {
    tx.execute(
        "UPDATE tasks SET status = 'failed', failure_reason = $2, updated_at = now(), finished_at = now()
         WHERE id = $1 AND status IN ('queued', 'fetching', 'analysing')",
        &[&failed.task_id, &failed.reason],
    )
    .await?;
    let task_id = failed.task_id;
    tracing::info!(%task_id, reason = %failed.reason, "task failed");
    let envelope =
        Envelope::new(producer, correlation, Payload::AnalysisFailed(failed)).with_derived_id(&task_id.to_string());
    EventPublisher::stage(tx, &Destination::Topic(events_topic_arn.to_owned()), &envelope).await?;
    Ok(())
}
