//! What every fuzz target checks, whatever the input: no panic, and every item a parser
//! returns keeps the crate's promises (non-empty trimmed text within the cap, ids present,
//! a rating of 1-5), parsing is deterministic, and a correctly signed delivery parses
//! exactly as the parser alone does.

use chrono::{DateTime, Utc};
use sluice_feedback::{FeedbackReceived, WebhookSecrets, MAX_TEXT_CHARS};
use std::fmt::Debug;

/// The fixed receive time of every target.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

/// Zendesk's signing secret and Intercom's client secret in the targets.
pub const SECRET: &str = "fuzz-secret";
/// A Standard Webhooks secret (base64 of `fuzz-secret-for-standard-webhooks`).
pub const STANDARD_SECRET: &str = "whsec_ZnV6ei1zZWNyZXQtZm9yLXN0YW5kYXJkLXdlYmhvb2tz";

pub fn secrets() -> WebhookSecrets {
    WebhookSecrets {
        zendesk: Some(SECRET.to_owned()),
        intercom: Some(SECRET.to_owned()),
        standard: vec![STANDARD_SECRET.to_owned()],
    }
}

/// The promises of a normalised item.
pub fn check_item(item: &FeedbackReceived) {
    assert!(!item.text.is_empty(), "empty text: {item:?}");
    assert_eq!(item.text.trim(), item.text, "untrimmed text");
    assert!(item.text.chars().count() <= MAX_TEXT_CHARS, "text over the cap");
    assert!(!item.external_id.is_empty(), "empty external_id");
    assert!(!item.revision.trim().is_empty(), "empty revision");
    if let Some(rating) = item.rating {
        assert!((1..=5).contains(&rating), "rating {rating}");
    }
    for value in [&item.author, &item.subject, &item.language].into_iter().flatten() {
        assert!(
            !value.is_empty() && value.trim() == value,
            "blank or untrimmed field {value:?}"
        );
    }
}

/// Checks a parser's result and that a second run gives the same.
pub fn check_result<E: PartialEq + Debug>(first: &Result<FeedbackReceived, E>, again: &Result<FeedbackReceived, E>) {
    assert_eq!(first, again, "not deterministic");
    if let Ok(item) = first {
        check_item(item);
    }
}

/// The first line of the input (at most 200 bytes), used as a forged header value.
pub fn forged_header(data: &[u8]) -> String {
    let end = data
        .iter()
        .take(200)
        .position(|&b| b == b'\n')
        .unwrap_or(data.len().min(200));
    String::from_utf8_lossy(&data[..end]).into_owned()
}
