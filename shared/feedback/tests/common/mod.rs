//! Reading fixtures: the crate's own (tests/fixtures) and the shared real ones beside the
//! checkout (../shared/fixtures/webhooks), which are read in place, never copied.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// A real webhook fixture from the shared folder, or `None` (with a message saying the
/// test is skipped) when that folder is not beside the checkout.
pub fn shared_webhook(relative: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/webhooks")
        .join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            println!("skipped: shared fixture {} is not readable ({e})", path.display());
            None
        }
    }
}

/// A real webhook fixture as JSON.
pub fn shared_json(relative: &str) -> Option<serde_json::Value> {
    let bytes = shared_webhook(relative)?;
    Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{relative} is not JSON: {e}")))
}

/// One of this crate's own fixtures (always present).
pub fn own(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn time(rfc3339: &str) -> DateTime<Utc> {
    sluice_feedback::parse_time(rfc3339).unwrap_or_else(|| panic!("bad time {rfc3339}"))
}

pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_else(|| panic!("bad time {secs}"))
}
