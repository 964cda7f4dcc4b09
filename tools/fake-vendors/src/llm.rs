//! A fake model endpoint speaking two real wire formats:
//!
//! - Amazon Bedrock Converse: `POST /model/{modelId}/converse` (what
//!   `aws-sdk-bedrockruntime` sends when its endpoint URL is this server), with
//!   Bedrock's error shapes (`x-amzn-ErrorType` header, `{"message": ...}` body).
//! - Embeddings (OpenAI `/v1/embeddings`, Bedrock `InvokeModel` for Titan v2): see
//!   [`crate::embeddings`].
//! - OpenAI chat completions: `POST /v1/chat/completions` (also without `/v1`), the
//!   shape Ollama, vLLM and OpenAI share, with OpenAI's `{"error": {...}}` bodies.
//!
//! By default it answers with a valid instance of the JSON Schema the prompt embeds
//! (the last ```json fence after `JSON Schema:`), built deterministically from the
//! prompt's words, so any schema-bearing call (a merge or a repair included) gets a
//! usable answer. Token counts are characters / 4. Scripted replies, throttling,
//! failures and stalls can be queued; every request is recorded (in memory only:
//! nothing about prompts or credentials is logged).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What the prompt marks the embedded schema with (the analysis layer's marker).
pub const SCHEMA_MARKER: &str = "JSON Schema:";

#[derive(Debug, Clone, Default)]
pub struct FakeLlmConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// When set, a request whose input tokens plus its max tokens exceed this is
    /// refused the way each API refuses an over-long input.
    pub context_tokens: Option<usize>,
    /// When set, OpenAI-style requests must carry `Authorization: Bearer <this>`.
    pub api_key: Option<String>,
}

impl FakeLlmConfig {
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    pub fn with_context_tokens(mut self, tokens: usize) -> Self {
        self.context_tokens = Some(tokens);
        self
    }
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// Which API a request came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LlmRoute {
    BedrockConverse,
    OpenAiChat,
}

/// The kind of credentials a request carried (never their value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSeen {
    None,
    Bearer,
    SigV4,
    Other,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    pub route: LlmRoute,
    pub model: String,
    pub system: String,
    /// The text of the conversation's messages, joined.
    pub prompt: String,
    pub system_chars: usize,
    pub prompt_chars: usize,
    /// (system + messages characters) / 4, rounded up.
    pub input_tokens: usize,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    /// OpenAI `response_format: {"type": "json_object"}` was asked for.
    pub json_mode: bool,
    /// The names of the tools offered (OpenAI `tools`, Bedrock `toolConfig`).
    pub tools: Vec<String>,
    /// The text of each tool result the conversation carries (OpenAI `tool` messages,
    /// Bedrock `toolResult` blocks), with `error: ` before those marked as errors (Bedrock).
    pub tool_results: Vec<String>,
    pub auth: AuthSeen,
    /// The status the fake answered with.
    pub status: u16,
}

/// A reply queued for the next request (whichever route it comes through).
#[derive(Debug, Clone, PartialEq)]
pub enum Scripted {
    /// A 200 whose answer text is exactly this.
    Answer(String),
    /// Throttling: Bedrock's ThrottlingException, or OpenAI's 429 with `retry-after`.
    Throttle { retry_after: Option<Duration> },
    /// An error status in the route's own error shape (400 ValidationException, 503, ...).
    Status { status: u16, message: Option<String> },
    /// Waits this long, then answers as usual (to exercise client timeouts).
    Stall(Duration),
    /// A call of the tool `name` with `arguments` (the raw text: OpenAI's `arguments`
    /// string as is; for Bedrock the JSON it parses to, or the text as a JSON string
    /// when it does not parse), in the route's own tool-call shape.
    ToolCall { name: String, arguments: String },
}

#[derive(Debug, Default)]
struct Controls {
    queue: VecDeque<Scripted>,
    /// Every request answers this status until healed.
    failing: Option<u16>,
}

#[derive(Debug, Default)]
struct Log {
    requests: Vec<LlmRequest>,
}

/// What the fake saw, and the switches that change what it answers. Cheap to clone.
#[derive(Clone, Default)]
pub struct LlmStats {
    log: Arc<Mutex<Log>>,
    controls: Arc<Mutex<Controls>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LlmStats {
    /// Every request (answered, throttled or failed).
    pub fn calls(&self) -> usize {
        lock(&self.log).requests.len()
    }
    pub fn calls_to(&self, route: LlmRoute) -> usize {
        lock(&self.log).requests.iter().filter(|r| r.route == route).count()
    }
    pub fn calls_for_model(&self, model: &str) -> usize {
        lock(&self.log).requests.iter().filter(|r| r.model == model).count()
    }
    /// Requests answered 200.
    pub fn answered(&self) -> usize {
        lock(&self.log).requests.iter().filter(|r| r.status == 200).count()
    }
    /// Requests answered 429.
    pub fn throttled(&self) -> usize {
        lock(&self.log).requests.iter().filter(|r| r.status == 429).count()
    }
    pub fn requests(&self) -> Vec<LlmRequest> {
        lock(&self.log).requests.clone()
    }
    pub fn last_request(&self) -> Option<LlmRequest> {
        lock(&self.log).requests.last().cloned()
    }
    /// The largest input (in estimated tokens) any request carried.
    pub fn max_input_tokens(&self) -> usize {
        lock(&self.log)
            .requests
            .iter()
            .map(|r| r.input_tokens)
            .max()
            .unwrap_or(0)
    }
    /// How many requests carried a bearer token.
    pub fn bearer_requests(&self) -> usize {
        lock(&self.log)
            .requests
            .iter()
            .filter(|r| r.auth == AuthSeen::Bearer)
            .count()
    }
    /// Forgets the request log (not the switches).
    pub fn reset(&self) {
        lock(&self.log).requests.clear();
    }

    /// Queues replies for the next requests, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Scripted>) {
        lock(&self.controls).queue.extend(replies);
    }
    /// The next `n` requests are throttled.
    pub fn throttle_next(&self, n: usize, retry_after: Option<Duration>) {
        self.script(std::iter::repeat_n(Scripted::Throttle { retry_after }, n));
    }
    /// The next `n` requests answer `status` (500, 503, 400, ...).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.script(std::iter::repeat_n(Scripted::Status { status, message: None }, n));
    }
    /// The next request's answer text is exactly `text` (e.g. invalid JSON).
    pub fn answer_next(&self, text: impl Into<String>) {
        self.script([Scripted::Answer(text.into())]);
    }
    /// Every request answers `status` until [`LlmStats::heal`].
    pub fn fail_always(&self, status: u16) {
        lock(&self.controls).failing = Some(status);
    }
    /// Stops [`LlmStats::fail_always`] and drops queued replies.
    pub fn heal(&self) {
        let mut c = lock(&self.controls);
        c.failing = None;
        c.queue.clear();
    }

    fn next_reply(&self) -> Option<Scripted> {
        let mut c = lock(&self.controls);
        match c.failing {
            Some(status) => Some(Scripted::Status { status, message: None }),
            None => c.queue.pop_front(),
        }
    }

    fn record(&self, request: LlmRequest) {
        lock(&self.log).requests.push(request);
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeLlm {
    /// `http://127.0.0.1:<port>`: Bedrock's endpoint URL.
    pub base_url: String,
    pub stats: LlmStats,
    server: crate::Server,
}

impl FakeLlm {
    /// `http://127.0.0.1:<port>/v1`: the base URL of the OpenAI-compatible API.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    pub fn shutdown(&mut self) {
        self.server.shutdown();
    }
}

#[derive(Clone)]
struct AppState {
    config: Arc<FakeLlmConfig>,
    stats: LlmStats,
}

/// Starts the fake on 127.0.0.1 (a free port unless the config names one).
pub async fn start(config: FakeLlmConfig) -> std::io::Result<FakeLlm> {
    let port = config.port;
    let stats = LlmStats::default();
    let state = AppState {
        config: Arc::new(config),
        stats: stats.clone(),
    };
    let app = Router::new()
        .route("/model/{model_id}/converse", post(converse))
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/v1/embeddings", post(crate::embeddings::openai_embeddings))
        .route("/embeddings", post(crate::embeddings::openai_embeddings))
        .route("/model/{model_id}/invoke", post(crate::embeddings::bedrock_invoke))
        .with_state(state);
    let server = crate::Server::serve(port, app, "fake model").await?;
    Ok(FakeLlm {
        base_url: server.base_url.clone(),
        stats,
        server,
    })
}

fn auth_seen(headers: &HeaderMap) -> (AuthSeen, Option<String>) {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None => (AuthSeen::None, None),
        Some(v) if v.starts_with("AWS4-HMAC-SHA256") => (AuthSeen::SigV4, None),
        Some(v) => match v.strip_prefix("Bearer ") {
            Some(token) => (AuthSeen::Bearer, Some(token.trim().to_owned())),
            None => (AuthSeen::Other, None),
        },
    }
}

fn tokens(chars: usize) -> usize {
    chars.div_ceil(4)
}

/// What both routes share once the request is parsed.
struct Parsed {
    model: String,
    system: String,
    prompt: String,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    json_mode: bool,
    tools: Vec<String>,
    tool_results: Vec<String>,
}

impl Parsed {
    fn empty(model: String) -> Self {
        Self {
            model,
            system: String::new(),
            prompt: String::new(),
            max_tokens: None,
            temperature: None,
            json_mode: false,
            tools: Vec::new(),
            tool_results: Vec::new(),
        }
    }

    fn record(&self, route: LlmRoute, auth: AuthSeen, status: u16) -> LlmRequest {
        let system_chars = self.system.chars().count();
        let prompt_chars = self.prompt.chars().count();
        LlmRequest {
            route,
            model: self.model.clone(),
            system: self.system.clone(),
            prompt: self.prompt.clone(),
            system_chars,
            prompt_chars,
            input_tokens: tokens(system_chars + prompt_chars),
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            json_mode: self.json_mode,
            tools: self.tools.clone(),
            tool_results: self.tool_results.clone(),
            auth,
            status,
        }
    }

    fn over_context(&self, context: Option<usize>) -> Option<(usize, usize)> {
        let context = context?;
        let input = tokens(self.system.chars().count() + self.prompt.chars().count());
        let wanted = input + usize::try_from(self.max_tokens.unwrap_or(0)).unwrap_or(usize::MAX);
        (wanted > context).then_some((input, context))
    }
}

/// Text of a Bedrock content list (`[{"text": ...}, ...]`) or an OpenAI content
/// (a string, or a list of `{"type": "text", "text": ...}` parts).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn parse_converse(model: String, body: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("Malformed input request: {e}"))?;
    let messages = v
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("Malformed input request: messages must be a non-empty list")?;
    let mut texts = Vec::new();
    let mut tool_results = Vec::new();
    for m in messages {
        match m.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            _ => return Err("Malformed input request: each message needs role user or assistant".to_owned()),
        }
        let content = m.get("content").unwrap_or(&Value::Null);
        texts.push(content_text(content));
        for block in content.as_array().into_iter().flatten() {
            if let Some(result) = block.get("toolResult") {
                let text = content_text(result.get("content").unwrap_or(&Value::Null));
                let error = result.get("status").and_then(Value::as_str) == Some("error");
                tool_results.push(if error { format!("error: {text}") } else { text });
            }
        }
    }
    let tools = v
        .pointer("/toolConfig/tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/toolSpec/name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let system = v.get("system").map(content_text).unwrap_or_default();
    let inference = v.get("inferenceConfig");
    Ok(Parsed {
        model,
        system,
        prompt: texts.join("\n"),
        max_tokens: inference.and_then(|i| i.get("maxTokens")).and_then(Value::as_u64),
        temperature: inference.and_then(|i| i.get("temperature")).and_then(Value::as_f64),
        json_mode: false,
        tools,
        tool_results,
    })
}

fn parse_chat(body: &[u8]) -> Result<Parsed, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("We could not parse the JSON body of your request: {e}"))?;
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?
        .to_owned();
    let messages = v
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("'messages' must be a non-empty array")?;
    let (mut system, mut texts, mut tool_results) = (Vec::new(), Vec::new(), Vec::new());
    for m in messages {
        let text = content_text(m.get("content").unwrap_or(&Value::Null));
        match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => system.push(text),
            Some("user" | "assistant") => texts.push(text),
            Some("tool") if m.get("tool_call_id").and_then(Value::as_str).is_some() => tool_results.push(text),
            Some("tool") => return Err("a tool message needs its tool_call_id".to_owned()),
            _ => return Err("each message needs a role of system, user, assistant or tool".to_owned()),
        }
    }
    let tools = v
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Ok(Parsed {
        model,
        system: system.join("\n"),
        prompt: texts.join("\n"),
        max_tokens: v
            .get("max_tokens")
            .or_else(|| v.get("max_completion_tokens"))
            .and_then(Value::as_u64),
        temperature: v.get("temperature").and_then(Value::as_f64),
        json_mode: v.pointer("/response_format/type").and_then(Value::as_str) == Some("json_object"),
        tools,
        tool_results,
    })
}

fn bedrock_error(status: u16, message: Option<&str>) -> Response {
    let (kind, namespace, default) = match status {
        429 => (
            "ThrottlingException",
            "availability",
            "Too many requests, please wait before trying again.",
        ),
        503 => (
            "ServiceUnavailableException",
            "availability",
            "Bedrock is unable to process your request.",
        ),
        403 => (
            "AccessDeniedException",
            "service",
            "You don't have access to the model with the specified model ID.",
        ),
        404 => (
            "ResourceNotFoundException",
            "service",
            "The specified model was not found.",
        ),
        400..=499 => ("ValidationException", "validate", "The provided request is not valid."),
        _ => (
            "InternalServerException",
            "service",
            "The server encountered an internal error.",
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(json!({ "message": message.unwrap_or(default) }))).into_response();
    let error_type = format!("{kind}:http://internal.amazon.com/coral/com.amazon.coral.{namespace}/");
    if let Ok(v) = HeaderValue::from_str(&error_type) {
        response.headers_mut().insert("x-amzn-ErrorType", v);
    }
    response
}

fn openai_error(status: u16, message: Option<&str>, retry_after: Option<Duration>) -> Response {
    let (kind, code, default) = match status {
        429 => (
            "rate_limit_error",
            Value::from("rate_limit_exceeded"),
            "Rate limit reached",
        ),
        401 => (
            "invalid_request_error",
            Value::from("invalid_api_key"),
            "Incorrect API key provided.",
        ),
        404 => (
            "invalid_request_error",
            Value::from("model_not_found"),
            "The model does not exist.",
        ),
        503 => (
            "server_error",
            Value::Null,
            "The engine is currently overloaded, please try again later.",
        ),
        500..=599 => (
            "server_error",
            Value::Null,
            "The server had an error while processing your request.",
        ),
        _ => ("invalid_request_error", Value::Null, "Invalid request."),
    };
    let body = json!({ "error": { "message": message.unwrap_or(default), "type": kind, "param": null, "code": code } });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    if let Some(wait) = retry_after {
        let secs = wait.as_secs_f64();
        let text = if secs.fract() == 0.0 {
            format!("{}", wait.as_secs())
        } else {
            format!("{secs:.3}")
        };
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().insert("retry-after", v);
        }
    }
    response
}

/// The reply both routes agree on before shaping it: an answer or an error.
enum Outcome {
    Answer(String),
    Error {
        status: u16,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// The input plus the answer's room exceed the configured context.
    TooLong {
        input: usize,
        context: usize,
    },
    ToolCall {
        name: String,
        arguments: String,
    },
}

/// Scripted replies first, then the context check, then the default answer.
async fn decide(state: &AppState, parsed: &Parsed) -> Outcome {
    let mut reply = state.stats.next_reply();
    if let Some(Scripted::Stall(wait)) = reply {
        tokio::time::sleep(wait).await;
        reply = None;
    }
    match reply {
        Some(Scripted::Answer(text)) => Outcome::Answer(text),
        Some(Scripted::ToolCall { name, arguments }) => Outcome::ToolCall { name, arguments },
        Some(Scripted::Throttle { retry_after }) => Outcome::Error {
            status: 429,
            message: None,
            retry_after,
        },
        Some(Scripted::Status { status, message }) => Outcome::Error {
            status,
            message,
            retry_after: None,
        },
        Some(Scripted::Stall(_)) | None => match parsed.over_context(state.config.context_tokens) {
            Some((input, context)) => Outcome::TooLong { input, context },
            None => Outcome::Answer(default_answer(&parsed.system, &parsed.prompt)),
        },
    }
}

async fn converse(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (auth, _) = auth_seen(&headers);
    let parsed = match parse_converse(model_id.clone(), &body) {
        Ok(p) => p,
        Err(message) => {
            let empty = Parsed::empty(model_id);
            state.stats.record(empty.record(LlmRoute::BedrockConverse, auth, 400));
            return bedrock_error(400, Some(&message));
        }
    };
    match decide(&state, &parsed).await {
        Outcome::Error { status, message, .. } => {
            state
                .stats
                .record(parsed.record(LlmRoute::BedrockConverse, auth, status));
            bedrock_error(status, message.as_deref())
        }
        Outcome::TooLong { .. } => {
            state.stats.record(parsed.record(LlmRoute::BedrockConverse, auth, 400));
            bedrock_error(400, Some("Input is too long for requested model."))
        }
        Outcome::ToolCall { name, arguments } => {
            let request = parsed.record(LlmRoute::BedrockConverse, auth, 200);
            let input_tokens = request.input_tokens;
            let n = state.stats.calls() + 1;
            state.stats.record(request);
            let input = serde_json::from_str::<Value>(&arguments).unwrap_or(Value::String(arguments));
            Json(json!({
                "output": { "message": { "role": "assistant", "content": [
                    { "toolUse": { "toolUseId": format!("tooluse_fake_{n}"), "name": name, "input": input } }
                ] } },
                "stopReason": "tool_use",
                "usage": { "inputTokens": input_tokens, "outputTokens": 20, "totalTokens": input_tokens + 20 },
                "metrics": { "latencyMs": 20 },
            }))
            .into_response()
        }
        Outcome::Answer(text) => {
            let request = parsed.record(LlmRoute::BedrockConverse, auth, 200);
            let output_tokens = tokens(text.chars().count());
            let input_tokens = request.input_tokens;
            state.stats.record(request);
            let mut response = Json(json!({
                "output": { "message": { "role": "assistant", "content": [{ "text": text }] } },
                "stopReason": "end_turn",
                "usage": {
                    "inputTokens": input_tokens,
                    "outputTokens": output_tokens,
                    "totalTokens": input_tokens + output_tokens,
                },
                "metrics": { "latencyMs": 20 + output_tokens / 10 },
            }))
            .into_response();
            response.headers_mut().insert(
                "x-amzn-RequestId",
                HeaderValue::from_static("00000000-0000-4000-8000-fa4e11111111"),
            );
            response
        }
    }
}

async fn chat(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (auth, token) = auth_seen(&headers);
    let parsed = match parse_chat(&body) {
        Ok(p) => p,
        Err(message) => {
            let empty = Parsed::empty(String::new());
            state.stats.record(empty.record(LlmRoute::OpenAiChat, auth, 400));
            return openai_error(400, Some(&message), None);
        }
    };
    if let Some(expected) = &state.config.api_key {
        if token.as_deref() != Some(expected.as_str()) {
            state.stats.record(parsed.record(LlmRoute::OpenAiChat, auth, 401));
            return openai_error(401, None, None);
        }
    }
    match decide(&state, &parsed).await {
        Outcome::Error {
            status,
            message,
            retry_after,
        } => {
            state.stats.record(parsed.record(LlmRoute::OpenAiChat, auth, status));
            openai_error(status, message.as_deref(), retry_after)
        }
        Outcome::TooLong { input, context } => {
            state.stats.record(parsed.record(LlmRoute::OpenAiChat, auth, 400));
            let completion = parsed.max_tokens.unwrap_or(0);
            let message = format!(
                "This model's maximum context length is {context} tokens. However, you requested {} tokens ({input} \
                 in the messages, {completion} in the completion). Please reduce the length of the messages or \
                 completion.",
                input as u64 + completion
            );
            let body = json!({ "error": {
                "message": message, "type": "invalid_request_error", "param": "messages",
                "code": "context_length_exceeded"
            }});
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        Outcome::ToolCall { name, arguments } => {
            let request = parsed.record(LlmRoute::OpenAiChat, auth, 200);
            let n = state.stats.calls() + 1;
            let prompt_tokens = request.input_tokens;
            let model = request.model.clone();
            state.stats.record(request);
            Json(json!({
                "id": format!("chatcmpl-fake-{n}"),
                "object": "chat.completion",
                "created": chrono::Utc::now().timestamp(),
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": null, "tool_calls": [{
                        "id": format!("call_fake_{n}"), "type": "function",
                        "function": { "name": name, "arguments": arguments },
                    }] },
                    "logprobs": null,
                    "finish_reason": "tool_calls",
                }],
                "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": 20, "total_tokens": prompt_tokens + 20 },
            }))
            .into_response()
        }
        Outcome::Answer(text) => {
            let request = parsed.record(LlmRoute::OpenAiChat, auth, 200);
            let n = state.stats.calls() + 1;
            let completion_tokens = tokens(text.chars().count());
            let prompt_tokens = request.input_tokens;
            let model = request.model.clone();
            state.stats.record(request);
            Json(json!({
                "id": format!("chatcmpl-fake-{n}"),
                "object": "chat.completion",
                "created": chrono::Utc::now().timestamp(),
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": text },
                    "logprobs": null,
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "system_fingerprint": "fp_fake",
            }))
            .into_response()
        }
    }
}

async fn models() -> Response {
    Json(json!({ "object": "list", "data": [{ "id": "fake-model", "object": "model", "owned_by": "sluice-fakes" }] }))
        .into_response()
}

/// The schema fenced after the last [`SCHEMA_MARKER`] in `text`, if any.
pub fn embedded_schema(text: &str) -> Option<(usize, Value)> {
    let marker = text.rfind(SCHEMA_MARKER)?;
    let after = &text[marker..];
    let open = after.find("```json")? + "```json".len();
    let close = after[open..].find("```")? + open;
    let schema = serde_json::from_str(after[open..close].trim()).ok()?;
    Some((marker, schema))
}

/// A valid answer to a schema-bearing prompt, or a short plain reply otherwise.
pub fn default_answer(system: &str, prompt: &str) -> String {
    let found = embedded_schema(prompt)
        .map(|(at, schema)| (&prompt[..at], schema))
        .or_else(|| embedded_schema(system).map(|(_, schema)| (prompt, schema)));
    match found {
        Some((text, schema)) => {
            let mut generator = Generator::new(text);
            generator.value(&schema, "answer").to_string()
        }
        None => {
            let words: Vec<String> = prompt_words(prompt).into_iter().take(12).collect();
            format!("This is a fake model's answer about: {}.", words.join(" "))
        }
    }
}

fn prompt_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && w.chars().all(char::is_alphabetic))
        .map(str::to_owned)
        .collect()
}

/// Builds a deterministic instance of a JSON Schema: every property, arrays of two
/// (within minItems/maxItems), the first enum value, strings from the prompt's words.
pub struct Generator {
    words: Vec<String>,
    cursor: usize,
}

impl Generator {
    pub fn new(text: &str) -> Self {
        let mut words = prompt_words(text);
        if words.is_empty() {
            words = ["fake", "model", "answer", "text"].map(str::to_owned).to_vec();
        }
        Self { words, cursor: 0 }
    }

    fn phrase(&mut self, count: usize) -> String {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(self.words[self.cursor % self.words.len()].clone());
            self.cursor += 1;
        }
        let mut text = out.join(" ");
        if let Some(first) = text.get(..1) {
            text = first.to_uppercase() + &text[1..];
        }
        text
    }

    pub fn value(&mut self, schema: &Value, name: &str) -> Value {
        if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
            return first.clone();
        }
        if let Some(constant) = schema.get("const") {
            return constant.clone();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(first) = schema.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
                return self.value(first, name);
            }
        }
        let kind = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if schema.get("properties").is_some() => "object",
            _ if schema.get("items").is_some() => "array",
            _ => "string",
        };
        match kind {
            "object" => {
                let mut out = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (key, prop) in props {
                        out.insert(key.clone(), self.value(prop, key));
                    }
                }
                Value::Object(out)
            }
            "array" => {
                let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
                let n = min.max(2.min(max));
                let items = schema.get("items").cloned().unwrap_or(json!({ "type": "string" }));
                Value::Array((0..n).map(|_| self.value(&items, name)).collect())
            }
            "integer" => Value::from(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
            "number" => Value::from(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.5)),
            "boolean" => Value::Bool(true),
            "null" => Value::Null,
            _ => {
                let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(1) as usize;
                let max = schema.get("maxLength").and_then(Value::as_u64).map(|m| m as usize);
                let mut text = format!("{} ({name})", self.phrase(5));
                while text.chars().count() < min {
                    text.push(' ');
                    text.push_str(&self.phrase(1));
                }
                if let Some(max) = max {
                    text = text.chars().take(max).collect();
                }
                Value::String(text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_embedded_schema() {
        let schema = json!({
            "type": "object",
            "required": ["title", "items", "level", "count"],
            "properties": {
                "title": { "type": "string", "minLength": 1 },
                "items": { "type": "array", "minItems": 1, "items": {
                    "type": "object", "properties": { "name": { "type": "string" }, "ok": { "type": "boolean" } }
                }},
                "level": { "type": "string", "enum": ["low", "high"] },
                "count": { "type": "integer", "minimum": 3 },
                "maybe": { "type": ["null", "number"] }
            }
        });
        let prompt = format!(
            "Widgets sell well in Europe.\n\nJSON Schema:\n```json\n{}\n```",
            serde_json::to_string_pretty(&schema).unwrap()
        );
        let answer: Value = serde_json::from_str(&default_answer("", &prompt)).unwrap();
        assert_eq!(answer["level"], "low");
        assert_eq!(answer["count"], 3);
        assert_eq!(answer["maybe"], 1.5);
        assert_eq!(answer["items"].as_array().unwrap().len(), 2);
        assert_eq!(answer["items"][0]["ok"], true);
        let title = answer["title"].as_str().unwrap();
        assert!(title.ends_with("(title)"), "{title}");
        let known = ["Widgets", "Sell", "sell", "Well", "well", "Europe", "(title)"];
        assert!(title.split(' ').all(|w| known.contains(&w)), "{title}");
        // Deterministic.
        assert_eq!(default_answer("", &prompt), default_answer("", &prompt));
        // The schema may sit in the system prompt instead.
        let from_system = default_answer(&prompt, "Widgets sell well in Europe.");
        assert!(serde_json::from_str::<Value>(&from_system).unwrap().is_object());
        assert!(default_answer("", "hello there").starts_with("This is a fake model's answer"));
    }

    #[test]
    fn requests_parse_in_both_wire_formats() {
        let converse = json!({
            "messages": [{ "role": "user", "content": [{ "text": "Hello" }] }],
            "system": [{ "text": "Be brief" }],
            "inferenceConfig": { "maxTokens": 100, "temperature": 0.1 }
        });
        let p = parse_converse("m".into(), converse.to_string().as_bytes()).unwrap();
        assert_eq!(
            (p.system.as_str(), p.prompt.as_str(), p.max_tokens),
            ("Be brief", "Hello", Some(100))
        );
        assert!(parse_converse("m".into(), b"{}").is_err());
        let chat = json!({
            "model": "gpt", "max_tokens": 50, "response_format": { "type": "json_object" },
            "messages": [{ "role": "system", "content": "S" }, { "role": "user", "content": [{ "type": "text", "text": "U" }] }]
        });
        let p = parse_chat(chat.to_string().as_bytes()).unwrap();
        assert_eq!((p.system.as_str(), p.prompt.as_str(), p.json_mode), ("S", "U", true));
        assert!(parse_chat(b"{\"messages\": []}").is_err());
    }
}
