//! account-worker in Lambda: set up once per instance, then serve its schedule.

use account_worker::{AccountWorker, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(AccountWorker::build(&instance)).await
}
