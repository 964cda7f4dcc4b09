//! Ask Sluice's chat end to end: conversations in DynamoDB (moto) with their TTL, answers
//! as Server-Sent Events, the tools run as the caller through the API's own routes
//! (PostgreSQL with pgvector, the local embedding model), the model's tool calls in both
//! wire formats (the fake model server, through the production clients), and the charges.

use serde_json::{json, Value};
use sluice_tests::{token, TestStack, ACME_BETA_KPIS};

const MEMO: &str = "# Lisbon office\nThe Lisbon office opened in March with 42 engineers working on payments.\n\n\
# Hiring\nThe data team will hire four analysts next year.\n";

/// One parsed event of a `text/event-stream` body.
#[derive(Debug, Clone)]
struct Event {
    kind: String,
    data: Value,
}

fn parse_events(body: &str) -> Vec<Event> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut kind = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = k.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).expect("data is JSON");
                }
            }
            Event { kind, data }
        })
        .collect()
}

fn of<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

fn text_of(events: &[Event]) -> String {
    of(events, "message_chunk")
        .iter()
        .filter_map(|e| e.data["text"].as_str())
        .collect()
}

struct Client {
    api: String,
    http: reqwest::Client,
}

impl Client {
    async fn create(&self, bearer: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/conversations", self.api))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("create");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Asks; answers the status, the content type and the body.
    async fn ask(&self, bearer: &str, id: &str, body: Value) -> (u16, String, String) {
        let r = self
            .http
            .post(format!("{}/v1/conversations/{id}/messages", self.api))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .expect("ask");
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, kind, r.text().await.unwrap_or_default())
    }

    async fn history(&self, bearer: &str, id: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/v1/conversations/{id}", self.api))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("history");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

async fn client(stack: &TestStack) -> Client {
    Client {
        api: stack.serve_api().await,
        http: reqwest::Client::new(),
    }
}

/// KPIs, a team document and two days of AAPL bars.
async fn load(stack: &TestStack) {
    stack.upload("uploads/kpis/kpis.csv", ACME_BETA_KPIS, &[]).await;
    stack
        .upload(
            "knowledge/notes/lisbon.md",
            MEMO.as_bytes().to_vec(),
            &[("company", "Acme")],
        )
        .await;
    stack.settle().await;
    stack
        .pool
        .get()
        .await
        .expect("client")
        .batch_execute(
            "INSERT INTO tickers (ticker, name) VALUES ('AAPL', 'Apple Inc.');
             INSERT INTO prices (ticker, date, open, high, low, close, volume) VALUES
               ('AAPL', '2026-11-19', 228.0, 231.5, 227.1, 230.0, 41000000),
               ('AAPL', '2026-11-20', 230.2, 233.9, 229.8, 232.3, 38000000);",
        )
        .await
        .expect("prices");
}

async fn chat_charges(stack: &TestStack, user: &str) -> Vec<i64> {
    stack
        .pool
        .get()
        .await
        .expect("client")
        .query(
            "SELECT amount_micros FROM usage_transactions WHERE kind = 'chat_turn' AND user_id = $1 ORDER BY id",
            &[&user],
        )
        .await
        .expect("charges")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn without_a_model_the_answer_says_so_and_gives_passages_quotes_and_kpi_rows() {
    let stack = TestStack::start().await;
    load(&stack).await;
    let c = client(&stack).await;
    let ana = token("ana", "basic", true);

    let (status, created) = c.create(&ana).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();

    let question = "What was Acme's EBITDA, where is AAPL trading, and how many engineers are in the Lisbon office?";
    let (status, kind, body) = c.ask(&ana, &id, json!({ "question": question })).await;
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let events = parse_events(&body);
    let text = text_of(&events);
    assert!(text.contains("No language model is configured"), "{text}");

    // The quote of the ticker the question names.
    let quote = of(&events, "tool_result")
        .into_iter()
        .find(|e| e.data["name"] == "quote")
        .expect("a quote result");
    assert_eq!(quote.data["status"], 200);
    assert_eq!(quote.data["result"]["price"], 232.3);
    assert!(text.contains("Quote of AAPL: 232.3"), "{text}");

    // The KPI rows of the company and indicator it names: Acme's EBITDA, as loaded.
    let kpis = of(&events, "tool_result")
        .into_iter()
        .find(|e| e.data["name"] == "portfolio_kpis")
        .expect("KPI rows");
    assert_eq!(kpis.data["rows"], 4, "{}", kpis.data);
    let values: Vec<&str> = kpis.data["result"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["value"].as_str())
        .collect();
    assert_eq!(values, vec!["1000", "1100", "550", "1000"]);
    assert!(text.contains("2026-06-30 Real: 550 EUR"), "{text}");

    // The best passages of the same retrieval as /v1/search, with their citations.
    let citations = of(&events, "citation");
    assert!(!citations.is_empty(), "{body}");
    assert_eq!(citations[0].data["n"], 1);
    assert_eq!(citations[0].data["citation"]["s3_key"], "knowledge/notes/lisbon.md");
    assert_eq!(citations[0].data["citation"]["section"], "Lisbon office");
    assert!(text.contains("[1] ") && text.contains("42 engineers"), "{text}");

    // Every tool call is announced before its result; `done` ends the stream.
    assert_eq!(of(&events, "tool_call").len(), of(&events, "tool_result").len());
    let last = events.last().expect("events");
    assert_eq!(last.kind, "done", "{body}");
    assert_eq!(last.data["charged"]["micros"], 0);
    assert_eq!(last.data["model"], "extractive:v1");
    assert!(of(&events, "error").is_empty());
    assert!(chat_charges(&stack, "ana").await.is_empty(), "no model, no charge");

    // The history: the question and the answer, with its citations and tool calls.
    let (status, history) = c.history(&ana, &id).await;
    assert_eq!(status, 200, "{history}");
    let items = history["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{history}");
    assert_eq!(items[0]["role"], "user");
    assert_eq!(items[0]["content"], question);
    assert_eq!(items[1]["role"], "assistant");
    assert_eq!(items[1]["content"], text);
    assert_eq!(
        items[1]["details"]["citations"][0]["citation"]["s3_key"],
        "knowledge/notes/lisbon.md"
    );
    assert_eq!(history["messages"], 2);

    // Every item carries the TTL attribute, 24 hours on.
    let table = &stack.resources.conversations_table;
    let stored = stack
        .clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
        .send()
        .await
        .expect("query");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(stored.items().len(), 3, "a header and two messages");
    for item in stored.items() {
        let expires: i64 = item["expires_at"]
            .as_n()
            .expect("expires_at")
            .parse()
            .expect("a number");
        assert!(
            (now + 23 * 3600..=now + 25 * 3600).contains(&expires),
            "{expires} vs {now}"
        );
    }
    let ttl = stack
        .clients
        .dynamodb
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .expect("ttl");
    assert_eq!(
        ttl.time_to_live_description().and_then(|d| d.attribute_name()),
        Some("expires_at")
    );
}

#[tokio::test]
async fn bad_questions_and_other_peoples_conversations_are_refused() {
    let stack = TestStack::start().await;
    let c = client(&stack).await;
    let ana = token("ana", "basic", true);
    let bob = token("bob", "enterprise", false);
    let (_, created) = c.create(&ana).await;
    let id = created["id"].as_str().expect("an id").to_owned();

    for (body, status) in [
        (json!({ "question": "" }), 400),
        (json!({ "question": "   " }), 400),
        (json!({}), 400),
        (json!({ "question": "hi", "sql": "DROP TABLE kpis" }), 400),
        (json!({ "question": "x".repeat(100 * 1024) }), 413),
    ] {
        let (got, kind, text) = c.ask(&ana, &id, body.clone()).await;
        assert_eq!(got, status, "{text}");
        assert!(kind.starts_with("application/problem+json"), "{kind}");
    }
    // Someone else's conversation is as unknown as one that never was.
    let (status, _, text) = c.ask(&bob, &id, json!({ "question": "hello" })).await;
    assert_eq!(status, 404, "{text}");
    assert_eq!(c.history(&bob, &id).await.0, 404);
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(c.history(&ana, &unknown).await.0, 404);
    assert_eq!(c.ask(&ana, &unknown, json!({ "question": "hello" })).await.0, 404);
    assert_eq!(c.history(&ana, "not-an-id").await.0, 404);
    // Nothing was stored by the refusals.
    let (status, history) = c.history(&ana, &id).await;
    assert_eq!(status, 200);
    assert_eq!(history["items"], json!([]));
    let no_token = reqwest::Client::new()
        .post(format!("{}/v1/conversations", c.api))
        .send()
        .await
        .expect("post");
    assert_eq!(no_token.status().as_u16(), 401);
}
