//! price-updater in Lambda: set up once per instance, then serve schedules and jobs.

use price_updater::{PriceUpdater, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(PriceUpdater::build(&instance).await?).await
}
