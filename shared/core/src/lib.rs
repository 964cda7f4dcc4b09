//! What every Sluice function shares, so each thing is done one way:
//! one config loader, one telemetry setup, one PostgreSQL pool and migration
//! runner, one SQS batch processor, one idempotency mechanism, one event publisher.

pub mod auth;
pub mod aws;
pub mod batch;
pub mod bulk;
pub mod clock;
pub mod config;
pub mod db;
pub mod idempotency;
pub mod instance;
pub mod lambda;
pub mod ledger;
pub mod lifecycle;
pub mod metrics;
pub mod migrate;
pub mod publish;
pub mod request_windows;
pub mod retry;
pub mod secrets;
pub mod telemetry;

pub use batch::{BatchProcessor, ConsumeError, DeadLetterQueue, Delivery, Outbox, RecordError};
pub use clock::Clock;
pub use config::{ConfigError, ConfigSource};
pub use db::{DbError, DbSettings, Pool};
pub use instance::{InitError, Instance};
pub use lambda::{Answer, Function, FunctionError, Trigger};
pub use publish::{Destination, EventPublisher, PublishError};
pub use secrets::{Secret, Secrets};
