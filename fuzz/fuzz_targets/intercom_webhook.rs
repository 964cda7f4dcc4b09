#![no_main]
//! Arbitrary bytes as an Intercom webhook body: signed correctly, forged, and parsed alone.

use libfuzzer_sys::fuzz_target;
use sluice_feedback::{parse_intercom, receive_webhook, sign_intercom, WebhookError, WebhookSource};
use sluice_fuzz::{check_result, forged_header, now, secrets, SECRET};
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_intercom(data, now());
    check_result(&parsed, &parse_intercom(data, now()));

    let mut headers = HashMap::from([("X-Hub-Signature".to_owned(), sign_intercom(SECRET, data))]);
    let received = receive_webhook(WebhookSource::Intercom, &headers, data, &secrets(), now());
    assert_eq!(received, parsed, "a signed delivery parses as the body alone");

    headers.insert("X-Hub-Signature".to_owned(), sign_intercom("another-secret", data));
    let wrong = receive_webhook(WebhookSource::Intercom, &headers, data, &secrets(), now());
    assert_eq!(wrong, Err(WebhookError::BadSignature));

    headers.insert("X-Hub-Signature".to_owned(), forged_header(data));
    assert!(receive_webhook(WebhookSource::Intercom, &headers, data, &secrets(), now()).is_err());
});
