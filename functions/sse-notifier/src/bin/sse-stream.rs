//! The events function URL (`InvokeMode: RESPONSE_STREAM`): sets up once per instance
//! (telemetry, config, pool, the LISTEN hub, the token verifier) and answers every
//! invocation with a streamed response.

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent, MetadataPrelude, StreamResponse};
use sluice_core::{aws, db, ConfigSource, DbSettings};
use sse_notifier::{EventsService, Hub, StreamConfig, SERVICE};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_core::telemetry::init(SERVICE);
    let cfg = ConfigSource::from_env();
    let sdk = aws::sdk_config().await;
    let settings = DbSettings::load(&cfg, Some(&aws::secrets(&sdk))).await?;
    let pool = db::connect(&settings).await?;
    let config = StreamConfig::load(&cfg)?;
    let verifier = sse_notifier::service::verifier_from_config(&cfg).await?;
    let service = EventsService {
        hub: Hub::start(settings, config.hub_capacity),
        pool,
        verifier: Arc::new(verifier),
        config,
    };
    run(service_fn(|event: LambdaEvent<LambdaFunctionUrlRequest>| {
        let service = &service;
        async move {
            // The invocation's deadline, as an instant of this process's clock.
            let left = event
                .context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            let deadline = tokio::time::Instant::now() + left;
            let reply = service.handle(event.payload, deadline).await;
            Ok::<_, Error>(StreamResponse {
                metadata_prelude: MetadataPrelude {
                    status_code: reply.status,
                    headers: reply.headers,
                    cookies: Vec::new(),
                },
                stream: reply.body,
            })
        }
    }))
    .await
}
