//! Sets up once per instance (telemetry, config, clients, pool, the model provider)
//! and runs the handlers: analysis requests, and feedback to triage (told apart by
//! the queue a batch comes from).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use llm_analyzer::provider::{build_model, ProviderConfig};
use llm_analyzer::{Analyzer, AnalyzerConfig, Triage, TriageConfig, SERVICE};
use sluice_core::aws;
use sluice_core::{BatchProcessor, DeadLetterQueue};

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
    let model = build_model(&provider, &sdk).await?;
    let analyzer = Analyzer {
        pool: pool.clone(),
        s3: aws::s3(&sdk),
        publisher: publisher.clone(),
        model: model.clone(),
        config: AnalyzerConfig::load(&cfg, &provider)?,
    };
    let triage = Triage {
        pool,
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        publisher,
        model,
        config: TriageConfig::load(&cfg, &provider)?,
    };
    // Feedback poison messages go to the feedback DLQ, analysis ones to the analyses DLQ.
    let feedback_queue_arn: String = cfg.required("FEEDBACK_QUEUE_ARN")?;
    let triage_processor = BatchProcessor::new(Some(DeadLetterQueue::new(
        aws::sqs(&sdk),
        cfg.required::<String>("FEEDBACK_DLQ_URL")?,
    )));
    run(service_fn(|event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
        let (analyzer, processor) = (&analyzer, &processor);
        let (triage, triage_processor, feedback_queue_arn) = (&triage, &triage_processor, &feedback_queue_arn);
        async move {
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            let feedback = event
                .payload
                .records
                .first()
                .and_then(|r| r.event_source_arn.as_deref())
                .is_some_and(|arn| arn == feedback_queue_arn.as_str());
            tracing::Instrument::instrument(
                async move {
                    Ok::<_, Error>(if feedback {
                        triage.handle_batch(event.payload, triage_processor).await
                    } else {
                        analyzer.handle_batch(event.payload, processor).await
                    })
                },
                span,
            )
            .await
        }
    }))
    .await
}
