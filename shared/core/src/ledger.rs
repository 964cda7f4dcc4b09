//! The one credit ledger: every charge is a `usage_transactions` row with a unique
//! idempotency key, written in the caller's transaction together with the balance
//! change. A retried charge finds its key and changes nothing; a balance never goes
//! below zero (the update is conditional, and the table has a CHECK as a backstop).

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
    /// The balance does not cover the amount: nothing changed.
    Insufficient {
        balance: Money,
    },
}

/// Applies `charge` in `tx`. Zero-amount charges are recorded too (the row says the
/// access was granted free), so the key still guards against a later double charge.
pub async fn charge(tx: &Transaction<'_>, charge: &Charge<'_>) -> Result<ChargeOutcome, tokio_postgres::Error> {
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
    // Row lock on the account: concurrent charges of one user apply one after another.
    let Some(row) = tx
        .query_opt(
            "UPDATE user_accounts SET credit_balance_micros = credit_balance_micros - $2, updated_at = now()
             WHERE user_id = $1 AND credit_balance_micros >= $2
             RETURNING credit_balance_micros",
            &[&charge.user_id, &amount],
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
            balance: Money::from_micros(balance.unwrap_or(0)),
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
) -> Result<ChargeOutcome, tokio_postgres::Error> {
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
