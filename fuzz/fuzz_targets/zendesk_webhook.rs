#![no_main]
//! Arbitrary bytes as a Zendesk webhook body: signed correctly, forged, and parsed alone.

use libfuzzer_sys::fuzz_target;
use sluice_feedback::{parse_zendesk, receive_webhook, sign_zendesk, WebhookError, WebhookSource};
use sluice_fuzz::{check_result, forged_header, now, secrets, SECRET};
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_zendesk(data, now());
    check_result(&parsed, &parse_zendesk(data, now()));

    let timestamp = now().to_rfc3339();
    let mut headers = HashMap::from([
        (
            "x-zendesk-webhook-signature".to_owned(),
            sign_zendesk(SECRET, &timestamp, data),
        ),
        ("x-zendesk-webhook-signature-timestamp".to_owned(), timestamp.clone()),
    ]);
    let received = receive_webhook(WebhookSource::Zendesk, &headers, data, &secrets(), now());
    assert_eq!(received, parsed, "a signed delivery parses as the body alone");

    headers.insert(
        "x-zendesk-webhook-signature".to_owned(),
        sign_zendesk("another-secret", &timestamp, data),
    );
    let wrong = receive_webhook(WebhookSource::Zendesk, &headers, data, &secrets(), now());
    assert_eq!(wrong, Err(WebhookError::BadSignature));

    headers.insert("x-zendesk-webhook-signature".to_owned(), forged_header(data));
    headers.insert("x-zendesk-webhook-signature-timestamp".to_owned(), forged_header(data));
    assert!(receive_webhook(WebhookSource::Zendesk, &headers, data, &secrets(), now()).is_err());
});
