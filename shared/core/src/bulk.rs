//! The lifecycle of a bulk import (seed 002) and of its filings: the one place their
//! states change, every move guarded in SQL by the state it leaves, so a redelivered
//! filing request or a late one after a cancellation changes nothing.
//!
//! ```text
//! import: create -> running -> completed (no filing queued any more: the hold is released)
//!                      \-----> cancelled (by its user: queued filings are cancelled, hold released)
//! item:   queued -> stored (charged the unit price, once) | failed (nothing charged)
//!                \-> cancelled (never fetched, never charged)
//!         already_stored (in the store when the import was created: not fetched, not charged)
//! ```
//!
//! Credits: the import holds `unit price x filings queued` against the balance (the
//! ledger counts it like a task's hold, [`crate::lifecycle::holds_besides`]); a stored
//! filing moves its unit price from the hold to a charge (`bulk_import` in the ledger,
//! key `bulk-import:<item>`), so a filing is charged once whatever retries; a failed or
//! cancelled one releases its share.

use crate::ledger::{self, Charge, ChargeKind, ChargeOutcome, LedgerError};
use crate::publish::{Destination, EventPublisher, PublishError};
use deadpool_postgres::{GenericClient, Transaction};
use sluice_messages::{
    BulkImportProgress, BulkSelection, CorrelationId, Envelope, FilingSpec, Money, Payload, Producer, UserTier,
};
use uuid::Uuid;

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    Running,
    Completed,
    Cancelled,
}

impl ImportStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Running, Self::Completed, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// Where one filing of an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Queued,
    Stored,
    AlreadyStored,
    Failed,
    Cancelled,
}

impl ItemStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Stored => "stored",
            Self::AlreadyStored => "already_stored",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl BulkError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => !crate::db::is_permanent(e),
            Self::Ledger(e) => e.is_retryable(),
            Self::Publish(_) => true,
        }
    }
}

/// What an import costs, before anything is held. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// Filings the selection names (at most: a company may have filed fewer).
    pub filings: usize,
    /// Of those, already in the store: not fetched, not charged.
    pub already_stored: usize,
    /// The rest: fetched from EDGAR, each charged the unit price when it arrives.
    pub to_fetch: usize,
    pub unit_price: Money,
    /// `to_fetch x unit_price`: what the import holds, and the most it charges.
    pub price: Money,
}

/// The quote of a selection whose filings are `stored` (one flag per filing) at `unit_price`.
pub fn quote(unit_price: Money, stored: &[bool]) -> Quote {
    let already_stored = stored.iter().filter(|s| **s).count();
    let to_fetch = stored.len() - already_stored;
    let price = i64::try_from(to_fetch)
        .ok()
        .and_then(|n| unit_price.micros().checked_mul(n))
        .map_or(Money::from_micros(i64::MAX), Money::from_micros);
    Quote {
        filings: stored.len(),
        already_stored,
        to_fetch,
        unit_price,
        price,
    }
}

/// An import about to be created.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    pub id: Uuid,
    pub user_id: &'a str,
    pub tier: UserTier,
    pub selection: &'a BulkSelection,
    pub quote: Quote,
    pub idempotency_key: Option<&'a str>,
    /// Every filing of the selection, with the stored filing when there is one.
    pub items: &'a [(FilingSpec, Option<Uuid>)],
}

/// create: the import `running`, holding its price, and its filings (queued, or
/// already stored). Returns the queued ones (item id, filing), to queue for the fetcher
/// in the same transaction.
pub async fn create(tx: &Transaction<'_>, new: &NewImport<'_>) -> Result<Vec<(Uuid, FilingSpec)>, BulkError> {
    tx.execute(
        "INSERT INTO bulk_imports (id, user_id, tier, selection, status, unit_price_micros, quoted_micros,
             held_micros, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
        &[
            &new.id,
            &new.user_id,
            &new.tier.as_str(),
            &new.selection.to_json(),
            &ImportStatus::Running.as_str(),
            &new.quote.unit_price.micros(),
            &new.quote.price.micros(),
            &new.idempotency_key,
        ],
    )
    .await?;
    let mut ids = Vec::with_capacity(new.items.len());
    let mut specs = Vec::with_capacity(new.items.len());
    let mut keys = Vec::with_capacity(new.items.len());
    let mut statuses = Vec::with_capacity(new.items.len());
    let mut filings = Vec::with_capacity(new.items.len());
    let mut queued = Vec::new();
    for (spec, stored) in new.items {
        let id = Uuid::new_v4();
        ids.push(id);
        specs.push(serde_json::to_value(spec).unwrap_or(serde_json::Value::Null));
        keys.push(spec.key());
        filings.push(*stored);
        statuses.push(match stored {
            Some(_) => ItemStatus::AlreadyStored.as_str(),
            None => {
                queued.push((id, spec.clone()));
                ItemStatus::Queued.as_str()
            }
        });
    }
    tx.execute(
        "INSERT INTO bulk_import_items (id, import_id, spec, spec_key, status, filing_id)
         SELECT i, $1, s, k, st, f FROM unnest($2::uuid[], $3::jsonb[], $4::text[], $5::text[], $6::uuid[])
             AS t(i, s, k, st, f)",
        &[&new.id, &ids, &specs, &keys, &statuses, &filings],
    )
    .await?;
    // Nothing to fetch (everything stored already): done at once.
    finish_if_done(tx, new.id).await?;
    Ok(queued)
}

/// The import a user created with `key` before (a retried request), if any.
pub async fn by_idempotency_key<C: GenericClient>(
    client: &C,
    user_id: &str,
    key: &str,
) -> Result<Option<Uuid>, BulkError> {
    Ok(client
        .query_opt(
            "SELECT id FROM bulk_imports WHERE user_id = $1 AND idempotency_key = $2",
            &[&user_id, &key],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Is the filing still waiting to be fetched (the fetcher's guard before any EDGAR request)?
pub async fn is_queued<C: GenericClient>(client: &C, item_id: Uuid) -> Result<bool, BulkError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM bulk_import_items WHERE id = $1 AND status = $2",
            &[&item_id, &ItemStatus::Queued.as_str()],
        )
        .await?
        .is_some())
}

/// The queued item, locked, with its import and unit price.
async fn take_queued(tx: &Transaction<'_>, item_id: Uuid) -> Result<Option<(Uuid, i64)>, BulkError> {
    Ok(tx
        .query_opt(
            "SELECT b.id, b.unit_price_micros FROM bulk_import_items i JOIN bulk_imports b ON b.id = i.import_id
             WHERE i.id = $1 AND i.status = $2 AND b.status = $3
             FOR UPDATE OF i, b",
            &[&item_id, &ItemStatus::Queued.as_str(), &ImportStatus::Running.as_str()],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// Moves `amount` of the import's hold to its charges (negative `amount`: back).
async fn move_hold(tx: &Transaction<'_>, import_id: Uuid, held: i64, charged: i64) -> Result<(), BulkError> {
    tx.execute(
        "UPDATE bulk_imports SET held_micros = greatest(held_micros - $2, 0), charged_micros = charged_micros + $3,
             updated_at = now()
         WHERE id = $1",
        &[&import_id, &held, &charged],
    )
    .await?;
    Ok(())
}

/// stored: the filing arrived for the import. Charges its unit price once (the hold
/// pays for it) and grants the user access to the filing. `None` when the item was no
/// longer queued (a redelivery, or the import was cancelled meanwhile): nothing changes.
/// Runs under the user's account lock, like every movement of credits.
pub async fn record_stored(
    tx: &Transaction<'_>,
    user_id: &str,
    item_id: Uuid,
    filing_id: Uuid,
    description: String,
) -> Result<Option<BulkImportProgress>, BulkError> {
    ledger::lock_account(tx, user_id).await?;
    let Some((import_id, unit)) = take_queued(tx, item_id).await? else {
        return Ok(None);
    };
    // The hold pays: released first, so the charge is covered by what it held.
    move_hold(tx, import_id, unit, 0).await?;
    let outcome = ledger::charge(
        tx,
        &Charge {
            user_id,
            kind: ChargeKind::BulkImport,
            amount: Money::from_micros(unit),
            idempotency_key: format!("bulk-import:{item_id}"),
            task_id: None,
            filing_id: Some(filing_id),
            description,
        },
    )
    .await?;
    let (status, charged, reason) = match outcome {
        ChargeOutcome::Charged { .. } | ChargeOutcome::AlreadyCharged => (ItemStatus::Stored, unit, None),
        // Cannot happen while credits taken back never touch holds; if it does, the
        // filing is stored for everyone but this import charges nothing for it.
        ChargeOutcome::Insufficient { balance } => (
            ItemStatus::Failed,
            0,
            Some(format!(
                "the balance ({balance}) no longer covered this filing; nothing was charged"
            )),
        ),
    };
    tx.execute(
        "UPDATE bulk_import_items SET status = $2, filing_id = $3, charged_micros = $4, failure_reason = $5,
             updated_at = now()
         WHERE id = $1",
        &[&item_id, &status.as_str(), &filing_id, &charged, &reason],
    )
    .await?;
    move_hold(tx, import_id, 0, charged).await?;
    if status == ItemStatus::Stored {
        tx.execute(
            "INSERT INTO filing_access (user_id, filing_id, fee_micros) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&user_id, &filing_id, &unit],
        )
        .await?;
    }
    finish_if_done(tx, import_id).await?;
    Ok(Some(progress(tx, import_id).await?))
}

/// failed: EDGAR has no such filing (or it cannot be stored); nothing is charged and its
/// share of the hold is released. `None` when the item was no longer queued.
pub async fn record_failed(
    tx: &Transaction<'_>,
    user_id: &str,
    item_id: Uuid,
    reason: &str,
) -> Result<Option<BulkImportProgress>, BulkError> {
    ledger::lock_account(tx, user_id).await?;
    let Some((import_id, unit)) = take_queued(tx, item_id).await? else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE bulk_import_items SET status = $2, failure_reason = $3, updated_at = now() WHERE id = $1",
        &[&item_id, &ItemStatus::Failed.as_str(), &reason],
    )
    .await?;
    move_hold(tx, import_id, unit, 0).await?;
    finish_if_done(tx, import_id).await?;
    Ok(Some(progress(tx, import_id).await?))
}

/// What [`cancel`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Cancelled now: its queued filings will not be fetched or charged, the hold is free.
    Now(BulkImportProgress),
    /// It had ended already (completed or cancelled): nothing changed.
    Ended(BulkImportProgress),
    /// The user has no such import.
    Unknown,
}

/// cancel: the user's own running import. Filings already stored stay charged.
pub async fn cancel(tx: &Transaction<'_>, user_id: &str, import_id: Uuid) -> Result<Cancelled, BulkError> {
    ledger::lock_account(tx, user_id).await?;
    let moved = tx
        .execute(
            "UPDATE bulk_imports SET status = $3, held_micros = 0, updated_at = now(), finished_at = now()
             WHERE id = $1 AND user_id = $2 AND status = $4",
            &[
                &import_id,
                &user_id,
                &ImportStatus::Cancelled.as_str(),
                &ImportStatus::Running.as_str(),
            ],
        )
        .await?;
    if moved == 1 {
        tx.execute(
            "UPDATE bulk_import_items SET status = $2, updated_at = now(),
                 failure_reason = 'cancelled by its user before it was fetched; nothing was charged'
             WHERE import_id = $1 AND status = $3",
            &[
                &import_id,
                &ItemStatus::Cancelled.as_str(),
                &ItemStatus::Queued.as_str(),
            ],
        )
        .await?;
        return Ok(Cancelled::Now(progress(tx, import_id).await?));
    }
    let mine = tx
        .query_opt(
            "SELECT 1 FROM bulk_imports WHERE id = $1 AND user_id = $2",
            &[&import_id, &user_id],
        )
        .await?;
    Ok(match mine {
        Some(_) => Cancelled::Ended(progress(tx, import_id).await?),
        None => Cancelled::Unknown,
    })
}

/// expire: filings of the user's running imports queued for longer than `stale_after`
/// (their request ended in the dead-letter queue) fail, nothing charged, releasing their
/// share of the hold; an import left with nothing queued completes. Returns how many.
pub async fn expire_stale(
    tx: &Transaction<'_>,
    user_id: &str,
    stale_after: std::time::Duration,
) -> Result<u64, BulkError> {
    let rows = tx
        .query(
            "WITH stale AS (
                 UPDATE bulk_import_items i SET status = $3, updated_at = now(),
                     failure_reason = 'the filing stopped making progress and was given up; nothing was charged'
                 FROM bulk_imports b
                 WHERE b.id = i.import_id AND b.user_id = $1 AND b.status = $4 AND i.status = $5
                   AND i.updated_at < now() - make_interval(secs => $2)
                 RETURNING i.import_id, b.unit_price_micros)
             UPDATE bulk_imports b SET held_micros = greatest(b.held_micros - s.n * s.unit, 0), updated_at = now()
             FROM (SELECT import_id, count(*) AS n, max(unit_price_micros) AS unit FROM stale GROUP BY import_id) s
             WHERE b.id = s.import_id
             RETURNING b.id, s.n",
            &[
                &user_id,
                &stale_after.as_secs_f64(),
                &ItemStatus::Failed.as_str(),
                &ImportStatus::Running.as_str(),
                &ItemStatus::Queued.as_str(),
            ],
        )
        .await?;
    let mut expired = 0;
    for row in rows {
        finish_if_done(tx, row.get(0)).await?;
        expired += u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
    }
    Ok(expired)
}

/// completed: no filing is queued any more; what is still held is released.
async fn finish_if_done(tx: &Transaction<'_>, import_id: Uuid) -> Result<bool, BulkError> {
    let moved = tx
        .execute(
            "UPDATE bulk_imports SET status = $2, held_micros = 0, updated_at = now(), finished_at = now()
             WHERE id = $1 AND status = $3
               AND NOT EXISTS (SELECT 1 FROM bulk_import_items WHERE import_id = $1 AND status = $4)",
            &[
                &import_id,
                &ImportStatus::Completed.as_str(),
                &ImportStatus::Running.as_str(),
                &ItemStatus::Queued.as_str(),
            ],
        )
        .await?;
    Ok(moved == 1)
}

/// Where the import stands: its status, counts of its filings, charged and held.
pub async fn progress<C: GenericClient>(client: &C, import_id: Uuid) -> Result<BulkImportProgress, BulkError> {
    let r = client
        .query_one(
            "SELECT b.user_id, b.status, b.charged_micros, b.held_micros,
                    count(*) FILTER (WHERE i.status = 'queued'),
                    count(*) FILTER (WHERE i.status = 'stored'),
                    count(*) FILTER (WHERE i.status = 'already_stored'),
                    count(*) FILTER (WHERE i.status = 'failed'),
                    count(*) FILTER (WHERE i.status = 'cancelled')
             FROM bulk_imports b LEFT JOIN bulk_import_items i ON i.import_id = b.id
             WHERE b.id = $1 GROUP BY b.id",
            &[&import_id],
        )
        .await?;
    let n = |i: usize| u32::try_from(r.get::<_, i64>(i)).unwrap_or(u32::MAX);
    Ok(BulkImportProgress {
        import_id,
        user_id: r.get(0),
        status: r.get(1),
        queued: n(4),
        stored: n(5),
        already_stored: n(6),
        failed: n(7),
        cancelled: n(8),
        charged: Money::from_micros(r.get(2)),
        held: Money::from_micros(r.get(3)),
    })
}

/// Stages the progress on the events topic (the user's live stream), in the transaction
/// of the move it announces; `seed` names the move, so a repeat is the same message.
pub async fn announce(
    tx: &Transaction<'_>,
    topic_arn: &str,
    producer: Producer,
    progress: BulkImportProgress,
    seed: &str,
) -> Result<(), BulkError> {
    let correlation = CorrelationId::parse(&format!("bulk-import-{}", progress.import_id)).unwrap_or_default();
    let envelope = Envelope::new(producer, correlation, Payload::BulkImportProgress(progress)).with_derived_id(seed);
    EventPublisher::stage(tx, &Destination::Topic(topic_arn.to_owned()), &envelope).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_charges_only_the_filings_to_fetch() {
        let q = quote(Money::from_micros(50_000), &[false, true, false, false]);
        assert_eq!((q.filings, q.already_stored, q.to_fetch), (4, 1, 3));
        assert_eq!(q.price, Money::from_micros(150_000));
        // 100 filings at the basic price are seed 002's $5; 1,000 professional ones $20.
        assert_eq!(
            quote(Money::from_micros(50_000), &[false; 100]).price.to_string(),
            "$5.00"
        );
        assert_eq!(
            quote(Money::from_micros(20_000), &[false; 1000]).price.to_string(),
            "$20.00"
        );
        assert_eq!(quote(Money::ZERO, &[false; 10]).price, Money::ZERO);
        assert_eq!(quote(Money::from_micros(50_000), &[]).price, Money::ZERO);
    }

    #[test]
    fn statuses_read_back() {
        for s in [ImportStatus::Running, ImportStatus::Completed, ImportStatus::Cancelled] {
            assert_eq!(ImportStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ImportStatus::parse("paused"), None);
        assert_eq!(ItemStatus::AlreadyStored.as_str(), "already_stored");
    }
}
