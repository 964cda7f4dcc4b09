//! Helpers of the live-notification tests (tests/sse.rs): a test stack with sse-notifier's
//! function URL served on a loopback port as the runner serves it, events published on the
//! stack's topic the way producers publish them, and a Server-Sent Events reader.

use crate::{repo_root, serve, TestStack};
use sluice_core::ConfigSource;
use sluice_messages::Envelope;
use std::time::Duration;

/// A test stack plus the runner's HTTP front (the events endpoints, the web app and
/// the HTTP API) on `url`.
pub struct EventsStack {
    pub stack: TestStack,
    pub url: String,
}

impl EventsStack {
    /// `config` holds `SSE_*` settings (short heartbeats, a short function timeout, ...).
    pub async fn start(config: ConfigSource) -> Self {
        let stack = TestStack::start_with(config).await;
        let url = serve(stack.functions.front(serde_json::json!({"status": "ok"}))).await;
        Self { stack, url }
    }

    /// Publishes on the stack's events topic as the event publisher does (type attribute included).
    pub async fn publish(&self, envelope: &Envelope) {
        let attr = aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(envelope.payload.kind())
            .build()
            .expect("attribute");
        self.stack
            .clients
            .sns
            .publish()
            .topic_arn(&self.stack.resources.topic_arn)
            .message(envelope.to_json())
            .message_attributes("type", attr)
            .send()
            .await
            .expect("publish");
    }

    /// Runs sse-notifier's event source (as the runner does) until its queue stays empty;
    /// returns how many records it handled.
    pub async fn deliver(&self) -> usize {
        let source = self
            .stack
            .sources()
            .into_iter()
            .find(|s| s.name == "sse-notifier")
            .expect("the sse-notifier event source");
        let mut handled = 0;
        let mut empty = 0;
        while empty < 2 {
            let outcome = source.poll_once().await.expect("poll");
            if outcome.received == 0 {
                empty += 1;
            } else {
                empty = 0;
                handled += outcome.received;
            }
        }
        handled
    }

    /// A stream ticket for `token` (POST /v1/events/ticket).
    pub async fn ticket(&self, token: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/events/ticket", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("ticket request");
        assert_eq!(response.status(), 201, "ticket refused");
        let body: serde_json::Value = response.json().await.expect("ticket JSON");
        body["ticket"].as_str().expect("ticket").to_owned()
    }

    /// GET /v1/events/stream with `query` (e.g. `ticket=...&last_event_id=4`).
    pub async fn stream(&self, query: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}/v1/events/stream?{query}", self.url))
            .send()
            .await
            .expect("stream request")
    }

    /// A stream opened with a fresh ticket for `token`, resuming after `last_event_id`.
    pub async fn open(&self, token: &str, last_event_id: Option<i64>) -> SseReader {
        let ticket = self.ticket(token).await;
        let query = match last_event_id {
            Some(id) => format!("ticket={ticket}&last_event_id={id}"),
            None => format!("ticket={ticket}"),
        };
        let response = self.stream(&query).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        SseReader::new(response)
    }
}

/// One Server-Sent Events block.
#[derive(Debug, Clone, PartialEq)]
pub enum SseItem {
    Event {
        id: i64,
        event: String,
        data: serde_json::Value,
    },
    Comment(String),
    Retry(u64),
}

/// Reads a `text/event-stream` body block by block.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next block; `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<SseItem> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_block(block.trim_end_matches('\n')));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) => return None,
                Err(e) => panic!("the stream broke instead of ending cleanly: {e}"),
            }
        }
    }

    /// The next block, or a panic naming `what` if none comes within a minute (a hang guard,
    /// not a performance bound).
    pub async fn expect_next(&mut self, what: &str) -> Option<SseItem> {
        tokio::time::timeout(Duration::from_secs(60), self.next())
            .await
            .unwrap_or_else(|_| panic!("waited a minute for {what}"))
    }

    /// Events (skipping comments and retry hints) until `count` have arrived.
    pub async fn events(&mut self, count: usize) -> Vec<(i64, String, serde_json::Value)> {
        let mut out = Vec::new();
        while out.len() < count {
            match self.expect_next("an event").await {
                Some(SseItem::Event { id, event, data }) => out.push((id, event, data)),
                Some(_) => {}
                None => panic!("the stream ended after {} of {count} events", out.len()),
            }
        }
        out
    }
}

fn parse_block(block: &str) -> SseItem {
    let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            return SseItem::Comment(comment.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("retry: ") {
            return SseItem::Retry(v.parse().expect("retry millis"));
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse().expect("numeric id"));
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        } else {
            panic!("unexpected SSE line {line:?}");
        }
    }
    SseItem::Event {
        id: id.expect("every event has an id"),
        event,
        data: serde_json::from_str(&data).expect("data is JSON"),
    }
}

/// A golden message (shared/messages/tests/golden/v1/NAME.json) with a new message id and,
/// when given, another user.
pub fn golden_event(name: &str, user: Option<&str>) -> Envelope {
    let path = repo_root().join(format!("shared/messages/tests/golden/v1/{name}.json"));
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("golden JSON");
    value["message_id"] = uuid::Uuid::new_v4().to_string().into();
    if let Some(user) = user {
        value["data"]["user_id"] = user.into();
    }
    Envelope::from_json(&value.to_string()).expect("golden envelope")
}
