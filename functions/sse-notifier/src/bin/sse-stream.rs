//! The events function URL in Lambda (`InvokeMode: RESPONSE_STREAM`): set up once per
//! instance, then stream every answer through lambda_http.

use sluice_core::Instance;
use sse_notifier::{EventsService, SERVICE};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    let router = EventsService::build(&instance).await?.router();
    lambda_http::run_with_streaming_response(router).await
}
