//! llm-analyzer: analyses of filings into the global pool, and triage of customer
//! feedback. `main.rs` only sets up; [`LlmAnalyzer::build`] makes the handler of both
//! queues, [`provider`] is the model interface, [`analysis`] the prompts, schemas and
//! chunking, [`triage`] the feedback rules.

pub mod analysis;
mod feedback;
mod handler;
pub mod provider;
pub mod triage;

pub use feedback::{delivery_key, Triage, TriageConfig, TriageError, TRIAGE_CONSUMER};
pub use handler::{usable_sections, AnalyzeError, Analyzer, AnalyzerConfig, SERVICE};

use sluice_core::{Answer, Function, FunctionError, InitError, Instance, Trigger};
use sluice_messages::Producer;

/// The function: one model, two consumers, told apart by the queue a batch comes from.
#[derive(Clone)]
pub struct LlmAnalyzer {
    pub analyzer: Analyzer,
    pub triage: Triage,
    /// `FEEDBACK_QUEUE_ARN`: batches from this queue are feedback; all others, analyses.
    pub feedback_queue_arn: String,
}

impl LlmAnalyzer {
    /// The one constructor (Lambda, the local runner, the tests): the model the
    /// configuration names (an OpenAI-compatible endpoint's key is the secret
    /// `LLM_API_KEY`), shared by both consumers.
    pub async fn build(instance: &Instance) -> Result<Self, InitError> {
        let (provider, model) = provider::from_instance(instance).await?;
        let cfg = &instance.cfg;
        let outbox = instance.outbox(Producer::LlmAnalyzer);
        Ok(Self {
            analyzer: Analyzer {
                pool: instance.pool.clone(),
                s3: instance.s3(),
                model: model.clone(),
                config: AnalyzerConfig::load(cfg, &provider)?,
                processor: instance.processor("DEAD_LETTER_QUEUE_URL")?.with_outbox(outbox.clone()),
            },
            triage: Triage {
                pool: instance.pool.clone(),
                dynamodb: aws_sdk_dynamodb::Client::new(&instance.sdk),
                model,
                config: TriageConfig::load(cfg, &provider)?,
                processor: instance.processor("FEEDBACK_DLQ_URL")?.with_outbox(outbox),
            },
            feedback_queue_arn: cfg.required("FEEDBACK_QUEUE_ARN")?,
        })
    }
}

impl Function for LlmAnalyzer {
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        let Trigger::Sqs(batch) = trigger else {
            return Err(FunctionError::Unsupported(trigger.kind().into()));
        };
        let from_feedback = batch
            .records
            .first()
            .and_then(|r| r.event_source_arn.as_deref())
            .is_some_and(|arn| arn == self.feedback_queue_arn);
        Ok(Answer::Batch(if from_feedback {
            self.triage.handle_batch(batch).await
        } else {
            self.analyzer.handle_batch(batch).await
        }))
    }
}
