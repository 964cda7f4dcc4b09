//! Amazon Bedrock through the Converse API (one shape for every Bedrock model).
//! The SDK's own retries are off: [`super::complete_with_retry`] is the one place
//! that retries, so attempts and waits are counted and logged once.

use super::chat::{ChatMessage, ChatReply, ChatRequest, ToolCall};
use super::{Completion, CompletionRequest, LanguageModel, Pricing, ProviderConfig, ProviderError};
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput as ConverseResult, InferenceConfiguration, Message, StopReason,
    SystemContentBlock, Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
    ToolResultStatus, ToolSpecification, ToolUseBlock,
};
use aws_smithy_types::{Document, Number};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;
use sluice_messages::ModelKey;
use std::time::{Duration, Instant};

/// A Bedrock model called through Converse.
#[derive(Debug, Clone)]
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
    key: ModelKey,
    context_tokens: usize,
    pricing: Pricing,
}

impl BedrockModel {
    /// A client from the shared SDK config, pointed at `BEDROCK_ENDPOINT_URL` when set.
    pub fn new(config: &ProviderConfig, sdk: &aws_config::SdkConfig) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(config.timeout().min(Duration::from_secs(10)))
            .operation_attempt_timeout(config.timeout())
            .operation_timeout(config.timeout())
            .build();
        let mut builder = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(url) = config.bedrock_endpoint_url() {
            builder = builder.endpoint_url(url);
        }
        Self {
            client: aws_sdk_bedrockruntime::Client::from_conf(builder.build()),
            model_id: config.model().to_owned(),
            key: config.model_key(),
            context_tokens: config.context_tokens(),
            pricing: config.pricing(),
        }
    }

    async fn converse(&self, request: &CompletionRequest) -> Result<Completion, ProviderError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(request.prompt.clone()))
            .build()
            .map_err(|e| ProviderError::Unsupported(e.to_string()))?;
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
            .temperature(request.temperature)
            .build();
        let mut call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .messages(message)
            .inference_config(inference);
        if !request.system.is_empty() {
            call = call.system(SystemContentBlock::Text(request.system.clone()));
        }
        let started = Instant::now();
        let output = call.send().await.map_err(map_sdk_error)?;
        let latency = started.elapsed();
        self.completion(&output, latency)
    }

    /// A conversation turn with tools: `toolConfig` with each tool's JSON Schema, earlier
    /// calls as `toolUse` blocks of the assistant, their answers as `toolResult` blocks of
    /// the next user message.
    async fn converse_turn(&self, request: &ChatRequest) -> Result<ChatReply, ProviderError> {
        let unsupported = |e: aws_sdk_bedrockruntime::error::BuildError| ProviderError::Unsupported(e.to_string());
        let mut messages: Vec<Message> = Vec::new();
        let mut results: Vec<ContentBlock> = Vec::new();
        let user = |content: Vec<ContentBlock>| {
            Message::builder()
                .role(ConversationRole::User)
                .set_content(Some(content))
                .build()
        };
        for m in &request.messages {
            if let ChatMessage::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } = m
            {
                let block = ToolResultBlock::builder()
                    .tool_use_id(call_id)
                    .content(ToolResultContentBlock::Text(content.clone()))
                    .set_status(is_error.then_some(ToolResultStatus::Error))
                    .build()
                    .map_err(unsupported)?;
                results.push(ContentBlock::ToolResult(block));
                continue;
            }
            if !results.is_empty() {
                messages.push(user(std::mem::take(&mut results)).map_err(unsupported)?);
            }
            let message = match m {
                ChatMessage::User(text) => user(vec![ContentBlock::Text(text.clone())]),
                ChatMessage::Assistant { text, tool_calls } => {
                    let mut content = Vec::new();
                    if !text.is_empty() {
                        content.push(ContentBlock::Text(text.clone()));
                    }
                    for c in tool_calls {
                        let input = serde_json::from_str::<Value>(&c.arguments)
                            .unwrap_or_else(|_| Value::String(c.arguments.clone()));
                        let block = ToolUseBlock::builder()
                            .tool_use_id(&c.id)
                            .name(&c.name)
                            .input(to_document(&input))
                            .build()
                            .map_err(unsupported)?;
                        content.push(ContentBlock::ToolUse(block));
                    }
                    Message::builder()
                        .role(ConversationRole::Assistant)
                        .set_content(Some(content))
                        .build()
                }
                ChatMessage::ToolResult { .. } => continue,
            };
            messages.push(message.map_err(unsupported)?);
        }
        if !results.is_empty() {
            messages.push(user(results).map_err(unsupported)?);
        }
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
            .temperature(request.temperature)
            .build();
        let mut call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .set_messages(Some(messages))
            .inference_config(inference);
        if !request.tools.is_empty() {
            let mut tools = Vec::with_capacity(request.tools.len());
            for t in &request.tools {
                let spec = ToolSpecification::builder()
                    .name(&t.name)
                    .description(&t.description)
                    .input_schema(ToolInputSchema::Json(to_document(&t.parameters)))
                    .build()
                    .map_err(unsupported)?;
                tools.push(Tool::ToolSpec(spec));
            }
            let config = ToolConfiguration::builder()
                .set_tools(Some(tools))
                .build()
                .map_err(unsupported)?;
            call = call.tool_config(config);
        }
        if !request.system.is_empty() {
            call = call.system(SystemContentBlock::Text(request.system.clone()));
        }
        let started = Instant::now();
        let output = call.send().await.map_err(map_sdk_error)?;
        let latency = started.elapsed();
        let Some(ConverseResult::Message(message)) = output.output() else {
            return Err(ProviderError::Malformed("the response carries no message".to_owned()));
        };
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        for block in message.content() {
            match block {
                ContentBlock::Text(t) => text.push_str(t),
                ContentBlock::ToolUse(u) => tool_calls.push(ToolCall {
                    id: u.tool_use_id().to_owned(),
                    name: u.name().to_owned(),
                    arguments: from_document(u.input()).to_string(),
                }),
                _ => {}
            }
        }
        let (input_tokens, output_tokens) = output
            .usage()
            .map(|u| (tokens(u.input_tokens()), tokens(u.output_tokens())))
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

    fn completion(&self, output: &ConverseOutput, latency: Duration) -> Result<Completion, ProviderError> {
        let content = match output.output() {
            Some(ConverseResult::Message(message)) => message
                .content()
                .iter()
                .filter_map(|block| block.as_text().ok())
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(""),
            _ => return Err(ProviderError::Malformed("the response carries no message".to_owned())),
        };
        if *output.stop_reason() == StopReason::MaxTokens {
            tracing::warn!(model = %self.key, "the answer stopped at max_tokens and may be cut short");
        }
        let (input_tokens, output_tokens) = output
            .usage()
            .map(|u| (tokens(u.input_tokens()), tokens(u.output_tokens())))
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
}

/// JSON as a Smithy document (tool schemas and inputs).
fn to_document(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(to_document).collect()),
        Value::Object(o) => Document::Object(o.iter().map(|(k, v)| (k.clone(), to_document(v))).collect()),
    }
}

/// A Smithy document as JSON (a tool call's input).
fn from_document(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(from_document).collect()),
        Document::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), from_document(v))).collect()),
    }
}

fn tokens(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl LanguageModel for BedrockModel {
    fn model(&self) -> &ModelKey {
        &self.key
    }
    fn context_tokens(&self) -> usize {
        self.context_tokens
    }
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        self.converse(request).boxed()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, ProviderError>> {
        self.converse_turn(request).boxed()
    }
}

/// Bedrock's "input too long" family of validation messages.
fn is_context_message(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "too long",
        "too many input tokens",
        "context length",
        "context window",
        "exceeds the maximum",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Sorts the SDK's errors into what the retry loop and the analysis layer need.
fn map_sdk_error(error: SdkError<ConverseError, HttpResponse>) -> ProviderError {
    let raw_status = error.raw_response().map(|r| r.status().as_u16());
    let status = |fallback: u16| raw_status.filter(|s| *s >= 400).unwrap_or(fallback);
    match &error {
        SdkError::TimeoutError(_) => ProviderError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ProviderError::Timeout,
        SdkError::DispatchFailure(_) => ProviderError::Network(DisplayErrorContext(&error).to_string()),
        SdkError::ResponseError(_) => match raw_status {
            Some(429) => ProviderError::Throttled { retry_after: None },
            Some(s) if s >= 500 => ProviderError::Unavailable { status: s },
            _ => ProviderError::Malformed("the response could not be read".to_owned()),
        },
        SdkError::ServiceError(service) => {
            let err = service.err();
            let message = super::sanitise_message(err.message().unwrap_or_default(), None);
            match err {
                ConverseError::ThrottlingException(_) => ProviderError::Throttled { retry_after: None },
                ConverseError::ServiceUnavailableException(_) => ProviderError::Unavailable { status: status(503) },
                ConverseError::InternalServerException(_) => ProviderError::Unavailable { status: status(500) },
                ConverseError::ModelNotReadyException(_) => ProviderError::Unavailable { status: status(429) },
                ConverseError::ModelErrorException(_) => ProviderError::Unavailable { status: status(424) },
                ConverseError::ModelTimeoutException(_) => ProviderError::Timeout,
                ConverseError::ValidationException(_) if is_context_message(&message) => ProviderError::ContextTooLong,
                ConverseError::ValidationException(_) => ProviderError::Refused {
                    status: status(400),
                    message,
                },
                ConverseError::AccessDeniedException(_) => ProviderError::Refused {
                    status: status(403),
                    message,
                },
                ConverseError::ResourceNotFoundException(_) => ProviderError::Refused {
                    status: status(404),
                    message,
                },
                other => {
                    let code = other.code().unwrap_or("unknown error");
                    match raw_status {
                        _ if code.contains("Throttl") => ProviderError::Throttled { retry_after: None },
                        Some(429) => ProviderError::Throttled { retry_after: None },
                        Some(s) if s >= 500 => ProviderError::Unavailable { status: s },
                        _ => ProviderError::Refused {
                            status: status(400),
                            message: format!("{code}: {message}"),
                        },
                    }
                }
            }
        }
        _ => ProviderError::Unsupported(DisplayErrorContext(&error).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_documents_round_trip() {
        let v = serde_json::json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": "d"}});
        assert_eq!(from_document(&to_document(&v)), v);
    }

    #[test]
    fn input_too_long_messages_are_recognised() {
        assert!(is_context_message("Input is too long for requested model."));
        assert!(is_context_message(
            "The model returned the following errors: too many input tokens"
        ));
        assert!(!is_context_message("Malformed input request: temperature must be <= 1"));
    }
}
