//! The one idempotency mechanism: a consumer claims a key in the same transaction
//! as its effect. The first claim wins; a redelivery (or a concurrent duplicate,
//! which waits on the row lock until the first commits) finds the key taken and
//! does nothing. If the first transaction rolls back, the claim goes with it.

use deadpool_postgres::Transaction;
use tokio_postgres::GenericClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This is the first time: apply the effect.
    First,
    /// Already applied: change nothing.
    Repeat,
}

pub async fn claim(tx: &Transaction<'_>, consumer: &str, key: &str) -> Result<Claim, tokio_postgres::Error> {
    let inserted = tx
        .execute(
            "INSERT INTO processed_messages (consumer, key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&consumer, &key],
        )
        .await?;
    Ok(if inserted == 1 { Claim::First } else { Claim::Repeat })
}

/// A cheap look before expensive work (streaming a file): was this key already applied?
pub async fn already_processed<C: GenericClient>(
    client: &C,
    consumer: &str,
    key: &str,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT 1 FROM processed_messages WHERE consumer = $1 AND key = $2",
            &[&consumer, &key],
        )
        .await?;
    Ok(row.is_some())
}
