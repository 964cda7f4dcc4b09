//! Real Zendesk and Intercom payloads (read in place from the shared fixtures) normalised
//! into FeedbackReceived, with values read from the files.

mod common;

use common::{at, shared_json, shared_webhook, time};
use serde_json::json;
use sluice_feedback::{parse_intercom, parse_zendesk, FeedbackSource, WebhookError};

fn now() -> chrono::DateTime<chrono::Utc> {
    at(1_750_000_000)
}

#[test]
fn zendesk_ticket_created_event() {
    let Some(body) = shared_webhook("zendesk/dust__ticket_created_example.json") else {
        return;
    };
    let item = parse_zendesk(&body, now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.source, FeedbackSource::Zendesk);
    assert_eq!(item.external_id, "5158");
    assert_eq!(item.revision, "2025-01-08T10:12:07Z");
    assert_eq!(item.text, "Customer is experiencing login issues with the mobile app");
    assert_eq!(item.subject.as_deref(), Some("Cannot login to mobile app"));
    assert_eq!(item.author.as_deref(), Some("8447388090494"));
    assert_eq!(item.rating, None);
    assert_eq!(item.language, None);
    assert_eq!(item.link, None);
    assert_eq!(item.received_at, time("2025-01-08T10:12:07.672717030Z"));
}

#[test]
fn zendesk_comment_added_is_a_new_revision_of_the_same_ticket() {
    let (Some(created), Some(commented)) = (
        shared_webhook("zendesk/dust__ticket_created_example.json"),
        shared_webhook("zendesk/dust__ticket_comment_added_example.json"),
    ) else {
        return;
    };
    let created = parse_zendesk(&created, now()).unwrap_or_else(|e| panic!("{e}"));
    let update = parse_zendesk(&commented, now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(update.external_id, created.external_id);
    assert_eq!(update.revision, "2025-01-08T14:25:30Z");
    assert_ne!(update.revision, created.revision);
    assert_eq!(update.received_at, time("2025-01-08T14:25:30.123456789Z"));
    // The comment is an agent's ("is_staff": true): not feedback, so the ticket keeps the
    // requester's words.
    assert_eq!(update.text, "Customer is experiencing login issues with the mobile app");
    assert_eq!(update.author.as_deref(), Some("8447388090494"));
}

#[test]
fn zendesk_comment_by_the_customer_is_the_text() {
    let Some(mut event) = shared_json("zendesk/dust__ticket_comment_added_example.json") else {
        return;
    };
    event["event"]["comment"]["author"]["is_staff"] = json!(false);
    event["event"]["comment"]["author"]["name"] = json!("Jo Customer");
    event["event"]["comment"]["body"] = json!("Still can't log in after the reset.\n\nSent from my iPhone");
    let item = parse_zendesk(event.to_string().as_bytes(), now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.external_id, "5158");
    assert_eq!(item.revision, "2025-01-08T14:25:30Z");
    assert_eq!(item.text, "Still can't log in after the reset.\n\nSent from my iPhone");
    assert_eq!(item.author.as_deref(), Some("Jo Customer"));
}

#[test]
fn zendesk_events_without_feedback_are_unsupported() {
    let Some(body) = shared_webhook("zendesk/zendesk-go__event_user_group_membership_created.json") else {
        return;
    };
    let result = parse_zendesk(&body, now());
    assert!(matches!(&result, Err(WebhookError::Unsupported(why)) if why.contains("user.group_membership_created")));
    let Some(mut status) = shared_json("zendesk/dust__ticket_created_example.json") else {
        return;
    };
    status["type"] = json!("zen:event-type:ticket.status_changed");
    assert!(matches!(
        parse_zendesk(status.to_string().as_bytes(), now()),
        Err(WebhookError::Unsupported(_))
    ));
}

#[test]
fn zendesk_go_trigger_without_text_says_what_to_add() {
    let Some(body) = shared_webhook("zendesk/zendesk-go__trigger_ticket_update.json") else {
        return;
    };
    match parse_zendesk(&body, now()) {
        Err(WebhookError::Malformed(why)) => {
            assert!(why.contains("ticket 12345"), "{why}");
            assert!(why.contains("{{ticket.latest_public_comment}}"), "{why}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    // The same trigger with the comment placeholder added parses, ticketID and all.
    let Some(mut trigger) = shared_json("zendesk/zendesk-go__trigger_ticket_update.json") else {
        return;
    };
    trigger["comment"] = json!("The mobile app logs me out every few minutes.");
    let bytes = trigger.to_string().into_bytes();
    let item = parse_zendesk(&bytes, now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.external_id, "12345");
    assert_eq!(item.text, "The mobile app logs me out every few minutes.");
    assert!(item.revision.starts_with("sha256:"));
    assert_eq!(item.received_at, now());
    assert_eq!(parse_zendesk(&bytes, at(0)).map(|i| i.revision), Ok(item.revision));
}

#[test]
fn intercom_conversation_user_created() {
    let Some(body) = shared_webhook("intercom/python-intercom__test_conversation_notification.json") else {
        return;
    };
    let item = parse_intercom(&body, now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.source, FeedbackSource::Intercom);
    assert_eq!(item.external_id, "123456789");
    assert_eq!(item.revision, "message:321546");
    assert_eq!(item.text, "An important message");
    assert_eq!(item.author.as_deref(), Some("Kill Bill <bill@bill.bill>"));
    assert_eq!(item.subject, None);
    assert_eq!(item.rating, None);
    assert_eq!(item.received_at, at(1_410_335_293));
    assert_eq!(
        item.link.as_deref(),
        Some("https://app.intercom.io/a/apps/aaaaaa/inbox/all/conversations/123456789")
    );
}

#[test]
fn intercom_conversation_user_replied_takes_the_customer_part() {
    let Some(mut event) = shared_json("intercom/python-intercom__test_conversation_notification.json") else {
        return;
    };
    event["topic"] = json!("conversation.user.replied");
    let item = parse_intercom(event.to_string().as_bytes(), now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.external_id, "123456789");
    assert_eq!(item.revision, "part:4412");
    assert_eq!(item.text, "Hi Jane, it's all great thanks!");
    assert_eq!(item.received_at, at(1_400_857_494));
}

#[test]
fn intercom_events_without_customer_words_are_unsupported() {
    for file in [
        "intercom/python-intercom__test_user_notification.json",
        "intercom/python-intercom__test_subscription.json",
        "intercom/hull-connectors__webhook-user-created.json",
        "intercom/hull-connectors__webhook-conversation-part-tag-created.json",
        // Conversations a teammate opened and replied to: nothing the customer wrote.
        "intercom/hull-connectors__webhook-conversation-admin-single-created.json",
        "intercom/hull-connectors__webhook-conversation-admin-replied.json",
    ] {
        let Some(body) = shared_webhook(file) else { return };
        let result = parse_intercom(&body, now());
        assert!(
            matches!(result, Err(WebhookError::Unsupported(_))),
            "{file}: {result:?}"
        );
    }
}

#[test]
fn intercom_admin_reply_to_a_customer_conversation_is_a_new_revision() {
    let Some(mut event) = shared_json("intercom/hull-connectors__webhook-conversation-admin-replied.json") else {
        return;
    };
    let message = &mut event["data"]["item"]["conversation_message"];
    message["author"] = json!({"type": "user", "id": "5ee3d479d1cf3dedbee23d68", "name": "Bob Dylan"});
    message["body"] = json!("<p>My <b>watchlist</b> is empty after&nbsp;login.</p>");
    let item = parse_intercom(event.to_string().as_bytes(), now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.external_id, "137324500000000");
    assert_eq!(item.revision, "updated:1596635049");
    assert_eq!(item.text, "My watchlist is empty after login.");
    assert_eq!(item.author.as_deref(), Some("Bob Dylan"));
    assert_eq!(
        item.link.as_deref(),
        Some("https://app.intercom.com/a/apps/lkqcyt9t/conversations/137324500000000")
    );
}
