//! Intercom webhook bodies: `notification_event` deliveries about conversations.

use crate::json::{self, Object};
use crate::text::{feedback_text, single_line};
use crate::WebhookError;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_messages::{FeedbackReceived, FeedbackSource};
use sluice_text::{html_to_text, HtmlOptions};

/// Authors whose words are customer feedback (API 1.x says `user`/`lead`, 2.x `contact`).
const CUSTOMER_AUTHORS: &[&str] = &["user", "lead", "contact"];

/// Parses an Intercom `notification_event` (see the crate docs for which topics carry
/// feedback). `received_at` is used when the payload carries no time.
pub fn parse_intercom(body: &[u8], received_at: DateTime<Utc>) -> Result<FeedbackReceived, WebhookError> {
    let map = json::object(body, "intercom").map_err(WebhookError::Malformed)?;
    let kind = json::text(&map, "type").ok_or_else(|| malformed("intercom body has no type"))?;
    if kind != "notification_event" {
        return Err(WebhookError::Unsupported(format!(
            "intercom {kind} is not a notification event"
        )));
    }
    let topic = json::text(&map, "topic").ok_or_else(|| malformed("intercom notification has no topic"))?;
    let feedback_topic = matches!(
        topic.as_str(),
        "conversation.user.created"
            | "conversation.user.replied"
            | "conversation.admin.replied"
            | "conversation.rating.added"
    );
    if !feedback_topic {
        return Err(WebhookError::Unsupported(format!(
            "intercom topic {topic} carries no customer feedback"
        )));
    }
    let item = json::obj(&map, "data")
        .and_then(|data| json::obj(data, "item"))
        .ok_or_else(|| malformed(&format!("intercom {topic} has no data.item")))?;
    if json::text(item, "type").as_deref() != Some("conversation") {
        return Err(malformed(&format!("intercom {topic} item is not a conversation")));
    }
    let conversation_id =
        json::text(item, "id").ok_or_else(|| malformed(&format!("intercom {topic} conversation has no id")))?;
    let conversation = Conversation {
        item,
        id: &conversation_id,
    };

    let content = match topic.as_str() {
        "conversation.user.created" => conversation.opening()?,
        "conversation.user.replied" => conversation.latest_customer_part()?,
        "conversation.rating.added" => conversation.rating()?,
        _ => match conversation.opening() {
            // A teammate's reply is not feedback, but a new version of the conversation:
            // it carries the customer's opening message again.
            Ok(opening) => Content {
                revision: json::text(item, "updated_at").map_or(opening.revision, |at| format!("updated:{at}")),
                ..opening
            },
            Err(_) => {
                return Err(WebhookError::Unsupported(format!(
                    "intercom {topic}: conversation {conversation_id} has no customer-written message"
                )))
            }
        },
    };
    let text = feedback_text(content.text.as_deref(), content.rating)
        .ok_or_else(|| malformed(&format!("intercom {topic}: conversation {conversation_id} has no text")))?;
    let subject = content
        .subject
        .as_deref()
        .map(|s| html_to_text(s, &HtmlOptions::MESSAGE))
        .as_deref()
        .and_then(single_line);
    Ok(FeedbackReceived {
        source: FeedbackSource::Intercom,
        external_id: conversation_id.clone(),
        revision: content.revision,
        author: content.author.or_else(|| json::obj(item, "user").and_then(person)),
        rating: content.rating,
        subject,
        text,
        language: None,
        received_at: content.at.unwrap_or(received_at),
        link: json::obj(item, "links").and_then(|links| json::text(links, "conversation_web")),
    })
}

/// What one event contributes.
struct Content {
    text: Option<String>,
    subject: Option<String>,
    author: Option<String>,
    rating: Option<u8>,
    revision: String,
    at: Option<DateTime<Utc>>,
}

struct Conversation<'a> {
    item: &'a Object,
    id: &'a str,
}

impl Conversation<'_> {
    /// The message that opened the conversation, when a customer wrote it.
    fn opening(&self) -> Result<Content, WebhookError> {
        let message = json::obj(self.item, "source")
            .or_else(|| json::obj(self.item, "conversation_message"))
            .ok_or_else(|| malformed(&format!("intercom conversation {} has no opening message", self.id)))?;
        let author = json::obj(message, "author");
        if !author.is_some_and(is_customer) {
            return Err(WebhookError::Unsupported(format!(
                "intercom conversation {} was opened by a teammate",
                self.id
            )));
        }
        let message_id = json::text(message, "id").unwrap_or_else(|| self.id.to_owned());
        Ok(Content {
            text: json::text(message, "body").map(|html| html_to_text(&html, &HtmlOptions::MESSAGE)),
            subject: json::text(message, "subject"),
            author: author.and_then(person),
            rating: None,
            revision: format!("message:{message_id}"),
            at: json::time(message, "created_at").or_else(|| json::time(self.item, "created_at")),
        })
    }

    /// The newest conversation part a customer wrote.
    fn latest_customer_part(&self) -> Result<Content, WebhookError> {
        let parts = json::obj(self.item, "conversation_parts")
            .and_then(|list| list.get("conversation_parts"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let part = parts
            .iter()
            .filter_map(Value::as_object)
            .filter(|part| json::obj(part, "author").is_some_and(is_customer))
            .filter(|part| json::text(part, "body").is_some())
            .max_by_key(|part| json::time(part, "created_at"))
            .ok_or_else(|| malformed(&format!("intercom conversation {} has no customer reply", self.id)))?;
        let part_id = json::text(part, "id").unwrap_or_else(|| self.id.to_owned());
        Ok(Content {
            text: json::text(part, "body").map(|html| html_to_text(&html, &HtmlOptions::MESSAGE)),
            subject: None,
            author: json::obj(part, "author").and_then(person),
            rating: None,
            revision: format!("part:{part_id}"),
            at: json::time(part, "created_at"),
        })
    }

    /// The customer's rating of the conversation, with its remark.
    fn rating(&self) -> Result<Content, WebhookError> {
        let rating = json::obj(self.item, "conversation_rating")
            .ok_or_else(|| malformed(&format!("intercom conversation {} has no rating", self.id)))?;
        let stars = rating
            .get("rating")
            .and_then(Value::as_u64)
            .and_then(|r| u8::try_from(r).ok())
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| malformed(&format!("intercom conversation {} rating is not 1-5", self.id)))?;
        let at = json::time(rating, "created_at");
        Ok(Content {
            text: json::text(rating, "remark"),
            subject: None,
            author: json::obj(rating, "contact")
                .or_else(|| json::obj(rating, "customer"))
                .and_then(person),
            rating: Some(stars),
            revision: format!("rating:{}", json::text(rating, "created_at").unwrap_or_default()),
            at,
        })
    }
}

fn is_customer(author: &Object) -> bool {
    json::text(author, "type").is_some_and(|t| CUSTOMER_AUTHORS.contains(&t.as_str()))
}

/// `Name <email>`, or whichever of the two there is.
fn person(who: &Object) -> Option<String> {
    let name = json::text(who, "name").as_deref().and_then(single_line);
    let email = json::text(who, "email").as_deref().and_then(single_line);
    match (name, email) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (name, email) => name.or(email),
    }
}

fn malformed(reason: &str) -> WebhookError {
    WebhookError::Malformed(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_user_reply_takes_the_newest_customer_part() {
        let body = br#"{"type":"notification_event","id":"notif_1","topic":"conversation.user.replied",
          "data":{"item":{"type":"conversation","id":99,"created_at":1600000000,
            "conversation_message":{"id":"m1","body":"<p>first</p>","author":{"type":"user","name":"Ann"}},
            "conversation_parts":{"conversation_parts":[
              {"id":"p1","created_at":1600000100,"body":"<p>old reply</p>","author":{"type":"user"}},
              {"id":"p2","created_at":1600000200,"body":"<p>The <b>app</b> crashes<br>on login</p>",
               "author":{"type":"contact","name":"Ann","email":"ann@example.com"}},
              {"id":"p3","created_at":1600000300,"body":"<p>agent</p>","author":{"type":"admin"}}]}}}}"#;
        let item = parse_intercom(body, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(item.external_id, "99");
        assert_eq!(item.revision, "part:p2");
        assert_eq!(item.text, "The app crashes\non login");
        assert_eq!(item.author.as_deref(), Some("Ann <ann@example.com>"));
        assert_eq!(
            item.received_at,
            DateTime::from_timestamp(1_600_000_200, 0).unwrap_or_default()
        );
    }

    #[test]
    fn a_rating_is_feedback_even_without_a_remark() {
        let body = br#"{"type":"notification_event","topic":"conversation.rating.added",
          "data":{"item":{"type":"conversation","id":"5","conversation_rating":{"rating":2,"created_at":1600000000}}}}"#;
        let item = parse_intercom(body, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(item.rating, Some(2));
        assert_eq!(item.revision, "rating:1600000000");
        assert_eq!(item.text, "Rated 2 of 5 stars, with no written comment.");
        let bad = br#"{"type":"notification_event","topic":"conversation.rating.added",
          "data":{"item":{"type":"conversation","id":"5","conversation_rating":{"rating":9}}}}"#;
        assert!(matches!(parse_intercom(bad, now()), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn other_topics_and_shapes() {
        let ping = br#"{"type":"notification_event","topic":"ping","data":{"item":{"type":"ping"}}}"#;
        assert!(matches!(parse_intercom(ping, now()), Err(WebhookError::Unsupported(_))));
        let no_topic = br#"{"type":"notification_event"}"#;
        assert!(matches!(
            parse_intercom(no_topic, now()),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            parse_intercom(b"null", now()),
            Err(WebhookError::Malformed(_))
        ));
    }
}
