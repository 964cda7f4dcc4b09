//! The consumer of the events subscription queue: sets up once per instance and runs the handler.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use sse_notifier::{Notifier, SERVICE};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sluice_core::instance::Instance { pool, processor, .. } = sluice_core::instance::init(SERVICE).await?;
    let notifier = Notifier { pool };
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (notifier, processor) = (&notifier, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            let response = tracing::Instrument::instrument(notifier.handle_batch(event.payload, processor), span).await;
            Ok::<_, Error>(response)
        }
    }))
    .await
}
