//! Feedback triage: sentiment, category, priority, a one-line summary and the
//! language of one piece of customer feedback. A language model answers through the
//! provider interface (the schema in the prompt, one repair attempt); the offline
//! `extractive` provider triages by rules instead ([`rules`]) and says so.

pub mod prompt;
pub mod rules;
pub mod schema;

pub use schema::{Category, Priority, TriageAnswer};

use crate::provider::{complete_with_retry, extractive, Completion, CompletionRequest, LanguageModel, ProviderError};
use serde::Serialize;
use sluice_core::retry::Backoff;
use sluice_messages::{FeedbackReceived, ModelKey, Money};

/// What triage reads of a `FeedbackReceived`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackItem<'a> {
    pub source: &'a str,
    pub subject: Option<&'a str>,
    pub text: &'a str,
    pub rating: Option<u8>,
    /// What the source reports, if anything.
    pub language: Option<&'a str>,
}

impl<'a> FeedbackItem<'a> {
    pub fn of(message: &'a FeedbackReceived) -> Self {
        Self {
            source: message.source.as_str(),
            subject: message.subject.as_deref(),
            text: &message.text,
            rating: message.rating,
            language: message.language.as_deref(),
        }
    }
}

/// How a triage was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The offline provider: rules, no model.
    Rules,
    /// A language model's answer (after at most one repair).
    Model,
    /// The model's answer missed the schema even after the repair: rules decided.
    RulesAfterUnusableAnswer,
}

/// A triage and how it was made, for the ticket and its processing log.
#[derive(Debug, Clone, PartialEq)]
pub struct Triaged {
    pub answer: TriageAnswer,
    /// `provider:model` that decided (`extractive:v1` when rules did).
    pub model: ModelKey,
    pub method: Method,
    pub note: String,
    /// The rule terms that matched (rule-based triages).
    pub matched: Vec<String>,
    pub model_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: Money,
    pub repaired: bool,
}

/// What the processing log says about a model's triage.
pub const MODEL_NOTE: &str = "Triaged by a language model from the feedback's text; it can misjudge tone or urgency.";

/// Longest answer asked for: the answer is five short fields.
const MAX_ANSWER_TOKENS: u32 = 400;
const TEMPERATURE: f32 = 0.0;

/// Triages one item. Provider errors come back as they are (retryable or not); an
/// answer that misses the schema twice falls back to the rules, recorded as such, so
/// a ticket never waits on a model that will not answer in shape.
pub async fn triage(
    model: &dyn LanguageModel,
    item: &FeedbackItem<'_>,
    backoff: Backoff,
) -> Result<Triaged, ProviderError> {
    if model.is_extractive() {
        return Ok(by_rules(item, Method::Rules, rules::RULES_NOTE.to_owned()));
    }
    let fallback_language = item
        .language
        .and_then(schema::language_tag)
        .unwrap_or_else(|| "und".to_owned());
    let mut calls = Calls::default();
    let first = calls.call(model, prompt::triage(item), backoff).await?;
    let reason = match schema::parse(&first.content, &fallback_language) {
        Ok(answer) => return Ok(calls.into_triaged(answer, model.model().clone(), false)),
        Err(reason) => reason,
    };
    tracing::warn!(model = %model.model(), reason = %reason, "triage answer misses the schema; asking once for a repair");
    let bad: String = first.content.chars().take(4_000).collect();
    let second = calls.call(model, prompt::repair(&bad, &reason), backoff).await?;
    match schema::parse(&second.content, &fallback_language) {
        Ok(answer) => Ok(calls.into_triaged(answer, model.model().clone(), true)),
        Err(again) => {
            tracing::warn!(model = %model.model(), reason = %again, "triage answer unusable after one repair; rules decide");
            let note = format!(
                "{} answered out of schema twice ({again}; first: {reason}); {}",
                model.model(),
                rules::RULES_NOTE
            );
            let mut triaged = by_rules(item, Method::RulesAfterUnusableAnswer, note);
            calls.add_to(&mut triaged);
            Ok(triaged)
        }
    }
}

fn by_rules(item: &FeedbackItem<'_>, method: Method, note: String) -> Triaged {
    let decided = rules::triage(item);
    Triaged {
        answer: decided.answer,
        model: extractive::model_key(),
        method,
        note,
        matched: decided.matched,
        model_calls: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost: Money::ZERO,
        repaired: false,
    }
}

/// The model calls of one triage and what they cost.
#[derive(Debug, Default)]
struct Calls {
    count: u32,
    input_tokens: u64,
    output_tokens: u64,
    cost: Money,
}

impl Calls {
    async fn call(
        &mut self,
        model: &dyn LanguageModel,
        user: String,
        backoff: Backoff,
    ) -> Result<Completion, ProviderError> {
        let request = CompletionRequest {
            system: prompt::system(),
            prompt: user,
            max_tokens: MAX_ANSWER_TOKENS,
            temperature: TEMPERATURE,
            response_schema: Some(schema::schema()),
        };
        let completion = complete_with_retry(model, &request, backoff).await?;
        self.count += 1;
        self.input_tokens += u64::from(completion.input_tokens);
        self.output_tokens += u64::from(completion.output_tokens);
        self.cost = self.cost.checked_add(completion.cost).unwrap_or(self.cost);
        Ok(completion)
    }

    fn add_to(&self, triaged: &mut Triaged) {
        triaged.model_calls = self.count;
        triaged.input_tokens = self.input_tokens;
        triaged.output_tokens = self.output_tokens;
        triaged.cost = self.cost;
    }

    fn into_triaged(self, answer: TriageAnswer, model: ModelKey, repaired: bool) -> Triaged {
        let mut triaged = Triaged {
            answer,
            model,
            method: Method::Model,
            note: MODEL_NOTE.to_owned(),
            matched: Vec::new(),
            model_calls: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost: Money::ZERO,
            repaired,
        };
        self.add_to(&mut triaged);
        triaged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ExtractiveModel;
    use futures::future::BoxFuture;
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A model that answers from a script.
    struct Scripted {
        key: ModelKey,
        answers: Mutex<VecDeque<String>>,
    }

    impl Scripted {
        fn new(answers: &[&str]) -> Self {
            Self {
                key: ModelKey::parse("openai:test-model").unwrap(),
                answers: Mutex::new(answers.iter().map(|a| a.to_string()).collect()),
            }
        }
    }

    impl LanguageModel for Scripted {
        fn model(&self) -> &ModelKey {
            &self.key
        }
        fn context_tokens(&self) -> usize {
            8_192
        }
        fn complete<'a>(&'a self, request: &'a CompletionRequest) -> BoxFuture<'a, Result<Completion, ProviderError>> {
            Box::pin(async move {
                assert_eq!(request.response_schema.as_ref(), Some(&schema::schema()));
                let content = self.answers.lock().unwrap().pop_front().unwrap_or_default();
                Ok(Completion {
                    content,
                    input_tokens: 100,
                    output_tokens: 20,
                    latency: Duration::from_millis(5),
                    cost: Money::from_micros(3),
                    model: self.key.clone(),
                })
            })
        }
    }

    const GOOD: &str = r#"{"sentiment": -0.6, "category": "performance", "priority": "P2", "summary": "Slow reports",
        "language": "en"}"#;

    fn item() -> FeedbackItem<'static> {
        FeedbackItem {
            source: "intercom",
            subject: None,
            text: "Reports take forever to load.",
            rating: None,
            language: Some("en"),
        }
    }

    fn backoff() -> Backoff {
        Backoff {
            max_attempts: 1,
            base: Duration::from_millis(1),
            max: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn the_extractive_provider_triages_by_rules_and_says_so() {
        let t = triage(&ExtractiveModel::new(), &item(), backoff()).await.unwrap();
        assert_eq!((t.method, t.model.as_str()), (Method::Rules, "extractive:v1"));
        assert_eq!(t.answer.category, Category::Performance);
        assert!(t.note.starts_with("Rule-based triage without a language model"));
        assert_eq!(t.model_calls, 0);
    }

    #[tokio::test]
    async fn a_good_answer_is_used_and_a_bad_one_repaired_once() {
        let t = triage(&Scripted::new(&[GOOD]), &item(), backoff()).await.unwrap();
        assert_eq!((t.method, t.repaired, t.model_calls), (Method::Model, false, 1));
        assert_eq!(t.model.as_str(), "openai:test-model");
        assert_eq!(t.answer.summary, "Slow reports");
        let t = triage(&Scripted::new(&["Sure! It is slow.", GOOD]), &item(), backoff())
            .await
            .unwrap();
        assert_eq!((t.method, t.repaired, t.model_calls), (Method::Model, true, 2));
        assert_eq!(t.cost, Money::from_micros(6));
    }

    #[tokio::test]
    async fn twice_unusable_falls_back_to_the_rules() {
        let t = triage(&Scripted::new(&["nope", r#"{"sentiment": 5}"#]), &item(), backoff())
            .await
            .unwrap();
        assert_eq!(t.method, Method::RulesAfterUnusableAnswer);
        assert_eq!(t.model.as_str(), "extractive:v1");
        assert_eq!(t.model_calls, 2);
        assert!(
            t.note.contains("openai:test-model answered out of schema twice"),
            "{}",
            t.note
        );
    }
}
