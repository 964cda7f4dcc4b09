//! llm-analyzer in Lambda: set up once per instance, then serve the analyses and feedback queues.

use llm_analyzer::{LlmAnalyzer, SERVICE};
use sluice_core::Instance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let instance = Instance::from_env(SERVICE).await?;
    sluice_core::lambda::serve(LlmAnalyzer::build(&instance).await?).await
}
