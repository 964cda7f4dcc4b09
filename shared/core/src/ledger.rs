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
    /// A chat turn a language model answered (Ask Sluice).
    ChatTurn,
    /// A filing a bulk import stored ([`crate::bulk`]).
    BulkImport,
}

impl ChargeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::FilingAccess => "filing_access",
            Self::Analysis => "analysis",
            Self::ChatTurn => "chat_turn",
            Self::BulkImport => "bulk_import",
        }
    }
}

/// Credits coming in (or, for an adjustment, taken back by a person).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditKind {
    /// What the tier includes each month.
    MonthlyCredits,
    /// Bought through Stripe Checkout.
    TopUp,
    /// A team admin's grant or correction, with a reason.
    Adjustment,
}

impl CreditKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::MonthlyCredits => "monthly_credits",
            Self::TopUp => "top_up",
            Self::Adjustment => "adjustment",
        }
    }
}

/// One credit movement to apply once. `amount` is positive, or negative for an
/// adjustment that takes credits back.
#[derive(Debug, Clone)]
pub struct Credit<'a> {
    pub user_id: &'a str,
    pub kind: CreditKind,
    pub amount: Money,
    /// Unique per movement: a second credit with the same key is a no-op.
    pub idempotency_key: String,
    pub description: String,
    /// The admin who made an adjustment.
    pub granted_by: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditOutcome {
    Credited {
        balance_after: Money,
    },
    /// The key was applied before: nothing changed.
    AlreadyCredited,
    /// Taking the credits back would leave less than what running tasks hold: nothing changed.
    Insufficient {
        available: Money,
    },
}

/// Applies `credit` in `tx`, under the account's lock, exactly once per key.
pub async fn credit(tx: &Transaction<'_>, credit: &Credit<'_>) -> Result<CreditOutcome, LedgerError> {
    lock_account(tx, credit.user_id).await?;
    let seen = tx
        .query_opt(
            "SELECT 1 FROM usage_transactions WHERE idempotency_key = $1",
            &[&credit.idempotency_key],
        )
        .await?;
    if seen.is_some() {
        return Ok(CreditOutcome::AlreadyCredited);
    }
    let amount = credit.amount.micros();
    // Taking back never spends what running tasks were promised.
    let held = if amount < 0 {
        crate::lifecycle::holds(tx, credit.user_id).await?.held.micros()
    } else {
        0
    };
    let Some(row) = tx
        .query_opt(
            "UPDATE user_accounts SET credit_balance_micros = credit_balance_micros + $2, updated_at = now()
             WHERE user_id = $1 AND credit_balance_micros + $2 - $3 >= 0
             RETURNING credit_balance_micros",
            &[&credit.user_id, &amount, &held],
        )
        .await?
    else {
        let balance: i64 = tx
            .query_opt(
                "SELECT credit_balance_micros FROM user_accounts WHERE user_id = $1",
                &[&credit.user_id],
            )
            .await?
            .map_or(0, |r| r.get(0));
        return Ok(CreditOutcome::Insufficient {
            available: Money::from_micros(balance - held),
        });
    };
    let balance_after: i64 = row.get(0);
    // The key was checked under the account's lock, which every movement takes.
    tx.execute(
        "INSERT INTO usage_transactions
             (user_id, kind, amount_micros, balance_after_micros, idempotency_key, description, granted_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &credit.user_id,
            &credit.kind.as_str(),
            &amount,
            &balance_after,
            &credit.idempotency_key,
            &credit.description,
            &credit.granted_by,
        ],
    )
    .await?;
    Ok(CreditOutcome::Credited {
        balance_after: Money::from_micros(balance_after),
    })
}

/// The first day of `day`'s month: the month monthly credits are granted for.
pub fn month_of(day: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    day.with_day(1).unwrap_or(day)
}

/// When the next monthly credits are due: the first day of the month after `today`.
pub fn credit_reset_date(today: chrono::NaiveDate) -> chrono::NaiveDate {
    month_of(today)
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(today)
}

/// Tops the account up to what `tier` includes for the month of `today`: the first grant
/// of a month gives the tier's credits, and an upgrade within the month gives the
/// difference to the better tier's. Once per account, month and tier, whatever retries.
pub async fn grant_monthly_credits(
    tx: &Transaction<'_>,
    user_id: &str,
    tier: sluice_messages::UserTier,
    today: chrono::NaiveDate,
) -> Result<CreditOutcome, LedgerError> {
    let month = month_of(today);
    let included = tier.policy().monthly_credits;
    lock_account(tx, user_id).await?;
    let granted: i64 = tx
        .query_one(
            "SELECT coalesce(sum(amount_micros), 0)::bigint FROM usage_transactions
             WHERE user_id = $1 AND kind = 'monthly_credits'
               AND left(idempotency_key, length($2)) = $2",
            &[&user_id, &format!("monthly:{user_id}:{}:", month.format("%Y-%m"))],
        )
        .await?
        .get(0);
    let due = included.micros() - granted;
    if due <= 0 {
        return Ok(CreditOutcome::AlreadyCredited);
    }
    credit(
        tx,
        &Credit {
            user_id,
            kind: CreditKind::MonthlyCredits,
            amount: Money::from_micros(due),
            idempotency_key: format!("monthly:{user_id}:{}:{}", month.format("%Y-%m"), tier.as_str()),
            description: format!("{} monthly credits for {}", tier.as_str(), month.format("%B %Y")),
            granted_by: None,
        },
    )
    .await
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
