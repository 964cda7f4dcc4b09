//! Local stand-ins for the outside services Sluice calls, speaking their wire
//! formats, for integration tests and the local stack. Each vendor is a module
//! with its own `start`; every server binds 127.0.0.1 on a free port.
//!
//! - [`fmp`]: Financial Modeling Prep's `/stable/` API (quotes, daily bars,
//!   statements), replaying the recorded fixtures and generating the rest, with a
//!   request log that measures the busiest sliding window and switches for 429s.
//! - [`edgar`]: EDGAR (`www.sec.gov` and `data.sec.gov` paths) served from a mirror
//!   folder laid out like EDGAR, refusing undeclared User-Agents as the SEC does.
//! - [`stripe`]: Stripe Checkout sessions, and the signed events Stripe sends back.
//! - [`llm`]: a model endpoint speaking Bedrock's Converse and OpenAI's chat
//!   completions, answering schema-valid JSON, with throttling and scripted replies.

pub mod edgar;
pub mod embeddings;
pub mod fmp;
pub mod llm;
pub mod stripe;

pub use fmp::{start, FakeFmp, FakeFmpConfig, FmpStats};

/// A fake's HTTP server on 127.0.0.1 (a free port when `port` is 0): the one way every
/// fake is served. It stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    pub async fn serve(port: u16, app: axum::Router, name: &'static str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, server = name, "fake server stopped");
            }
        });
        Ok(Self {
            base_url: format!("http://{addr}"),
            shutdown: Some(tx),
        })
    }

    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}
