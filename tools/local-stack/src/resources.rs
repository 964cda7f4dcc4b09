//! The AWS resources of the local stack, created in the moto server under the
//! same logical names template.yaml uses (a prefix keeps test stacks apart).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("provisioning {what} failed: {reason}")]
pub struct ProvisionError {
    pub what: String,
    pub reason: String,
}

fn fail<E: std::error::Error>(what: impl Into<String>) -> impl FnOnce(E) -> ProvisionError {
    let what = what.into();
    move |e| ProvisionError {
        what,
        reason: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

/// How a queue behaves; locally shorter than in AWS so retries are seen quickly.
#[derive(Debug, Clone, Copy)]
pub struct QueueTiming {
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
    pub dlq_arn: String,
}

/// What portfolio-analyst's subscription lets through (template.yaml's FilterPolicy).
pub const PORTFOLIO_EVENTS_FILTER: &str = r#"{"type": ["DatasetLoaded"]}"#;

/// What notifier's subscription lets through (template.yaml's FilterPolicy): the events
/// an e-mail or a webhook may be about (`sluice_notify::kinds::WEBHOOK_EVENT_TYPES`).
pub const NOTIFIER_EVENTS_FILTER: &str = r#"{"type": ["UploadChecked", "DatasetLoaded", "AnalysisCompleted", "AnalysisFailed", "FeedbackTriaged", "KpiAlert"]}"#;

/// The local stack's sender (verified in moto's SES at provisioning).
pub const LOCAL_SES_FROM: &str = "notifications@sluice.local";

#[derive(Debug, Clone)]
pub struct StackResources {
    pub bucket: String,
    pub uploads: Queue,
    pub etl: Queue,
    pub price_jobs: Queue,
    /// Filing requests (FIFO) -> filing-fetcher.
    pub filings: Queue,
    /// Analysis requests (FIFO) -> llm-analyzer.
    pub analyses: Queue,
    /// The priority lane of analysis requests (FIFO; enterprise and professional) -> llm-analyzer.
    pub priority_analyses: Queue,
    /// The vendor rate-limit bucket (shared by every price-updater invocation).
    pub rate_limit_table: String,
    /// Quotes, symbol + data type, with a TTL.
    pub quote_cache_table: String,
    pub topic_arn: String,
    /// A queue subscribed to the events topic so people and tests can see what is published.
    pub events_tap_url: String,
    /// sse-notifier's subscription to the events topic (standard queue + DLQ; SNS envelope, not raw).
    pub sse_events: Queue,
    /// portfolio-analyst's subscription to the events topic: `DatasetLoaded` only.
    pub portfolio_events: Queue,
    /// notifier's subscription to the events topic (filtered to what it may tell of).
    pub notifier_events: Queue,
    /// Delayed retries of outbound webhook deliveries -> notifier.
    pub webhook_retries: Queue,
    /// The verified SES sender of the notifications.
    pub ses_from: String,
    /// Feedback items (FIFO, `FeedbackReceived`) -> llm-analyzer's triage.
    pub feedback: Queue,
    /// Per-day feedback counters (pk, sk), with a TTL.
    pub feedback_metrics_table: String,
    /// Ask Sluice's conversations (pk, sk), with a TTL on `expires_at`.
    pub conversations_table: String,
}

#[derive(Debug, Clone)]
pub struct StackNames {
    pub prefix: String,
    pub uploads_timing: QueueTiming,
    pub etl_timing: QueueTiming,
}

impl Default for StackNames {
    fn default() -> Self {
        Self {
            prefix: "sluice".into(),
            uploads_timing: QueueTiming {
                visibility_timeout: Duration::from_secs(30),
                max_receive_count: 5,
            },
            etl_timing: QueueTiming {
                visibility_timeout: Duration::from_secs(60),
                max_receive_count: 5,
            },
        }
    }
}

pub struct Provisioner<'a> {
    pub dynamodb: &'a aws_sdk_dynamodb::Client,
    pub s3: &'a aws_sdk_s3::Client,
    pub sqs: &'a aws_sdk_sqs::Client,
    pub sns: &'a aws_sdk_sns::Client,
    pub ses: &'a aws_sdk_sesv2::Client,
}

impl Provisioner<'_> {
    /// Creates (or finds: every call here is idempotent) the whole stack.
    pub async fn provision(&self, names: &StackNames) -> Result<StackResources, ProvisionError> {
        let p = &names.prefix;
        let uploads = self
            .queue_with_dlq(&format!("{p}-uploads"), false, names.uploads_timing)
            .await?;
        let etl = self.queue_with_dlq(&format!("{p}-etl"), true, names.etl_timing).await?;
        let price_jobs = self
            .queue_with_dlq(&format!("{p}-price-jobs"), true, names.etl_timing)
            .await?;
        let filings = self
            .queue_with_dlq(&format!("{p}-filings"), true, names.etl_timing)
            .await?;
        let analyses = self
            .queue_with_dlq(&format!("{p}-analyses"), true, names.etl_timing)
            .await?;
        let priority_analyses = self
            .queue_with_dlq(&format!("{p}-analyses-priority"), true, names.etl_timing)
            .await?;
        let feedback = self
            .queue_with_dlq(&format!("{p}-feedback"), true, names.etl_timing)
            .await?;
        let feedback_metrics_table = format!("{p}-feedback-metrics");
        self.table(
            &feedback_metrics_table,
            &[("pk", KeyType::Hash), ("sk", KeyType::Range)],
        )
        .await?;
        let conversations_table = format!("{p}-conversations");
        self.table(&conversations_table, &[("pk", KeyType::Hash), ("sk", KeyType::Range)])
            .await?;
        self.dynamodb
            .update_time_to_live()
            .table_name(&conversations_table)
            .time_to_live_specification(
                aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                    .attribute_name("expires_at")
                    .enabled(true)
                    .build()
                    .map_err(fail("conversations TTL"))?,
            )
            .send()
            .await
            .map_err(fail("conversations TTL"))?;
        let rate_limit_table = format!("{p}-rate-limits");
        self.table(&rate_limit_table, &[("bucket", KeyType::Hash)]).await?;
        let quote_cache_table = format!("{p}-quote-cache");
        self.table(
            &quote_cache_table,
            &[("symbol", KeyType::Hash), ("data_type", KeyType::Range)],
        )
        .await?;
        let topic_arn = self
            .sns
            .create_topic()
            .name(format!("{p}-events"))
            .send()
            .await
            .map_err(fail("events topic"))?
            .topic_arn
            .unwrap_or_default();
        let tap = self.plain_queue(&format!("{p}-events-tap"), HashMap::new()).await?;
        // The tap is for looking, not keeping: events older than an hour drop off
        // (`make events` and `/v1/events` read the stored events instead).
        self.sqs
            .set_queue_attributes()
            .queue_url(&tap.0)
            .attributes(QueueAttributeName::MessageRetentionPeriod, "3600")
            .send()
            .await
            .map_err(fail("events tap retention"))?;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&tap.1)
            .send()
            .await
            .map_err(fail("events tap subscription"))?;
        // sse-notifier's subscription (template.yaml: SseEventsQueue + SseEventsDLQ).
        let sse_events = self
            .queue_with_dlq(&format!("{p}-sse-events"), false, names.uploads_timing)
            .await?;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&sse_events.arn)
            .send()
            .await
            .map_err(fail("sse-notifier subscription"))?;
        // portfolio-analyst's subscription (template.yaml: PortfolioEventsQueue + DLQ),
        // filtered on the `type` message attribute as template.yaml filters it.
        let portfolio_events = self
            .queue_with_dlq(&format!("{p}-portfolio-events"), false, names.uploads_timing)
            .await?;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&portfolio_events.arn)
            .attributes("FilterPolicy", PORTFOLIO_EVENTS_FILTER)
            .send()
            .await
            .map_err(fail("portfolio-analyst subscription"))?;
        // notifier's subscription (template.yaml: NotifierEventsQueue + DLQ), filtered,
        // and its webhook retry queue (WebhookRetryQueue + DLQ); the sender verified.
        let notifier_events = self
            .queue_with_dlq(&format!("{p}-notifier-events"), false, names.uploads_timing)
            .await?;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&notifier_events.arn)
            .attributes("FilterPolicy", NOTIFIER_EVENTS_FILTER)
            .send()
            .await
            .map_err(fail("notifier subscription"))?;
        let webhook_retries = self
            .queue_with_dlq(&format!("{p}-webhook-retries"), false, names.uploads_timing)
            .await?;
        self.ses
            .create_email_identity()
            .email_identity(LOCAL_SES_FROM)
            .send()
            .await
            .map_err(fail("SES sender identity"))?;
        let bucket = format!("{p}-uploads");
        self.bucket(&bucket, &uploads.arn).await?;
        Ok(StackResources {
            bucket,
            uploads,
            etl,
            price_jobs,
            filings,
            analyses,
            priority_analyses,
            rate_limit_table,
            quote_cache_table,
            topic_arn,
            events_tap_url: tap.0,
            sse_events,
            portfolio_events,
            notifier_events,
            webhook_retries,
            ses_from: LOCAL_SES_FROM.to_owned(),
            feedback,
            feedback_metrics_table,
            conversations_table,
        })
    }

    async fn plain_queue(
        &self,
        name: &str,
        attributes: HashMap<QueueAttributeName, String>,
    ) -> Result<(String, String), ProvisionError> {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(fail(format!("queue {name}")))?
            .queue_url
            .unwrap_or_default();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(fail(format!("queue {name} attributes")))?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        Ok((url, arn))
    }

    async fn queue_with_dlq(&self, base: &str, fifo: bool, timing: QueueTiming) -> Result<Queue, ProvisionError> {
        let suffix = if fifo { ".fifo" } else { "" };
        let mut dlq_attrs = HashMap::new();
        dlq_attrs.insert(QueueAttributeName::MessageRetentionPeriod, "1209600".to_owned());
        if fifo {
            dlq_attrs.insert(QueueAttributeName::FifoQueue, "true".to_owned());
        }
        let (dlq_url, dlq_arn) = self.plain_queue(&format!("{base}-dlq{suffix}"), dlq_attrs).await?;
        let mut attrs = HashMap::new();
        attrs.insert(
            QueueAttributeName::VisibilityTimeout,
            timing.visibility_timeout.as_secs().to_string(),
        );
        attrs.insert(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": timing.max_receive_count.to_string()})
                .to_string(),
        );
        if fifo {
            attrs.insert(QueueAttributeName::FifoQueue, "true".to_owned());
            // Producers set deduplication ids derived from the message.
            attrs.insert(QueueAttributeName::ContentBasedDeduplication, "false".to_owned());
        }
        let (url, arn) = self.plain_queue(&format!("{base}{suffix}"), attrs).await?;
        Ok(Queue {
            url,
            arn,
            dlq_url,
            dlq_arn,
        })
    }

    async fn table(&self, name: &str, keys: &[(&str, KeyType)]) -> Result<(), ProvisionError> {
        create_table(self.dynamodb, name, keys).await
    }

    async fn bucket(&self, name: &str, queue_arn: &str) -> Result<(), ProvisionError> {
        match self.s3.create_bucket().bucket(name).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
            Err(e) => return Err(fail(format!("bucket {name}"))(e)),
        }
        self.s3
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(fail(format!("bucket {name} versioning")))?;
        let filter = NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(
                        FilterRule::builder()
                            .name(FilterRuleName::Prefix)
                            .value("uploads/")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let queue = QueueConfiguration::builder()
            .id("uploads-to-ingest")
            .queue_arn(queue_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(filter)
            .build()
            .map_err(fail("bucket notification"))?;
        // Raw e-mail (what an SES receipt rule writes) goes to the same queue.
        let email = QueueConfiguration::builder()
            .id("inbound-email-to-ingest")
            .queue_arn(queue_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(
                        S3KeyFilter::builder()
                            .filter_rules(
                                FilterRule::builder()
                                    .name(FilterRuleName::Prefix)
                                    .value("inbound-email/")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
            .map_err(fail("bucket notification"))?;
        // Team documents for Ask Sluice, to the same queue (ingest-validator indexes them).
        let knowledge = QueueConfiguration::builder()
            .id("knowledge-to-indexer")
            .queue_arn(queue_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(
                        S3KeyFilter::builder()
                            .filter_rules(
                                FilterRule::builder()
                                    .name(FilterRuleName::Prefix)
                                    .value("knowledge/")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
            .map_err(fail("bucket notification"))?;
        self.s3
            .put_bucket_notification_configuration()
            .bucket(name)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(queue)
                    .queue_configurations(email)
                    .queue_configurations(knowledge)
                    .build(),
            )
            .send()
            .await
            .map_err(fail(format!("bucket {name} notification")))?;
        Ok(())
    }
}

/// A pay-per-request table with string keys and a TTL on `expires_at`, as template.yaml declares.
pub async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
    keys: &[(&str, KeyType)],
) -> Result<(), ProvisionError> {
    let mut create = dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attr, kind) in keys {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*attr)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(fail(format!("table {name}")))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*attr)
                    .key_type(kind.clone())
                    .build()
                    .map_err(fail(format!("table {name}")))?,
            );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(fail(format!("table {name}"))(e)),
    }
    dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .map_err(fail(format!("table {name} TTL")))?,
        )
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            // Enabling TTL twice is refused; the table already has it.
            if format!("{e:?}").contains("TimeToLive is already enabled") {
                Ok(())
            } else {
                Err(fail(format!("table {name} TTL"))(e))
            }
        })
}
