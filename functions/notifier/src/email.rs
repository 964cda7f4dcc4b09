//! E-mail: staged with the event's claim, sent through SES v2 as raw MIME (so the
//! `List-Unsubscribe` headers go out), each row marked sent in the transaction that
//! locks it while SES is asked.

use crate::{Notifier, NotifierError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent as SesContent, RawMessage};
use deadpool_postgres::Transaction;
use sluice_messages::{audience, Envelope, Money, Payload};
use sluice_notify::email::{self, EmailContent, Links};
use sluice_notify::{unsubscribe, NotificationKind};
use uuid::Uuid;

/// The subject stored with a staged e-mail (the body is written when it is sent, with
/// fresh links).
pub fn subject(kind: NotificationKind, payload: &Payload) -> String {
    email::render(kind, payload, &Links::default())
        .map(|c| c.subject)
        .unwrap_or_else(|| kind.describe().to_owned())
}

/// Stages `kind` for everyone who may see an event of `owner` (its user, or every team
/// member), has an address and has not muted the kind. Returns how many were staged.
pub async fn stage_for_audience(
    tx: &Transaction<'_>,
    owner: Option<&str>,
    kind: NotificationKind,
    dedup_key: &str,
    message_id: Uuid,
    subject: &str,
) -> Result<usize, tokio_postgres::Error> {
    // Candidates: the owner, or team members; the audience rule decides.
    let rows = tx
        .query(
            "SELECT u.user_id, u.email, u.team_member, coalesce(p.muted, '{}') AS muted
             FROM user_accounts u LEFT JOIN notification_preferences p USING (user_id)
             WHERE coalesce(u.email, '') <> '' AND (u.user_id = $1 OR u.team_member)",
            &[&owner],
        )
        .await?;
    let mut staged = 0;
    for row in rows {
        let user_id: String = row.get("user_id");
        let team_member: bool = row.get("team_member");
        let muted: Vec<String> = row.get("muted");
        if !audience::may_see(owner, &user_id, team_member) || muted.iter().any(|m| m == kind.as_str()) {
            continue;
        }
        let address: String = row.get("email");
        staged += stage(tx, dedup_key, &user_id, kind, &address, message_id, subject).await?;
    }
    Ok(staged)
}

/// A charge left `user_id` under `threshold`: one e-mail per refill (the key names the
/// user's latest credit in the ledger), unless muted or without an address.
pub async fn stage_low_balance(
    tx: &Transaction<'_>,
    user_id: &str,
    threshold: Money,
    message_id: Uuid,
) -> Result<usize, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT u.email, u.credit_balance_micros, coalesce(p.muted, '{}') AS muted,
                    (SELECT coalesce(max(id), 0) FROM usage_transactions t
                      WHERE t.user_id = u.user_id AND t.amount_micros > 0) AS last_credit
             FROM user_accounts u LEFT JOIN notification_preferences p USING (user_id)
             WHERE u.user_id = $1",
            &[&user_id],
        )
        .await?;
    let Some(row) = row else { return Ok(0) };
    let address: Option<String> = row.get("email");
    let balance: i64 = row.get("credit_balance_micros");
    let muted: Vec<String> = row.get("muted");
    let last_credit: i64 = row.get("last_credit");
    let kind = NotificationKind::LowBalance;
    match address.filter(|a| !a.is_empty()) {
        Some(address) if balance < threshold.micros() && !muted.iter().any(|m| m == kind.as_str()) => {
            let key = format!("low_balance:{last_credit}");
            let subject = email::low_balance(Money::from_micros(balance), threshold).subject;
            stage(tx, &key, user_id, kind, &address, message_id, &subject).await
        }
        _ => Ok(0),
    }
}

async fn stage(
    tx: &Transaction<'_>,
    dedup_key: &str,
    user_id: &str,
    kind: NotificationKind,
    address: &str,
    message_id: Uuid,
    subject: &str,
) -> Result<usize, tokio_postgres::Error> {
    let inserted = tx
        .execute(
            "INSERT INTO email_notifications (dedup_key, user_id, kind, address, message_id, subject)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key, user_id, kind) DO NOTHING",
            &[&dedup_key, &user_id, &kind.as_str(), &address, &message_id, &subject],
        )
        .await?;
    Ok(inserted as usize)
}

impl Notifier {
    /// Sends every e-mail of this event still pending; returns how many it sent.
    pub async fn send_pending(&self, envelope: &Envelope) -> Result<usize, NotifierError> {
        let ids: Vec<i64> = {
            let client = self.pool.get().await?;
            client
                .query(
                    "SELECT id FROM email_notifications WHERE message_id = $1 AND status = 'pending' ORDER BY id",
                    &[&envelope.message_id.0],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        let mut sent = 0;
        for id in ids {
            if self.send_one(id, envelope).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends one staged e-mail unless another delivery of the event sent it first.
    async fn send_one(&self, id: i64, envelope: &Envelope) -> Result<bool, NotifierError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT e.user_id, e.kind, e.address, u.credit_balance_micros
                 FROM email_notifications e JOIN user_accounts u USING (user_id)
                 WHERE e.id = $1 AND e.status = 'pending' FOR UPDATE OF e",
                &[&id],
            )
            .await?
        else {
            return Ok(false);
        };
        let user_id: String = row.get("user_id");
        let kind_name: String = row.get("kind");
        let address: String = row.get("address");
        let Some(kind) = NotificationKind::parse(&kind_name) else {
            return Err(NotifierError::Mime(format!("unknown kind {kind_name}")));
        };
        let content = match kind {
            NotificationKind::LowBalance => email::low_balance(
                Money::from_micros(row.get("credit_balance_micros")),
                self.config.low_balance,
            ),
            _ => self.content(kind, &envelope.payload).await?,
        };
        let token = unsubscribe::sign(self.config.signing_key.expose().as_bytes(), &user_id, kind)
            .ok_or_else(|| NotifierError::Mime("NOTIFY_SIGNING_SECRET is empty".into()))?;
        let link = unsubscribe::link(&self.config.public_api_url, &token);
        let raw = email::mime(&self.config.from, &address, &content, &link)
            .map_err(|e| NotifierError::Mime(e.to_string()))?;
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| NotifierError::Mime(e.to_string()))?;
        let sent = self
            .ses
            .send_email()
            .from_email_address(&self.config.from)
            .content(SesContent::builder().raw(raw).build())
            .set_configuration_set_name(self.config.configuration_set.clone())
            .send()
            .await
            .map_err(|e| NotifierError::Ses(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()))?;
        tx.execute(
            "UPDATE email_notifications SET status = 'sent', ses_message_id = $2, sent_at = now() WHERE id = $1",
            &[&id, &sent.message_id()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(id, user_id = %user_id, kind = kind.as_str(), "e-mail sent");
        Ok(true)
    }

    /// The words of an event's e-mail, with a fresh presigned link to a partial load's rejects.
    async fn content(&self, kind: NotificationKind, payload: &Payload) -> Result<EmailContent, NotifierError> {
        let mut links = Links::default();
        if let Payload::DatasetLoaded(loaded) = payload {
            if let Some(key) = &loaded.rejects_key {
                links.rejects_url = self.presign(&loaded.bucket, key).await;
                links.rejects_valid_for = Some(format!(
                    "{} days",
                    self.config.rejects_link_ttl.as_secs().div_ceil(86_400)
                ));
            }
        }
        email::render(kind, payload, &links)
            .ok_or_else(|| NotifierError::Mime(format!("no {kind} e-mail for this event")))
    }

    async fn presign(&self, bucket: &str, key: &str) -> Option<String> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(self.config.rejects_link_ttl).ok()?;
        match self.s3.get_object().bucket(bucket).key(key).presigned(config).await {
            Ok(request) => Some(request.uri().to_owned()),
            Err(e) => {
                tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(e), "the rejects link could not be made");
                None
            }
        }
    }
}
