//! The retry loop, and one HTTP request sent through it with every answer sorted in one place.

use bytes::{Bytes, BytesMut};
use reqwest::{Client, Request, RequestBuilder, Response, StatusCode};
use sluice_core::retry::{parse_retry_after, Backoff};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What an error says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Another attempt would fail the same way.
    Final,
    /// Another attempt can succeed, after the wait the server asked for, if any.
    Retry { after: Option<Duration> },
}

/// Runs `attempt` (given its number, from 1) until it succeeds, `verdict` calls its error
/// final, or `backoff.max_attempts` attempts have failed. Between attempts it waits
/// [`Backoff::jittered_delay`] (a server's `Retry-After` wins). `what` names the call in
/// the logs and must not hold a secret.
pub async fn with_retry<T, E, Fut>(
    backoff: Backoff,
    what: &str,
    mut attempt: impl FnMut(u32) -> Fut,
    verdict: impl Fn(&E) -> Verdict,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display,
{
    let max_attempts = backoff.max_attempts.max(1);
    let mut number = 1;
    loop {
        let error = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Verdict::Retry { after } = verdict(&error) else {
            return Err(error);
        };
        if number >= max_attempts {
            tracing::warn!(what, attempts = number, %error, "request failed; giving up");
            return Err(error);
        }
        let wait = backoff.jittered_delay(number, after);
        tracing::warn!(
            what,
            attempt = number,
            max_attempts,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            %error,
            "request failed; retrying"
        );
        tokio::time::sleep(wait).await;
        number += 1;
    }
}

/// Why one attempt failed in a way another attempt may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transient {
    /// 429 Too Many Requests or 503 Service Unavailable: the server asks us to slow down.
    Throttled { status: u16, retry_after: Option<Duration> },
    /// Another 5xx, or 408 Request Timeout.
    Unavailable { status: u16 },
    /// No answer (or no whole body) within the client's timeout.
    Timeout,
    /// The connection failed or broke (refused, reset, DNS, TLS, a cut body).
    Transport(String),
}

impl Transient {
    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn of(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Transport(describe_error(error))
        }
    }
}

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Throttled { status, .. } | Self::Unavailable { status } => write!(f, "HTTP {}", status_text(*status)),
            Self::Timeout => f.write_str("timed out"),
            Self::Transport(reason) => write!(f, "could not reach the server: {reason}"),
        }
    }
}

/// How [`send_with_retry`] failed. `E` is the error of the caller's [`BeforeSend`] hook.
#[derive(Debug, thiserror::Error)]
pub enum SendError<E> {
    /// Every attempt failed in a way worth retrying; `last` is how the last one did.
    #[error("{last} after {attempts} attempt(s)")]
    Exhausted { attempts: u32, last: Transient },
    /// A status that another attempt would get again (4xx other than 408 and 429), with
    /// the start of the body (for the server's reason).
    #[error("refused: HTTP {}", status_text(*status))]
    Refused { status: u16, body: String },
    /// The body is larger than the cap.
    #[error("the body is larger than the {limit}-byte cap")]
    TooLarge { limit: u64 },
    /// The request could not be built (a malformed URL or header).
    #[error("the request could not be built: {0}")]
    Request(String),
    /// The hook refused, before anything was sent.
    #[error("{0}")]
    BeforeSend(E),
}

/// Runs before every attempt, given the attempt's number (from 1): a rate limiter's permit.
/// An error stops the request before it is sent.
pub type BeforeSend<'h, E> = dyn Fn(u32) -> Pin<Box<dyn Future<Output = Result<(), E>> + Send + 'h>> + Send + Sync + 'h;

/// How much of a refusal's body is kept for its reason.
const REFUSAL_BODY_BYTES: usize = 16 * 1024;

/// Sends the request `request` builds (once per attempt), retried with `backoff`, and
/// returns the body of its 2xx answer. `before_send` runs before every attempt. With
/// `max_body_bytes`, a larger body is refused as it streams ([`SendError::TooLarge`]):
/// first by `Content-Length`, then by counting (a compressed body's length says nothing
/// of its decoded size). Statuses are sorted as the crate documentation says.
pub async fn send_with_retry<E: fmt::Display>(
    request: impl Fn() -> RequestBuilder,
    backoff: Backoff,
    before_send: Option<&BeforeSend<'_, E>>,
    max_body_bytes: Option<u64>,
) -> Result<Bytes, SendError<E>> {
    let build = || {
        let (client, built) = request().build_split();
        built
            .map(|built| (client, built))
            .map_err(|e| SendError::Request(describe_error(e)))
    };
    let first = build()?;
    // Host and path only: a query could carry a credential.
    let what = format!(
        "{}{}",
        first.1.url().host_str().unwrap_or_default(),
        first.1.url().path()
    );
    let mut first = Some(first);
    let build = &build;
    with_retry(
        backoff,
        &what,
        move |number| {
            let built = first.take();
            async move {
                if let Some(hook) = before_send {
                    hook(number).await.map_err(SendError::BeforeSend)?;
                }
                let (client, request) = match built {
                    Some(built) => built,
                    None => build()?,
                };
                attempt(&client, request, max_body_bytes)
                    .await
                    .map_err(|failure| failure.into_send_error(number))
            }
        },
        |error| match error {
            SendError::Exhausted { last, .. } => Verdict::Retry {
                after: last.retry_after(),
            },
            _ => Verdict::Final,
        },
    )
    .await
}

/// How one attempt failed.
enum Failure {
    Transient(Transient),
    Refused { status: u16, body: String },
    TooLarge { limit: u64 },
    Request(String),
}

impl Failure {
    fn into_send_error<E>(self, attempts: u32) -> SendError<E> {
        match self {
            Self::Transient(last) => SendError::Exhausted { attempts, last },
            Self::Refused { status, body } => SendError::Refused { status, body },
            Self::TooLarge { limit } => SendError::TooLarge { limit },
            Self::Request(reason) => SendError::Request(reason),
        }
    }
}

/// One attempt, its answer sorted: the one place statuses are classified.
async fn attempt(client: &Client, request: Request, max_body_bytes: Option<u64>) -> Result<Bytes, Failure> {
    let response = match client.execute(request).await {
        Ok(response) => response,
        Err(e) if e.is_builder() => return Err(Failure::Request(describe_error(e))),
        Err(e) => return Err(Failure::Transient(Transient::of(e))),
    };
    let status = response.status().as_u16();
    match status {
        200..=299 => read_body(response, max_body_bytes).await,
        429 | 503 => {
            let retry_after = parse_retry_after(response.headers().get("retry-after").and_then(|v| v.to_str().ok()));
            Err(Failure::Transient(Transient::Throttled { status, retry_after }))
        }
        408 | 500..=599 => Err(Failure::Transient(Transient::Unavailable { status })),
        _ => Err(Failure::Refused {
            status,
            body: refusal_body(response).await,
        }),
    }
}

async fn read_body(mut response: Response, max_body_bytes: Option<u64>) -> Result<Bytes, Failure> {
    let limit = max_body_bytes.unwrap_or(u64::MAX);
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(Failure::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(Failure::TooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(e) => return Err(Failure::Transient(Transient::of(e))),
        }
    }
}

/// The start of a refusal's body, as text; what cannot be read is left out.
async fn refusal_body(mut response: Response) -> String {
    let mut body = Vec::new();
    while body.len() < REFUSAL_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(REFUSAL_BODY_BYTES);
    String::from_utf8_lossy(&body).into_owned()
}

/// The error and its causes, without the URL (a query could carry a credential).
fn describe_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `503 Service Unavailable`, or the bare number for a code without a reason phrase.
fn status_text(status: u16) -> String {
    match StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const QUICK: Backoff = Backoff {
        max_attempts: 3,
        base: Duration::from_millis(1),
        max: Duration::from_millis(5),
    };

    #[derive(Debug, PartialEq)]
    enum Flaky {
        Busy,
        Broken,
    }

    impl fmt::Display for Flaky {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{self:?}")
        }
    }

    fn verdict(error: &Flaky) -> Verdict {
        match error {
            Flaky::Busy => Verdict::Retry { after: None },
            Flaky::Broken => Verdict::Final,
        }
    }

    /// What [`with_retry`] returns when each attempt gives `outcome(number)`, and how many
    /// attempts it made.
    async fn run(outcome: impl Fn(u32) -> Result<u32, Flaky>) -> (Result<u32, Flaky>, u32) {
        let calls = AtomicU32::new(0);
        let result = with_retry(
            QUICK,
            "test",
            |n| {
                calls.fetch_add(1, Ordering::SeqCst);
                std::future::ready(outcome(n))
            },
            verdict,
        )
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn retries_until_success_or_a_final_error_or_the_last_attempt() {
        let third_time_lucky = |n| if n < 3 { Err(Flaky::Busy) } else { Ok(n) };
        assert_eq!(run(third_time_lucky).await, (Ok(3), 3));
        assert_eq!(run(|_| Err(Flaky::Broken)).await, (Err(Flaky::Broken), 1));
        assert_eq!(run(|_| Err(Flaky::Busy)).await, (Err(Flaky::Busy), 3));
    }

    #[test]
    fn transient_failures_read_as_statuses() {
        let throttled = Transient::Throttled {
            status: 503,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(throttled.to_string(), "HTTP 503 Service Unavailable");
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(Transient::Unavailable { status: 599 }.to_string(), "HTTP 599");
        assert_eq!(Transient::Timeout.retry_after(), None);
        let exhausted: SendError<String> = SendError::Exhausted {
            attempts: 5,
            last: Transient::Throttled {
                status: 429,
                retry_after: None,
            },
        };
        assert_eq!(exhausted.to_string(), "HTTP 429 Too Many Requests after 5 attempt(s)");
    }
}
