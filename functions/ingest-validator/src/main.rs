//! Sets up once per instance (telemetry, config, clients, pool) and runs the handler.

use ingest_validator::{Ingest, IngestConfig, IngestEvent, SERVICE};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use sluice_core::aws;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sluice_core::instance::Instance {
        cfg,
        sdk,
        pool,
        processor,
        publisher,
    } = sluice_core::instance::init(SERVICE).await?;
    // Webhook secrets come from Secrets Manager in AWS (JSON: zendesk, intercom, standard).
    let cfg = match cfg.optional::<String>("WEBHOOK_SECRETS_ARN")?.filter(|a| !a.is_empty()) {
        Some(arn) => {
            let raw = aws::secret_string(&aws::secrets(&sdk), &arn).await?;
            let secrets: std::collections::HashMap<String, String> =
                serde_json::from_str(&raw).map_err(|_| "the webhook secrets secret is not a JSON object of strings")?;
            let mut cfg = cfg;
            for (name, key) in [
                ("zendesk", "ZENDESK_WEBHOOK_SECRET"),
                ("intercom", "INTERCOM_CLIENT_SECRET"),
                ("standard", "STANDARD_WEBHOOK_SECRET"),
            ] {
                if let Some(value) = secrets.get(name) {
                    cfg = cfg.with(key, value);
                }
            }
            cfg
        }
        None => cfg,
    };
    let market = match cfg.optional::<String>("QUOTE_CACHE_TABLE")? {
        Some(table) => Some(price_updater::MarketData {
            pool: pool.clone(),
            cache: price_updater::QuoteCache::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                &table,
                std::time::Duration::from_secs(cfg.or("QUOTE_CACHE_TTL_SECS", 300u64)?),
            ),
        }),
        None => None,
    };
    let ingest = Ingest {
        market,
        pool,
        s3: aws::s3(&sdk),
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        publisher,
        config: IngestConfig::load(&cfg)?,
    };
    run(service_fn(|event: LambdaEvent<IngestEvent>| {
        let (ingest, processor) = (&ingest, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move { ingest.handle(event.payload, processor).await.map_err(Error::from) },
                span,
            )
            .await
        }
    }))
    .await
}
