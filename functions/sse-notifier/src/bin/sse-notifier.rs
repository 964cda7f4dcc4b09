//! sse-notifier in Lambda: set up once per instance, then serve the events subscription queue.

use sluice_core::Instance;
use sse_notifier::{Notifier, SERVICE};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(Notifier::build(&instance)?).await
}
