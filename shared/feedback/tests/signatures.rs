//! Signature schemes against real, published vectors (read in place from the shared
//! fixtures) and the Standard Webhooks specification's algorithm.

mod common;

use chrono::Duration;
use common::{at, shared_json, shared_webhook};
use sluice_feedback::{
    receive_webhook, verify_hub_sha256, verify_intercom, verify_standard, verify_zendesk, WebhookError, WebhookSecrets,
    WebhookSource, REPLAY_WINDOW_SECS,
};
use std::collections::HashMap;

/// Zendesk's vectors were signed at timestamp "1234" (Unix seconds): "now" is just after.
fn zendesk_now() -> chrono::DateTime<chrono::Utc> {
    at(1234 + 10)
}

/// One zendesk-go vector: the body file's exact bytes, the timestamp and signature headers.
type ZendeskVector = (Vec<u8>, String, String);

fn zendesk_vectors() -> Option<(String, Vec<ZendeskVector>)> {
    let vectors = shared_json("zendesk/zendesk_signature_vectors.json")?;
    let secret = vectors["signing_secret"].as_str().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for vector in vectors["vectors"].as_array().cloned().unwrap_or_default() {
        let file = vector["body_file"].as_str().unwrap_or_default();
        let body = shared_webhook(&format!("zendesk/{file}"))?;
        let timestamp = vector["X-Zendesk-Webhook-Signature-Timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let signature = vector["X-Zendesk-Webhook-Signature"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        out.push((body, timestamp, signature));
    }
    assert_eq!(out.len(), 2, "both zendesk-go vectors");
    Some((secret, out))
}

#[test]
fn zendesk_go_vectors_verify_byte_exact() {
    let Some((secret, vectors)) = zendesk_vectors() else {
        return;
    };
    for (body, timestamp, signature) in &vectors {
        assert_eq!(
            verify_zendesk(&secret, timestamp, body, signature, zendesk_now()),
            Ok(())
        );
    }
    // The secret is the key as shown (UTF-8), not its base64 decoding.
    assert_eq!(
        verify_zendesk(
            "this_secret_is_for_testing_only",
            &vectors[0].1,
            &vectors[0].0,
            &vectors[0].2,
            zendesk_now()
        ),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn zendesk_a_flipped_byte_fails() {
    let Some((secret, vectors)) = zendesk_vectors() else {
        return;
    };
    for (body, timestamp, signature) in &vectors {
        for index in [0, body.len() / 2, body.len() - 1] {
            let mut flipped = body.clone();
            flipped[index] ^= 0x01;
            assert_eq!(
                verify_zendesk(&secret, timestamp, &flipped, signature, zendesk_now()),
                Err(WebhookError::BadSignature)
            );
        }
        assert_eq!(
            verify_zendesk(&secret, "1235", body, signature, at(1235)),
            Err(WebhookError::BadSignature),
            "the timestamp is signed"
        );
        let mut bad_signature = signature.clone().into_bytes();
        bad_signature[3] = if bad_signature[3] == b'A' { b'B' } else { b'A' };
        let bad_signature = String::from_utf8(bad_signature).unwrap_or_default();
        assert_eq!(
            verify_zendesk(&secret, timestamp, body, &bad_signature, zendesk_now()),
            Err(WebhookError::BadSignature)
        );
    }
}

#[test]
fn zendesk_stale_timestamps_fail_both_ways() {
    let Some((secret, vectors)) = zendesk_vectors() else {
        return;
    };
    let (body, timestamp, signature) = &vectors[1];
    let signed = at(1234);
    for now in [
        signed + Duration::seconds(REPLAY_WINDOW_SECS + 1),
        signed - Duration::seconds(REPLAY_WINDOW_SECS + 1),
        at(1_700_000_000),
    ] {
        assert_eq!(
            verify_zendesk(&secret, timestamp, body, signature, now),
            Err(WebhookError::StaleTimestamp)
        );
    }
    for now in [
        signed + Duration::seconds(REPLAY_WINDOW_SECS),
        signed - Duration::seconds(REPLAY_WINDOW_SECS),
    ] {
        assert_eq!(verify_zendesk(&secret, timestamp, body, signature, now), Ok(()));
    }
}

#[test]
fn zendesk_deliveries_through_receive_webhook() {
    let Some((secret, vectors)) = zendesk_vectors() else {
        return;
    };
    let secrets = WebhookSecrets {
        zendesk: Some(secret),
        ..Default::default()
    };
    for (body, timestamp, signature) in &vectors {
        // Header names as a proxy might spell them: looked up ignoring case.
        let headers = HashMap::from([
            ("X-Zendesk-Webhook-Signature".to_owned(), signature.clone()),
            ("x-zendesk-webhook-signature-timestamp".to_owned(), timestamp.clone()),
        ]);
        let result = receive_webhook(WebhookSource::Zendesk, &headers, body, &secrets, zendesk_now());
        // Genuine, but neither carries feedback text: the group membership is no ticket
        // event, and the trigger body has no comment.
        assert!(
            matches!(
                result,
                Err(WebhookError::Unsupported(_)) | Err(WebhookError::Malformed(_))
            ),
            "{result:?}"
        );
        let late = receive_webhook(WebhookSource::Zendesk, &headers, body, &secrets, at(1_700_000_000));
        assert_eq!(late, Err(WebhookError::StaleTimestamp));
        let unsigned = HashMap::from([("x-zendesk-webhook-signature-timestamp".to_owned(), timestamp.clone())]);
        assert_eq!(
            receive_webhook(WebhookSource::Zendesk, &unsigned, body, &secrets, zendesk_now()),
            Err(WebhookError::MissingSignature)
        );
    }
}

#[test]
fn hub_signature_vectors_verify() {
    let Some(vectors) = shared_json("github/hub_signature_vectors.json") else {
        return;
    };
    let octokit = &vectors["octokit_webhooks_methods"];
    let secret = octokit["secret"].as_str().unwrap_or_default();
    let payload = octokit["payload"].as_str().unwrap_or_default().as_bytes();
    let sha1 = octokit["X-Hub-Signature"].as_str().unwrap_or_default();
    assert_eq!(verify_intercom(secret, payload, sha1), Ok(()));
    assert_eq!(
        verify_intercom(secret, b"{\"foo\":\"baz\"}", sha1),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify_intercom("not-my-secret", payload, sha1),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify_hub_sha256(
            secret,
            payload,
            octokit["X-Hub-Signature-256"].as_str().unwrap_or_default()
        ),
        Ok(())
    );

    let docs = &vectors["github_docs"];
    let secret = docs["secret"].as_str().unwrap_or_default();
    let payload = docs["payload"].as_str().unwrap_or_default().as_bytes();
    let sha256 = docs["X-Hub-Signature-256"].as_str().unwrap_or_default();
    assert_eq!(verify_hub_sha256(secret, payload, sha256), Ok(()));
    let mut flipped = payload.to_vec();
    flipped[0] ^= 0x20;
    assert_eq!(
        verify_hub_sha256(secret, &flipped, sha256),
        Err(WebhookError::BadSignature)
    );
    // The wrong scheme for the header is a malformed header, not a bad signature.
    assert!(matches!(
        verify_intercom(secret, payload, sha256),
        Err(WebhookError::MalformedHeader(_))
    ));
}

#[test]
fn intercom_deliveries_through_receive_webhook() {
    let Some(vectors) = shared_json("github/hub_signature_vectors.json") else {
        return;
    };
    let octokit = &vectors["octokit_webhooks_methods"];
    let secrets = WebhookSecrets {
        intercom: octokit["secret"].as_str().map(str::to_owned),
        ..Default::default()
    };
    let payload = octokit["payload"].as_str().unwrap_or_default().as_bytes();
    let headers = HashMap::from([(
        "x-hub-signature".to_owned(),
        octokit["X-Hub-Signature"].as_str().unwrap_or_default().to_owned(),
    )]);
    // Genuine; `{"foo":"bar"}` is no notification event.
    assert!(matches!(
        receive_webhook(WebhookSource::Intercom, &headers, payload, &secrets, at(0)),
        Err(WebhookError::Malformed(_))
    ));
    assert_eq!(
        receive_webhook(WebhookSource::Intercom, &headers, b"{\"foo\":\"baz\"}", &secrets, at(0)),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        receive_webhook(WebhookSource::Intercom, &HashMap::new(), payload, &secrets, at(0)),
        Err(WebhookError::MissingSignature)
    );
}

/// The Standard Webhooks specification's published example (its libraries' test vector).
#[test]
fn standard_webhooks_published_vector() {
    let secrets = vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()];
    let body = br#"{"test": 2432232314}"#;
    let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    assert_eq!(
        verify_standard(&secrets, id, "1614265330", body, signature, at(1_614_265_330)),
        Ok(())
    );
    assert_eq!(
        verify_standard(
            &secrets,
            id,
            "1614265330",
            br#"{"test": 2432232315}"#,
            signature,
            at(1_614_265_330)
        ),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify_standard(
            &secrets,
            id,
            "1614265330",
            body,
            signature,
            at(1_614_265_330 + REPLAY_WINDOW_SECS + 1)
        ),
        Err(WebhookError::StaleTimestamp)
    );
}

const KEY_1: &str = "whsec_c2x1aWNlLXN0YW5kYXJkLXdlYmhvb2tzLXRlc3Qta2V5LTE=";
const KEY_2: &str = "whsec_c2x1aWNlLXN0YW5kYXJkLXdlYmhvb2tzLXRlc3Qta2V5LTI=";
const BODY: &[u8] = br#"{"type":"feedback.created","timestamp":"2024-05-01T12:00:00Z","data":{"id":"fb_123","text":"Exports are slow.","rating":3}}"#;
/// Computed outside Rust (Python's hmac) with the specification's algorithm:
/// base64(HMAC-SHA256(base64decode(secret after whsec_), "msg_2fA9.1714564800." + body)).
const SIG_1: &str = "v1,Qfk9lJJKHz5TF50UTZ5WIfZR5qXP4nj3qP92smPo53o=";
const SIG_2: &str = "v1,VLLXmjmQlsRIlrtyviff27eElM3UhAo4ezTqfOFfXbA=";
const SIGNED_AT: i64 = 1_714_564_800;

#[test]
fn standard_webhooks_own_vector_and_rotation() {
    let now = at(SIGNED_AT + 30);
    let verify = |secrets: &[&str], signatures: &str| {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        verify_standard(&secrets, "msg_2fA9", "1714564800", BODY, signatures, now)
    };
    assert_eq!(verify(&[KEY_1], SIG_1), Ok(()));
    assert_eq!(verify(&[KEY_2], SIG_2), Ok(()));
    assert_eq!(verify(&[KEY_1], SIG_2), Err(WebhookError::BadSignature));
    // Sender rotating: it signs with both; we know only the new key (the second signature).
    assert_eq!(verify(&[KEY_2], &format!("{SIG_1} {SIG_2}")), Ok(()));
    // We rotating: both keys configured, the sender still on the old one.
    assert_eq!(verify(&[KEY_2, KEY_1], SIG_1), Ok(()));
    assert_eq!(
        verify(&["whsec_b3RoZXI="], &format!("{SIG_1} {SIG_2}")),
        Err(WebhookError::BadSignature)
    );
    let mut flipped = BODY.to_vec();
    flipped[40] ^= 0x01;
    assert_eq!(
        verify_standard(&[KEY_1.to_owned()], "msg_2fA9", "1714564800", &flipped, SIG_1, now),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn standard_deliveries_through_receive_webhook() {
    let secrets = WebhookSecrets {
        standard: vec![KEY_1.to_owned(), KEY_2.to_owned()],
        ..Default::default()
    };
    let headers = HashMap::from([
        ("webhook-id".to_owned(), "msg_2fA9".to_owned()),
        ("webhook-timestamp".to_owned(), "1714564800".to_owned()),
        ("webhook-signature".to_owned(), format!("{SIG_1} {SIG_2}")),
    ]);
    let item = receive_webhook(WebhookSource::Standard, &headers, BODY, &secrets, at(SIGNED_AT - 60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(item.external_id, "fb_123");
    assert_eq!(item.revision, "msg_2fA9");
    assert_eq!(item.rating, Some(3));
    assert_eq!(item.text, "Exports are slow.");
    // Svix spells the headers svix-*.
    let svix: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.replace("webhook-", "svix-"), v.clone()))
        .collect();
    assert_eq!(
        receive_webhook(WebhookSource::Standard, &svix, BODY, &secrets, at(SIGNED_AT)),
        Ok(item)
    );
    assert_eq!(
        receive_webhook(WebhookSource::Standard, &headers, BODY, &secrets, at(SIGNED_AT + 301)),
        Err(WebhookError::StaleTimestamp)
    );
    let mut no_id = headers.clone();
    no_id.remove("webhook-id");
    assert!(matches!(
        receive_webhook(WebhookSource::Standard, &no_id, BODY, &secrets, at(SIGNED_AT)),
        Err(WebhookError::MalformedHeader(_))
    ));
}
