//! The answer's Server-Sent Events: `event:` is the type, `data:` one line of JSON.
//!
//! | event | data |
//! |---|---|
//! | `message_chunk` | `{"text"}`: the next piece of the answer |
//! | `tool_call` | `{"id", "name", "arguments"}`: a tool about to run |
//! | `tool_result` | `{"id", "name", "status", "rows", "result"}`: what it answered |
//! | `citation` | `{"n", "header", "text", "citation"}`: a passage the answer may cite as `[n]` |
//! | `done` | `{"conversation_id", "message", "model", "input_tokens", "output_tokens", "cost", "charged"}` |
//! | `error` | `{"type", "detail"}`: the turn failed; nothing follows |

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

/// The six kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MessageChunk,
    ToolCall,
    ToolResult,
    Citation,
    Done,
    Error,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageChunk => "message_chunk",
            Self::ToolCall => "tool_call",
            Self::ToolResult => "tool_result",
            Self::Citation => "citation",
            Self::Done => "done",
            Self::Error => "error",
        }
    }
}

/// One event, framed. Pure (serde_json never writes a raw line break).
pub fn frame(id: u64, kind: Kind, data: &Value) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: {}\ndata: {data}\n\n", kind.as_str()))
}

/// Where a turn writes its events: the response body, as they happen. A client that
/// went away does not stop the turn (it is still stored and charged).
pub struct Emitter {
    tx: mpsc::Sender<Bytes>,
    next_id: u64,
}

impl Emitter {
    pub fn new(tx: mpsc::Sender<Bytes>) -> Self {
        Self { tx, next_id: 1 }
    }

    pub async fn send(&mut self, kind: Kind, data: Value) {
        let bytes = frame(self.next_id, kind, &data);
        self.next_id += 1;
        let _ = self.tx.send(bytes).await;
    }

    /// The answer's text in pieces of about `size` characters, cut after a space.
    pub async fn text(&mut self, text: &str, size: usize) {
        for piece in pieces(text, size) {
            self.send(Kind::MessageChunk, serde_json::json!({ "text": piece }))
                .await;
        }
    }
}

/// Cuts text into pieces of about `size` characters, after whitespace where there is
/// some; joined, the pieces are the text. Pure.
pub fn pieces(text: &str, size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if current.chars().count() >= size.max(1) && c.is_whitespace() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_and_pieces() {
        let f = frame(3, Kind::ToolCall, &json!({ "name": "quote", "text": "a\nb" }));
        assert_eq!(
            String::from_utf8_lossy(&f),
            "id: 3\nevent: tool_call\ndata: {\"name\":\"quote\",\"text\":\"a\\nb\"}\n\n"
        );
        let text = "The quick brown fox jumps over the lazy dog.";
        let p = pieces(text, 10);
        assert!(p.len() > 2);
        assert_eq!(p.concat(), text);
        assert_eq!(pieces("", 10), Vec::<String>::new());
    }
}
