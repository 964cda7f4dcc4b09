//! Webhook signatures, checked on the raw body bytes in constant time (`hmac`'s
//! `verify_slice`), with a replay window where the scheme signs a timestamp.

use crate::WebhookError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// How far a signed timestamp may be from `now`, in the past or in the future (clock
/// skew), before the delivery is refused as a possible replay.
pub const REPLAY_WINDOW_SECS: i64 = 5 * 60;

/// The Standard Webhooks secret prefix.
const STANDARD_SECRET_PREFIX: &str = "whsec_";

/// Zendesk: `X-Zendesk-Webhook-Signature` is `base64(HMAC-SHA256(key, timestamp + body))`
/// where the key is the webhook's signing secret used as it is shown (its UTF-8 bytes, not
/// base64-decoded) and the timestamp is `X-Zendesk-Webhook-Signature-Timestamp` as sent
/// (ISO 8601, e.g. `2021-07-25T10:00:00Z`; Unix seconds are accepted too). The signature
/// is checked first, then the timestamp against [`REPLAY_WINDOW_SECS`].
pub fn verify_zendesk(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    signature_b64: &str,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::NotConfigured);
    }
    let signature_b64 = signature_b64.trim();
    if signature_b64.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    let signed_at = parse_signed_time(timestamp).ok_or_else(|| {
        WebhookError::MalformedHeader(format!(
            "x-zendesk-webhook-signature-timestamp {:?} is not an ISO 8601 time",
            clip(timestamp)
        ))
    })?;
    let signature = STANDARD.decode(signature_b64).map_err(|_| WebhookError::BadSignature)?;
    let mut mac = hmac_sha256(secret.as_bytes())?;
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| WebhookError::BadSignature)?;
    check_window(signed_at, now)
}

/// Intercom: `X-Hub-Signature` is `sha1=` + hex `HMAC-SHA1(client_secret, body)`. Intercom
/// signs no timestamp, so there is no replay window: a replayed delivery carries the same
/// notification id and is dropped downstream by its deduplication id.
pub fn verify_intercom(client_secret: &str, body: &[u8], header: &str) -> Result<(), WebhookError> {
    if client_secret.is_empty() {
        return Err(WebhookError::NotConfigured);
    }
    let expected = hub_signature(header, "sha1=")?;
    let mut mac = Hmac::<Sha1>::new_from_slice(client_secret.as_bytes()).map_err(|_| WebhookError::NotConfigured)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| WebhookError::BadSignature)
}

/// The SHA-256 flavour of the same scheme (`X-Hub-Signature-256: sha256=<hex>`), as GitHub
/// and newer senders use it.
pub fn verify_hub_sha256(secret: &str, body: &[u8], header: &str) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::NotConfigured);
    }
    let expected = hub_signature(header, "sha256=")?;
    let mut mac = hmac_sha256(secret.as_bytes())?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| WebhookError::BadSignature)
}

fn hub_signature(header: &str, prefix: &str) -> Result<Vec<u8>, WebhookError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    let hex_digest = header
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &header[prefix.len()..])
        .ok_or_else(|| WebhookError::MalformedHeader(format!("signature does not start with {prefix}")))?;
    hex::decode(hex_digest).map_err(|_| WebhookError::MalformedHeader("signature is not hexadecimal".into()))
}

/// Standard Webhooks (<https://www.standardwebhooks.com/>): `webhook-signature` holds one or
/// more space-separated `v1,<base64>` entries, each `HMAC-SHA256(key, id + "." + timestamp
/// + "." + body)` where the key is the base64 after `whsec_` in a secret. The delivery is
/// genuine when any entry matches any of `secrets` (several during a rotation, on either
/// side). Entries of other versions (`v1a,` asymmetric) are ignored. Then `timestamp`
/// (Unix seconds) must be within [`REPLAY_WINDOW_SECS`] of `now`.
pub fn verify_standard(
    secrets: &[String],
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let keys: Vec<Vec<u8>> = secrets.iter().filter_map(|s| standard_key(s)).collect();
    if keys.is_empty() {
        return Err(WebhookError::NotConfigured);
    }
    if signatures.trim().is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    if id.trim().is_empty() {
        return Err(WebhookError::MalformedHeader("webhook-id is empty".into()));
    }
    let signed_at = timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| {
            WebhookError::MalformedHeader(format!("webhook-timestamp {:?} is not Unix seconds", clip(timestamp)))
        })?;
    let mut candidates = Vec::new();
    for entry in signatures.split_whitespace() {
        let (version, value) = entry
            .split_once(',')
            .ok_or_else(|| WebhookError::MalformedHeader("webhook-signature entries are version,signature".into()))?;
        if version == "v1" {
            // A v1 entry that is not base64 cannot match: it counts as a bad signature.
            if let Ok(bytes) = STANDARD.decode(value) {
                candidates.push(bytes);
            }
        }
    }
    let mut matched = false;
    for key in &keys {
        let mut mac = hmac_sha256(key)?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        for candidate in &candidates {
            // Every pair is checked (no early exit), each comparison in constant time.
            matched |= mac.clone().verify_slice(candidate).is_ok();
        }
    }
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    check_window(signed_at, now)
}

/// Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each `v1` the hex
/// `HMAC-SHA256(endpoint secret, t + "." + body)` with the endpoint secret (`whsec_...`)
/// used as it is shown (its UTF-8 bytes). Any `v1` may match (Stripe sends several during
/// a secret's rotation); other schemes (`v0`) are ignored. Then `t` must be within
/// [`REPLAY_WINDOW_SECS`] of `now` (Stripe's default tolerance, 5 minutes).
pub fn verify_stripe(secret: &str, body: &[u8], header: &str, now: DateTime<Utc>) -> Result<(), WebhookError> {
    if secret.trim().is_empty() {
        return Err(WebhookError::NotConfigured);
    }
    if header.trim().is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.trim()),
            // A v1 that is not hexadecimal cannot match: it counts as a bad signature.
            Some(("v1", sig)) => candidates.extend(hex::decode(sig.trim()).ok()),
            _ => {}
        }
    }
    let timestamp =
        timestamp.ok_or_else(|| WebhookError::MalformedHeader("stripe-signature carries no t= timestamp".into()))?;
    let signed_at = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| WebhookError::MalformedHeader(format!("t={:?} is not Unix seconds", clip(timestamp))))?;
    let mut mac = hmac_sha256(secret.trim().as_bytes())?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let mut matched = false;
    for candidate in &candidates {
        matched |= mac.clone().verify_slice(candidate).is_ok();
    }
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    check_window(signed_at, now)
}

/// Signs like Stripe: the whole `Stripe-Signature` header for `body` at `timestamp`.
pub fn sign_stripe(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.trim().as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Signs like a Standard Webhooks sender: `v1,<base64>` (tests, fuzzing and any Sluice sender).
pub fn sign_standard(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> Option<String> {
    let key = standard_key(secret)?;
    let mut mac = hmac_sha256(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Signs like Zendesk: base64 HMAC-SHA256 of timestamp + body with the secret as UTF-8.
pub fn sign_zendesk(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs like Intercom: `sha1=` + hex HMAC-SHA1 of the body.
pub fn sign_intercom(client_secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha1>::new_from_slice(client_secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The HMAC key of a Standard Webhooks secret: the base64 after `whsec_` (a bare base64
/// secret is accepted too). `None` when it is not base64 or empty.
fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let secret = secret.trim();
    let encoded = secret.strip_prefix(STANDARD_SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(encoded).ok().filter(|key| !key.is_empty())
}

fn hmac_sha256(key: &[u8]) -> Result<Hmac<Sha256>, WebhookError> {
    // HMAC takes keys of any length; the error cannot happen but is not unwrapped.
    Hmac::<Sha256>::new_from_slice(key).map_err(|_| WebhookError::NotConfigured)
}

/// An ISO 8601 / RFC 3339 time, or Unix seconds.
fn parse_signed_time(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0));
    }
    crate::parse_time(value)
}

fn check_window(signed_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), WebhookError> {
    let skew = signed_at.signed_duration_since(now).num_seconds().abs();
    if skew > REPLAY_WINDOW_SECS {
        return Err(WebhookError::StaleTimestamp);
    }
    Ok(())
}

/// A header value shortened for an error message.
fn clip(value: &str) -> String {
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_specification_example_signs_and_verifies() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let now = chrono::DateTime::from_timestamp(1_614_265_330, 0).unwrap_or_default();
        let signature = sign_standard(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            br#"{"test": 2432232314}"#,
        )
        .unwrap_or_default();
        // The example of the Standard Webhooks specification.
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify_standard(
            &[secret.into()],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            br#"{"test": 2432232314}"#,
            &signature,
            now
        )
        .is_ok());
        assert!(sign_standard("whsec_", "id", "1", b"").is_none());
    }
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn stripe_signatures_match_an_independent_hmac_and_refuse_the_rest() {
        // Computed apart from this code (Python's hmac): HMAC-SHA256(secret, "t.body").
        let (secret, body) = ("whsec_test_secret", br#"{"id":"evt_1"}"#);
        let good = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
        let header = format!("t=1700000000,v1={good}");
        assert_eq!(verify_stripe(secret, body, &header, at(1_700_000_100)), Ok(()));
        assert_eq!(sign_stripe(secret, 1_700_000_000, body), header);
        // Rotation: any v1 may match; v0 is ignored.
        let rotated = format!("t=1700000000,v1={},v1={good},v0=00", "ab".repeat(32));
        assert_eq!(verify_stripe(secret, body, &rotated, at(1_700_000_000)), Ok(()));
        assert_eq!(
            verify_stripe(secret, br#"{"id":"evt_2"}"#, &header, at(1_700_000_000)),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_stripe("whsec_other", body, &header, at(1_700_000_000)),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_stripe(secret, body, &header, at(1_700_000_000 + REPLAY_WINDOW_SECS + 1)),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify_stripe(secret, body, "", at(0)),
            Err(WebhookError::MissingSignature)
        );
        assert!(matches!(
            verify_stripe(secret, body, &format!("v1={good}"), at(0)),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert_eq!(
            verify_stripe("", body, &header, at(0)),
            Err(WebhookError::NotConfigured)
        );
    }

    #[test]
    fn zendesk_round_trip_and_window_both_ways() {
        let body = br#"{"say":"hello"}"#;
        let ts = "2021-07-25T10:00:00Z";
        let sig = sign_zendesk("s3cret", ts, body);
        let signed = crate::parse_time(ts).unwrap_or_default();
        assert_eq!(verify_zendesk("s3cret", ts, body, &sig, signed), Ok(()));
        let late = signed + chrono::Duration::seconds(REPLAY_WINDOW_SECS + 1);
        let early = signed - chrono::Duration::seconds(REPLAY_WINDOW_SECS + 1);
        assert_eq!(
            verify_zendesk("s3cret", ts, body, &sig, late),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify_zendesk("s3cret", ts, body, &sig, early),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify_zendesk("other", ts, body, &sig, signed),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_zendesk("s3cret", ts, body, "", signed),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify_zendesk("s3cret", ts, body, "%%%", signed),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            verify_zendesk("s3cret", "yesterday", body, &sig, signed),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert_eq!(
            verify_zendesk("", ts, body, &sig, signed),
            Err(WebhookError::NotConfigured)
        );
    }

    #[test]
    fn intercom_errors_are_distinct() {
        let body = b"{}";
        let header = sign_intercom("client", body);
        assert_eq!(verify_intercom("client", body, &header), Ok(()));
        assert_eq!(
            verify_intercom("client", body, &header.to_uppercase().replace("SHA1=", "sha1=")),
            Ok(())
        );
        assert_eq!(
            verify_intercom("client", b"{ }", &header),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_intercom("client", body, " "),
            Err(WebhookError::MissingSignature)
        );
        assert!(matches!(
            verify_intercom("client", body, "md5=00"),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            verify_intercom("client", body, "sha1=zz"),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert_eq!(
            verify_intercom("client", body, "sha1=00"),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn standard_window_and_malformed_headers() {
        let secrets = vec!["whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=".to_owned()];
        let body = b"{}";
        let sig = sign_standard(&secrets[0], "msg_1", "1700000000", body).unwrap_or_default();
        let ok = at(1_700_000_000);
        assert_eq!(verify_standard(&secrets, "msg_1", "1700000000", body, &sig, ok), Ok(()));
        assert_eq!(
            verify_standard(&secrets, "msg_1", "1700000000", body, &sig, at(1_700_000_301)),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify_standard(&secrets, "msg_1", "1700000000", body, &sig, at(1_699_999_699)),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify_standard(&secrets, "msg_2", "1700000000", body, &sig, ok),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_standard(&secrets, "msg_1", "1700000000", body, "", ok),
            Err(WebhookError::MissingSignature)
        );
        assert!(matches!(
            verify_standard(&secrets, "msg_1", "soon", body, &sig, ok),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            verify_standard(&secrets, "msg_1", "99999999999999999999", body, &sig, ok),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            verify_standard(&secrets, "msg_1", "1700000000", body, "nocomma", ok),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert_eq!(
            verify_standard(&["whsec_!!!".to_owned()], "msg_1", "1700000000", body, &sig, ok),
            Err(WebhookError::NotConfigured)
        );
        assert_eq!(
            verify_standard(&[], "msg_1", "1700000000", body, &sig, ok),
            Err(WebhookError::NotConfigured)
        );
        // Unknown versions are ignored; a v1 entry that matches anywhere in the list wins.
        let mixed = format!("v1a,AAAA v1,AAAA {sig}");
        assert_eq!(
            verify_standard(&secrets, "msg_1", "1700000000", body, &mixed, ok),
            Ok(())
        );
    }
}
