//! Analyses of a filing's sections: which sections feed each kind, the prompts,
//! chunking to the model's context, one repair attempt for answers that miss the
//! schema, and the merge of partial analyses. The extractive analyser takes its own
//! path (no model, no prompts) but produces the same bodies.

pub mod body;
pub mod chunk;
pub mod prompt;
pub mod section;

pub use body::{
    extract_json_object, schema, AnalysisBody, KeyFigure, MdnaBody, Provenance, Risk, RiskCategory, RiskFactorsBody,
    Severity, SummaryBody, EXTRACTIVE_NOTE, MODEL_NOTE,
};
pub use chunk::{estimate_tokens, plan_chunks, Chunk};
pub use section::{sections_for, select_sections, SectionInput};

use crate::provider::{complete_with_retry, extractive, Completion, CompletionRequest, LanguageModel, ProviderError};
use sluice_core::retry::Backoff;
use sluice_messages::{AnalysisKind, FilingType, ModelKey, Money};
use std::time::{Duration, Instant};

/// A finished analysis and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOutput {
    /// The kind's body with its `provenance`.
    pub body: serde_json::Value,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Money,
    /// Time spent waiting for the model (sum over calls).
    pub latency: Duration,
    /// Billed model calls: chunks, merges and repairs (retries of a failed call are not counted).
    pub model_calls: u32,
    pub model: ModelKey,
    pub extractive: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The filing has none of the sections this kind needs: permanent.
    #[error("no usable sections: {0}")]
    NoUsableSections(String),
    /// The answer did not match the schema after one repair attempt: permanent.
    #[error("the model's answer does not match the schema: {0}")]
    SchemaMismatch(String),
    /// Retryable or not per [`ProviderError::is_retryable`].
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl AnalysisError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Provider(e) if e.is_retryable())
    }
}

/// Upper bound of an answer's tokens per kind (risk lists run longer).
fn answer_tokens(kind: AnalysisKind, context_tokens: usize) -> u32 {
    let wanted: u32 = match kind {
        AnalysisKind::Summary => 1_500,
        AnalysisKind::RiskFactors => 2_500,
        AnalysisKind::Mdna => 1_500,
    };
    wanted.min(u32::try_from(context_tokens / 4).unwrap_or(u32::MAX))
}

/// The smallest chunk worth a call; below it the context is misconfigured.
const MIN_CHUNK_TOKENS: usize = 200;
/// Room for the part line and rounding.
const PROMPT_SLACK_TOKENS: usize = 64;
const TEMPERATURE: f32 = 0.1;

/// Analyses the filing's sections for `kind`: one call when the text fits the
/// model's context, otherwise one call per chunk and merge calls over the parts.
pub async fn analyse(
    model: &dyn LanguageModel,
    kind: AnalysisKind,
    company: &str,
    form: FilingType,
    sections: &[SectionInput],
    backoff: Backoff,
) -> Result<AnalysisOutput, AnalysisError> {
    let selected = select_sections(kind, form, sections);
    if selected.is_empty() {
        let wanted = sections_for(kind, form).join(", ");
        return Err(AnalysisError::NoUsableSections(format!(
            "{kind} of a {form} needs item(s) {wanted}, and the filing has none with text"
        )));
    }
    if model.is_extractive() {
        let started = Instant::now();
        let body = extractive::analyse(kind, company, form, &selected);
        return Ok(AnalysisOutput {
            body: body.to_value(),
            input_tokens: 0,
            output_tokens: 0,
            cost: Money::ZERO,
            latency: started.elapsed(),
            model_calls: 0,
            model: model.model().clone(),
            extractive: true,
        });
    }
    let mut run = Run {
        model,
        kind,
        company,
        form,
        backoff,
        system: prompt::system(kind),
        max_tokens: answer_tokens(kind, model.context_tokens()),
        budget: 0,
        totals: Totals::default(),
    };
    run.budget = run.text_budget(&selected)?;
    let budget = run.budget;
    let chunks = plan_chunks(&selected, budget);
    let section_names: Vec<String> = selected
        .iter()
        .map(|s| chunk::section_header(s, false).trim_start_matches("## ").to_owned())
        .collect();
    let mut partials = Vec::with_capacity(chunks.len());
    for (index, chunk) in chunks.iter().enumerate() {
        let part = prompt::Part {
            index,
            of: chunks.len(),
        };
        let user = prompt::analysis(kind, company, form, &section_names, Some(part), &chunk.text);
        partials.push(run.call_for_body(user).await?);
    }
    let mut body = run.merge_all(partials).await?;
    let chunk_count = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
    body.set_provenance(Some(Provenance {
        model: model.model().clone(),
        extractive: false,
        note: MODEL_NOTE.to_owned(),
        sections: selected.iter().map(|s| s.item.trim().to_owned()).collect(),
        chunks: chunk_count,
        prompt_version: kind.prompt_version(),
    }));
    tracing::info!(
        model = %model.model(),
        kind = %kind,
        chunks = chunk_count,
        model_calls = run.totals.calls,
        input_tokens = run.totals.input_tokens,
        output_tokens = run.totals.output_tokens,
        cost_micros = run.totals.cost.micros(),
        "analysis complete"
    );
    Ok(AnalysisOutput {
        body: body.to_value(),
        input_tokens: run.totals.input_tokens,
        output_tokens: run.totals.output_tokens,
        cost: run.totals.cost,
        latency: run.totals.latency,
        model_calls: run.totals.calls,
        model: model.model().clone(),
        extractive: false,
    })
}

#[derive(Debug, Default)]
struct Totals {
    input_tokens: u64,
    output_tokens: u64,
    cost: Money,
    latency: Duration,
    calls: u32,
}

impl Totals {
    fn add(&mut self, c: &Completion) {
        self.input_tokens += u64::from(c.input_tokens);
        self.output_tokens += u64::from(c.output_tokens);
        self.cost = self.cost.checked_add(c.cost).unwrap_or(self.cost);
        self.latency += c.latency;
        self.calls += 1;
    }
}

/// One analysis in progress: what every call shares, and the running totals.
struct Run<'a> {
    model: &'a dyn LanguageModel,
    kind: AnalysisKind,
    company: &'a str,
    form: FilingType,
    backoff: Backoff,
    system: String,
    max_tokens: u32,
    /// Tokens of text (filing, partial analyses, a bad answer) one prompt may carry.
    budget: usize,
    totals: Totals,
}

impl Run<'_> {
    /// Tokens of filing text (or partial analyses) one prompt can carry: the
    /// context less the answer, a 10% margin for the estimate, and the prompt itself.
    fn text_budget(&self, selected: &[&SectionInput]) -> Result<usize, AnalysisError> {
        let names: Vec<String> = selected.iter().map(|s| chunk::section_header(s, false)).collect();
        let overhead = estimate_tokens(&self.system)
            + estimate_tokens(&prompt::analysis(self.kind, self.company, self.form, &names, None, ""))
            + PROMPT_SLACK_TOKENS;
        let usable = self.model.context_tokens().saturating_sub(self.max_tokens as usize) / 10 * 9;
        let budget = usable.saturating_sub(overhead);
        if budget < MIN_CHUNK_TOKENS {
            tracing::error!(
                model = %self.model.model(),
                context_tokens = self.model.context_tokens(),
                overhead,
                "the model's context cannot hold the prompt and any filing text"
            );
            return Err(AnalysisError::Provider(ProviderError::ContextTooLong));
        }
        Ok(budget)
    }

    async fn call(&mut self, user: String) -> Result<Completion, AnalysisError> {
        let request = CompletionRequest {
            system: self.system.clone(),
            prompt: user,
            max_tokens: self.max_tokens,
            temperature: TEMPERATURE,
            response_schema: Some(schema(self.kind)),
        };
        let completion = complete_with_retry(self.model, &request, self.backoff).await?;
        self.totals.add(&completion);
        Ok(completion)
    }

    /// One call, and one repair call when the answer misses the schema.
    async fn call_for_body(&mut self, user: String) -> Result<AnalysisBody, AnalysisError> {
        let first = self.call(user).await?;
        let reason = match AnalysisBody::parse(self.kind, &first.content) {
            Ok(body) => return Ok(body),
            Err(reason) => reason,
        };
        tracing::warn!(model = %self.model.model(), kind = %self.kind, reason = %reason, "answer misses the schema; asking once for a repair");
        let bad: String = first.content.chars().take(self.budget.saturating_mul(4)).collect();
        let second = self.call(prompt::repair(self.kind, &bad, &reason)).await?;
        AnalysisBody::parse(self.kind, &second.content).map_err(|again| {
            AnalysisError::SchemaMismatch(format!("{again} (after one repair attempt; first: {reason})"))
        })
    }

    /// Merges partial analyses into one, in rounds when they do not fit one prompt.
    async fn merge_all(&mut self, mut parts: Vec<AnalysisBody>) -> Result<AnalysisBody, AnalysisError> {
        while parts.len() > 1 {
            let mut next = Vec::new();
            let mut group: Vec<String> = Vec::new();
            let mut group_tokens = 0;
            let mut pending = parts.into_iter().map(|p| p.to_answer_json()).peekable();
            while let Some(json) = pending.next() {
                let tokens = estimate_tokens(&json) + 8;
                if group.len() >= 2 && group_tokens + tokens > self.budget {
                    next.push(self.merge_group(std::mem::take(&mut group)).await?);
                    group_tokens = 0;
                }
                group.push(json);
                group_tokens += tokens;
                if pending.peek().is_none() {
                    if group.len() >= 2 {
                        next.push(self.merge_group(std::mem::take(&mut group)).await?);
                    } else if let Some(last) = group.pop() {
                        // A lone leftover joins the next round as it is.
                        next.push(AnalysisBody::parse(self.kind, &last).map_err(AnalysisError::SchemaMismatch)?);
                    }
                }
            }
            parts = next;
        }
        parts
            .pop()
            .ok_or_else(|| AnalysisError::NoUsableSections("the filing's sections hold no text".to_owned()))
    }

    async fn merge_group(&mut self, group: Vec<String>) -> Result<AnalysisBody, AnalysisError> {
        let user = prompt::merge(self.kind, self.company, self.form, &group);
        self.call_for_body(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_leave_room_for_the_prompt() {
        assert_eq!(answer_tokens(AnalysisKind::RiskFactors, 300_000), 2_500);
        assert_eq!(answer_tokens(AnalysisKind::Summary, 2_000), 500);
    }

    #[test]
    fn only_provider_errors_can_be_retried() {
        assert!(AnalysisError::Provider(ProviderError::Timeout).is_retryable());
        assert!(!AnalysisError::Provider(ProviderError::ContextTooLong).is_retryable());
        assert!(!AnalysisError::SchemaMismatch("x".into()).is_retryable());
        assert!(!AnalysisError::NoUsableSections("x".into()).is_retryable());
    }
}
