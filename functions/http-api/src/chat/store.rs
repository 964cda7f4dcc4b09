//! Conversations in DynamoDB (`CONVERSATIONS_TABLE`; pk `pk` = the conversation's id, sk
//! `sk` = `meta` for its owner and clock, `msg#000001`... for its messages). Every item
//! carries `expires_at` (epoch seconds, the table's TTL attribute), pushed forward on
//! each turn: a conversation lives `CHAT_TTL_HOURS` (24) after its last message.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB: {0}")]
    Dynamo(String),
}

fn dynamo(e: impl std::fmt::Display) -> StoreError {
    StoreError::Dynamo(e.to_string())
}

/// The conversations table.
#[derive(Debug, Clone)]
pub struct Conversations {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub ttl: Duration,
}

/// A conversation's header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub messages: u32,
}

/// One stored message: who said it, what, and (for answers) the citations, tool calls
/// and usage of the turn, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredMessage {
    pub seq: u32,
    pub role: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

const META: &str = "meta";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &HashMap<String, AttributeValue>, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn at(secs: Option<i64>) -> DateTime<Utc> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or_default()
}

impl Conversations {
    fn expiry(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp() + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 4)
    }

    /// A new, empty conversation of `user_id`.
    pub async fn create(&self, user_id: &str, now: DateTime<Utc>) -> Result<Conversation, StoreError> {
        let id = Uuid::new_v4();
        let expires = self.expiry(now);
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .item("pk", s(id.to_string()))
            .item("sk", s(META))
            .item("user_id", s(user_id))
            .item("created_at", n(now.timestamp()))
            .item("expires_at", n(expires))
            .item("messages", n(0))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(dynamo)?;
        Ok(Conversation {
            id,
            user_id: user_id.to_owned(),
            created_at: at(Some(now.timestamp())),
            expires_at: at(Some(expires)),
            messages: 0,
        })
    }

    /// The conversation, if it exists, has not expired and is `user_id`'s (anyone
    /// else's is as good as absent).
    pub async fn get(&self, id: Uuid, user_id: &str, now: DateTime<Utc>) -> Result<Option<Conversation>, StoreError> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("pk", s(id.to_string()))
            .key("sk", s(META))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo)?;
        let Some(item) = out.item else { return Ok(None) };
        let conversation = Conversation {
            id,
            user_id: get_s(&item, "user_id").unwrap_or_default(),
            created_at: at(get_n(&item, "created_at")),
            expires_at: at(get_n(&item, "expires_at")),
            messages: u32::try_from(get_n(&item, "messages").unwrap_or(0)).unwrap_or(0),
        };
        // DynamoDB deletes expired items within days, not at once: expired is gone.
        if conversation.user_id != user_id || conversation.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(conversation))
    }

    /// Every message, oldest first.
    pub async fn messages(&self, id: Uuid) -> Result<Vec<StoredMessage>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
                .expression_attribute_values(":pk", s(id.to_string()))
                .expression_attribute_values(":msg", s("msg#"))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(dynamo)?;
            for item in page.items() {
                out.push(StoredMessage {
                    seq: u32::try_from(get_n(item, "seq").unwrap_or(0)).unwrap_or(0),
                    role: get_s(item, "role").unwrap_or_default(),
                    content: get_s(item, "content").unwrap_or_default(),
                    created_at: at(get_n(item, "created_at")),
                    details: get_s(item, "details")
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or(Value::Null),
                });
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        out.sort_by_key(|m| m.seq);
        Ok(out)
    }

    /// Appends a message (taking the next number on the header, whose expiry moves on).
    pub async fn append(
        &self,
        conversation: &Conversation,
        role: &str,
        content: &str,
        details: &Value,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let expires = self.expiry(now);
        let out = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(conversation.id.to_string()))
            .key("sk", s(META))
            .update_expression("SET messages = messages + :one, expires_at = :e")
            .condition_expression("user_id = :u")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":e", n(expires))
            .expression_attribute_values(":u", s(conversation.user_id.clone()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(dynamo)?;
        let seq = out
            .attributes
            .as_ref()
            .and_then(|a| get_n(a, "messages"))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| StoreError::Dynamo("no message number came back".into()))?;
        let mut put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .item("pk", s(conversation.id.to_string()))
            .item("sk", s(format!("msg#{seq:06}")))
            .item("seq", n(seq))
            .item("role", s(role))
            .item("content", s(content))
            .item("created_at", n(now.timestamp()))
            .item("expires_at", n(expires));
        if !details.is_null() {
            put = put.item("details", s(details.to_string()));
        }
        put.send().await.map_err(dynamo)?;
        Ok(seq)
    }
}
