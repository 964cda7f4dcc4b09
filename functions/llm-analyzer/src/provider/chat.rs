//! Multi-turn conversations with tools (Ask Sluice's chat), through the same providers
//! as the analyses: OpenAI-compatible `tools` / `tool_calls` and Bedrock Converse
//! `toolConfig` / `toolUse`. A reply is either text, or tool calls the caller runs and
//! answers with [`ChatMessage::ToolResult`]s before asking again. Retries happen in
//! [`chat_with_retry`], with the same loop and backoff as [`super::complete_with_retry`].

use super::{retry_verdict, LanguageModel, ProviderError};
use serde_json::Value;
use sluice_core::retry::Backoff;
use sluice_messages::{ModelKey, Money};
use sluice_vendor_http::with_retry;
use std::time::Duration;

/// A tool the model may call: its name, what it does, and a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// One call the model asked for. `arguments` is the model's text as sent (OpenAI sends a
/// string that may not even be JSON; Bedrock's JSON document is written back as text), so
/// the caller checks it and can tell the model what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatMessage {
    User(String),
    /// What the model said before, with the tool calls it made.
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The answer to one tool call (`is_error`: the call could not be run, and why).
    ToolResult {
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

/// A conversation turn to send: system prompt, messages so far, the tools on offer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    pub temperature: f32,
}

/// The model's reply: text, tool calls, or both; and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub latency: Duration,
    pub cost: Money,
    pub model: ModelKey,
}

/// Calls the model's chat, retrying only retryable errors: the shared loop of
/// [`sluice_vendor_http::with_retry`], as for single-turn completions.
pub async fn chat_with_retry(
    model: &dyn LanguageModel,
    request: &ChatRequest,
    backoff: Backoff,
) -> Result<ChatReply, ProviderError> {
    let what = model.model().to_string();
    with_retry(backoff, &what, |_attempt| model.chat(request), retry_verdict).await
}
