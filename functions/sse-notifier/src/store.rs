//! The `events` table: appended by the consumer, read by the streams and the long-poll.
//!
//! Ids are the SSE event ids. Every append takes one transaction-scoped advisory lock
//! before its id is drawn and keeps it until commit, so ids become visible in increasing
//! order: a reader that has seen id N will never later find a row with a smaller id.
//! That is what makes "everything after Last-Event-ID" exact.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_core::idempotency::{self, Claim};
use sluice_core::Pool;
use sluice_messages::Envelope;
use tokio_postgres::GenericClient;
use uuid::Uuid;

/// The channel of `NOTIFY sluice_events, '<id>'`.
pub const CHANNEL: &str = "sluice_events";
/// The consumer's name in `processed_messages`.
pub const CONSUMER: &str = "sse-notifier";
/// Serialises appends so that ids commit in order (see the module doc).
const APPEND_LOCK: i64 = 0x51_1ce0_0006;

/// One stored event, as streams and the long-poll send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub message_id: Uuid,
    pub correlation_id: String,
    pub occurred_at: DateTime<Utc>,
    /// The user it belongs to; `None` for a team-wide event.
    pub user_id: Option<String>,
    /// The envelope's `data`, as published.
    pub data: serde_json::Value,
}

/// Who is reading: a user, and whether they are a member of the team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: String,
    pub team_member: bool,
}

impl Viewer {
    /// Their own events, and the team-wide ones when they are a team member.
    pub fn sees(&self, event: &StoredEvent) -> bool {
        sluice_messages::audience::may_see(event.user_id.as_deref(), &self.user_id, self.team_member)
    }
}

const COLUMNS: &str = "id, type, message_id, correlation_id, occurred_at, user_id, payload";

fn from_row(row: &tokio_postgres::Row) -> StoredEvent {
    StoredEvent {
        id: row.get("id"),
        kind: row.get("type"),
        message_id: row.get("message_id"),
        correlation_id: row.get("correlation_id"),
        occurred_at: row.get("occurred_at"),
        user_id: row.get("user_id"),
        data: row.get("payload"),
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored under this id and announced.
    New(i64),
    /// This message was stored before: nothing changed.
    Repeat,
}

/// Stores `envelope` for `owner` (None: team-wide) and announces it, in one transaction.
pub async fn append(pool: &Pool, envelope: &Envelope, owner: Option<&str>) -> Result<Appended, sluice_core::DbError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let message_id = envelope.message_id.0;
    if idempotency::claim(&tx, CONSUMER, &message_id.to_string()).await? == Claim::Repeat {
        tx.commit().await?;
        return Ok(Appended::Repeat);
    }
    let data = serde_json::to_value(&envelope.payload)
        .ok()
        .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK]).await?;
    let row = tx
        .query_opt(
            "INSERT INTO events (message_id, user_id, type, payload, correlation_id, producer, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING RETURNING id",
            &[
                &message_id,
                &owner,
                &envelope.payload.kind(),
                &data,
                &envelope.correlation_id.as_str(),
                &envelope.producer.as_str(),
                &envelope.occurred_at,
            ],
        )
        .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(Appended::Repeat);
    };
    let id: i64 = row.get(0);
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id.to_string()])
        .await?;
    tx.commit().await?;
    Ok(Appended::New(id))
}

/// The viewer's events after `after`, oldest first, at most `limit`.
pub async fn after_for<C: GenericClient>(
    client: &C,
    viewer: &Viewer,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, tokio_postgres::Error> {
    // Two index range scans (their own events, the team's), merged.
    let sql = format!(
        "(SELECT {COLUMNS} FROM events WHERE user_id = $2 AND id > $1 ORDER BY id LIMIT $4)
         UNION ALL
         (SELECT {COLUMNS} FROM events WHERE $3 AND user_id IS NULL AND id > $1 ORDER BY id LIMIT $4)
         ORDER BY id LIMIT $4"
    );
    let rows = client
        .query(&sql, &[&after, &viewer.user_id, &viewer.team_member, &limit])
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Every event after `after`, oldest first, at most `limit` (the hub's read).
pub async fn after_all<C: GenericClient>(
    client: &C,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, tokio_postgres::Error> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = client.query(&sql, &[&after, &limit]).await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The newest id (0 when there is none): where a stream without Last-Event-ID starts.
pub async fn newest_id<C: GenericClient>(client: &C) -> Result<i64, tokio_postgres::Error> {
    let row = client.query_one("SELECT coalesce(max(id), 0) FROM events", &[]).await?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(user: Option<&str>) -> StoredEvent {
        StoredEvent {
            id: 1,
            kind: "DatasetLoaded".into(),
            message_id: Uuid::nil(),
            correlation_id: "c".into(),
            occurred_at: Utc::now(),
            user_id: user.map(str::to_owned),
            data: serde_json::json!({}),
        }
    }

    #[test]
    fn users_see_their_own_events_and_members_the_team_ones() {
        let ana = Viewer {
            user_id: "ana".into(),
            team_member: true,
        };
        let bob = Viewer {
            user_id: "bob".into(),
            team_member: false,
        };
        assert!(ana.sees(&event(Some("ana"))) && !ana.sees(&event(Some("bob"))));
        assert!(ana.sees(&event(None)));
        assert!(bob.sees(&event(Some("bob"))) && !bob.sees(&event(Some("ana"))));
        assert!(!bob.sees(&event(None)));
    }
}
