//! The task and pool lifecycles (sluice_core::lifecycle) against PostgreSQL: every
//! transition is guarded by the states it may leave, so a late or repeated message never
//! moves a task backwards; racing workers get one lease. And the batch processor's one
//! outbox flush policy: what a consumer staged is on its queue when the batch returns.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use sluice_core::lifecycle::{self, NewTask, PoolClaim, PoolKey, QuotedFees};
use sluice_core::{Delivery, Destination, EventPublisher, RecordError};
use sluice_messages::{
    AnalysisKind, CompanyRef, CorrelationId, Envelope, FilingSelector, FilingSpec, FilingType, ModelKey, Money,
    Payload, Producer, Ticker,
};
use sluice_tests::TestStack;
use std::time::Duration;
use uuid::Uuid;

async fn status(stack: &TestStack, task: Uuid) -> String {
    stack
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT status FROM tasks WHERE id = $1", &[&task])
        .await
        .unwrap()
        .get(0)
}

fn spec() -> FilingSpec {
    FilingSpec {
        company: CompanyRef::Ticker(Ticker::parse("SLXH").unwrap()),
        form: FilingType::TenK,
        selector: FilingSelector::FiscalYear(2025),
    }
}

/// A user, a stored filing and an accepted task.
async fn accepted(stack: &TestStack) -> (Uuid, Uuid) {
    let mut client = stack.pool.get().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO user_accounts (user_id, tier) VALUES ('ana', 'basic') ON CONFLICT DO NOTHING;
             INSERT INTO filings (id, accession, cik, company_name, form, filing_date, primary_document, bucket,
                 document_key, sha256, size_bytes, sections_key, section_status)
             VALUES ('00000000-0000-4000-8000-000000000001', '0009999999-26-000004', '0009999999', 'Slate Harbor',
                 '10-K', '2026-02-20', 'x.htm', 'b', 'k', repeat('a', 64), 1, 's', '{}')
             ON CONFLICT DO NOTHING;",
        )
        .await
        .unwrap();
    let filing = Uuid::parse_str("00000000-0000-4000-8000-000000000001").unwrap();
    let task = Uuid::new_v4();
    let tx = client.transaction().await.unwrap();
    let spec = spec();
    lifecycle::accept(
        &tx,
        &NewTask {
            id: task,
            user_id: "ana",
            spec: &spec,
            kind: AnalysisKind::Mdna,
            fees: QuotedFees {
                filing_access: Money::from_micros(20_000),
                analysis: Money::from_micros(100_000),
            },
            filing_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (task, filing)
}

#[tokio::test]
async fn a_task_moves_forward_only() {
    let stack = TestStack::start().await;
    let (task, filing) = accepted(&stack).await;
    let mut client = stack.pool.get().await.unwrap();
    assert_eq!(status(&stack, task).await, "queued");
    let holds = lifecycle::holds(&client, "ana").await.unwrap();
    assert_eq!((holds.active, holds.held.micros()), (1, 120_000));
    // The same request again finds the task under way.
    assert_eq!(
        lifecycle::active_for(&client, "ana", &spec(), AnalysisKind::Mdna)
            .await
            .unwrap(),
        Some(task)
    );

    assert!(lifecycle::start_fetching(&client, task).await.unwrap());
    assert!(
        lifecycle::start_fetching(&client, task).await.unwrap(),
        "a redelivery may fetch again"
    );
    let tx = client.transaction().await.unwrap();
    assert!(lifecycle::start_analysing(&tx, task, filing).await.unwrap());
    tx.commit().await.unwrap();
    assert!(
        !lifecycle::start_fetching(&client, task).await.unwrap(),
        "never back to fetching"
    );
    assert!(lifecycle::is_analysing(&client, task).await.unwrap());

    // Completing names the pool entry the task ends with: make one, then complete once.
    let key = PoolKey::new(filing, AnalysisKind::Mdna, ModelKey::parse("extractive:v1").unwrap());
    let PoolClaim::Claimed(entry) = lifecycle::claim(&client, &key, Duration::from_secs(60), task)
        .await
        .unwrap()
    else {
        panic!("the first claim gets the lease")
    };
    let tx = client.transaction().await.unwrap();
    assert!(lifecycle::complete(&tx, task, entry, Money::from_micros(20_000))
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let tx = client.transaction().await.unwrap();
    assert!(
        !lifecycle::complete(&tx, task, entry, Money::from_micros(20_000))
            .await
            .unwrap(),
        "completed once"
    );
    assert!(!lifecycle::start_analysing(&tx, task, filing).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(status(&stack, task).await, "completed");
    assert_eq!(lifecycle::holds(&client, "ana").await.unwrap().active, 0);
}

#[tokio::test]
async fn a_failed_or_given_up_task_is_never_completed_and_announces_its_failure_once() {
    let stack = TestStack::start().await;
    let (task, filing) = accepted(&stack).await;
    // A FilingRequested for the task, as the fetcher receives it.
    let request = sluice_messages::FilingRequested {
        task_id: task,
        user_id: "ana".into(),
        tier: sluice_messages::UserTier::Basic,
        spec: spec(),
        kind: AnalysisKind::Mdna,
    };
    let envelope = Envelope::new(
        Producer::HttpApi,
        CorrelationId::new(),
        Payload::FilingRequested(request),
    );
    let mut record = SqsMessage::default();
    record.body = Some(envelope.to_json());
    let delivery =
        Delivery::<sluice_messages::FilingRequested>::from_record::<std::convert::Infallible>(&record).unwrap();
    let topic = &stack.resources.topic_arn;
    for _ in 0..2 {
        lifecycle::fail(
            &stack.pool,
            "filing-fetcher",
            &delivery,
            Producer::FilingFetcher,
            topic,
            "no such filing",
        )
        .await
        .unwrap();
    }
    assert_eq!(status(&stack, task).await, "failed");
    let staged: i64 = stack
        .query("SELECT count(*) FROM outbox WHERE kind = 'AnalysisFailed'")
        .await[0]
        .get(0);
    assert_eq!(staged, 1, "announced once");
    let mut client = stack.pool.get().await.unwrap();
    let key = PoolKey::new(filing, AnalysisKind::Mdna, ModelKey::parse("extractive:v1").unwrap());
    let PoolClaim::Claimed(entry) = lifecycle::claim(&client, &key, Duration::from_secs(60), task)
        .await
        .unwrap()
    else {
        panic!("the first claim gets the lease")
    };
    let tx = client.transaction().await.unwrap();
    assert!(!lifecycle::start_analysing(&tx, task, filing).await.unwrap());
    assert!(!lifecycle::complete(&tx, task, entry, Money::ZERO).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(status(&stack, task).await, "failed");

    // A task whose message died in a DLQ is given up once it is older than its retries.
    let (stale, _) = accepted(&stack).await;
    client
        .execute(
            "UPDATE tasks SET updated_at = now() - interval '7 hours' WHERE id = $1",
            &[&stale],
        )
        .await
        .unwrap();
    let tx = client.transaction().await.unwrap();
    assert_eq!(
        lifecycle::expire_stale(&tx, "ana", Duration::from_secs(6 * 3600))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(status(&stack, stale).await, "failed");
}

#[tokio::test]
async fn racing_workers_get_one_lease_and_a_failed_attempt_hands_the_key_back() {
    let stack = TestStack::start().await;
    let (task, filing) = accepted(&stack).await;
    let key = PoolKey::new(filing, AnalysisKind::Summary, ModelKey::parse("extractive:v1").unwrap());
    let (a, b) = (stack.pool.get().await.unwrap(), stack.pool.get().await.unwrap());
    let (ra, rb) = tokio::join!(
        lifecycle::claim(&a, &key, Duration::from_secs(60), task),
        lifecycle::claim(&b, &key, Duration::from_secs(60), task)
    );
    let claims = [ra.unwrap(), rb.unwrap()];
    let leased: Vec<Uuid> = claims
        .iter()
        .filter_map(|c| match c {
            PoolClaim::Claimed(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(leased.len(), 1, "{claims:?}");
    assert!(claims.contains(&PoolClaim::Busy));
    let entry = leased[0];
    // The attempt fails: the next worker may claim the key at once.
    lifecycle::release_failed(&a, entry, "the model was unavailable")
        .await
        .unwrap();
    assert_eq!(
        lifecycle::claim(&b, &key, Duration::from_secs(60), task).await.unwrap(),
        PoolClaim::Claimed(entry)
    );
    let made = lifecycle::Made {
        body_key: "analyses/x.json",
        input_tokens: 10,
        output_tokens: 5,
        cost: Money::ZERO,
        latency: Duration::from_millis(3),
        model_calls: 1,
        extractive: true,
        sections_used: vec!["7".into()],
    };
    assert!(lifecycle::complete_entry(&b, entry, &made).await.unwrap());
    assert!(
        !lifecycle::complete_entry(&a, entry, &made).await.unwrap(),
        "completed once"
    );
    assert_eq!(
        lifecycle::claim(&a, &key, Duration::from_secs(60), task).await.unwrap(),
        PoolClaim::Completed {
            id: entry,
            made_for_task: Some(task)
        },
        "the entry remembers the task it was made for (which pays its analysis fee)"
    );
    assert_eq!(lifecycle::pooled(&a, &key).await.unwrap(), Some(entry));
}

/// The one flush policy: what a consumer's step staged is sent before the batch returns.
#[tokio::test]
async fn what_a_consumer_stages_is_sent_before_its_batch_returns() {
    let stack = TestStack::start().await;
    let instance = sluice_tests::instance_of(&stack, "lifecycle-test").await;
    let processor = instance
        .processor("NO_SUCH_SETTING")
        .unwrap()
        .with_outbox(instance.outbox(Producer::LlmAnalyzer));
    let golden =
        std::fs::read_to_string(sluice_tests::repo_root().join("shared/messages/tests/golden/v1/analysis_failed.json"))
            .unwrap();
    let mut record = SqsMessage::default();
    record.message_id = Some("m-1".into());
    record.body = Some(golden);
    let mut event = SqsEvent::default();
    event.records.push(record);
    let topic = stack.resources.topic_arn.clone();
    let pool = stack.pool.clone();
    let response = processor
        .consume(event, |d: Delivery<sluice_messages::AnalysisFailed>| {
            let (topic, pool) = (topic.clone(), pool.clone());
            async move {
                let mut client = pool.get().await.map_err(|e| Never(e.to_string()))?;
                let tx = client.transaction().await.map_err(|e| Never(e.to_string()))?;
                let announce = Envelope::new(
                    Producer::LlmAnalyzer,
                    d.correlation_id,
                    Payload::AnalysisFailed(d.payload),
                );
                EventPublisher::stage(&tx, &Destination::Topic(topic), &announce)
                    .await
                    .map_err(|e| Never(e.to_string()))?;
                tx.commit().await.map_err(|e| Never(e.to_string()))?;
                Ok::<(), Never>(())
            }
        })
        .await;
    assert!(response.batch_item_failures.is_empty());
    let unsent: i64 = stack
        .query("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .await[0]
        .get(0);
    assert_eq!(unsent, 0);
    let published = stack.published().await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].payload.kind(), "AnalysisFailed");
}

#[derive(Debug)]
struct Never(String);
impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl RecordError for Never {
    fn is_retryable(&self) -> bool {
        true
    }
}
