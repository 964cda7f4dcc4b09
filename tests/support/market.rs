//! Market-data test stack: a database of its own, a jobs FIFO queue with its DLQ,
//! an events topic with a tap queue, the quote-cache and rate-limit DynamoDB
//! tables (uniquely named in moto), and a fake FMP server, wired to price-updater.

use super::{database_settings, fresh_database, shared, unique};
use aws_sdk_dynamodb::types::KeyType;
use aws_sdk_s3::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;
use price_updater::{PriceConfig, PriceUpdater};
use sluice_core::{ConfigSource, DbSettings, Instance, Pool};
use sluice_fakes::{FakeFmp, FakeFmpConfig};
use sluice_local::pump::EventSource;
use sluice_messages::Envelope;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const FAKE_API_KEY: &str = "test-fmp-key-not-a-secret";

pub struct MarketStack {
    pub pool: Pool,
    pub database: String,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub jobs_url: String,
    pub jobs_arn: String,
    pub jobs_dlq_url: String,
    pub topic_arn: String,
    pub tap_url: String,
    pub fake: FakeFmp,
    pub config: PriceConfig,
    /// price-updater's settings, as template.yaml would give them.
    pub settings: ConfigSource,
    pub sdk: aws_config::SdkConfig,
    pub db: DbSettings,
}

async fn sdk() -> aws_config::SdkConfig {
    let shared = shared().await;
    sluice_core::aws::loader()
        .endpoint_url(&shared.env["AWS_ENDPOINT_URL"])
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "sluice-tests"))
        .load()
        .await
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, attrs: &[(QueueAttributeName, String)]) -> (String, String) {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attrs {
        create = create.attributes(k.clone(), v);
    }
    let url = create.send().await.expect("create queue").queue_url.expect("queue url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue arn")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    (url, arn)
}

impl MarketStack {
    /// `settings` adds or overrides price-updater settings (rate limit, TTL, ...).
    pub async fn start(settings: &[(&str, &str)], visibility_timeout: Duration, max_receive_count: u32) -> Self {
        let (pool, database) = fresh_database().await;
        let sdk = sdk().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let prefix = unique("m");
        let fifo = [
            (QueueAttributeName::FifoQueue, "true".to_owned()),
            (QueueAttributeName::ContentBasedDeduplication, "true".to_owned()),
        ];
        let (jobs_dlq_url, dlq_arn) = queue(&sqs, &format!("{prefix}-price-jobs-dlq.fifo"), &fifo).await;
        let mut attrs = fifo.to_vec();
        attrs.push((
            QueueAttributeName::VisibilityTimeout,
            visibility_timeout.as_secs().max(1).to_string(),
        ));
        attrs.push((
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}).to_string(),
        ));
        let (jobs_url, jobs_arn) = queue(&sqs, &format!("{prefix}-price-jobs.fifo"), &attrs).await;
        let topic_arn = sns
            .create_topic()
            .name(format!("{prefix}-events"))
            .send()
            .await
            .expect("topic")
            .topic_arn
            .expect("topic arn");
        let (tap_url, tap_arn) = queue(&sqs, &format!("{prefix}-events-tap"), &[]).await;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&tap_arn)
            .send()
            .await
            .expect("subscribe tap");
        let rate_table = format!("{prefix}-rate-limit");
        let cache_table = format!("{prefix}-quote-cache");
        sluice_local::resources::create_table(&dynamodb, &rate_table, &[("bucket", KeyType::Hash)])
            .await
            .expect("create table");
        sluice_local::resources::create_table(
            &dynamodb,
            &cache_table,
            &[("symbol", KeyType::Hash), ("data_type", KeyType::Range)],
        )
        .await
        .expect("create table");
        let fixtures = super::repo_root().join("../shared/fixtures/prices/fmp");
        let fake = sluice_fakes::start(FakeFmpConfig::new(FAKE_API_KEY).with_fixtures(fixtures))
            .await
            .expect("fake FMP");
        let mut cfg = ConfigSource::from_pairs([
            ("FMP_BASE_URL", fake.base_url.clone()),
            ("FMP_API_KEY", FAKE_API_KEY.to_owned()),
            ("PRICE_JOBS_QUEUE_URL", jobs_url.clone()),
            ("EVENTS_TOPIC_ARN", topic_arn.clone()),
            ("RATE_LIMIT_TABLE", rate_table),
            ("QUOTE_CACHE_TABLE", cache_table),
            ("VENDOR_BACKOFF_MS", "20".to_owned()),
            ("VENDOR_MAX_BACKOFF_SECS", "3".to_owned()),
        ]);
        for (k, v) in settings {
            cfg = cfg.with(k, *v);
        }
        let config = PriceConfig::load(&cfg).expect("price-updater config");
        let db = database_settings(&database).await;
        Self {
            settings: cfg.with("DEAD_LETTER_QUEUE_URL", jobs_dlq_url.clone()),
            sdk: sdk.clone(),
            db,
            pool,
            database,
            sqs,
            sns,
            dynamodb,
            jobs_url,
            jobs_arn,
            jobs_dlq_url,
            topic_arn,
            tap_url,
            fake,
            config,
        }
    }

    /// A new instance of the function (its own HTTP client and limiter handle; the
    /// bucket is the shared table), as a concurrent Lambda invocation would have: built
    /// by its one constructor.
    pub async fn updater(&self) -> PriceUpdater {
        // Acting as its own database role, as every function does (migration 0017).
        let db = self.db.acting_as(sluice_core::db::roles::PRICE_UPDATER);
        let pool = sluice_core::db::connect(&db).await.expect("price-updater's pool");
        let instance = Instance::new(
            price_updater::SERVICE,
            self.settings.clone(),
            self.sdk.clone(),
            db,
            pool,
        );
        PriceUpdater::build(&instance).await.expect("price-updater")
    }

    /// The quote and price read model the HTTP API uses, over this stack's cache and table.
    pub fn market(&self) -> sluice_market::MarketData {
        sluice_market::MarketData {
            pool: self.pool.clone(),
            cache: sluice_market::QuoteCache::new(
                self.dynamodb.clone(),
                &self.config.quote_cache_table,
                self.config.quote_cache_ttl,
            ),
        }
    }

    /// The jobs queue's event source for one instance of the function.
    pub async fn consumer(&self) -> EventSource {
        EventSource {
            name: "price-updater".into(),
            sqs: self.sqs.clone(),
            queue_url: self.jobs_url.clone(),
            queue_arn: self.jobs_arn.clone(),
            region: "us-east-1".into(),
            batch_size: 10,
            wait_seconds: 0,
            handler: sluice_local::sqs_handler(Arc::new(self.updater().await)),
        }
    }

    pub async fn load_tickers(&self, tickers: &[&str]) {
        let mut csv = String::from("ticker,name,cik,index\n");
        for t in tickers {
            csv.push_str(&format!("{t},{t} Inc.,,TEST\n"));
        }
        price_updater::universe::load_constituents(&self.pool, csv.as_bytes())
            .await
            .expect("load tickers");
    }

    pub async fn is_complete(&self, refresh_id: Uuid) -> bool {
        let client = self.pool.get().await.expect("client");
        client
            .query_one(
                "SELECT completed_at IS NOT NULL FROM price_refreshes WHERE refresh_id = $1",
                &[&refresh_id],
            )
            .await
            .expect("refresh")
            .get(0)
    }

    pub async fn done_count(&self, refresh_id: Uuid) -> i32 {
        let client = self.pool.get().await.expect("client");
        client
            .query_one("SELECT done FROM price_refreshes WHERE refresh_id = $1", &[&refresh_id])
            .await
            .expect("refresh")
            .get(0)
    }

    /// Runs `consumers` instances concurrently until the refresh is complete.
    pub async fn run_consumers(&self, consumers: usize, refresh_id: Uuid) {
        let mut tasks = Vec::new();
        for _ in 0..consumers {
            let source = self.consumer().await;
            let pool = self.pool.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let done: bool = pool
                        .get()
                        .await
                        .expect("client")
                        .query_one(
                            "SELECT completed_at IS NOT NULL FROM price_refreshes WHERE refresh_id = $1",
                            &[&refresh_id],
                        )
                        .await
                        .expect("refresh")
                        .get(0);
                    if done {
                        return;
                    }
                    let got = source.poll_once().await.expect("poll");
                    if got.received == 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("consumer");
        }
    }

    /// Every message published on the events topic so far.
    pub async fn published(&self) -> Vec<Envelope> {
        super::read_topic_tap(&self.sqs, &self.tap_url).await
    }

    pub async fn query(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.pool.get().await.expect("client").query(sql, &[]).await.expect(sql)
    }
}
