//! etl-transformer in Lambda: set up once per instance, then serve the ETL queue.

use etl_transformer::{Etl, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(Etl::build(&instance)?).await
}
