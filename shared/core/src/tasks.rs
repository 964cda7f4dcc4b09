//! The end of an analysis task that cannot succeed, the same from every function that
//! can end one (filing-fetcher, llm-analyzer): the task fails with its reason, nothing
//! is charged, and its user hears of it.

use crate::idempotency::{self, Claim};
use crate::publish::{Destination, EventPublisher, PublishError};
use deadpool_postgres::Pool;
use sluice_messages::{AnalysisFailed, Envelope, Payload, Producer};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Ends the task `message` was about: claims the message for `consumer` (a redelivery
/// changes nothing), marks the task failed and stages `AnalysisFailed` on the events
/// topic, in one transaction. The event's id derives from the task, so a repeat
/// produces the same message.
pub async fn fail(
    pool: &Pool,
    consumer: &str,
    message: &Envelope,
    producer: Producer,
    events_topic_arn: &str,
    failed: AnalysisFailed,
) -> Result<(), TaskError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if idempotency::claim(&tx, consumer, &message.message_id.to_string()).await? == Claim::Repeat {
        return Ok(());
    }
    tx.execute(
        "UPDATE tasks SET status = 'failed', failure_reason = $2, updated_at = now(), finished_at = now()
         WHERE id = $1 AND status IN ('queued', 'fetching', 'analysing')",
        &[&failed.task_id, &failed.reason],
    )
    .await?;
    let task_id = failed.task_id;
    let reason = failed.reason.clone();
    let envelope = Envelope::new(
        producer,
        message.correlation_id.clone(),
        Payload::AnalysisFailed(failed),
    )
    .with_derived_id(&task_id.to_string());
    EventPublisher::stage(&tx, &Destination::Topic(events_topic_arn.to_owned()), &envelope).await?;
    tx.commit().await?;
    tracing::info!(%task_id, reason, "task failed");
    Ok(())
}
