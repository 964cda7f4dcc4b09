//! sse-notifier: every event published on the events topic reaches its user.
//!
//! - [`consumer`]: the SQS consumer of the topic's subscription queue. Each event is
//!   stored once in `events` (idempotent per message id) and announced with
//!   `NOTIFY sluice_events, '<id>'` in the same transaction.
//! - [`hub`]: one `LISTEN` connection per process, fanning new rows out to every open
//!   stream of the process through a broadcast channel.
//! - [`service`]: the function URL (`InvokeMode: RESPONSE_STREAM`), an axum router:
//!   `GET /v1/events/stream`
//!   (Server-Sent Events, resumable with `Last-Event-ID`), `POST /v1/events/ticket`
//!   (single-use stream tickets for browsers' EventSource) and `GET /v1/events`
//!   (the long-polling fallback).
//!
//! Who sees what: an event with a user (analyses) goes to that user only; a team-wide
//! event (spreadsheet loads, market-data refreshes) goes to the members of the team, the
//! users who may read team-wide data through the HTTP API.

pub mod audience;
pub mod consumer;
pub mod hub;
pub mod leases;
pub mod service;
pub mod sse;
pub mod store;
pub mod tickets;

pub use consumer::{Notifier, NotifyError};
pub use hub::{Hub, HubSignal};
pub use service::{BodyStream, EventsService, Reply, StreamConfig};
pub use store::{StoredEvent, Viewer};

/// The service name in logs and metrics.
pub const SERVICE: &str = "sse-notifier";
