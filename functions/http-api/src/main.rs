//! http-api in Lambda: set up once per instance, then serve the router behind API Gateway.

use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let instance = Instance::from_env(http_api::SERVICE).await?;
    lambda_http::run(http_api::build(&instance).await?).await
}
