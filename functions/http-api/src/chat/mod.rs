//! Ask Sluice's chat: `POST /v1/conversations`, `POST /v1/conversations/{id}/messages`
//! (the answer as Server-Sent Events, see [`events`]) and `GET /v1/conversations/{id}`
//! (the history). Conversations live in DynamoDB with a TTL ([`store`]); a turn
//! ([`turn`]) asks the configured language model, which may call read-only [`tools`]
//! that run as the caller, or, without a model, answers with what the tools find.
//!
//! Each turn is one request of the tier's allowance (the [`Caller`] extractor admits
//! it); a turn a model answers is charged the tier's `chat_turn_fee` through the one
//! ledger, once (keyed by conversation and message), and its tokens and model cost are
//! recorded on the stored answer.

pub mod events;
pub mod store;
pub mod tools;
pub mod turn;

use crate::caller::Caller;
use crate::ApiState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use events::{Emitter, Kind};
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::StatusCode;
use llm_analyzer::provider::chat::{ChatMessage, ToolCall};
use llm_analyzer::provider::{LanguageModel, ProviderConfig};
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_core::auth::Principal;
use sluice_core::ledger::{self, Charge, ChargeKind, ChargeOutcome};
use sluice_core::retry::Backoff;
use sluice_core::{ConfigError, ConfigSource};
use sluice_messages::Money;
use sluice_web::{json, ApiError, JsonBody};
use std::sync::Arc;
use std::time::Duration;
use store::{Conversation, Conversations};
use tools::ToolLimits;
use uuid::Uuid;

/// How the chat behaves; every value but the table has a default.
#[derive(Clone)]
pub struct ChatConfig {
    pub conversations: Conversations,
    /// The model `LLM_PROVIDER` names (the analyser's provider layer).
    pub model: Arc<dyn LanguageModel>,
    pub backoff: Backoff,
    /// `CHAT_MAX_TOOL_ROUNDS` (4): rounds of tool calls in one turn.
    pub max_tool_rounds: usize,
    /// `CHAT_MAX_TOKENS` (1024): the answer's length.
    pub max_tokens: u32,
    pub limits: ToolLimits,
    /// `CHAT_TOOL_RESULT_CHARS` (16000): a tool's answer as the model reads it.
    pub tool_result_chars: usize,
    /// `CHAT_PASSAGES` (5): passages of the answer without a model.
    pub extractive_passages: usize,
    /// `message_chunk`s are about this long.
    pub chunk_chars: usize,
}

impl ChatConfig {
    /// `CONVERSATIONS_TABLE`, `CHAT_TTL_HOURS` (24) and the rest above.
    pub fn load(
        cfg: &ConfigSource,
        dynamodb: aws_sdk_dynamodb::Client,
        provider: &ProviderConfig,
        model: Arc<dyn LanguageModel>,
    ) -> Result<Self, ConfigError> {
        let ttl_hours: u64 = cfg.or("CHAT_TTL_HOURS", 24)?;
        if ttl_hours == 0 {
            return Err(ConfigError::Invalid {
                key: "CHAT_TTL_HOURS".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            conversations: Conversations {
                dynamodb,
                table: cfg.required("CONVERSATIONS_TABLE")?,
                ttl: Duration::from_secs(ttl_hours * 3600),
            },
            model,
            backoff: provider.backoff(),
            max_tool_rounds: cfg.or("CHAT_MAX_TOOL_ROUNDS", 4usize)?.clamp(1, 10),
            max_tokens: cfg.or("CHAT_MAX_TOKENS", 1024u32)?.max(16),
            limits: ToolLimits {
                rows: cfg.or("CHAT_TOOL_ROWS", 20usize)?.clamp(1, 200),
                timeout: Duration::from_millis(cfg.or("CHAT_TOOL_TIMEOUT_MS", 5000u64)?.max(1)),
            },
            tool_result_chars: cfg.or("CHAT_TOOL_RESULT_CHARS", 16_000usize)?.max(1000),
            extractive_passages: cfg.or("CHAT_PASSAGES", 5usize)?.clamp(1, 10),
            chunk_chars: 80,
        })
    }
}

fn unavailable(e: store::StoreError) -> ApiError {
    tracing::error!(error = %e, "the conversations table failed");
    ApiError::Unavailable("conversations are unavailable just now; try again shortly".into())
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no conversation {id}"))
}

async fn owned(api: &ApiState, caller: &Principal, raw_id: &str) -> Result<Conversation, ApiError> {
    let id = Uuid::parse_str(raw_id.trim()).map_err(|_| not_found(raw_id))?;
    api.chat
        .conversations
        .get(id, &caller.user_id, api.clock.now())
        .await
        .map_err(unavailable)?
        .ok_or_else(|| not_found(raw_id))
}

fn conversation_json(c: &Conversation) -> Value {
    json!({
        "id": c.id,
        "created_at": c.created_at,
        "expires_at": c.expires_at,
        "messages": c.messages,
        "links": {
            "self": format!("/v1/conversations/{}", c.id),
            "messages": format!("/v1/conversations/{}/messages", c.id),
        },
    })
}

/// `POST /v1/conversations`: 201 with a new, empty conversation of the caller's.
pub async fn create(State(api): State<Arc<ApiState>>, Caller(caller): Caller) -> Result<Response, ApiError> {
    let c = api
        .chat
        .conversations
        .create(&caller.user_id, api.clock.now())
        .await
        .map_err(unavailable)?;
    Ok(json(StatusCode::CREATED, &conversation_json(&c)))
}

/// `GET /v1/conversations/{id}`: the conversation and its messages, oldest first.
pub async fn get(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let c = owned(&api, &caller, &raw_id).await?;
    let messages = api.chat.conversations.messages(c.id).await.map_err(unavailable)?;
    let mut body = conversation_json(&c);
    body["items"] = serde_json::to_value(messages)?;
    Ok(json(StatusCode::OK, &body))
}

/// The body of `POST /v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub question: String,
}

/// `POST /v1/conversations/{id}/messages` `{question}`: the answer as `text/event-stream`.
/// Refusals (bad question, unknown conversation, no credits) come before the stream, as
/// problems; a failure during the turn is an `error` event.
pub async fn ask(
    State(api): State<Arc<ApiState>>,
    Caller(caller): Caller,
    Path(raw_id): Path<String>,
    JsonBody(body): JsonBody<Ask>,
) -> Result<Response, ApiError> {
    let question = crate::routes::search::question(Some(&body.question)).map_err(|e| match e {
        ApiError::InvalidRequest(_) => ApiError::invalid("question is required: what you want to know"),
        other => other,
    })?;
    let conversation = owned(&api, &caller, &raw_id).await?;
    let by_model = !api.chat.model.is_extractive();
    let fee = if by_model {
        caller.tier.policy().chat_turn_fee
    } else {
        Money::ZERO
    };
    if fee > Money::ZERO {
        let client = api.pool.get().await?;
        let balance: i64 = client
            .query_opt(
                "SELECT credit_balance_micros FROM user_accounts WHERE user_id = $1",
                &[&caller.user_id],
            )
            .await?
            .map_or(0, |r| r.get(0));
        if balance < fee.micros() {
            return Err(ApiError::InsufficientCredits(format!(
                "a chat turn costs {} on your tier and your balance is {}",
                fee.view().display,
                Money::from_micros(balance).view().display
            )));
        }
    }
    let history = api
        .chat
        .conversations
        .messages(conversation.id)
        .await
        .map_err(unavailable)?;
    let user_seq = api
        .chat
        .conversations
        .append(&conversation, "user", &question, &Value::Null, api.clock.now())
        .await
        .map_err(unavailable)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(64);
    let span = tracing::info_span!("chat", conversation = %conversation.id, message = user_seq);
    let task = async move {
        let mut out = Emitter::new(tx);
        answer(
            &api,
            &caller,
            &conversation,
            history,
            &question,
            fee,
            user_seq,
            &mut out,
        )
        .await;
    };
    tokio::spawn(tracing::Instrument::instrument(task, span));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The stored messages as the model reads them: questions and answers in words.
fn history_messages(history: Vec<store::StoredMessage>) -> Vec<ChatMessage> {
    history
        .into_iter()
        .filter(|m| !m.content.is_empty())
        .map(|m| match m.role.as_str() {
            "user" => ChatMessage::User(m.content),
            _ => ChatMessage::Assistant {
                text: m.content,
                tool_calls: Vec::<ToolCall>::new(),
            },
        })
        .collect()
}

/// Runs the turn, stores the answer, charges it, ends the stream with `done` (or `error`).
#[allow(clippy::too_many_arguments)]
async fn answer(
    api: &Arc<ApiState>,
    caller: &Principal,
    conversation: &Conversation,
    history: Vec<store::StoredMessage>,
    question: &str,
    fee: Money,
    user_seq: u32,
    out: &mut Emitter,
) {
    let config = &api.chat;
    let result = if config.model.is_extractive() {
        Ok(turn::extractive(api, config, caller, question, out).await)
    } else {
        turn::with_model(api, config, caller, history_messages(history), question, out).await
    };
    let answer = match result {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(kind = e.kind, detail = %e.detail, "a chat turn failed");
            out.send(
                Kind::Error,
                json!({ "type": format!("urn:sluice:problem:{}", e.kind), "detail": e.detail }),
            )
            .await;
            return;
        }
    };
    let key = format!("chat-turn:{}:{user_seq}", conversation.id);
    let charged = match charge(api, caller, fee, &key, conversation.id).await {
        Ok(c) => c,
        Err(detail) => {
            out.send(
                Kind::Error,
                json!({ "type": "urn:sluice:problem:insufficient-credits", "detail": detail }),
            )
            .await;
            return;
        }
    };
    let details = json!({
        "citations": answer.citations,
        "tool_calls": answer.tool_calls,
        "model": config.model.model().as_str(),
        "by_model": answer.by_model,
        "input_tokens": answer.input_tokens,
        "output_tokens": answer.output_tokens,
        "cost": answer.cost.view(),
        "charged": charged.view(),
    });
    let seq = match config
        .conversations
        .append(conversation, "assistant", &answer.text, &details, api.clock.now())
        .await
    {
        Ok(seq) => seq,
        Err(e) => {
            tracing::error!(error = %e, "storing the answer failed");
            out.send(
                Kind::Error,
                json!({ "type": "urn:sluice:problem:unavailable", "detail": "the answer could not be stored" }),
            )
            .await;
            return;
        }
    };
    tracing::info!(
        input_tokens = answer.input_tokens,
        output_tokens = answer.output_tokens,
        cost_micros = answer.cost.micros(),
        charged_micros = charged.micros(),
        "chat turn answered"
    );
    out.send(
        Kind::Done,
        json!({
            "conversation_id": conversation.id,
            "message": seq,
            "model": config.model.model().as_str(),
            "input_tokens": answer.input_tokens,
            "output_tokens": answer.output_tokens,
            "cost": answer.cost.view(),
            "charged": charged.view(),
        }),
    )
    .await;
}

/// Charges the turn's fee once (a zero fee charges nothing).
async fn charge(
    api: &ApiState,
    caller: &Principal,
    fee: Money,
    key: &str,
    conversation: Uuid,
) -> Result<Money, String> {
    if fee <= Money::ZERO {
        return Ok(Money::ZERO);
    }
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "charging a chat turn failed");
        "the turn could not be charged; it was not stored".to_owned()
    };
    let mut client = api.pool.get().await.map_err(|e| failed(&e))?;
    let tx = client.transaction().await.map_err(|e| failed(&e))?;
    let outcome = ledger::charge(
        &tx,
        &Charge {
            user_id: &caller.user_id,
            kind: ChargeKind::ChatTurn,
            amount: fee,
            idempotency_key: key.to_owned(),
            task_id: None,
            filing_id: None,
            description: format!("Ask Sluice: a chat turn (conversation {conversation})"),
        },
    )
    .await
    .map_err(|e| failed(&e))?;
    tx.commit().await.map_err(|e| failed(&e))?;
    match outcome {
        ChargeOutcome::Charged { .. } | ChargeOutcome::AlreadyCharged => Ok(fee),
        ChargeOutcome::Insufficient { balance } => Err(format!(
            "a chat turn costs {} on your tier and your balance is {}",
            fee.view().display,
            balance.view().display
        )),
    }
}
