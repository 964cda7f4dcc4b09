//! The lifecycles of an analysis task and of an entry of the global pool: the one
//! place their states change. Every transition names the states it may leave and is
//! guarded in SQL by them, so a late or repeated message can never move a task
//! backwards (a completed task never becomes `analysing` again, a failed one is
//! never completed). Status names come from [`TaskStatus`] and [`PoolStatus`]; no
//! other module writes them.
//!
//! ```text
//! task:  accept -> queued -> fetching -> analysing -> completed
//!                    \____________\___________\-----> failed   (fail, expire)
//!                    \----------------------------> cancelled (cancel, by its user)
//! pool:  claim -> running -> completed
//!                    \-----> failed -> (claimed again)
//! ```

use crate::batch::Delivery;
use crate::config::{ConfigError, ConfigSource};
use crate::idempotency::{self, Claim};
use crate::publish::{Destination, EventPublisher, PublishError};
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Pool, Transaction};
use sluice_messages::{AnalysisKind, Envelope, FilingSpec, ModelKey, Money, Payload, Producer, TaskStatus, TaskStep};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl LifecycleError {
    /// Worth retrying (connection trouble), unlike a refused value.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => !crate::db::is_permanent(e),
            Self::Pool(_) | Self::Publish(_) => true,
        }
    }
}

// ------------------------------------------------------------------ tasks

/// The states a task counts against its tier's concurrency in, and holds credits in.
pub const ACTIVE: [TaskStatus; 3] = [TaskStatus::Queued, TaskStatus::Fetching, TaskStatus::Analysing];

fn names(states: &[TaskStatus]) -> Vec<&'static str> {
    states.iter().map(TaskStatus::as_str).collect()
}

/// A task about to be accepted.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub id: Uuid,
    pub user_id: &'a str,
    pub spec: &'a FilingSpec,
    pub kind: AnalysisKind,
    /// What it was quoted: held while it is active, charged (no more) when it completes.
    pub fees: QuotedFees,
    /// The stored filing, when it was fetched before.
    pub filing_id: Option<Uuid>,
}

/// The fees a task is quoted when it is accepted. A tier change afterwards does not
/// change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedFees {
    /// Zero when the user already has access to the filing.
    pub filing_access: Money,
    /// Charged only when this task's worker makes the analysis (not for a pool answer).
    pub analysis: Money,
}

impl QuotedFees {
    /// The most the task may charge: what it holds while it is active.
    pub fn total(&self) -> Money {
        self.filing_access
            .checked_add(self.analysis)
            .unwrap_or(Money::from_micros(i64::MAX))
    }
}

/// accept: a new task, `queued`.
pub async fn accept(tx: &Transaction<'_>, task: &NewTask<'_>) -> Result<(), LifecycleError> {
    let spec = serde_json::to_value(task.spec).unwrap_or(serde_json::Value::Null);
    tx.execute(
        "INSERT INTO tasks (id, user_id, spec, spec_key, kind, status, quoted_micros, filing_id,
             access_fee_micros, analysis_fee_micros)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &task.id,
            &task.user_id,
            &spec,
            &task.spec.key(),
            &task.kind.as_str(),
            &TaskStatus::Queued.as_str(),
            &task.fees.total().micros(),
            &task.filing_id,
            &task.fees.filing_access.micros(),
            &task.fees.analysis.micros(),
        ],
    )
    .await?;
    Ok(())
}

/// The fees a task was quoted when it was accepted. `None` for a task accepted before
/// fees were recorded (its tier's fees apply).
pub async fn quoted_fees<C: GenericClient>(client: &C, task_id: Uuid) -> Result<Option<QuotedFees>, LifecycleError> {
    let row = client
        .query_opt(
            "SELECT access_fee_micros, analysis_fee_micros FROM tasks WHERE id = $1",
            &[&task_id],
        )
        .await?;
    Ok(
        row.and_then(|r| match (r.get::<_, Option<i64>>(0), r.get::<_, Option<i64>>(1)) {
            (Some(access), Some(analysis)) => Some(QuotedFees {
                filing_access: Money::from_micros(access),
                analysis: Money::from_micros(analysis),
            }),
            _ => None,
        }),
    )
}

/// fetching: the fetcher took the task (`queued`, or `fetching` on a redelivery).
/// False when the task is no longer waiting for its filing.
pub async fn start_fetching<C: GenericClient>(client: &C, task_id: Uuid) -> Result<bool, LifecycleError> {
    let moved = client
        .execute(
            "UPDATE tasks SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3)",
            &[
                &task_id,
                &TaskStatus::Fetching.as_str(),
                &names(&[TaskStatus::Queued, TaskStatus::Fetching]),
            ],
        )
        .await?;
    Ok(moved == 1)
}

/// analysing: the filing is stored; the task waits for the analyser.
pub async fn start_analysing(tx: &Transaction<'_>, task_id: Uuid, filing_id: Uuid) -> Result<bool, LifecycleError> {
    let moved = tx
        .execute(
            "UPDATE tasks SET status = $2, filing_id = $3, updated_at = now() WHERE id = $1 AND status = ANY($4)",
            &[
                &task_id,
                &TaskStatus::Analysing.as_str(),
                &filing_id,
                &names(&[TaskStatus::Queued, TaskStatus::Fetching]),
            ],
        )
        .await?;
    Ok(moved == 1)
}

/// complete: the analysis is in the pool and the task's fees are charged.
pub async fn complete(
    tx: &Transaction<'_>,
    task_id: Uuid,
    analysis_id: Uuid,
    charged: Money,
) -> Result<bool, LifecycleError> {
    let moved = tx
        .execute(
            "UPDATE tasks SET status = $2, analysis_id = $3, charged_micros = $4, updated_at = now(), finished_at = now()
             WHERE id = $1 AND status = $5",
            &[
                &task_id,
                &TaskStatus::Completed.as_str(),
                &analysis_id,
                &charged.micros(),
                &TaskStatus::Analysing.as_str(),
            ],
        )
        .await?;
    Ok(moved == 1)
}

/// The part of `fail` inside a caller's transaction.
async fn fail_in(tx: &Transaction<'_>, task_id: Uuid, reason: &str) -> Result<bool, LifecycleError> {
    let moved = tx
        .execute(
            "UPDATE tasks SET status = $2, failure_reason = $3, updated_at = now(), finished_at = now()
             WHERE id = $1 AND status = ANY($4)",
            &[&task_id, &TaskStatus::Failed.as_str(), &reason, &names(&ACTIVE)],
        )
        .await?;
    Ok(moved == 1)
}

/// fail: a task that cannot succeed ends with its reason; nothing is charged and its
/// user hears of it. Claims the message for `consumer` (a redelivery changes nothing),
/// moves the task and stages `AnalysisFailed` on the events topic, in one transaction.
/// The event's id derives from the task, so a repeat produces the same message.
pub async fn fail<P: TaskStep>(
    pool: &Pool,
    consumer: &str,
    delivery: &Delivery<P>,
    producer: Producer,
    events_topic_arn: &str,
    reason: &str,
) -> Result<(), LifecycleError> {
    let failed = delivery.payload.failed(reason);
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if idempotency::claim(&tx, consumer, &delivery.message_id.to_string()).await? == Claim::Repeat {
        return Ok(());
    }
    let task_id = failed.task_id;
    let reason = failed.reason.clone();
    if !fail_in(&tx, task_id, &reason).await? {
        // Already over (completed, failed or given up): nothing to announce.
        tx.commit().await?;
        return Ok(());
    }
    let envelope = Envelope::new(
        producer,
        delivery.correlation_id.clone(),
        Payload::AnalysisFailed(failed),
    )
    .with_derived_id(&task_id.to_string());
    EventPublisher::stage(&tx, &Destination::Topic(events_topic_arn.to_owned()), &envelope).await?;
    tx.commit().await?;
    tracing::info!(%task_id, reason, "task failed");
    Ok(())
}

/// What [`cancel`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// The task was queued and is cancelled now: its slot and held credits are free.
    Now,
    /// The user has no such task.
    Unknown,
    /// The task is past `queued` (its filing is being fetched, or it is over): it stays.
    TooLate(TaskStatus),
}

/// cancel: the user's own task, while it is still `queued`. Nothing was charged; the
/// fetcher skips it when its message comes (it takes queued or fetching tasks only).
pub async fn cancel(tx: &Transaction<'_>, user_id: &str, task_id: Uuid) -> Result<Cancelled, LifecycleError> {
    let moved = tx
        .execute(
            "UPDATE tasks SET status = $3, updated_at = now(), finished_at = now(),
                 failure_reason = 'cancelled by its user; nothing was charged'
             WHERE id = $1 AND user_id = $2 AND status = $4",
            &[
                &task_id,
                &user_id,
                &TaskStatus::Cancelled.as_str(),
                &TaskStatus::Queued.as_str(),
            ],
        )
        .await?;
    if moved == 1 {
        return Ok(Cancelled::Now);
    }
    let found = tx
        .query_opt(
            "SELECT status FROM tasks WHERE id = $1 AND user_id = $2",
            &[&task_id, &user_id],
        )
        .await?;
    Ok(match found {
        None => Cancelled::Unknown,
        Some(row) => match TaskStatus::parse(row.get::<_, &str>(0)) {
            Ok(status) => Cancelled::TooLate(status),
            Err(_) => Cancelled::TooLate(TaskStatus::Failed),
        },
    })
}

/// expire: a user's active tasks untouched for longer than `stale_after` (their
/// message ended in a dead-letter queue) are given up, freeing their slots and held
/// credits. Returns how many.
pub async fn expire_stale(tx: &Transaction<'_>, user_id: &str, stale_after: Duration) -> Result<u64, LifecycleError> {
    Ok(tx
        .execute(
            "UPDATE tasks SET status = $2, updated_at = now(), finished_at = now(),
                 failure_reason = 'the task stopped making progress and was given up; nothing was charged'
             WHERE user_id = $1 AND status = ANY($3) AND updated_at < now() - make_interval(secs => $4)",
            &[
                &user_id,
                &TaskStatus::Failed.as_str(),
                &names(&ACTIVE),
                &stale_after.as_secs_f64(),
            ],
        )
        .await?)
}

/// The user's active task for the same filing and kind, if one is under way.
pub async fn active_for<C: GenericClient>(
    client: &C,
    user_id: &str,
    spec: &FilingSpec,
    kind: AnalysisKind,
) -> Result<Option<Uuid>, LifecycleError> {
    Ok(client
        .query_opt(
            "SELECT id FROM tasks WHERE user_id = $1 AND spec_key = $2 AND kind = $3 AND status = ANY($4)",
            &[&user_id, &spec.key(), &kind.as_str(), &names(&ACTIVE)],
        )
        .await?
        .map(|r| r.get(0)))
}

/// What a user's active tasks take: slots and held credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    pub active: i64,
    pub held: Money,
}

pub async fn holds<C: GenericClient>(client: &C, user_id: &str) -> Result<Holds, LifecycleError> {
    holds_besides(client, user_id, None).await
}

/// What a user's active tasks hold, but `task`'s own hold (the task being charged),
/// plus what the user's running bulk imports hold for their filings still queued
/// ([`crate::bulk`]). `active` counts tasks only (a tier's concurrent analyses).
pub async fn holds_besides<C: GenericClient>(
    client: &C,
    user_id: &str,
    task: Option<Uuid>,
) -> Result<Holds, LifecycleError> {
    let row = client
        .query_one(
            "SELECT count(*),
                    (coalesce(sum(quoted_micros), 0)
                     + (SELECT coalesce(sum(held_micros), 0) FROM bulk_imports
                        WHERE user_id = $1 AND status = $4))::bigint
             FROM tasks
             WHERE user_id = $1 AND status = ANY($2) AND id IS DISTINCT FROM $3",
            &[
                &user_id,
                &names(&ACTIVE),
                &task,
                &crate::bulk::ImportStatus::Running.as_str(),
            ],
        )
        .await?;
    Ok(Holds {
        active: row.get(0),
        held: Money::from_micros(row.get(1)),
    })
}

/// Is the task waiting for its analysis (the analyser's guard before any work)?
pub async fn is_analysing<C: GenericClient>(client: &C, task_id: Uuid) -> Result<bool, LifecycleError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM tasks WHERE id = $1 AND status = $2",
            &[&task_id, &TaskStatus::Analysing.as_str()],
        )
        .await?
        .is_some())
}

// ------------------------------------------------------------------ the pool

/// Where a pool entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolStatus {
    /// A worker holds the lease and is making it.
    Running,
    Completed,
    /// The last attempt failed; the next worker may claim it again.
    Failed,
}

impl PoolStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

/// The model a deployment analyses with (`LLM_PROVIDER`, `LLM_MODEL`): read the same
/// way by the API (pool look-ups) and the analyser (pool writes).
pub fn configured_model(cfg: &ConfigSource) -> Result<ModelKey, ConfigError> {
    let provider: String = cfg.or("LLM_PROVIDER", "extractive".to_owned())?;
    let model: Option<String> = cfg.optional("LLM_MODEL")?;
    ModelKey::configured(&provider, model.as_deref()).map_err(|e| ConfigError::Invalid {
        key: "LLM_PROVIDER".into(),
        reason: e.to_string(),
    })
}

/// The identity of an analysis in the global pool: made once per filing, kind, model
/// and prompt version. The one place that key is formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKey {
    pub filing_id: Uuid,
    pub kind: AnalysisKind,
    pub model: ModelKey,
}

impl PoolKey {
    pub fn new(filing_id: Uuid, kind: AnalysisKind, model: ModelKey) -> Self {
        Self { filing_id, kind, model }
    }

    fn prompt_version(&self) -> i32 {
        i32::from(self.kind.prompt_version())
    }
}

/// The completed entry for `key`, if the pool has one.
pub async fn pooled<C: GenericClient>(client: &C, key: &PoolKey) -> Result<Option<Uuid>, LifecycleError> {
    Ok(client
        .query_opt(
            "SELECT id FROM analyses WHERE filing_id = $1 AND kind = $2 AND model = $3 AND prompt_version = $4
               AND status = $5",
            &[
                &key.filing_id,
                &key.kind.as_str(),
                &key.model.as_str(),
                &key.prompt_version(),
                &PoolStatus::Completed.as_str(),
            ],
        )
        .await?
        .map(|r| r.get(0)))
}

/// What a worker found when it went for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolClaim {
    /// This worker holds the lease: it makes the analysis.
    Claimed(Uuid),
    /// The analysis is made, for the task named (the one that pays its analysis fee).
    Completed { id: Uuid, made_for_task: Option<Uuid> },
    /// A peer holds a live lease.
    Busy,
}

/// claim: a new entry, or one whose last attempt failed or whose lease ran out, is
/// taken for `lease` on behalf of `task`; exactly one of racing workers gets it.
pub async fn claim<C: GenericClient>(
    client: &C,
    key: &PoolKey,
    lease: Duration,
    task: Uuid,
) -> Result<PoolClaim, LifecycleError> {
    let claimed = client
        .query_opt(
            "INSERT INTO analyses (id, filing_id, kind, model, prompt_version, status, lease_until, made_for_task)
             VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $9)
             ON CONFLICT (filing_id, kind, model, prompt_version) DO UPDATE
                 SET status = EXCLUDED.status, lease_until = EXCLUDED.lease_until, failure_reason = NULL,
                     made_for_task = EXCLUDED.made_for_task
                 WHERE analyses.status = $8 OR (analyses.status = $6 AND analyses.lease_until < now())
             RETURNING id",
            &[
                &Uuid::new_v4(),
                &key.filing_id,
                &key.kind.as_str(),
                &key.model.as_str(),
                &key.prompt_version(),
                &PoolStatus::Running.as_str(),
                &lease.as_secs_f64(),
                &PoolStatus::Failed.as_str(),
                &task,
            ],
        )
        .await?;
    if let Some(row) = claimed {
        return Ok(PoolClaim::Claimed(row.get(0)));
    }
    let made = client
        .query_opt(
            "SELECT id, made_for_task FROM analyses
             WHERE filing_id = $1 AND kind = $2 AND model = $3 AND prompt_version = $4 AND status = $5",
            &[
                &key.filing_id,
                &key.kind.as_str(),
                &key.model.as_str(),
                &key.prompt_version(),
                &PoolStatus::Completed.as_str(),
            ],
        )
        .await?;
    Ok(match made {
        Some(row) => PoolClaim::Completed {
            id: row.get(0),
            made_for_task: row.get(1),
        },
        None => PoolClaim::Busy,
    })
}

/// What a made analysis cost and used.
#[derive(Debug, Clone)]
pub struct Made<'a> {
    pub body_key: &'a str,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Money,
    pub latency: Duration,
    pub model_calls: u32,
    pub extractive: bool,
    pub sections_used: Vec<String>,
}

/// complete (pool): the lease holder's analysis is made. False when the entry is no
/// longer this worker's to complete.
pub async fn complete_entry<C: GenericClient>(client: &C, id: Uuid, made: &Made<'_>) -> Result<bool, LifecycleError> {
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let moved = client
        .execute(
            "UPDATE analyses SET status = $10, lease_until = NULL, body_key = $2, input_tokens = $3,
                 output_tokens = $4, cost_micros = $5, latency_ms = $6, model_calls = $7, extractive = $8,
                 sections_used = $9, completed_at = now()
             WHERE id = $1 AND status = $11",
            &[
                &id,
                &made.body_key,
                &clamp(made.input_tokens),
                &clamp(made.output_tokens),
                &made.cost.micros(),
                &i64::try_from(made.latency.as_millis()).unwrap_or(i64::MAX),
                &i32::try_from(made.model_calls).unwrap_or(i32::MAX),
                &made.extractive,
                &made.sections_used,
                &PoolStatus::Completed.as_str(),
                &PoolStatus::Running.as_str(),
            ],
        )
        .await?;
    Ok(moved == 1)
}

/// fail (pool): the attempt failed; the key is handed back at once so a retry or a
/// peer can claim it.
pub async fn release_failed<C: GenericClient>(client: &C, id: Uuid, reason: &str) -> Result<(), LifecycleError> {
    client
        .execute(
            "UPDATE analyses SET status = $2, failure_reason = $3, lease_until = NULL WHERE id = $1 AND status = $4",
            &[
                &id,
                &PoolStatus::Failed.as_str(),
                &reason,
                &PoolStatus::Running.as_str(),
            ],
        )
        .await?;
    Ok(())
}

/// One more reader of a pooled analysis.
pub async fn count_access(tx: &Transaction<'_>, id: Uuid) -> Result<(), LifecycleError> {
    tx.execute(
        "UPDATE analyses SET access_count = access_count + 1 WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_active_states_are_the_ones_that_count() {
        assert!(ACTIVE.iter().all(TaskStatus::is_active));
        assert!(!TaskStatus::Completed.is_active() && !TaskStatus::Failed.is_active());
        assert_eq!(names(&ACTIVE), ["queued", "fetching", "analysing"]);
    }

    #[test]
    fn the_configured_model_is_the_pool_key_model() {
        let cfg = ConfigSource::default();
        assert_eq!(configured_model(&cfg).unwrap().as_str(), "extractive:v1");
        let cfg = ConfigSource::from_pairs([("LLM_PROVIDER", "openai"), ("LLM_MODEL", "llama3.1")]);
        assert_eq!(configured_model(&cfg).unwrap().as_str(), "openai:llama3.1");
        let cfg = ConfigSource::from_pairs([("LLM_PROVIDER", "gemini")]);
        assert!(configured_model(&cfg).unwrap_err().to_string().contains("LLM_PROVIDER"));
        let key = PoolKey::new(
            Uuid::nil(),
            AnalysisKind::Mdna,
            ModelKey::parse("extractive:v1").unwrap(),
        );
        assert_eq!(key.prompt_version(), i32::from(AnalysisKind::Mdna.prompt_version()));
    }
}
