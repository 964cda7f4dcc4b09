//! The same input always gives the same external_id and revision (so a re-delivery is
//! processed once downstream), and a changed item gets a new revision.

mod common;

use common::{at, own, shared_webhook};
use sluice_feedback::{
    parse_app_store_reviews, parse_email, parse_google_play_reviews, parse_intercom, parse_standard, parse_zendesk,
    receive_webhook, sign_intercom, sign_standard, sign_zendesk, WebhookSecrets, WebhookSource,
};
use std::collections::HashMap;

/// A small deterministic generator (xorshift64*): property checks without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn words(&mut self, max: u64) -> String {
        const WORDS: &[&str] = &[
            "export",
            "crash",
            "slow",
            "chart",
            "filing",
            "10-K",
            "login",
            "écran",
            "ß",
            "🙂",
            "price",
            "\"quoted\"",
            "line\nbreak",
            "tab\there",
            "<b>bold</b>",
            "&amp;",
            "> quoted",
            "-- ",
            "Thanks,",
        ];
        let count = 1 + self.next() % max;
        (0..count)
            .map(|_| WORDS[(self.next() % WORDS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn ids(item: &sluice_feedback::FeedbackReceived) -> (String, String) {
    (item.external_id.clone(), item.revision.clone())
}

#[test]
fn every_fixture_parses_the_same_twice() {
    let now = at(1_750_000_000);
    for file in [
        "zendesk/dust__ticket_created_example.json",
        "zendesk/dust__ticket_comment_added_example.json",
        "intercom/python-intercom__test_conversation_notification.json",
    ] {
        let Some(body) = shared_webhook(file) else { continue };
        let first = if file.starts_with("zendesk") {
            parse_zendesk(&body, now)
        } else {
            parse_intercom(&body, now)
        };
        let again = if file.starts_with("zendesk") {
            parse_zendesk(&body, at(0))
        } else {
            parse_intercom(&body, at(0))
        };
        let (first, again) = (
            first.unwrap_or_else(|e| panic!("{e}")),
            again.unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(ids(&first), ids(&again), "{file}");
        assert_eq!(first, again, "{file}: the payload's own times, not the receive time");
    }
    let reviews = parse_app_store_reviews(&own("app_store/customer_reviews.json")).unwrap_or_default();
    assert_eq!(
        reviews,
        parse_app_store_reviews(&own("app_store/customer_reviews.json")).unwrap_or_default()
    );
    let play = parse_google_play_reviews(&own("google_play/reviews_utf8.csv")).unwrap_or_default();
    assert_eq!(
        play,
        parse_google_play_reviews(&own("google_play/reviews_utf8.csv")).unwrap_or_default()
    );
    for name in [
        "multipart_alternative_qp.eml",
        "latin1_base64.eml",
        "html_only.eml",
        "forward_without_ids.eml",
    ] {
        let raw = own(&format!("email/{name}"));
        assert_eq!(parse_email(&raw, name), parse_email(&raw, name), "{name}");
    }
}

#[test]
fn redelivered_webhooks_keep_their_ids() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let secrets = WebhookSecrets {
        zendesk: Some("zd".into()),
        intercom: Some("ic".into()),
        standard: vec!["whsec_c2x1aWNlLXByb3BlcnR5LXRlc3Q=".into()],
    };
    for round in 0..200 {
        let text = rng.words(30);
        let sent = at(1_700_000_000 + (rng.next() % 1_000_000) as i64);
        // The retry arrives up to four minutes later.
        let retried = sent + chrono::Duration::seconds((rng.next() % 240) as i64);

        let standard =
            serde_json::json!({"type": "feedback.created", "data": {"id": format!("fb{round}"), "text": text}});
        let body = standard.to_string().into_bytes();
        let id = format!("msg_{}", rng.next());
        let ts = sent.timestamp().to_string();
        let headers = HashMap::from([
            ("webhook-id".to_owned(), id.clone()),
            ("webhook-timestamp".to_owned(), ts.clone()),
            (
                "webhook-signature".to_owned(),
                sign_standard(&secrets.standard[0], &id, &ts, &body).unwrap_or_default(),
            ),
        ]);
        check_redelivery(WebhookSource::Standard, &headers, &body, &secrets, sent, retried);
        assert_eq!(parse_standard(&id, &body, sent).map(|i| i.revision), Ok(id.clone()));

        let zendesk = serde_json::json!({"ticket_id": round, "comment": text});
        let body = zendesk.to_string().into_bytes();
        let ts = sent.to_rfc3339();
        let headers = HashMap::from([
            ("x-zendesk-webhook-signature".to_owned(), sign_zendesk("zd", &ts, &body)),
            ("x-zendesk-webhook-signature-timestamp".to_owned(), ts),
        ]);
        check_redelivery(WebhookSource::Zendesk, &headers, &body, &secrets, sent, retried);
        // The ticket changes: same id, new revision.
        let changed = serde_json::json!({"ticket_id": round, "comment": format!("{text} (more)")}).to_string();
        let before = parse_zendesk(&body, sent).map(|i| ids(&i));
        let after = parse_zendesk(changed.as_bytes(), sent).map(|i| ids(&i));
        match (before, after) {
            (Ok(before), Ok(after)) => {
                assert_eq!(before.0, after.0);
                assert_ne!(before.1, after.1);
            }
            (before, after) => panic!("{before:?} {after:?}"),
        }

        let intercom = serde_json::json!({"type": "notification_event", "id": format!("notif_{round}"),
            "topic": "conversation.user.created",
            "data": {"item": {"type": "conversation", "id": round, "created_at": sent.timestamp(),
              "conversation_message": {"id": format!("m{round}"), "body": format!("<p>{text}</p>"),
                "author": {"type": "user", "name": "N"}}}}});
        let body = intercom.to_string().into_bytes();
        let headers = HashMap::from([("x-hub-signature".to_owned(), sign_intercom("ic", &body))]);
        check_redelivery(WebhookSource::Intercom, &headers, &body, &secrets, sent, retried);
    }
}

fn check_redelivery(
    source: WebhookSource,
    headers: &HashMap<String, String>,
    body: &[u8],
    secrets: &WebhookSecrets,
    sent: chrono::DateTime<chrono::Utc>,
    retried: chrono::DateTime<chrono::Utc>,
) {
    let first = receive_webhook(source, headers, body, secrets, sent);
    let again = receive_webhook(source, headers, body, secrets, retried);
    match (&first, &again) {
        (Ok(first), Ok(again)) => {
            assert_eq!(ids(first), ids(again), "{source}");
            assert!(!first.text.is_empty());
        }
        // Text made only of quotes/markup can be empty: then both deliveries fail alike.
        _ => assert_eq!(first, again, "{source}"),
    }
}

#[test]
fn emails_without_message_id_are_identified_by_their_bytes() {
    let mut rng = Rng(0xfeed_beef_0000_0001);
    for _ in 0..100 {
        let text = rng.words(20);
        let raw = format!("From: a@example.com\r\nDate: Mon, 8 Jan 2024 10:00:00 +0000\r\n\r\n{text} and more\r\n");
        let other = format!("From: a@example.com\r\nDate: Mon, 8 Jan 2024 10:00:00 +0000\r\n\r\n{text} and less\r\n");
        let first = parse_email(raw.as_bytes(), "k").map(|i| ids(&i));
        assert_eq!(first, parse_email(raw.as_bytes(), "k").map(|i| ids(&i)));
        if let (Ok(a), Ok(b)) = (first, parse_email(other.as_bytes(), "k").map(|i| ids(&i))) {
            assert_ne!(a, b);
        }
    }
}
