//! Zendesk webhook bodies: the event-subscription shape (`zen:event-type:ticket.*`) and the
//! JSON body a trigger or automation sends (whatever the admin wrote, with placeholders).

use crate::json::{self, Object};
use crate::text::{feedback_text, language_tag, single_line};
use crate::WebhookError;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sluice_messages::{FeedbackReceived, FeedbackSource};

const EVENT_TYPE_PREFIX: &str = "zen:event-type:";

/// Parses a Zendesk webhook body (see the crate docs for what each shape yields).
/// `received_at` is used when the body carries no time.
pub fn parse_zendesk(body: &[u8], received_at: DateTime<Utc>) -> Result<FeedbackReceived, WebhookError> {
    let map = json::object(body, "zendesk").map_err(WebhookError::Malformed)?;
    match json::text(&map, "type") {
        Some(kind) if kind.starts_with(EVENT_TYPE_PREFIX) => {
            parse_event(&map, &kind[EVENT_TYPE_PREFIX.len()..], received_at)
        }
        _ => parse_trigger(&map, body, received_at),
    }
}

/// An event subscription delivery: `{type: "zen:event-type:ticket.comment_added", id, time,
/// subject: "zen:ticket:5158", detail: {the ticket}, event: {what changed}}`.
fn parse_event(map: &Object, kind: &str, received_at: DateTime<Utc>) -> Result<FeedbackReceived, WebhookError> {
    if !kind.starts_with("ticket.") {
        return Err(WebhookError::Unsupported(format!(
            "zendesk event {kind} is not about a ticket"
        )));
    }
    let empty = Object::new();
    let detail = json::obj(map, "detail").ok_or_else(|| malformed(format!("zendesk {kind} event has no detail")))?;
    let event = json::obj(map, "event").unwrap_or(&empty);
    let ticket_id = json::text(detail, "id")
        .or_else(|| json::text(map, "subject").and_then(|s| s.strip_prefix("zen:ticket:").map(str::to_owned)))
        .ok_or_else(|| malformed(format!("zendesk {kind} event has no ticket id")))?;
    // A ticket's version is its updated_at: every event of one update shares it, a later
    // update has a later one.
    let revision = json::text(detail, "updated_at")
        .or_else(|| json::text(map, "time"))
        .or_else(|| json::text(map, "id"))
        .ok_or_else(|| malformed(format!("zendesk {kind} event for ticket {ticket_id} has no updated_at")))?;
    let requester = json::text(detail, "requester_id");
    let description = json::text(detail, "description");

    let (text, author) = match kind {
        "ticket.created" | "ticket.description_changed" => (description, requester),
        "ticket.comment_added" => {
            let comment = json::obj(event, "comment").unwrap_or(&empty);
            let comment_author = json::obj(comment, "author").unwrap_or(&empty);
            let by_staff = json::flag(comment_author, "is_staff").unwrap_or(false);
            let public = json::flag(comment, "is_public").unwrap_or(true);
            if public && !by_staff {
                let name = json::first_text(comment_author, &["name", "id"]).or(requester);
                (json::text(comment, "body"), name)
            } else {
                // An agent's reply or an internal note is not feedback, but it is a new
                // version of the ticket: it carries the requester's own words again.
                (description, requester)
            }
        }
        other => {
            return Err(WebhookError::Unsupported(format!(
                "zendesk event {other} changes no customer text"
            )))
        }
    };
    let text = feedback_text(text.as_deref(), None)
        .ok_or_else(|| malformed(format!("zendesk {kind} event for ticket {ticket_id} has no text")))?;
    Ok(FeedbackReceived {
        source: FeedbackSource::Zendesk,
        external_id: ticket_id,
        revision,
        author: author.as_deref().and_then(single_line),
        rating: None,
        subject: json::text(detail, "subject").as_deref().and_then(single_line),
        text,
        language: json::first_text(detail, &["locale", "language"])
            .as_deref()
            .and_then(language_tag),
        received_at: json::time(map, "time").unwrap_or(received_at),
        link: json::first_text(detail, &["url", "link"]),
    })
}

/// A trigger/automation body: the fields Sluice's documented template sends, plus the
/// spellings other templates use (`ticketID`, `ticketId`).
fn parse_trigger(map: &Object, body: &[u8], received_at: DateTime<Utc>) -> Result<FeedbackReceived, WebhookError> {
    let ticket_id = json::first_text(map, &["ticket_id", "ticketID", "ticketId", "id"])
        .ok_or_else(|| malformed("zendesk body has neither an event type nor a ticket id".into()))?;
    let text = json::first_text(
        map,
        &[
            "comment",
            "latest_public_comment",
            "latest_comment",
            "text",
            "body",
            "description",
        ],
    );
    let text = feedback_text(text.as_deref(), None).ok_or_else(|| {
        malformed(format!(
            "zendesk trigger payload for ticket {ticket_id} carries no comment text: \
             add \"comment\": \"{{{{ticket.latest_public_comment}}}}\" to the webhook body"
        ))
    })?;
    // The same body again (a retry) gives the same revision; without updated_at, a digest
    // of the body stands in for the ticket's version.
    let updated_at = json::first_text(map, &["updated_at", "updatedAt", "ticket_updated_at"]);
    let revision = updated_at
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body))));
    Ok(FeedbackReceived {
        source: FeedbackSource::Zendesk,
        external_id: ticket_id,
        revision,
        author: json::first_text(map, &["author", "requester_name", "requester", "requesterName"])
            .as_deref()
            .and_then(single_line),
        rating: None,
        subject: json::first_text(map, &["subject", "title"])
            .as_deref()
            .and_then(single_line),
        text,
        language: json::first_text(map, &["locale", "language"])
            .as_deref()
            .and_then(language_tag),
        received_at: updated_at.as_deref().and_then(crate::parse_time).unwrap_or(received_at),
        link: json::first_text(map, &["url", "link", "ticket_url"]),
    })
}

fn malformed(reason: String) -> WebhookError {
    WebhookError::Malformed(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_documented_trigger_template_parses() {
        let body = br#"{"ticket_id":"42","updated_at":"2024-03-01T09:30Z","subject":"Export broken",
            "comment":"The CSV export\n\n  times out.","author":"Ana Lima","locale":"pt-BR",
            "url":"https://acme.zendesk.com/agent/tickets/42"}"#;
        let item = parse_zendesk(body, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(item.external_id, "42");
        assert_eq!(item.revision, "2024-03-01T09:30Z");
        assert_eq!(item.text, "The CSV export\n\ntimes out.");
        assert_eq!(item.author.as_deref(), Some("Ana Lima"));
        assert_eq!(item.language.as_deref(), Some("pt-BR"));
        assert_eq!(
            item.received_at,
            crate::parse_time("2024-03-01T09:30:00Z").unwrap_or_default()
        );
        assert_eq!(item.link.as_deref(), Some("https://acme.zendesk.com/agent/tickets/42"));
    }

    #[test]
    fn a_trigger_without_updated_at_is_versioned_by_its_body() {
        let a = parse_zendesk(br#"{"ticketID":7,"comment":"one"}"#, now()).unwrap_or_else(|e| panic!("{e}"));
        let again = parse_zendesk(br#"{"ticketID":7,"comment":"one"}"#, now()).unwrap_or_else(|e| panic!("{e}"));
        let b = parse_zendesk(br#"{"ticketID":7,"comment":"two"}"#, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (a.external_id.as_str(), a.revision.as_str()),
            ("7", again.revision.as_str())
        );
        assert_eq!(b.external_id, "7");
        assert_ne!(a.revision, b.revision);
        assert!(a.revision.starts_with("sha256:"));
    }

    #[test]
    fn bodies_that_are_not_tickets() {
        assert!(matches!(parse_zendesk(b"[1]", now()), Err(WebhookError::Malformed(_))));
        assert!(matches!(parse_zendesk(b"{", now()), Err(WebhookError::Malformed(_))));
        assert!(matches!(
            parse_zendesk(br#"{"say":"hello"}"#, now()),
            Err(WebhookError::Malformed(_))
        ));
        let status = br#"{"type":"zen:event-type:ticket.status_changed","detail":{"id":"1","updated_at":"x"}}"#;
        assert!(matches!(
            parse_zendesk(status, now()),
            Err(WebhookError::Unsupported(_))
        ));
    }
}
