//! ingest-validator in Lambda: set up once per instance, then serve upload notifications.

use ingest_validator::{Ingest, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(Ingest::build(&instance)?).await
}
