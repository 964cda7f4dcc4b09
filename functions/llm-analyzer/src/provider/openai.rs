//! Any OpenAI-compatible `POST {base}/chat/completions` endpoint: Ollama, vLLM,
//! llama.cpp's server, OpenAI itself. The key goes in `Authorization: Bearer`, never
//! in the URL, and is scrubbed from any error message the server echoes.

use super::chat::{ChatMessage, ChatReply, ChatRequest, ToolCall};
use super::{ApiKey, BuildError, Completion, CompletionRequest, LanguageModel, Pricing, ProviderConfig, ProviderError};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_core::retry::Backoff;
use sluice_messages::ModelKey;
use sluice_vendor_http::{send_with_retry, SendError, Transient};
use std::convert::Infallible;
use std::time::{Duration, Instant};

/// One attempt per call: [`super::complete_with_retry`] retries every provider's calls,
/// so attempts are counted and logged in one place.
const ONE_ATTEMPT: Backoff = Backoff {
    max_attempts: 1,
    base: Duration::ZERO,
    max: Duration::ZERO,
};

/// A chat model behind an OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiModel {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<ApiKey>,
    key: ModelKey,
    context_tokens: usize,
    pricing: Pricing,
}

#[derive(Debug, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Option<ChoiceMessage>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

/// `{"id", "type": "function", "function": {"name", "arguments"}}`.
#[derive(Debug, Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    /// A string of JSON as the model wrote it (some servers send an object).
    #[serde(default)]
    arguments: Value,
}

#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

impl OpenAiModel {
    pub fn new(config: &ProviderConfig) -> Result<Self, BuildError> {
        let url = match &config.base_url {
            Some(base) => base.join("chat/completions"),
            None => "http://127.0.0.1:11434/v1/chat/completions".to_owned(),
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout().min(Duration::from_secs(10)))
            .build()
            .map_err(|e| BuildError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            url,
            model: config.model().to_owned(),
            api_key: config.api_key().cloned(),
            key: config.model_key(),
            context_tokens: config.context_tokens(),
            pricing: config.pricing(),
        })
    }

    fn body(&self, request: &CompletionRequest) -> Value {
        let mut messages = Vec::with_capacity(2);
        if !request.system.is_empty() {
            messages.push(json!({ "role": "system", "content": request.system }));
        }
        messages.push(json!({ "role": "user", "content": request.prompt }));
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": false,
        });
        if request.response_schema.is_some() {
            body["response_format"] = json!({ "type": "json_object" });
        }
        body
    }

    /// A conversation turn with tools: `tools` as functions, earlier tool calls on the
    /// assistant messages and their answers as `tool` messages.
    fn chat_body(&self, request: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            messages.push(json!({ "role": "system", "content": request.system }));
        }
        for m in &request.messages {
            messages.push(match m {
                ChatMessage::User(text) => json!({ "role": "user", "content": text }),
                ChatMessage::Assistant { text, tool_calls } if tool_calls.is_empty() => {
                    json!({ "role": "assistant", "content": text })
                }
                ChatMessage::Assistant { text, tool_calls } => json!({
                    "role": "assistant",
                    "content": if text.is_empty() { Value::Null } else { json!(text) },
                    "tool_calls": tool_calls.iter().map(|c| json!({
                        "id": c.id, "type": "function",
                        "function": { "name": c.name, "arguments": c.arguments },
                    })).collect::<Vec<_>>(),
                }),
                ChatMessage::ToolResult { call_id, content, .. } => {
                    json!({ "role": "tool", "tool_call_id": call_id, "content": content })
                }
            });
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": false,
        });
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|t| {
                    json!({ "type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters,
                    }})
                })
                .collect();
            body["tool_choice"] = json!("auto");
        }
        body
    }

    async fn chat_turn(&self, request: &ChatRequest) -> Result<ChatReply, ProviderError> {
        let (parsed, latency) = self.post(&self.chat_body(request)).await?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::Malformed("the response has no choices".to_owned()))?;
        let message = choice
            .message
            .ok_or_else(|| ProviderError::Malformed("the first choice has no message".to_owned()))?;
        let tool_calls = message
            .tool_calls
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                name: c.function.name,
                arguments: match c.function.arguments {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                },
            })
            .collect::<Vec<_>>();
        let text = message.content.unwrap_or_default();
        if text.is_empty() && tool_calls.is_empty() {
            return Err(ProviderError::Malformed(
                "the answer has neither content nor tool calls".to_owned(),
            ));
        }
        let (input_tokens, output_tokens) = parsed
            .usage
            .map(|u| (u.prompt_tokens, u.completion_tokens))
            .unwrap_or((0, 0));
        Ok(ChatReply {
            text,
            tool_calls,
            input_tokens,
            output_tokens,
            latency,
            cost: self.pricing.cost(input_tokens.into(), output_tokens.into()),
            model: self.key.clone(),
        })
    }

    /// One POST of `body`, its answer parsed as a chat completion.
    async fn post(&self, body: &Value) -> Result<(ChatResponse, Duration), ProviderError> {
        let started = Instant::now();
        let answer = send_with_retry(
            || {
                let call = self.http.post(&self.url).json(body);
                match &self.api_key {
                    Some(key) => call.bearer_auth(key.expose()),
                    None => call,
                }
            },
            ONE_ATTEMPT,
            None,
            None,
        )
        .await;
        let latency = started.elapsed();
        let text = answer.map_err(|error| self.error_for(error))?;
        let parsed: ChatResponse = serde_json::from_slice(&text)
            .map_err(|e| ProviderError::Malformed(format!("not a chat completion: {e}")))?;
        Ok((parsed, latency))
    }

    async fn complete_once(&self, request: &CompletionRequest) -> Result<Completion, ProviderError> {
        let (parsed, latency) = self.post(&self.body(request)).await?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::Malformed("the response has no choices".to_owned()))?;
        if choice.finish_reason.as_deref() == Some("length") {
            tracing::warn!(model = %self.key, "the answer stopped at max_tokens and may be cut short");
        }
        let content = choice
            .message
            .and_then(|m| m.content)
            .ok_or_else(|| ProviderError::Malformed("the first choice has no message content".to_owned()))?;
        let (input_tokens, output_tokens) = parsed
            .usage
            .map(|u| (u.prompt_tokens, u.completion_tokens))
            .unwrap_or((0, 0));
        Ok(Completion {
            content,
            input_tokens,
            output_tokens,
            latency,
            cost: self.pricing.cost(input_tokens.into(), output_tokens.into()),
            model: self.key.clone(),
        })
    }

    /// The provider's terms for how the attempt failed: 429 is throttling (with its
    /// Retry-After), 503 and other 5xx unavailability, 408 and a silent server a timeout,
    /// a failed connection a network error; a refusal says why, or that the input is too
    /// long, without the key.
    fn error_for(&self, error: SendError<Infallible>) -> ProviderError {
        match error {
            SendError::Exhausted { last, .. } => match last {
                Transient::Throttled {
                    status: 429,
                    retry_after,
                } => ProviderError::Throttled { retry_after },
                Transient::Unavailable { status: 408 } | Transient::Timeout => ProviderError::Timeout,
                Transient::Throttled { status, .. } | Transient::Unavailable { status } => {
                    ProviderError::Unavailable { status }
                }
                Transient::Transport(reason) => ProviderError::Network(reason),
            },
            SendError::Refused { status, body } => {
                let message = error_message(&body);
                if is_context_error(&message) {
                    return ProviderError::ContextTooLong;
                }
                ProviderError::Refused {
                    status,
                    message: super::sanitise_message(&message, self.api_key.as_ref()),
                }
            }
            SendError::TooLarge { limit } => {
                ProviderError::Malformed(format!("the answer is larger than {limit} bytes"))
            }
            SendError::Request(reason) => {
                ProviderError::Unsupported(format!("the request could not be built: {reason}"))
            }
            SendError::BeforeSend(never) => match never {},
        }
    }
}

/// `error.message` of an OpenAI-style error body (Ollama sends `error` as a string).
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| match v.get("error") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(e) => e.get("message").and_then(Value::as_str).map(str::to_owned),
        None => v.get("message").and_then(Value::as_str).map(str::to_owned),
    });
    from_json.unwrap_or_else(|| {
        if body.trim().is_empty() {
            "no error message".to_owned()
        } else {
            body.to_owned()
        }
    })
}

fn is_context_error(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "context length",
        "context_length_exceeded",
        "context window",
        "maximum context",
        "too many tokens",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

impl LanguageModel for OpenAiModel {
    fn model(&self) -> &ModelKey {
        &self.key
    }
    fn context_tokens(&self) -> usize {
        self.context_tokens
    }
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        self.complete_once(request).boxed()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, ProviderError>> {
        self.chat_turn(request).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(r#"{"error":{"message":"bad temperature","type":"invalid_request_error"}}"#),
            "bad temperature"
        );
        assert_eq!(error_message(r#"{"error":"model not found"}"#), "model not found");
        assert_eq!(error_message("plain text"), "plain text");
        assert_eq!(error_message(""), "no error message");
        assert!(is_context_error(
            "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
        ));
        assert!(!is_context_error("Incorrect API key provided"));
    }
}
