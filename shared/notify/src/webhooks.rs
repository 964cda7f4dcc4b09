//! Outbound webhooks (Standard Webhooks): the endpoint's secret, what a delivery sends,
//! and when a failed delivery is tried again. The signature itself is
//! `sluice_feedback::sign_standard`, beside the verifier of inbound ones.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sluice_messages::Envelope;
use std::time::Duration;

/// A new endpoint secret: `whsec_` and 24 random bytes in base64 (Standard Webhooks
/// recommends 24 to 64 bytes).
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-id` of an event's deliveries: the same on every retry, so receivers can
/// drop a repeat.
pub fn webhook_id(message_id: uuid::Uuid) -> String {
    format!("msg_{}", message_id.simple())
}

/// The body: `{"type", "timestamp", "data"}` as Standard Webhooks suggests, `data` being
/// the event's payload as published on the events topic.
pub fn body(envelope: &Envelope) -> String {
    let data = serde_json::to_value(&envelope.payload)
        .ok()
        .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "type": envelope.payload.kind(),
        "timestamp": envelope.occurred_at,
        "id": envelope.message_id.0,
        "data": data,
    })
    .to_string()
}

/// The wait before each retry, after the first attempt failed: Svix's schedule (the
/// reference implementation of Standard Webhooks), 8 attempts over about 28 hours.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// After `attempts` failed attempts, how long until the next by `schedule` (the waits
/// after the first, second, ... failure; [`RETRY_SCHEDULE`] by default); `None`: give up.
pub fn retry_after(schedule: &[Duration], attempts: u32) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    schedule.get(index).copied()
}

/// A schedule as configured: whole seconds, comma-separated (`5,300,1800`).
pub fn parse_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    raw.split(',')
        .map(|part| {
            part.trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| format!("{:?} is not a whole number of seconds above 0", part.trim()))
        })
        .collect()
}

/// Whether a receiver's answer counts as delivered: any 2xx.
pub fn delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_24_random_bytes() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        let key = STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
    }

    #[test]
    fn retries_back_off_then_stop() {
        let after = |n| retry_after(&RETRY_SCHEDULE, n);
        assert_eq!(after(0), None);
        assert_eq!(after(1), Some(Duration::from_secs(5)));
        assert_eq!(after(2), Some(Duration::from_secs(300)));
        assert!(after(7).is_some());
        assert_eq!(after(8), None);
        let waits: Vec<Duration> = (1..=7).filter_map(after).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn schedules_parse_or_name_the_bad_part() {
        assert_eq!(
            parse_schedule("5, 300").unwrap(),
            [Duration::from_secs(5), Duration::from_secs(300)]
        );
        assert!(parse_schedule("5,soon").unwrap_err().contains("soon"));
        assert!(parse_schedule("0").is_err());
        assert!(parse_schedule("").is_err());
    }

    #[test]
    fn only_2xx_is_delivered() {
        assert!(delivered(200) && delivered(204));
        assert!(!delivered(301) && !delivered(410) && !delivered(500));
    }
}
