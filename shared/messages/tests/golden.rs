//! Golden JSON per schema version: messages written by any released version must
//! keep deserialising, and the current version must write exactly the golden bytes.

use sluice_messages::{Envelope, EnvelopeError, Payload};
use std::fs;
use std::path::PathBuf;

fn golden_dir(version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(version)
}

#[test]
fn every_v1_golden_message_round_trips() {
    let mut seen = 0;
    for entry in fs::read_dir(golden_dir("v1")).unwrap() {
        let path = entry.unwrap().path();
        let raw = fs::read_to_string(&path).unwrap();
        let envelope = Envelope::from_json(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(envelope.schema_version, 1);
        let rewritten: serde_json::Value = serde_json::from_str(&envelope.to_json()).unwrap();
        let original: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(rewritten, original, "{} does not round-trip", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "expected a golden file per payload kind");
}

#[test]
fn dataset_uploaded_derives_fifo_ids_from_the_file() {
    let raw = fs::read_to_string(golden_dir("v1").join("dataset_uploaded.json")).unwrap();
    let envelope = Envelope::from_json(&raw).unwrap();
    let Payload::DatasetUploaded(upload) = &envelope.payload else {
        panic!("wrong payload")
    };
    assert_eq!(envelope.fifo_group_id(), "kpis");
    assert_eq!(envelope.deduplication_id(), upload.checksum.as_str());
}

#[test]
fn unknown_schema_version_is_refused_by_name() {
    let raw = fs::read_to_string(golden_dir("v1").join("dataset_loaded.json")).unwrap();
    let bumped = raw.replace("\"schema_version\": 1", "\"schema_version\": 99");
    assert!(matches!(
        Envelope::from_json(&bumped),
        Err(EnvelopeError::UnsupportedSchemaVersion(99))
    ));
}

#[test]
fn a_bad_value_inside_a_message_is_refused() {
    let raw = fs::read_to_string(golden_dir("v1").join("dataset_uploaded.json")).unwrap();
    let bad = raw.replace("\"dataset\": \"kpis\"", "\"dataset\": \"prices\"");
    let err = Envelope::from_json(&bad).unwrap_err().to_string();
    assert!(err.contains("prices"), "{err}");
}

#[test]
fn every_golden_message_reads_as_one_line() {
    for entry in fs::read_dir(golden_dir("v1")).unwrap() {
        let raw = fs::read_to_string(entry.unwrap().path()).unwrap();
        let envelope = Envelope::from_json(&raw).unwrap();
        let line = envelope.payload.summary();
        assert!(!line.is_empty() && !line.contains('\n'), "{line}");
        if let Payload::AnalysisCompleted(m) = &envelope.payload {
            assert!(
                line.contains(&m.charged.to_string()) && line.contains(m.accession.as_str()),
                "{line}"
            );
        }
        if let Payload::UploadChecked(m) = &envelope.payload {
            assert!(
                line.contains("refused") && line.contains(m.reason.as_deref().unwrap()),
                "{line}"
            );
        }
    }
}

#[test]
fn each_backfill_step_is_a_message_of_its_own() {
    let raw = fs::read_to_string(golden_dir("v1").join("price_job_requested_backfill.json")).unwrap();
    let envelope = Envelope::from_json(&raw).unwrap();
    let Payload::PriceJobRequested(job) = &envelope.payload else {
        panic!("wrong payload")
    };
    assert_eq!(job.step, Some(3));
    assert_eq!(envelope.fifo_group_id(), "MSFT");
    // Steps of one ticker share its group but not a deduplication id (SQS would drop
    // the next step queued within 5 minutes of the one before).
    assert_eq!(envelope.deduplication_id(), envelope.message_id.to_string());
    assert!(envelope.payload.summary().contains("step 3"));
    let daily = fs::read_to_string(golden_dir("v1").join("price_job_requested.json")).unwrap();
    let daily = Envelope::from_json(&daily).unwrap();
    assert_eq!(
        daily.deduplication_id(),
        "3f1c2b4a-9d8e-4f70-a1b2-c3d4e5f60718:BRK.B:weekly_fundamentals"
    );
}
