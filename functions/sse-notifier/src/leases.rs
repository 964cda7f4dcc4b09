//! Stream leases: each open event stream holds one, and a user holds at most
//! `SSE_STREAMS_PER_USER` (3) at once. A stream holds a Lambda instance and its
//! database connections for up to 15 minutes, so without a cap one bearer token could
//! take the function's whole reserved concurrency. A lease is taken under the user's
//! advisory lock (concurrent opens cannot both take the last one), deleted when its
//! stream ends, and runs out by itself at the stream's deadline when its process died.

use sluice_core::{DbError, Pool};
use std::time::Duration;
use uuid::Uuid;

/// The answer to a request for a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    Granted(Uuid),
    /// The user already holds `held` streams (the cap).
    Full {
        held: i64,
    },
}

/// Takes a lease for `user_id` for `lifetime` (the database's clock), unless the user
/// already holds `cap`.
pub async fn take(pool: &Pool, user_id: &str, cap: u32, lifetime: Duration) -> Result<Lease, DbError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('streams:' || $1))", &[&user_id])
        .await?;
    tx.execute(
        "DELETE FROM stream_leases WHERE user_id = $1 AND expires_at <= now()",
        &[&user_id],
    )
    .await?;
    let held: i64 = tx
        .query_one("SELECT count(*) FROM stream_leases WHERE user_id = $1", &[&user_id])
        .await?
        .get(0);
    if held >= i64::from(cap) {
        return Ok(Lease::Full { held });
    }
    let id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO stream_leases (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))",
        &[&id, &user_id, &lifetime.as_secs_f64()],
    )
    .await?;
    tx.commit().await?;
    Ok(Lease::Granted(id))
}

/// Gives a lease back (its stream ended).
pub async fn release(pool: &Pool, id: Uuid) -> Result<(), DbError> {
    pool.get()
        .await?
        .execute("DELETE FROM stream_leases WHERE id = $1", &[&id])
        .await?;
    Ok(())
}
