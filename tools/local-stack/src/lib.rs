//! The local stack: the same handler libraries the Lambda binaries run, wired to a
//! moto server and a local PostgreSQL the way AWS wires them (see design.md).

pub mod http_front;
pub mod pump;
pub mod resources;
pub mod schedules;
pub mod sse;

use etl_transformer::{Etl, EtlConfig};
use filing_fetcher::edgar::{EdgarClient, EdgarConfig};
use filing_fetcher::{FetcherConfig, FilingFetcher};
use ingest_validator::{Ingest, IngestConfig};
use llm_analyzer::provider::{build_model, ProviderConfig};
use llm_analyzer::{Analyzer, AnalyzerConfig, Triage, TriageConfig};
use price_updater::{ApiKey, MarketData, PriceConfig, PriceUpdater, QuoteCache};
use pump::{EventSource, SqsHandler};
use resources::StackResources;
use sluice_core::{aws, BatchProcessor, ConfigSource, DeadLetterQueue, EventPublisher, Pool};
use std::sync::Arc;

/// The AWS clients of one process, built once.
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub region: String,
    /// What the clients were built from (Bedrock's client is built per function).
    pub sdk: aws_config::SdkConfig,
}

impl Clients {
    pub async fn from_env() -> Self {
        Self::from_sdk(&aws::sdk_config().await)
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: aws::s3(sdk),
            sqs: aws::sqs(sdk),
            sns: aws::sns(sdk),
            region: sdk
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            sdk: sdk.clone(),
        }
    }

    pub fn provisioner(&self) -> resources::Provisioner<'_> {
        resources::Provisioner {
            dynamodb: &self.dynamodb,
            s3: &self.s3,
            sqs: &self.sqs,
            sns: &self.sns,
        }
    }
}

/// The variables a function would get from template.yaml, for these resources.
pub fn function_env(res: &StackResources) -> Vec<(&'static str, String)> {
    vec![
        ("UPLOAD_BUCKET", res.bucket.clone()),
        ("UPLOADS_QUEUE_URL", res.uploads.url.clone()),
        ("UPLOADS_DLQ_URL", res.uploads.dlq_url.clone()),
        ("ETL_QUEUE_URL", res.etl.url.clone()),
        ("ETL_DLQ_URL", res.etl.dlq_url.clone()),
        ("EVENTS_TOPIC_ARN", res.topic_arn.clone()),
        ("PRICE_JOBS_QUEUE_URL", res.price_jobs.url.clone()),
        ("PRICE_JOBS_DLQ_URL", res.price_jobs.dlq_url.clone()),
        ("FILINGS_QUEUE_URL", res.filings.url.clone()),
        ("FILINGS_DLQ_URL", res.filings.dlq_url.clone()),
        ("ANALYSES_QUEUE_URL", res.analyses.url.clone()),
        ("ANALYSES_DLQ_URL", res.analyses.dlq_url.clone()),
        ("DOCUMENT_BUCKET", res.bucket.clone()),
        ("RATE_LIMIT_TABLE", res.rate_limit_table.clone()),
        ("QUOTE_CACHE_TABLE", res.quote_cache_table.clone()),
        ("EVENTS_TAP_QUEUE_URL", res.events_tap_url.clone()),
        ("SSE_EVENTS_QUEUE_URL", res.sse_events.url.clone()),
        ("SSE_EVENTS_DLQ_URL", res.sse_events.dlq_url.clone()),
        ("FEEDBACK_QUEUE_URL", res.feedback.url.clone()),
        ("FEEDBACK_DLQ_URL", res.feedback.dlq_url.clone()),
        ("FEEDBACK_METRICS_TABLE", res.feedback_metrics_table.clone()),
    ]
}

/// The two functions of the first pipeline, built as their `main.rs` builds them.
pub struct Functions {
    pub ingest: Arc<Ingest>,
    pub ingest_processor: Arc<BatchProcessor>,
    pub etl: Arc<Etl>,
    pub etl_processor: Arc<BatchProcessor>,
    /// Present when the vendor is configured (`FMP_BASE_URL` and a key).
    pub prices: Option<Arc<PriceUpdater>>,
    pub prices_processor: Arc<BatchProcessor>,
    /// Present when EDGAR is configured (`EDGAR_USER_AGENT`; the runner points it at the mirror).
    pub filings: Option<Arc<FilingFetcher>>,
    pub filings_processor: Arc<BatchProcessor>,
    pub analyzer: Arc<Analyzer>,
    pub analyses_processor: Arc<BatchProcessor>,
    /// llm-analyzer's feedback triage (the feedback queue); shares the analyzer's model.
    pub triage: Arc<Triage>,
    pub triage_processor: Arc<BatchProcessor>,
    /// sse-notifier's consumer (the events subscription queue).
    pub sse: Arc<sse_notifier::Notifier>,
    pub sse_processor: Arc<BatchProcessor>,
}

impl Functions {
    pub async fn build(
        cfg: &ConfigSource,
        res: &StackResources,
        pool: &Pool,
        clients: &Clients,
    ) -> Result<Self, sluice_core::ConfigError> {
        let mut cfg = cfg.clone();
        for (k, v) in function_env(res) {
            cfg = cfg.with(k, v);
        }
        let publisher = EventPublisher::new(clients.sns.clone(), clients.sqs.clone());
        let dlq = |url: &str| {
            Arc::new(BatchProcessor::new(Some(DeadLetterQueue::new(
                clients.sqs.clone(),
                url,
            ))))
        };
        let prices = match cfg.optional::<String>("FMP_API_KEY")? {
            Some(key) => {
                let config = PriceConfig::load(&cfg)?;
                let updater = PriceUpdater::build(
                    pool.clone(),
                    clients.dynamodb.clone(),
                    publisher.clone(),
                    config,
                    ApiKey::new(key),
                )
                .map_err(|e| sluice_core::ConfigError::Invalid {
                    key: "FMP_BASE_URL".into(),
                    reason: e.to_string(),
                })?;
                Some(Arc::new(updater))
            }
            None => None,
        };
        let market = MarketData {
            pool: pool.clone(),
            cache: QuoteCache::new(
                clients.dynamodb.clone(),
                &res.quote_cache_table,
                std::time::Duration::from_secs(cfg.or("QUOTE_CACHE_TTL_SECS", 300u64)?),
            ),
        };
        let filings = match cfg.optional::<String>("EDGAR_USER_AGENT")? {
            Some(_) => {
                let edgar = EdgarClient::new(EdgarConfig::load(&cfg).map_err(invalid("EDGAR_USER_AGENT"))?)
                    .map_err(invalid("EDGAR_WWW_BASE_URL"))?;
                Some(Arc::new(FilingFetcher {
                    pool: pool.clone(),
                    s3: clients.s3.clone(),
                    publisher: publisher.clone(),
                    edgar,
                    config: FetcherConfig::load(&cfg)?,
                }))
            }
            None => None,
        };
        let provider = ProviderConfig::load(&cfg)?;
        let model = build_model(&provider, &clients.sdk)
            .await
            .map_err(invalid("LLM_PROVIDER"))?;
        let triage = Arc::new(Triage {
            pool: pool.clone(),
            dynamodb: clients.dynamodb.clone(),
            publisher: publisher.clone(),
            model: model.clone(),
            config: TriageConfig::load(&cfg, &provider)?,
        });
        let analyzer = Arc::new(Analyzer {
            pool: pool.clone(),
            s3: clients.s3.clone(),
            publisher: publisher.clone(),
            model,
            config: AnalyzerConfig::load(&cfg, &provider)?,
        });
        Ok(Self {
            filings,
            filings_processor: dlq(&res.filings.dlq_url),
            analyzer,
            analyses_processor: dlq(&res.analyses.dlq_url),
            triage,
            triage_processor: dlq(&res.feedback.dlq_url),
            prices,
            prices_processor: dlq(&res.price_jobs.dlq_url),
            sse: Arc::new(sse_notifier::Notifier { pool: pool.clone() }),
            sse_processor: dlq(&res.sse_events.dlq_url),
            ingest: Arc::new(Ingest {
                pool: pool.clone(),
                s3: clients.s3.clone(),
                dynamodb: clients.dynamodb.clone(),
                publisher: publisher.clone(),
                config: IngestConfig::load(&cfg)?,
                market: Some(market),
            }),
            ingest_processor: dlq(&res.uploads.dlq_url),
            etl: Arc::new(Etl {
                pool: pool.clone(),
                s3: clients.s3.clone(),
                publisher,
                config: EtlConfig::load(&cfg)?,
            }),
            etl_processor: dlq(&res.etl.dlq_url),
        })
    }

    /// The HTTP API route of template.yaml: every request to ingest-validator.
    pub fn http_handler(&self) -> http_front::HttpHandler {
        let ingest = self.ingest.clone();
        Arc::new(move |request| {
            let ingest = ingest.clone();
            Box::pin(async move { ingest.api().handle(&request).await })
        })
    }

    /// The event source mappings of template.yaml: uploads queue -> ingest-validator,
    /// ETL FIFO queue -> etl-transformer.
    pub fn event_sources(&self, res: &StackResources, clients: &Clients, wait_seconds: i32) -> Vec<EventSource> {
        let (ingest, ingest_processor) = (self.ingest.clone(), self.ingest_processor.clone());
        let ingest_handler: SqsHandler = Arc::new(move |event| {
            let (ingest, processor) = (ingest.clone(), ingest_processor.clone());
            Box::pin(async move { ingest.handle_batch(event, &processor).await })
        });
        let (etl, etl_processor) = (self.etl.clone(), self.etl_processor.clone());
        let etl_handler: SqsHandler = Arc::new(move |event| {
            let (etl, processor) = (etl.clone(), etl_processor.clone());
            Box::pin(async move { etl.handle_batch(event, &processor).await })
        });
        let source = |name: &str, queue: &resources::Queue, handler: SqsHandler| EventSource {
            name: name.into(),
            sqs: clients.sqs.clone(),
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            region: clients.region.clone(),
            batch_size: 10,
            wait_seconds,
            handler,
        };
        let mut sources = vec![
            source("ingest-validator", &res.uploads, ingest_handler),
            source("etl-transformer", &res.etl, etl_handler),
        ];
        if let Some(prices) = &self.prices {
            let (prices, processor) = (prices.clone(), self.prices_processor.clone());
            let handler: SqsHandler = Arc::new(move |event| {
                let (prices, processor) = (prices.clone(), processor.clone());
                Box::pin(async move { prices.handle_batch(event, &processor).await })
            });
            sources.push(source("price-updater", &res.price_jobs, handler));
        }
        if let Some(filings) = &self.filings {
            let (filings, processor) = (filings.clone(), self.filings_processor.clone());
            let handler: SqsHandler = Arc::new(move |event| {
                let (filings, processor) = (filings.clone(), processor.clone());
                Box::pin(async move { filings.handle_batch(event, &processor).await })
            });
            sources.push(source("filing-fetcher", &res.filings, handler));
        }
        let (analyzer, analyses_processor) = (self.analyzer.clone(), self.analyses_processor.clone());
        let analyzer_handler: SqsHandler = Arc::new(move |event| {
            let (analyzer, processor) = (analyzer.clone(), analyses_processor.clone());
            Box::pin(async move { analyzer.handle_batch(event, &processor).await })
        });
        sources.push(source("llm-analyzer", &res.analyses, analyzer_handler));
        let (triage, triage_processor) = (self.triage.clone(), self.triage_processor.clone());
        let triage_handler: SqsHandler = Arc::new(move |event| {
            let (triage, processor) = (triage.clone(), triage_processor.clone());
            Box::pin(async move { triage.handle_batch(event, &processor).await })
        });
        sources.push(source("llm-analyzer-feedback", &res.feedback, triage_handler));
        let (sse, sse_processor) = (self.sse.clone(), self.sse_processor.clone());
        let sse_handler: SqsHandler = Arc::new(move |event| {
            let (sse, processor) = (sse.clone(), sse_processor.clone());
            Box::pin(async move { sse.handle_batch(event, &processor).await })
        });
        sources.push(source("sse-notifier", &res.sse_events, sse_handler));
        sources
    }
}

/// A setting that loaded but does not work, as a configuration error naming it.
fn invalid<E: std::fmt::Display>(key: &'static str) -> impl Fn(E) -> sluice_core::ConfigError {
    move |e| sluice_core::ConfigError::Invalid {
        key: key.into(),
        reason: e.to_string(),
    }
}
