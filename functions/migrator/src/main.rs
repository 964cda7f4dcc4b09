//! migrator in Lambda: set up once per instance, then answer CloudFormation.

use lambda_runtime::{service_fn, LambdaEvent};
use migrator::{Migrator, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    let migrator = &Migrator::build(&instance)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        migrator
            .handle_event(event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
