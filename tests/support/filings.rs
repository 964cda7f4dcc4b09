//! A test stack for filing analyses: the local EDGAR mirror behind the fake EDGAR
//! server, optionally a fake model endpoint (OpenAI wire format), the HTTP API.

use crate::{repo_root, token, TestStack};
use serde_json::Value;
use sluice_core::{Clock, ConfigSource};
use sluice_fakes::edgar::{FakeEdgar, FakeEdgarConfig};
use sluice_fakes::llm::{FakeLlm, FakeLlmConfig};
use std::process::Command;

/// The invented company of data/edgar-mirror.
pub const SLXH: &str = "SLXH";
pub const SLXH_10K_ACCESSION: &str = "0009999999-26-000004";
pub const SLXH_10K_DOCUMENT: &str = "Archives/edgar/data/9999999/000999999926000004/slxh-20251231.htm";

/// When the filing tests happen: the mirror's filings (FY2024 to Q3 2026) are judged by
/// each tier's "last N years" as of this day, whatever day the tests run.
pub fn filings_era() -> Clock {
    Clock::starting_at("2026-11-22T12:00:00Z".parse().expect("a time"))
}

pub struct FilingStack {
    pub stack: TestStack,
    pub edgar: FakeEdgar,
    /// Present when the stack analyses with the fake model instead of the extractive analyser.
    pub llm: Option<FakeLlm>,
    pub api: String,
    pub mirror: tempfile::TempDir,
    http: reqwest::Client,
}

impl FilingStack {
    /// `with_model`: analyse through the OpenAI-compatible provider against the fake model.
    pub async fn start(with_model: bool) -> Self {
        let mirror = tempfile::tempdir().expect("mirror dir");
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/edgar-mirror.sh"))
            .arg(mirror.path())
            .status()
            .expect("scripts/edgar-mirror.sh");
        assert!(status.success(), "scripts/edgar-mirror.sh failed");
        let edgar = sluice_fakes::edgar::start(FakeEdgarConfig::new(mirror.path()))
            .await
            .expect("fake EDGAR");
        let mut config = ConfigSource::default()
            .with("EDGAR_USER_AGENT", "Sluice Tests tests@sluice.invalid")
            .with("EDGAR_WWW_BASE_URL", &edgar.base_url)
            .with("EDGAR_DATA_BASE_URL", &edgar.base_url)
            .with("EDGAR_BACKOFF_MS", "20")
            .with("ANALYSIS_PEER_WAIT_SECS", "30")
            .with("LLM_BACKOFF_MS", "20");
        let llm = if with_model {
            let llm = sluice_fakes::llm::start(FakeLlmConfig::default())
                .await
                .expect("fake model");
            config = config
                .with("LLM_PROVIDER", "openai")
                .with("LLM_MODEL", "fake-analyst-1")
                .with("LLM_BASE_URL", llm.openai_base_url())
                .with("LLM_API_KEY", "sk-test-not-a-secret");
            Some(llm)
        } else {
            None
        };
        let stack = TestStack::start_at(config, filings_era()).await;
        let api = stack.serve_api().await;
        Self {
            stack,
            edgar,
            llm,
            api,
            mirror,
            http: reqwest::Client::new(),
        }
    }

    pub async fn post_analysis(&self, bearer: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = self
            .http
            .post(format!("{}/v1/analyses", self.api))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .expect("POST /v1/analyses");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    pub async fn get(&self, bearer: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.api))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates the account (first use) and returns the user's bearer token.
    pub async fn user(&self, user: &str, tier: &str) -> String {
        let bearer = token(user, tier, false);
        assert_eq!(self.get(&bearer, "/v1/me").await.0, 200);
        bearer
    }

    pub async fn balance(&self, user: &str) -> i64 {
        self.stack
            .pool
            .get()
            .await
            .expect("client")
            .query_one(
                "SELECT credit_balance_micros FROM user_accounts WHERE user_id = $1",
                &[&user],
            )
            .await
            .expect("balance")
            .get(0)
    }

    /// Runs statements against the test's database (set-up a test needs).
    pub async fn sql(&self, statements: &str) {
        self.stack
            .pool
            .get()
            .await
            .expect("client")
            .batch_execute(statements)
            .await
            .expect("statements");
    }

    /// A filing's row as if it had been fetched (no document in S3): what a demo user may be
    /// served without EDGAR when the test does not run the demo prefill.
    pub async fn stored_filing_row(&self, ticker: &str, cik: &str, accession: &str, form: &str, fiscal_year: i32) {
        self.sql(&format!(
            "INSERT INTO filings (id, accession, cik, company_name, ticker, form, filing_date, report_date,
                 fiscal_year, primary_document, bucket, document_key, sha256, size_bytes, sections_key, section_status)
             VALUES (gen_random_uuid(), '{accession}', '{cik}', '{ticker} Inc.', '{ticker}', '{form}',
                 make_date({fiscal_year}, 11, 1), make_date({fiscal_year}, 9, 30), {fiscal_year}, 'doc.htm', 'b',
                 'filings/{cik}/{accession}/doc.htm', repeat('0', 64), 1, 'filings/{cik}/{accession}/sections.json', '{{}}')"
        ))
        .await;
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.stack.query(sql).await[0].get(0)
    }

    /// Runs one function's event source until its queue stays empty.
    pub async fn drain(&self, function: &str) {
        let sources: Vec<_> = self
            .stack
            .sources()
            .into_iter()
            .filter(|s| s.name == function)
            .collect();
        assert!(!sources.is_empty(), "no event source named {function}");
        let mut idle = 0;
        for _ in 0..100 {
            let mut received = 0;
            for s in &sources {
                received += s.poll_once().await.expect("poll").received;
            }
            if received == 0 {
                idle += 1;
                if idle >= 3 {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            } else {
                idle = 0;
            }
        }
        panic!("{function} did not drain");
    }
}
