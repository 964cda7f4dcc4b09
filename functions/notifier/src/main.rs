//! notifier in Lambda: set up once per instance, then serve its two queues (the events
//! subscription and the webhook retries).

use notifier::{Notifier, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(Notifier::build(&instance).await?).await
}
