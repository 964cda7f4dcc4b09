//! Sluice's generic feedback JSON, delivered with Standard Webhooks signatures (the format
//! is documented in the crate docs).

use crate::json;
use crate::text::{feedback_text, language_tag, single_line};
use crate::WebhookError;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_messages::{FeedbackReceived, FeedbackSource};

/// The event types that carry feedback.
pub const STANDARD_FEEDBACK_TYPES: &[&str] = &["feedback.created", "feedback.updated"];

/// Parses the generic feedback JSON. `id` is the `webhook-id` of the delivery: it is the
/// revision (a retry of a delivery keeps its id; a new delivery about the same item is a
/// new version). `received_at` is used when the body has no `timestamp`.
pub fn parse_standard(id: &str, body: &[u8], received_at: DateTime<Utc>) -> Result<FeedbackReceived, WebhookError> {
    let revision = id.trim();
    if revision.is_empty() {
        return Err(WebhookError::Malformed("the webhook id is empty".into()));
    }
    let map = json::object(body, "standard webhook").map_err(WebhookError::Malformed)?;
    let kind = json::text(&map, "type").ok_or_else(|| malformed("the body has no type"))?;
    if !STANDARD_FEEDBACK_TYPES.contains(&kind.as_str()) {
        return Err(WebhookError::Unsupported(format!(
            "event type {kind} carries no feedback"
        )));
    }
    let data = json::obj(&map, "data").ok_or_else(|| malformed("the body has no data object"))?;
    let external_id = json::text(data, "id").ok_or_else(|| malformed("data.id is missing"))?;
    let rating = match data.get("rating") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|r| u8::try_from(r).ok())
                .filter(|r| (1..=5).contains(r))
                .ok_or_else(|| malformed("data.rating is not a whole number from 1 to 5"))?,
        ),
    };
    let text = feedback_text(json::text(data, "text").as_deref(), rating)
        .ok_or_else(|| malformed("data.text is empty and there is no rating"))?;
    let received_at = match json::text(&map, "timestamp") {
        Some(timestamp) => json::time(&map, "timestamp")
            .ok_or_else(|| malformed(&format!("timestamp {timestamp:?} is not an RFC 3339 time")))?,
        None => received_at,
    };
    Ok(FeedbackReceived {
        source: FeedbackSource::Standard,
        external_id,
        revision: revision.to_owned(),
        author: json::text(data, "author").as_deref().and_then(single_line),
        rating,
        subject: json::text(data, "subject").as_deref().and_then(single_line),
        text,
        language: json::text(data, "language").as_deref().and_then(language_tag),
        received_at,
        link: json::text(data, "url"),
    })
}

fn malformed(reason: &str) -> WebhookError {
    WebhookError::Malformed(format!("standard webhook: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_documented_example_parses() {
        let body = br#"{"type":"feedback.created","timestamp":"2024-05-01T12:00:00Z",
          "data":{"id":"fb_123","text":"  Love the new dashboard,\n but exports are slow. ","author":"Dana",
                  "rating":4,"subject":"Dashboard","language":"en_GB","url":"https://example.com/fb/123"}}"#;
        let item = parse_standard("msg_2b", body, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(item.source, FeedbackSource::Standard);
        assert_eq!(item.external_id, "fb_123");
        assert_eq!(item.revision, "msg_2b");
        assert_eq!(item.text, "Love the new dashboard,\nbut exports are slow.");
        assert_eq!(item.rating, Some(4));
        assert_eq!(item.language.as_deref(), Some("en-GB"));
        assert_eq!(item.subject.as_deref(), Some("Dashboard"));
        assert_eq!(item.link.as_deref(), Some("https://example.com/fb/123"));
        assert_eq!(
            item.received_at,
            crate::parse_time("2024-05-01T12:00:00Z").unwrap_or_default()
        );
    }

    #[test]
    fn refusals() {
        let parse = |body: &[u8]| parse_standard("msg_1", body, now());
        assert!(matches!(
            parse(br#"{"type":"user.created","data":{}}"#),
            Err(WebhookError::Unsupported(_))
        ));
        assert!(matches!(
            parse(br#"{"type":"feedback.created","data":{"text":"x"}}"#),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse(br#"{"type":"feedback.created","data":{"id":"1","text":"x","rating":6}}"#),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse(br#"{"type":"feedback.created","data":{"id":"1","text":"  "}}"#),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse(br#"{"type":"feedback.created","timestamp":"soon","data":{"id":"1","text":"x"}}"#),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse_standard(
                " ",
                br#"{"type":"feedback.created","data":{"id":"1","text":"x"}}"#,
                now()
            ),
            Err(WebhookError::Malformed(_))
        ));
        let rated = parse(br#"{"type":"feedback.updated","data":{"id":1,"rating":5}}"#);
        assert_eq!(rated.map(|i| (i.external_id, i.rating)), Ok(("1".to_owned(), Some(5))));
    }
}
