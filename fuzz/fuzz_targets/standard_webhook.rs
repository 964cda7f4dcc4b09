#![no_main]
//! Arbitrary bytes as a Standard Webhooks body: signed correctly (alone and beside a
//! rotated-out signature), forged, and parsed alone.

use libfuzzer_sys::fuzz_target;
use sluice_feedback::{parse_standard, receive_webhook, sign_standard, WebhookError, WebhookSource};
use sluice_fuzz::{check_result, forged_header, now, secrets, STANDARD_SECRET};
use std::collections::HashMap;

const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1iZWZvcmUtdGhlLXJvdGF0aW9u";

fuzz_target!(|data: &[u8]| {
    let id = "msg_fuzz";
    let parsed = parse_standard(id, data, now());
    check_result(&parsed, &parse_standard(id, data, now()));

    let timestamp = now().timestamp().to_string();
    let sign = |secret: &str| sign_standard(secret, id, &timestamp, data).unwrap_or_default();
    let mut headers = HashMap::from([
        ("webhook-id".to_owned(), id.to_owned()),
        ("webhook-timestamp".to_owned(), timestamp.clone()),
        (
            "webhook-signature".to_owned(),
            format!("{} {}", sign(OLD_SECRET), sign(STANDARD_SECRET)),
        ),
    ]);
    let received = receive_webhook(WebhookSource::Standard, &headers, data, &secrets(), now());
    assert_eq!(received, parsed, "a signed delivery parses as the body alone");

    headers.insert("webhook-signature".to_owned(), sign(OLD_SECRET));
    let wrong = receive_webhook(WebhookSource::Standard, &headers, data, &secrets(), now());
    assert_eq!(wrong, Err(WebhookError::BadSignature));

    let forged = forged_header(data);
    headers.insert("webhook-signature".to_owned(), forged.clone());
    headers.insert("webhook-id".to_owned(), forged.clone());
    headers.insert("webhook-timestamp".to_owned(), forged);
    assert!(receive_webhook(WebhookSource::Standard, &headers, data, &secrets(), now()).is_err());
});
