//! Sets up once per instance (telemetry, config, clients, pool, vendor client,
//! limiter) and runs the handler: EventBridge schedules and the jobs queue.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use price_updater::{PriceConfig, PriceUpdater, Schedule, SERVICE};
use sluice_core::aws;

/// What Lambda hands the function: a schedule tick or a batch of jobs.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Incoming {
    Schedule(Box<EventBridgeEvent>),
    Jobs(SqsEvent),
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sluice_core::instance::Instance {
        cfg,
        sdk,
        pool,
        processor,
        publisher,
    } = sluice_core::instance::init(SERVICE).await?;
    let config = PriceConfig::load(&cfg)?;
    let api_key = config.resolve_api_key(Some(&aws::secrets(&sdk))).await?;
    let updater = PriceUpdater::build(pool, aws_sdk_dynamodb::Client::new(&sdk), publisher, config, api_key)?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (updater, processor) = (&updater, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move {
                    match serde_json::from_value::<Incoming>(event.payload)? {
                        Incoming::Schedule(tick) => {
                            let schedule = Schedule::from_event(&tick)?;
                            Ok::<_, Error>(serde_json::to_value(updater.handle_schedule(schedule).await?)?)
                        }
                        Incoming::Jobs(batch) => {
                            Ok(serde_json::to_value(updater.handle_batch(batch, processor).await)?)
                        }
                    }
                },
                span,
            )
            .await
        }
    }))
    .await
}
