//! Every upload is heard of: queued, refused (with the reason) or a duplicate, on the
//! events topic (and so on the live stream); and the same bytes uploaded again to the
//! same key are recorded like the same bytes under another key.

use sluice_messages::{Payload, UploadVerdict};
use sluice_tests::TestStack;

const GOOD: &str = "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,10\n";

fn verdicts(published: &[sluice_messages::Envelope]) -> Vec<(String, UploadVerdict, Option<String>)> {
    published
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::UploadChecked(c) => Some((c.key.clone(), c.verdict, c.reason.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_refused_upload_is_announced_with_its_reason() {
    let stack = TestStack::start().await;
    stack
        .upload(
            "uploads/kpis/no-indicator.csv",
            "empresa,fecha,valor\nAcme,2026-03-31,10\n",
            &[],
        )
        .await;
    stack.upload("uploads/prices/wrong-folder.csv", GOOD, &[]).await;
    stack.settle().await;
    let published = stack.published().await;
    let mut seen = verdicts(&published);
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (key, verdict, reason) = &seen[0];
    assert_eq!(
        (key.as_str(), *verdict),
        ("uploads/kpis/no-indicator.csv", UploadVerdict::Refused)
    );
    assert!(
        reason.as_deref().unwrap_or_default().contains("indicador"),
        "{reason:?}"
    );
    let (key, verdict, reason) = &seen[1];
    assert_eq!(
        (key.as_str(), *verdict),
        ("uploads/prices/wrong-folder.csv", UploadVerdict::Refused)
    );
    assert!(
        reason.as_deref().unwrap_or_default().contains("uploads/kpis/"),
        "{reason:?}"
    );
    // Nothing was loaded, and no load was announced.
    assert!(!published.iter().any(|e| matches!(e.payload, Payload::DatasetLoaded(_))));
}

#[tokio::test]
async fn a_queued_upload_is_announced_before_its_load() {
    let stack = TestStack::start().await;
    stack.upload("uploads/kpis/q1.csv", GOOD, &[]).await;
    stack.settle().await;
    let published = stack.published().await;
    let kinds: Vec<&str> = published.iter().map(|e| e.payload.kind()).collect();
    let checked = kinds.iter().position(|k| *k == "UploadChecked").expect("announced");
    let loaded = kinds.iter().position(|k| *k == "DatasetLoaded").expect("loaded");
    assert!(checked < loaded, "{kinds:?}");
    assert_eq!(verdicts(&published)[0].1, UploadVerdict::Queued);
}

#[tokio::test]
async fn the_same_bytes_to_the_same_key_again_are_recorded_as_a_duplicate() {
    let stack = TestStack::start().await;
    stack.upload("uploads/kpis/q1.csv", GOOD, &[]).await;
    stack.settle().await;
    // moto sends no sequencer: the upload is told apart by its event time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    stack.upload("uploads/kpis/q1.csv", GOOD, &[]).await;
    stack.settle().await;
    let rows = stack
        .query("SELECT status, duplicate_of IS NOT NULL FROM data_versions ORDER BY version_id")
        .await;
    let statuses: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        statuses,
        [("success".to_owned(), false), ("duplicate".to_owned(), true)],
        "recorded as the README says a duplicate is"
    );
    let seen = verdicts(&stack.published().await);
    assert_eq!(
        seen.iter().map(|s| s.1).collect::<Vec<_>>(),
        [UploadVerdict::Queued, UploadVerdict::Duplicate]
    );
}
