//! Server-Sent Events framing (the WHATWG `text/event-stream` format). Pure.

use crate::store::StoredEvent;
use bytes::Bytes;

/// `id`, `event` and one `data` line of JSON (serde_json never writes a raw line break).
pub fn event(e: &StoredEvent) -> Bytes {
    let json = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {json}\n\n",
        e.id,
        single_line(&e.kind)
    ))
}

/// A comment line: ignored by clients, keeps proxies and load balancers from closing an idle stream.
pub fn comment(text: &str) -> Bytes {
    Bytes::from(format!(": {}\n\n", single_line(text)))
}

/// How long a client waits before reconnecting after the stream ends.
pub fn retry(millis: u128) -> Bytes {
    Bytes::from(format!("retry: {millis}\n\n"))
}

fn single_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_well_formed() {
        let e = StoredEvent {
            id: 42,
            kind: "AnalysisCompleted".into(),
            message_id: uuid::Uuid::nil(),
            correlation_id: "c".into(),
            occurred_at: chrono::Utc::now(),
            user_id: Some("ana".into()),
            data: serde_json::json!({"reason": "two\nlines"}),
        };
        let text = String::from_utf8(event(&e).to_vec()).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[0], "id: 42");
        assert_eq!(lines[1], "event: AnalysisCompleted");
        assert!(lines[2].starts_with("data: {") && lines[3].is_empty() && lines[4].is_empty());
        let data: serde_json::Value = serde_json::from_str(&lines[2][6..]).unwrap();
        assert_eq!(data["id"], 42);
        assert_eq!(data["data"]["reason"], "two\nlines");
        assert_eq!(comment("a\nb"), Bytes::from(": a b\n\n"));
        assert_eq!(retry(3000), Bytes::from("retry: 3000\n\n"));
    }
}
