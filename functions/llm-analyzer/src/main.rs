//! Sets up once per instance (telemetry, config, clients, pool, the model provider)
//! and runs the handler on batches from the analysis requests queue.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use llm_analyzer::provider::{build_model, ProviderConfig};
use llm_analyzer::{Analyzer, AnalyzerConfig, SERVICE};
use sluice_core::aws;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sluice_core::instance::Instance {
        cfg,
        sdk,
        pool,
        processor,
        publisher,
    } = sluice_core::instance::init(SERVICE).await?;
    // An OpenAI-compatible endpoint's key comes from Secrets Manager in AWS.
    let cfg = match cfg
        .optional::<String>("LLM_API_KEY_SECRET_ARN")?
        .filter(|a| !a.is_empty())
    {
        Some(arn) => {
            let key = aws::secret_string(&aws::secrets(&sdk), &arn).await?;
            cfg.with("LLM_API_KEY", key)
        }
        None => cfg,
    };
    let provider = ProviderConfig::load(&cfg)?;
    let analyzer = Analyzer {
        pool,
        s3: aws::s3(&sdk),
        publisher,
        model: build_model(&provider, &sdk).await?,
        config: AnalyzerConfig::load(&cfg, &provider)?,
    };
    run(service_fn(|event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
        let (analyzer, processor) = (&analyzer, &processor);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            tracing::Instrument::instrument(
                async move { Ok::<_, Error>(analyzer.handle_batch(event.payload, processor).await) },
                span,
            )
            .await
        }
    }))
    .await
}
