//! The local stack: the same handler libraries the Lambda binaries run, built by the
//! same constructors and wired to a moto server and a local PostgreSQL the way AWS
//! wires them (see design.md). Nothing here rebuilds a function: each is made by its
//! library's one constructor from an [`Instance`] whose configuration is what
//! template.yaml would give it.

pub mod pump;
pub mod resources;
pub mod schedules;
pub mod web;

use account_worker::AccountWorker;
use axum::Router;
use etl_transformer::Etl;
use filing_fetcher::FilingFetcher;
use ingest_validator::Ingest;
use llm_analyzer::LlmAnalyzer;
use portfolio_analyst::PortfolioAnalyst;
use price_updater::PriceUpdater;
use pump::{EventSource, SqsHandler};
use resources::StackResources;
use sluice_core::db::roles::{self, DatabaseRole};
use sluice_core::{aws, Clock, ConfigSource, DbSettings, Function, InitError, Instance, Trigger};
use sse_notifier::{EventsService, Notifier};
use std::sync::Arc;

// Local tokens (`make token`) are issued by the one verifier's module.
pub use sluice_core::auth::local::issue_token;

/// The AWS clients of one process, built once.
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub region: String,
    /// What the clients were built from (and what each function's instance gets).
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
            ses: aws_sdk_sesv2::Client::new(sdk),
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
            ses: &self.ses,
        }
    }
}

/// The variables the functions get from template.yaml, for these resources.
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
        ("PRIORITY_ANALYSES_QUEUE_URL", res.priority_analyses.url.clone()),
        ("PRIORITY_ANALYSES_DLQ_URL", res.priority_analyses.dlq_url.clone()),
        ("DOCUMENT_BUCKET", res.bucket.clone()),
        ("RATE_LIMIT_TABLE", res.rate_limit_table.clone()),
        ("QUOTE_CACHE_TABLE", res.quote_cache_table.clone()),
        ("EVENTS_TAP_QUEUE_URL", res.events_tap_url.clone()),
        ("SSE_EVENTS_QUEUE_URL", res.sse_events.url.clone()),
        ("SSE_EVENTS_DLQ_URL", res.sse_events.dlq_url.clone()),
        ("PORTFOLIO_EVENTS_QUEUE_URL", res.portfolio_events.url.clone()),
        ("PORTFOLIO_EVENTS_DLQ_URL", res.portfolio_events.dlq_url.clone()),
        ("FEEDBACK_QUEUE_URL", res.feedback.url.clone()),
        ("FEEDBACK_QUEUE_ARN", res.feedback.arn.clone()),
        ("FEEDBACK_DLQ_URL", res.feedback.dlq_url.clone()),
        ("FEEDBACK_METRICS_TABLE", res.feedback_metrics_table.clone()),
        ("CONVERSATIONS_TABLE", res.conversations_table.clone()),
        ("NOTIFIER_EVENTS_QUEUE_URL", res.notifier_events.url.clone()),
        ("NOTIFIER_EVENTS_DLQ_URL", res.notifier_events.dlq_url.clone()),
        ("WEBHOOK_RETRY_QUEUE_URL", res.webhook_retries.url.clone()),
        ("WEBHOOK_RETRY_DLQ_URL", res.webhook_retries.dlq_url.clone()),
        ("SES_FROM_ADDRESS", res.ses_from.clone()),
    ]
}

/// What the runner shares with every function: the stack's settings, the SDK
/// configuration, the database login and the clock.
#[derive(Clone)]
pub struct Stack {
    pub cfg: ConfigSource,
    pub sdk: aws_config::SdkConfig,
    pub db: DbSettings,
    pub clock: Clock,
}

impl Stack {
    /// The instance a function would get in AWS: the stack's settings plus its own
    /// dead-letter queue as `DEAD_LETTER_QUEUE_URL` (as template.yaml sets it), and a pool
    /// of its own acting as its database role (in AWS: its own login).
    pub async fn instance(
        &self,
        service: &'static str,
        role: DatabaseRole,
        dead_letter_queue: &str,
    ) -> Result<Instance, InitError> {
        let db = self.db.acting_as(role);
        let pool = sluice_core::db::connect(&db).await?;
        Ok(Instance::new(service, self.cfg.clone(), self.sdk.clone(), db, pool)
            .with_setting("DEAD_LETTER_QUEUE_URL", dead_letter_queue)
            .with_clock(self.clock))
    }
}

/// Every function of template.yaml, each built by its own constructor.
pub struct Functions {
    pub ingest: Arc<Ingest>,
    pub etl: Arc<Etl>,
    /// Present when the vendor is configured (`FMP_API_KEY`).
    pub prices: Option<Arc<PriceUpdater>>,
    /// Present when EDGAR is configured (`EDGAR_USER_AGENT`; the runner points it at the mirror).
    pub filings: Option<Arc<FilingFetcher>>,
    /// Analyses and feedback triage (two queues, one function).
    pub llm: Arc<LlmAnalyzer>,
    /// sse-notifier's consumer (the events subscription queue).
    pub notifier: Arc<Notifier>,
    /// sse-notifier's function URL (the stream, tickets, long-poll).
    pub events: EventsService,
    /// portfolio-analyst: the KPI tracker and deal-flow scorer after each load; the
    /// monthly portfolio reports.
    pub portfolio: Arc<PortfolioAnalyst>,
    /// notifier: e-mail and outbound webhooks.
    pub notify: Arc<notifier::Notifier>,
    /// The HTTP API.
    pub api: Router,
    /// The monthly credits schedule.
    pub accounts: Arc<AccountWorker>,
    /// The web app (`web/dist`) and its local sign-in.
    pub web: web::WebApp,
}

impl Functions {
    /// `cfg` is the stack's configuration; the resources' names are added to it.
    pub async fn build(
        cfg: &ConfigSource,
        res: &StackResources,
        db: &DbSettings,
        clients: &Clients,
        clock: Clock,
    ) -> Result<Self, InitError> {
        let mut cfg = cfg.clone();
        for (k, v) in function_env(res) {
            cfg = cfg.with(k, v);
        }
        // The unsubscribe links' key: `make up` keeps one in .local/stack.env; a stack built
        // without it (benchmarks, chaos runs) gets one of its own, for its lifetime.
        if cfg.optional::<String>("NOTIFY_SIGNING_SECRET")?.is_none() {
            cfg = cfg.with("NOTIFY_SIGNING_SECRET", uuid::Uuid::new_v4().simple().to_string());
        }
        // The unsubscribe links point at the runner's HTTP front unless told otherwise.
        if cfg.optional::<String>("PUBLIC_API_URL")?.is_none() {
            let api_url: String = cfg.or("API_URL", "http://127.0.0.1:8787".to_owned())?;
            cfg = cfg.with("PUBLIC_API_URL", api_url);
        }
        let stack = Stack {
            cfg: cfg.clone(),
            sdk: clients.sdk.clone(),
            db: db.clone(),
            clock,
        };
        let prices = match cfg.optional::<String>("FMP_API_KEY")? {
            Some(_) => Some(Arc::new(
                PriceUpdater::build(
                    &stack
                        .instance(price_updater::SERVICE, roles::PRICE_UPDATER, &res.price_jobs.dlq_url)
                        .await?,
                )
                .await?,
            )),
            None => None,
        };
        let filings = match cfg.optional::<String>("EDGAR_USER_AGENT")? {
            Some(_) => Some(Arc::new(FilingFetcher::build(
                &stack
                    .instance(filing_fetcher::SERVICE, roles::FILING_FETCHER, &res.filings.dlq_url)
                    .await?,
            )?)),
            None => None,
        };
        let web = web::WebApp {
            dir: cfg
                .optional::<String>("WEB_DIR")?
                .map(Into::into)
                .unwrap_or_else(web::default_dir),
            token_secret: cfg.optional("LOCAL_JWT_SECRET")?,
            // Uploads go from the page straight to S3 (moto here), by presigned PUT.
            storage_origin: clients.sdk.endpoint_url().and_then(origin_of),
        };
        Ok(Self {
            web,
            ingest: Arc::new(Ingest::build(
                &stack
                    .instance(ingest_validator::SERVICE, roles::INGEST_VALIDATOR, &res.uploads.dlq_url)
                    .await?,
            )?),
            etl: Arc::new(Etl::build(
                &stack
                    .instance(etl_transformer::SERVICE, roles::ETL_TRANSFORMER, &res.etl.dlq_url)
                    .await?,
            )?),
            prices,
            filings,
            llm: Arc::new(
                LlmAnalyzer::build(
                    &stack
                        .instance(llm_analyzer::SERVICE, roles::LLM_ANALYZER, &res.analyses.dlq_url)
                        .await?,
                )
                .await?,
            ),
            notifier: Arc::new(Notifier::build(
                &stack
                    .instance(sse_notifier::SERVICE, roles::SSE_NOTIFIER, &res.sse_events.dlq_url)
                    .await?,
            )?),
            events: EventsService::build(
                &stack
                    .instance(sse_notifier::SERVICE, roles::SSE_STREAM, &res.sse_events.dlq_url)
                    .await?,
            )
            .await?,
            portfolio: Arc::new(
                PortfolioAnalyst::build(
                    &stack
                        .instance(
                            portfolio_analyst::SERVICE,
                            roles::PORTFOLIO_ANALYST,
                            &res.portfolio_events.dlq_url,
                        )
                        .await?,
                )
                .await?,
            ),
            notify: Arc::new(
                notifier::Notifier::build(
                    &stack
                        .instance(notifier::SERVICE, roles::NOTIFIER, &res.notifier_events.dlq_url)
                        .await?,
                )
                .await?,
            ),
            api: http_api::build(&stack.instance(http_api::SERVICE, roles::HTTP_API, "").await?).await?,
            accounts: Arc::new(AccountWorker::build(
                &stack
                    .instance(account_worker::SERVICE, roles::ACCOUNT_WORKER, "")
                    .await?,
            )),
        })
    }

    /// The event source mappings of template.yaml, each calling its function as Lambda does.
    pub fn event_sources(&self, res: &StackResources, clients: &Clients, wait_seconds: i32) -> Vec<EventSource> {
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
            source("ingest-validator", &res.uploads, sqs_handler(self.ingest.clone())),
            source("etl-transformer", &res.etl, sqs_handler(self.etl.clone())),
        ];
        if let Some(prices) = &self.prices {
            sources.push(source("price-updater", &res.price_jobs, sqs_handler(prices.clone())));
        }
        if let Some(filings) = &self.filings {
            sources.push(source("filing-fetcher", &res.filings, sqs_handler(filings.clone())));
        }
        // The priority lane first: it is polled first in every round of the tests' settle.
        sources.push(source(
            "llm-analyzer-priority",
            &res.priority_analyses,
            sqs_handler(self.llm.clone()),
        ));
        sources.push(source("llm-analyzer", &res.analyses, sqs_handler(self.llm.clone())));
        sources.push(source(
            "llm-analyzer-feedback",
            &res.feedback,
            sqs_handler(self.llm.clone()),
        ));
        sources.push(source(
            "sse-notifier",
            &res.sse_events,
            sqs_handler(self.notifier.clone()),
        ));
        sources.push(source(
            "portfolio-analyst",
            &res.portfolio_events,
            sqs_handler(self.portfolio.clone()),
        ));
        sources.push(source(
            "notifier",
            &res.notifier_events,
            sqs_handler(self.notify.clone()),
        ));
        sources.push(source(
            "notifier-retries",
            &res.webhook_retries,
            sqs_handler(self.notify.clone()),
        ));
        sources
    }

    /// The HTTP front on API_URL: the HTTP API's router and the events function's,
    /// served as they are (no translation), with the web app and a health check.
    pub fn front(&self, health: serde_json::Value) -> Router {
        self.events
            .clone()
            .router()
            .merge(web::router(health, self.web.clone()))
            .merge(self.api.clone())
    }
}

/// `scheme://host[:port]` of a URL (what a Content-Security-Policy names).
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        url::Origin::Tuple(..) => Some(parsed.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// A function as an SQS event source mapping invokes it: the batch as a trigger, its
/// partial failures back.
pub fn sqs_handler<F: Function>(function: Arc<F>) -> SqsHandler {
    Arc::new(move |event| {
        let function = function.clone();
        Box::pin(async move {
            match function.handle(Trigger::Sqs(event)).await {
                Ok(answer) => Some(answer.batch()),
                Err(e) => {
                    // Lambda retries the whole batch when the invocation fails.
                    tracing::error!(error = %e, "invocation failed; the batch will be retried");
                    None
                }
            }
        })
    })
}
