//! portfolio-analyst in Lambda: set up once per instance, then serve its subscription queue.

use portfolio_analyst::{PortfolioAnalyst, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(PortfolioAnalyst::build(&instance).await?).await
}
