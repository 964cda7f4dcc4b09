//! The one credit ledger: every charge is a `usage_transactions` row with a unique
//! idempotency key, written in the caller's transaction together with the balance
//! change. A retried charge finds its key and changes nothing; a balance never goes
//! below zero (the update is conditional, and the table has a CHECK as a backstop).
//!
//! Credits held by a user's active analysis tasks (what they were quoted) count
//! everywhere: a charge succeeds only if the balance covers it *besides* what other
//! tasks hold, so money promised to running work cannot be spent twice. A task's own
//! charge does not count its own hold. Charges, and the acceptance of new tasks, take
//! the account's lock ([`lock_account`]), so they apply one after another.

use deadpool_postgres::Transaction;
use sluice_messages::Money;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeKind {
    FilingAccess,
    Analysis,
}

impl ChargeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::FilingAccess => "filing_access",
            Self::Analysis => "analysis",
        }
    }
}

/// One charge to apply once.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    pub user_id: &'a str,
    pub kind: ChargeKind,
    pub amount: Money,
    /// Unique per charge: a second charge with the same key is a no-op.
    pub idempotency_key: String,
    pub task_id: Option<Uuid>,
    pub filing_id: Option<Uuid>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeOutcome {
    Charged {
        balance_after: Money,
    },
    /// The key was charged before: nothing changed.
    AlreadyCharged,
    /// The balance, besides what other active tasks hold, does not cover the amount:
    /// nothing changed. `balance` is what was available.
    Insufficient {
        balance: Money,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
}

impl LedgerError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => !crate::db::is_permanent(e),
            Self::Lifecycle(e) => e.is_retryable(),
        }
    }
}

/// Serialises everything that spends or promises one user's credits (charges, the
/// acceptance of a task) until `tx` ends.
pub async fn lock_account(tx: &Transaction<'_>, user_id: &str) -> Result<(), tokio_postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('account:' || $1))", &[&user_id])
        .await?;
    Ok(())
}

/// Applies `charge` in `tx`. Zero-amount charges are recorded too (the row says the
/// access was granted free), so the key still guards against a later double charge.
pub async fn charge(tx: &Transaction<'_>, charge: &Charge<'_>) -> Result<ChargeOutcome, LedgerError> {
    lock_account(tx, charge.user_id).await?;
    let seen = tx
        .query_opt(
            "SELECT 1 FROM usage_transactions WHERE idempotency_key = $1",
            &[&charge.idempotency_key],
        )
        .await?;
    if seen.is_some() {
        return Ok(ChargeOutcome::AlreadyCharged);
    }
    let amount = charge.amount.micros();
    // What other active tasks of this user were promised is not this charge's to spend.
    let held = crate::lifecycle::holds_besides(tx, charge.user_id, charge.task_id)
        .await?
        .held
        .micros();
    let Some(row) = tx
        .query_opt(
            "UPDATE user_accounts SET credit_balance_micros = credit_balance_micros - $2, updated_at = now()
             WHERE user_id = $1 AND credit_balance_micros - $3 >= $2
             RETURNING credit_balance_micros",
            &[&charge.user_id, &amount, &held],
        )
        .await?
    else {
        let balance: Option<i64> = tx
            .query_opt(
                "SELECT credit_balance_micros FROM user_accounts WHERE user_id = $1",
                &[&charge.user_id],
            )
            .await?
            .map(|r| r.get(0));
        return Ok(ChargeOutcome::Insufficient {
            balance: Money::from_micros(balance.unwrap_or(0) - held),
        });
    };
    let balance_after: i64 = row.get(0);
    let inserted = tx
        .execute(
            "INSERT INTO usage_transactions
                 (user_id, kind, amount_micros, balance_after_micros, task_id, filing_id, idempotency_key, description)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (idempotency_key) DO NOTHING",
            &[
                &charge.user_id,
                &charge.kind.as_str(),
                &-amount,
                &balance_after,
                &charge.task_id,
                &charge.filing_id,
                &charge.idempotency_key,
                &charge.description,
            ],
        )
        .await?;
    if inserted == 0 {
        // A concurrent transaction charged this key first (we waited on its row lock
        // and it committed): undo our balance change.
        tx.execute(
            "UPDATE user_accounts SET credit_balance_micros = credit_balance_micros + $2 WHERE user_id = $1",
            &[&charge.user_id, &amount],
        )
        .await?;
        return Ok(ChargeOutcome::AlreadyCharged);
    }
    Ok(ChargeOutcome::Charged {
        balance_after: Money::from_micros(balance_after),
    })
}

/// The idempotency key of a user's access to a filing: charged once per user and filing, ever.
pub fn filing_access_key(user_id: &str, filing_id: Uuid) -> String {
    format!("filing-access:{filing_id}:{user_id}")
}

/// Grants `user_id` access to a filing, charging `fee` once. Returns the outcome of
/// the charge (AlreadyCharged when the user had access).
pub async fn grant_filing_access(
    tx: &Transaction<'_>,
    user_id: &str,
    filing_id: Uuid,
    fee: Money,
    task_id: Option<Uuid>,
    description: String,
) -> Result<ChargeOutcome, LedgerError> {
    let outcome = charge(
        tx,
        &Charge {
            user_id,
            kind: ChargeKind::FilingAccess,
            amount: fee,
            idempotency_key: filing_access_key(user_id, filing_id),
            task_id,
            filing_id: Some(filing_id),
            description,
        },
    )
    .await?;
    if matches!(outcome, ChargeOutcome::Charged { .. } | ChargeOutcome::AlreadyCharged) {
        tx.execute(
            "INSERT INTO filing_access (user_id, filing_id, fee_micros) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&user_id, &filing_id, &fee.micros()],
        )
        .await?;
    }
    Ok(outcome)
}
