//! Ask Sluice's chat in Lambda behind a response-streaming function URL: set up once per
//! instance, then stream every answer through lambda_http.

use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let instance = Instance::from_env(http_api::SERVICE).await?;
    lambda_http::run_with_streaming_response(http_api::build_chat_stream(&instance).await?).await
}
