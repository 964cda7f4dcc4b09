//! The sample events in events/ (and the real Lambda samples in ../shared/fixtures)
//! have the shapes the handlers read, and drive the real handler.

use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::SqsEvent;
use ingest_validator::notice::{parse_notification, Notification};
use ingest_validator::UploadOutcome;
use sluice_core::{Function, Trigger};
use sluice_messages::{Envelope, Payload};
use sluice_tests::{fixture, repo_root, TestStack};

fn event(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()
}

#[test]
fn the_fifo_record_carries_a_dataset_uploaded_with_matching_fifo_ids() {
    let sqs: SqsEvent = serde_json::from_str(&event("sqs-fifo-dataset-uploaded.json")).unwrap();
    let record = &sqs.records[0];
    let envelope = Envelope::from_json(record.body.as_deref().unwrap()).unwrap();
    assert!(matches!(envelope.payload, Payload::DatasetUploaded(_)));
    assert_eq!(record.attributes["MessageGroupId"], envelope.fifo_group_id());
    assert_eq!(record.attributes["MessageDeduplicationId"], envelope.deduplication_id());
    assert!(record.event_source_arn.as_deref().unwrap().ends_with(".fifo"));
}

#[test]
fn the_filing_and_analysis_records_carry_their_requests_with_matching_fifo_ids() {
    for (file, queue) in [
        ("sqs-fifo-filing-requested.json", "filings.fifo"),
        ("sqs-fifo-filing-prefill-requested.json", "filings.fifo"),
        ("sqs-fifo-bulk-filing-requested.json", "filings.fifo"),
        ("sqs-fifo-analysis-requested.json", "analyses.fifo"),
    ] {
        let sqs: SqsEvent = serde_json::from_str(&event(file)).unwrap();
        let record = &sqs.records[0];
        let envelope = Envelope::from_json(record.body.as_deref().unwrap()).unwrap();
        match (&envelope.payload, queue) {
            (
                Payload::FilingRequested(_) | Payload::FilingPrefillRequested(_) | Payload::BulkFilingRequested(_),
                "filings.fifo",
            )
            | (Payload::AnalysisRequested(_), "analyses.fifo") => {}
            (other, _) => panic!("{file} carries {}", other.kind()),
        }
        assert_eq!(record.attributes["MessageGroupId"], envelope.fifo_group_id(), "{file}");
        assert_eq!(
            record.attributes["MessageDeduplicationId"],
            envelope.deduplication_id(),
            "{file}"
        );
        assert!(record.event_source_arn.as_deref().unwrap().ends_with(queue));
    }
}

#[test]
fn the_sns_event_carries_a_dataset_loaded() {
    let sns: SnsEvent = serde_json::from_str(&event("sns-dataset-loaded.json")).unwrap();
    let envelope = Envelope::from_json(&sns.records[0].sns.message).unwrap();
    assert!(matches!(envelope.payload, Payload::DatasetLoaded(_)));
}

fn trigger(raw: &str) -> Trigger {
    Trigger::decode(serde_json::from_str(raw).unwrap()).unwrap()
}

#[test]
fn both_ingest_triggers_are_recognised() {
    assert!(matches!(trigger(&event("s3-put-kpis.json")), Trigger::S3(_)));
    let Trigger::Sqs(sqs) = trigger(&event("sqs-uploads-s3-notification.json")) else {
        panic!("an SQS event")
    };
    let Notification::Uploads(uploads) = parse_notification(sqs.records[0].body.as_deref().unwrap()).unwrap() else {
        panic!("an upload")
    };
    assert_eq!(uploads[0].key, "uploads/kpis/KPIs Q1 2026.csv");
}

#[test]
fn real_aws_samples_parse() {
    let Some(dir) = fixture("lambda_events") else { return };
    // S3 -> SQS as AWS delivers it (Powertools' recorded sample).
    let sqs: SqsEvent =
        serde_json::from_str(&std::fs::read_to_string(dir.join("powertools-python__s3SqsEvent.json")).unwrap())
            .unwrap();
    for record in &sqs.records {
        let notification = parse_notification(record.body.as_deref().unwrap()).unwrap();
        assert!(matches!(notification, Notification::Uploads(ref u) if !u.is_empty()));
    }
    // A direct S3 put, as the Rust runtime's own fixture records it.
    let raw = std::fs::read_to_string(dir.join("rust-runtime__example-s3-event.json")).unwrap();
    assert!(matches!(trigger(&raw), Trigger::S3(_)));
}

#[tokio::test]
async fn the_s3_put_sample_drives_the_real_handler() {
    let stack = TestStack::start().await;
    let body = "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,10\n";
    stack.upload("uploads/kpis/KPIs Q1 2026.csv", body, &[]).await;
    let sample = event("s3-put-kpis.json").replace("sluice-uploads", &stack.resources.bucket);
    // The sample names a version of a bucket this test does not have: read the latest.
    let sample = sample.replace("\"versionId\": \"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY\",", "");
    stack.functions.ingest.handle(trigger(&sample)).await.unwrap();
    let rows = stack.query("SELECT status, file_name FROM data_versions").await;
    assert_eq!(
        (rows[0].get::<_, &str>(0), rows[0].get::<_, &str>(1)),
        ("pending", "KPIs Q1 2026.csv")
    );
    assert_eq!(stack.queue_depth(&stack.resources.etl.url).await, 1);
    // The same event again: handled once.
    stack.functions.ingest.handle(trigger(&sample)).await.unwrap();
    assert_eq!(
        stack.query("SELECT count(*) FROM data_versions").await[0].get::<_, i64>(0),
        1
    );
    let _ = UploadOutcome::AlreadyHandled;
}

#[test]
fn both_schedule_shapes_name_their_schedule() {
    use aws_lambda_events::eventbridge::EventBridgeEvent;
    use price_updater::Schedule;
    let rule: EventBridgeEvent = serde_json::from_str(&event("eventbridge-daily-quotes.json")).unwrap();
    assert_eq!(Schedule::from_event(&rule).unwrap(), Schedule::DailyQuotes);
    let scheduler: EventBridgeEvent = serde_json::from_str(&event("scheduler-weekly-fundamentals.json")).unwrap();
    assert_eq!(Schedule::from_event(&scheduler).unwrap(), Schedule::WeeklyFundamentals);
    // The team's backfill request: the schedule's event with years and tickers.
    let backfill: EventBridgeEvent = serde_json::from_str(&event("scheduler-price-backfill.json")).unwrap();
    assert_eq!(Schedule::from_event(&backfill).unwrap(), Schedule::PriceBackfill);
    let request = price_updater::backfill::BackfillRequest::from_detail(
        &backfill.detail,
        price_updater::backfill::BackfillYears::new(5).unwrap(),
    )
    .unwrap();
    assert_eq!(request.years.get(), 10);
    assert_eq!(request.tickers.map(|t| t.len()), Some(2));
    // The real EventBridge sample of the Rust runtime parses too (and names no schedule of ours).
    if let Some(dir) = fixture("lambda_events") {
        let raw = std::fs::read_to_string(dir.join("rust-runtime__example-eventbridge-schedule.json")).unwrap();
        let sample: EventBridgeEvent = serde_json::from_str(&raw).unwrap();
        assert!(Schedule::from_event(&sample).is_err());
    }
}
