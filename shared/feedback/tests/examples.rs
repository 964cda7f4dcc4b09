//! The README's feedback examples (`data/examples/feedback/`) are read by the real
//! parsers and yield what the README says: one item each, with its text and identity.

use chrono::{TimeZone, Utc};
use sluice_feedback::{
    parse_app_store_reviews, parse_email, parse_google_play_reviews, parse_intercom, parse_standard, parse_zendesk,
    FeedbackSource,
};
use std::path::PathBuf;

fn example(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/examples/feedback")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_example_is_read_as_one_item() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 7, 1, 0).unwrap();
    let zendesk = parse_zendesk(&example("zendesk-trigger.json"), now).unwrap();
    assert_eq!(
        (zendesk.source, zendesk.external_id.as_str()),
        (FeedbackSource::Zendesk, "5158")
    );
    assert!(zendesk.text.contains("crashes"), "{}", zendesk.text);

    let intercom = parse_intercom(&example("intercom-conversation.json"), now).unwrap();
    assert_eq!(intercom.external_id, "184929");
    assert_eq!(
        intercom.text,
        "The portfolio dashboard takes forever to load since Monday."
    );

    let standard = parse_standard("msg_1", &example("standard-feedback.json"), now).unwrap();
    assert_eq!((standard.external_id.as_str(), standard.rating), ("fb-1", Some(2)));

    let app_store = parse_app_store_reviews(&example("app-store-reviews.json")).unwrap();
    assert_eq!(app_store.len(), 1);
    assert_eq!(app_store[0].subject.as_deref(), Some("Slow sync"));

    let play = parse_google_play_reviews(&example("google-play-reviews.csv")).unwrap();
    assert_eq!(play.len(), 1);
    assert_eq!((play[0].rating, play[0].language.as_deref()), (Some(5), Some("es")));

    let email = parse_email(&example("support-message.eml"), "inbound-email/support-message").unwrap();
    // Stored as SES stores it: its verdicts pass.
    let screened = sluice_feedback::screen_inbound(&example("support-message.eml"));
    assert_eq!(screened.verdicts.refusal(), None, "{screened:?}");
    assert_eq!(screened.sender.as_deref(), Some("dana@example.com"));
    assert_eq!(email.subject.as_deref(), Some("Wrong totals in the Q3 report"));
    assert!(
        email.text.contains("do not match") && !email.text.contains("Portfolio operations"),
        "{}",
        email.text
    );
}
