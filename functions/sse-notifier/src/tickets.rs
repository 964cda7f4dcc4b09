//! Stream tickets: what a browser puts in the stream's URL instead of its token
//! (EventSource cannot send an Authorization header, and a long-lived token never goes
//! in a URL). A ticket is 256 random bits, base64url, valid for a short time, bound to
//! its user, and good for one stream: only its SHA-256 is stored, and redeeming it is
//! one conditional UPDATE, so two concurrent uses cannot both succeed.

use crate::store::Viewer;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sluice_core::{DbError, Pool};
use std::time::Duration;

/// A ticket as handed to its user (the only time it exists in clear).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedTicket {
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
    pub expires_in: u64,
}

fn hash(ticket: &str) -> Vec<u8> {
    Sha256::digest(ticket.as_bytes()).to_vec()
}

/// A ticket's text: 43 base64url characters (32 bytes). Anything else is not one.
fn well_formed(ticket: &str) -> bool {
    ticket.len() == 43
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(ticket)
            .is_ok_and(|b| b.len() == 32)
}

pub async fn issue(pool: &Pool, viewer: &Viewer, ttl: Duration) -> Result<IssuedTicket, DbError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let ticket = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let ttl_secs = ttl.as_secs_f64();
    let client = pool.get().await?;
    let row = client
        .query_one(
            "INSERT INTO stream_tickets (ticket_hash, user_id, team_member, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at",
            &[&hash(&ticket), &viewer.user_id, &viewer.team_member, &ttl_secs],
        )
        .await?;
    // Expired tickets are of no use to anyone; an hour's grace keeps the delete cheap and rare.
    client
        .execute(
            "DELETE FROM stream_tickets WHERE expires_at < now() - interval '1 hour'",
            &[],
        )
        .await?;
    Ok(IssuedTicket {
        ticket,
        expires_at: row.get(0),
        expires_in: ttl.as_secs(),
    })
}

/// The viewer a ticket was issued to, if it is unexpired and unused (it is used now).
pub async fn redeem(pool: &Pool, ticket: &str) -> Result<Option<Viewer>, DbError> {
    if !well_formed(ticket) {
        return Ok(None);
    }
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "UPDATE stream_tickets SET used_at = now()
             WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id, team_member",
            &[&hash(ticket)],
        )
        .await?;
    Ok(row.map(|r| Viewer {
        user_id: r.get(0),
        team_member: r.get(1),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_base64url_of_32_bytes_is_a_ticket() {
        let ok = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(well_formed(&ok));
        assert!(!well_formed(""));
        assert!(!well_formed(&ok[..42]));
        assert!(!well_formed(&format!("{}=", &ok[..42])));
        assert_eq!(hash(&ok).len(), 32);
    }
}
