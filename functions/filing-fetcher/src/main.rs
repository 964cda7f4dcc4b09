//! Sets up once per instance (telemetry, config, clients, pool, EDGAR client) and
//! runs the handler on batches from the filing requests queue.

use filing_fetcher::edgar::{EdgarClient, EdgarConfig};
use filing_fetcher::{FetcherConfig, FilingFetcher, SERVICE};
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
    // Refuses to start without a declared User-Agent (SEC fair access).
    let edgar = EdgarClient::new(EdgarConfig::load(&cfg)?)?;
    let fetcher = FilingFetcher {
        pool,
        s3: aws::s3(&sdk),
        publisher,
        edgar,
        config: FetcherConfig::load(&cfg)?,
    };
    run(service_fn(|event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
        let (fetcher, processor) = (&fetcher, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move { Ok::<_, Error>(fetcher.handle_batch(event.payload, processor).await) },
                span,
            )
            .await
        }
    }))
    .await
}
