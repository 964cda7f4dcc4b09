//! filing-fetcher in Lambda: set up once per instance, then serve the filing requests queue.

use filing_fetcher::{FilingFetcher, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(FilingFetcher::build(&instance)?).await
}
