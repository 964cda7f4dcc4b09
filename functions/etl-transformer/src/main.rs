//! Sets up once per instance (telemetry, config, clients, pool) and runs the handler.

use aws_lambda_events::sqs::SqsEvent;
use etl_transformer::{Etl, EtlConfig, SERVICE};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use sluice_core::aws;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let instance = sluice_core::instance::init(SERVICE).await?;
    let processor = instance.processor;
    let etl = Etl {
        pool: instance.pool,
        s3: aws::s3(&instance.sdk),
        publisher: instance.publisher,
        config: EtlConfig::load(&instance.cfg)?,
    };
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (etl, processor) = (&etl, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move { Ok::<_, Error>(etl.handle_batch(event.payload, processor).await) },
                span,
            )
            .await
        }
    }))
    .await
}
