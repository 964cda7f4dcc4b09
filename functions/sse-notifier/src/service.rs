//! The function URL of the events (`InvokeMode: RESPONSE_STREAM`): every answer is a
//! stream, a short one for tickets, long-polls and refusals.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/events/ticket` | bearer token | a single-use stream ticket (60 s) |
//! | `GET /v1/events/stream?ticket=` | ticket (or bearer token) | Server-Sent Events |
//! | `GET /v1/events?after=&wait=` | bearer token | the long-polling fallback (JSON) |
//!
//! A function URL has no JWT authorizer: the function verifies tokens itself with the
//! one verifier ([`sluice_core::auth::TokenVerifier`]). Tokens and tickets are never logged.
//!
//! The endpoints are an axum [`Router`] ([`EventsService::router`]), run by
//! lambda_http's streaming runtime in AWS and served directly by the local runner.

use crate::hub::{Hub, HubSignal};
use crate::leases::{self, Lease};
use crate::store::{self, StoredEvent, Viewer};
use crate::{sse, tickets};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures::stream::BoxStream;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use sluice_core::{ConfigError, ConfigSource, InitError, Instance, Pool};
use sluice_web::{ApiError as Problem, Authenticator, QueryParams};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

/// A response body: bytes as they are produced.
pub type BodyStream = BoxStream<'static, Result<Bytes, Infallible>>;

/// An answer: the function URL's metadata prelude (status, headers) and its body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: BodyStream,
}

impl Reply {
    fn whole(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body: Box::pin(futures::stream::once(async move { Ok(body) })),
        }
    }

    fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Self::whole(status, headers, Bytes::from(value.to_string()))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from_stream(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// How streams behave. Every value has a production default; tests shorten them.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// `SSE_HEARTBEAT_MS` (15000): a comment line this often.
    pub heartbeat: Duration,
    /// `SSE_RETRY_MS` (2000): the `retry:` hint, how long a client waits to reconnect.
    pub retry: Duration,
    /// `SSE_END_MARGIN_MS` (10000): the stream ends this long before the function's deadline.
    pub end_margin: Duration,
    /// `SSE_MAX_STREAM_SECS` (none): a stream never lasts longer than this.
    pub max_duration: Option<Duration>,
    /// `SSE_REPLAY_BATCH` (500): rows read per query while replaying.
    pub replay_batch: i64,
    /// `SSE_TICKET_TTL_SECS` (60): how long a stream ticket stays valid.
    pub ticket_ttl: Duration,
    /// `SSE_LONG_POLL_MAX_WAIT_SECS` (25): the longest `wait` of the long-poll.
    pub long_poll_max_wait: Duration,
    /// `SSE_LONG_POLL_LIMIT` (100): events per long-poll answer.
    pub long_poll_limit: i64,
    /// `SSE_HUB_CAPACITY` (1024): events a stream may fall behind before it re-reads the table.
    pub hub_capacity: usize,
    /// `SSE_STREAMS_PER_USER` (3): streams one user may hold open at once.
    pub streams_per_user: u32,
    /// `SSE_FUNCTION_TIMEOUT_SECS` (900, the function's timeout in template.yaml): an
    /// invocation's deadline where the runtime gives none (the local runner).
    pub function_timeout: Duration,
}

impl StreamConfig {
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        let ms = |key: &str, default: u64| cfg.or(key, default).map(Duration::from_millis);
        let secs = |key: &str, default: u64| cfg.or(key, default).map(Duration::from_secs);
        Ok(Self {
            heartbeat: ms("SSE_HEARTBEAT_MS", 15_000)?.max(Duration::from_millis(10)),
            retry: ms("SSE_RETRY_MS", 2_000)?,
            end_margin: ms("SSE_END_MARGIN_MS", 10_000)?,
            max_duration: cfg.optional::<u64>("SSE_MAX_STREAM_SECS")?.map(Duration::from_secs),
            replay_batch: cfg.or("SSE_REPLAY_BATCH", 500i64)?.max(1),
            ticket_ttl: secs("SSE_TICKET_TTL_SECS", 60)?,
            long_poll_max_wait: secs("SSE_LONG_POLL_MAX_WAIT_SECS", 25)?,
            long_poll_limit: cfg.or("SSE_LONG_POLL_LIMIT", 100i64)?.clamp(1, 1000),
            hub_capacity: cfg.or("SSE_HUB_CAPACITY", 1024usize)?,
            streams_per_user: cfg.or("SSE_STREAMS_PER_USER", 3u32)?,
            function_timeout: secs("SSE_FUNCTION_TIMEOUT_SECS", 900)?,
        })
    }

    /// When a stream opened now must end, given the function's own deadline.
    pub fn stream_deadline(&self, function_deadline: Instant) -> Instant {
        let now = Instant::now();
        let by_function = function_deadline.checked_sub(self.end_margin).unwrap_or(now).max(now);
        match self.max_duration {
            Some(max) => by_function.min(now + max),
            None => by_function,
        }
    }
}

/// How long after its stream's deadline a lease outlives a process that died.
const LEASE_GRACE: Duration = Duration::from_secs(5);
/// When a client refused for holding too many streams should ask again.
const LEASE_FULL_RETRY_SECS: u64 = 30;

/// The events endpoints of one process. Cloning is cheap (pools and channels).
#[derive(Clone)]
pub struct EventsService {
    pub pool: Pool,
    pub hub: Hub,
    /// Bearer tokens are verified here (a function URL has no authorizer).
    pub auth: Authenticator,
    pub config: StreamConfig,
}

impl EventsService {
    /// The one constructor (Lambda, the local runner, the tests): `SSE_*` settings, the
    /// hub on a connection of its own, the token verifier (Cognito in AWS, the local
    /// secret on the local stack; see [`sluice_web::auth::verifier_from_config`]).
    pub async fn build(instance: &Instance) -> Result<Self, InitError> {
        let config = StreamConfig::load(&instance.cfg)?;
        let verifier = sluice_web::auth::verifier_from_config(&instance.cfg).await?;
        Ok(Self {
            hub: Hub::start(instance.db.clone(), config.hub_capacity),
            pool: instance.pool.clone(),
            auth: Authenticator::Verify(Arc::new(verifier)),
            config,
        })
    }

    /// The events endpoints as a router: the same in Lambda (streamed by lambda_http)
    /// and on the local runner.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/events", axum::routing::any(answer))
            .route("/v1/events/stream", axum::routing::any(answer))
            .route("/v1/events/ticket", axum::routing::any(answer))
            .layer(axum::middleware::from_fn(sluice_web::with_instance))
            .with_state(Arc::new(self))
    }

    /// Answers one request; `function_deadline` is when the invocation must be over.
    pub async fn handle(&self, parts: &Parts, function_deadline: Instant) -> Response {
        let path = parts.uri.path().to_owned();
        let span = tracing::info_span!("http", method = %parts.method, path = %path);
        let result = tracing::Instrument::instrument(self.route(parts, function_deadline), span.clone()).await;
        match result {
            Ok(reply) => reply.into_response(),
            Err(problem) => span.in_scope(|| problem.into_response()),
        }
    }

    async fn route(&self, request: &Parts, function_deadline: Instant) -> Result<Reply, Problem> {
        let route = request.uri.path().trim_end_matches('/');
        let allowed = match route {
            "/v1/events/stream" | "/v1/events" => http::Method::GET,
            "/v1/events/ticket" => http::Method::POST,
            other => return Err(Problem::not_found(format!("no route {} {other}", request.method))),
        };
        if request.method != allowed {
            return Err(Problem::MethodNotAllowed(request.method.to_string()));
        }
        match route {
            "/v1/events/ticket" => {
                let viewer = self.bearer_viewer(request).await?;
                let issued = tickets::issue(&self.pool, &viewer, self.config.ticket_ttl)
                    .await
                    .map_err(Problem::internal)?;
                tracing::info!(user_id = %viewer.user_id, "stream ticket issued");
                let body = serde_json::to_value(&issued).map_err(Problem::internal)?;
                Ok(Reply::json(StatusCode::CREATED, &body))
            }
            "/v1/events/stream" => {
                let viewer = match query(request, "ticket") {
                    Some(ticket) => tickets::redeem(&self.pool, &ticket)
                        .await
                        .map_err(Problem::internal)?
                        .ok_or(Problem::Unauthenticated)?,
                    None => self.bearer_viewer(request).await?,
                };
                let resume = last_event_id(request)?;
                let deadline = self.config.stream_deadline(function_deadline);
                Ok(self.open_stream(viewer, resume, deadline).await?)
            }
            _ => {
                let viewer = self.bearer_viewer(request).await?;
                let after = match query(request, "after") {
                    Some(raw) => Some(parse_id(&raw, "after")?),
                    None => last_event_id(request)?,
                };
                let wait = match query(request, "wait") {
                    Some(raw) => Duration::from_secs(
                        raw.trim()
                            .parse::<u64>()
                            .map_err(|_| Problem::InvalidRequest("wait must be a whole number of seconds".into()))?,
                    ),
                    None => Duration::ZERO,
                };
                let until = (Instant::now() + wait.min(self.config.long_poll_max_wait))
                    .min(self.config.stream_deadline(function_deadline));
                let (events, last_id) = self.long_poll(&viewer, after, until).await?;
                Ok(Reply::json(
                    StatusCode::OK,
                    &serde_json::json!({ "events": events, "last_id": last_id }),
                ))
            }
        }
    }

    async fn bearer_viewer(&self, request: &Parts) -> Result<Viewer, Problem> {
        let principal = self.auth.principal(request).await?;
        Ok(Viewer {
            user_id: principal.user_id,
            team_member: principal.team_member,
        })
    }

    /// Where a stream or long-poll without a position starts: after the newest event.
    async fn newest(&self) -> Result<i64, Problem> {
        let client = self.pool.get().await.map_err(Problem::internal)?;
        store::newest_id(&**client).await.map_err(Problem::internal)
    }

    async fn open_stream(&self, viewer: Viewer, resume: Option<i64>, deadline: Instant) -> Result<Reply, Problem> {
        // A lease per open stream, a few per user; it runs out by itself at the deadline.
        let lifetime = deadline.saturating_duration_since(Instant::now()) + LEASE_GRACE;
        let lease = match leases::take(&self.pool, &viewer.user_id, self.config.streams_per_user, lifetime)
            .await
            .map_err(Problem::internal)?
        {
            Lease::Granted(id) => id,
            Lease::Full { held } => {
                tracing::info!(user_id = %viewer.user_id, held, "stream refused: the user holds the most streams allowed");
                return Err(Problem::RateLimited {
                    message: format!(
                        "you have {held} event streams open, the most one user may hold; close one \
                         (each browser tab keeps one) or use GET /v1/events?wait="
                    ),
                    retry_after_secs: LEASE_FULL_RETRY_SECS,
                });
            }
        };
        // Subscribe first: whatever commits after the replay's read is then heard live.
        let live = self.hub.subscribe();
        let last = match resume {
            Some(id) => id,
            None => self.newest().await?,
        };
        let (tx, mut rx) = mpsc::channel::<Bytes>(32);
        let service = self.clone();
        tracing::info!(user_id = %viewer.user_id, resume = ?resume, "stream opened");
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let pool = service.pool.clone();
                service.stream(viewer, last, deadline, live, tx).await;
                if let Err(e) = leases::release(&pool, lease).await {
                    // It runs out at the stream's deadline anyway.
                    tracing::warn!(error = %e, "stream lease not released");
                }
            },
            tracing::Span::current(),
        ));
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
        // Proxies that buffer (nginx) pass the events through as they come.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        let body = futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|b| b.map(Ok)));
        Ok(Reply {
            status: StatusCode::OK,
            headers,
            body: Box::pin(body),
        })
    }

    /// One stream: the replay after `last`, then live events, heartbeats, and a clean end.
    async fn stream(
        self,
        viewer: Viewer,
        mut last: i64,
        deadline: Instant,
        mut live: broadcast::Receiver<HubSignal>,
        tx: mpsc::Sender<Bytes>,
    ) {
        let started = Instant::now();
        let mut sent = 0u64;
        if tx.send(sse::retry(self.config.retry.as_millis())).await.is_err() {
            return;
        }
        let mut outcome = self.replay(&viewer, &mut last, &tx, &mut sent, deadline).await;
        let mut heartbeat = tokio::time::interval_at(started + self.config.heartbeat, self.config.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while outcome == Flow::Continue {
            outcome = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    // The function's time is nearly up: end cleanly; the client reconnects
                    // (after `retry`) with Last-Event-ID and loses nothing.
                    let _ = tx.send(sse::comment("stream ends before the function's time limit; reconnect")).await;
                    Flow::Ended("deadline")
                }
                _ = tx.closed() => Flow::Ended("client gone"),
                _ = heartbeat.tick() => {
                    if tx.send(sse::comment("heartbeat")).await.is_err() { Flow::Ended("client gone") } else { Flow::Continue }
                }
                signal = live.recv() => match signal {
                    Ok(HubSignal::Event(event)) => {
                        if event.id > last && viewer.sees(&event) {
                            last = event.id;
                            sent += 1;
                            if tx.send(sse::event(&event)).await.is_err() { Flow::Ended("client gone") } else { Flow::Continue }
                        } else {
                            Flow::Continue
                        }
                    }
                    // Missed announcements (the hub reconnected, or this stream fell
                    // behind): the table has everything; read it again after `last`.
                    Ok(HubSignal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.replay(&viewer, &mut last, &tx, &mut sent, deadline).await
                    }
                    Err(broadcast::error::RecvError::Closed) => Flow::Ended("listener stopped"),
                },
            };
        }
        if let Flow::Ended(why) = outcome {
            tracing::info!(user_id = %viewer.user_id, last, sent, seconds = started.elapsed().as_secs_f64(), why, "stream closed");
        }
    }

    /// Sends the viewer's events after `last` from the table, in bounded batches.
    async fn replay(
        &self,
        viewer: &Viewer,
        last: &mut i64,
        tx: &mpsc::Sender<Bytes>,
        sent: &mut u64,
        deadline: Instant,
    ) -> Flow {
        loop {
            if Instant::now() >= deadline {
                return Flow::Continue; // the main loop ends it cleanly
            }
            let rows = match self.read_after(viewer, *last, self.config.replay_batch).await {
                Ok(rows) => rows,
                Err(e) => {
                    // The client reconnects with its Last-Event-ID and loses nothing.
                    tracing::error!(error = %e, "replay failed; ending the stream");
                    return Flow::Ended("replay failed");
                }
            };
            let full = rows.len() as i64 == self.config.replay_batch;
            for event in rows {
                *last = event.id;
                *sent += 1;
                if tx.send(sse::event(&event)).await.is_err() {
                    return Flow::Ended("client gone");
                }
            }
            if !full {
                return Flow::Continue;
            }
        }
    }

    async fn read_after(&self, viewer: &Viewer, after: i64, limit: i64) -> Result<Vec<StoredEvent>, String> {
        let client = self.pool.get().await.map_err(|e| e.to_string())?;
        store::after_for(&**client, viewer, after, limit)
            .await
            .map_err(|e| e.to_string())
    }

    /// The viewer's events after `after` (after the newest when `None`), waiting until
    /// `until` for one to arrive when there is none yet.
    async fn long_poll(
        &self,
        viewer: &Viewer,
        after: Option<i64>,
        until: Instant,
    ) -> Result<(Vec<StoredEvent>, i64), Problem> {
        let mut live = self.hub.subscribe();
        let after = match after {
            Some(id) => id,
            None => self.newest().await?,
        };
        let limit = self.config.long_poll_limit;
        loop {
            let events = self.read_after(viewer, after, limit).await.map_err(Problem::internal)?;
            if !events.is_empty() || Instant::now() >= until {
                let last = events.last().map_or(after, |e| e.id);
                return Ok((events, last));
            }
            // Nothing yet: wait for one of the viewer's events, then read the table again
            // (also after a resync or a lag: what was missed is in the table).
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => return Ok((Vec::new(), after)),
                    signal = live.recv() => match signal {
                        Ok(HubSignal::Event(e)) if e.id > after && viewer.sees(&e) => break,
                        Ok(HubSignal::Event(_)) => {}
                        Ok(HubSignal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => return Ok((Vec::new(), after)),
                    },
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Ended(&'static str),
}

fn query(request: &Parts, name: &str) -> Option<String> {
    QueryParams::parse(request.uri.query().unwrap_or_default())
        .first(name)
        .map(str::to_owned)
}

/// Every events request: when the invocation must end (the Lambda context's deadline
/// under the runtime, the configured function timeout elsewhere), then the service.
async fn answer(State(service): State<Arc<EventsService>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let deadline = match parts.extensions.get::<lambda_http::Context>() {
        Some(context) => {
            let left = SystemTime::UNIX_EPOCH + Duration::from_millis(context.deadline);
            Instant::now() + left.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
        }
        None => Instant::now() + service.config.function_timeout,
    };
    service.handle(&parts, deadline).await
}

fn parse_id(raw: &str, what: &str) -> Result<i64, Problem> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| Problem::InvalidRequest(format!("{what} must be an event id (a whole number)")))
}

/// `Last-Event-ID` (what EventSource sends when it reconnects by itself) or the
/// `last_event_id` query parameter (what a page sends when it opens a new EventSource).
fn last_event_id(request: &Parts) -> Result<Option<i64>, Problem> {
    let header = request
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned);
    match header.or_else(|| query(request, "last_event_id")) {
        Some(raw) => parse_id(&raw, "Last-Event-ID").map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_end_a_margin_before_the_deadline_or_at_the_max() {
        let mut cfg = StreamConfig::load(&ConfigSource::default()).unwrap();
        assert_eq!(cfg.heartbeat, Duration::from_secs(15));
        let now = Instant::now();
        let d = cfg.stream_deadline(now + Duration::from_secs(900));
        assert!(d <= now + Duration::from_secs(890) + Duration::from_millis(50) && d > now);
        cfg.max_duration = Some(Duration::from_secs(2));
        assert!(cfg.stream_deadline(now + Duration::from_secs(900)) <= Instant::now() + Duration::from_secs(2));
        // A deadline already inside the margin: end at once.
        assert!(cfg.stream_deadline(now + Duration::from_secs(1)) <= Instant::now());
    }

    #[test]
    fn positions_come_from_the_header_or_the_query() {
        let parts = |uri: &str, header: Option<&'static str>| {
            let mut builder = http::Request::get(uri);
            if let Some(h) = header {
                builder = builder.header("last-event-id", h);
            }
            builder.body(()).unwrap().into_parts().0
        };
        assert_eq!(last_event_id(&parts("/v1/events", None)).unwrap(), None);
        assert_eq!(
            last_event_id(&parts("/v1/events?last_event_id=12", None)).unwrap(),
            Some(12)
        );
        assert_eq!(
            last_event_id(&parts("/v1/events?last_event_id=12", Some("15"))).unwrap(),
            Some(15)
        );
        assert!(last_event_id(&parts("/v1/events", Some("-1"))).is_err());
    }
}
