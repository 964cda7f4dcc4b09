//! What every Sluice function shares, so each thing is done one way:
//! one config loader, one telemetry setup, one PostgreSQL pool and migration
//! runner, one SQS batch processor, one idempotency mechanism, one event publisher.

pub mod auth;
pub mod aws;
pub mod batch;
pub mod config;
pub mod db;
pub mod idempotency;
pub mod instance;
pub mod ledger;
pub mod metrics;
pub mod migrate;
pub mod publish;
pub mod retry;
pub mod tasks;
pub mod telemetry;

pub use batch::{BatchProcessor, DeadLetterQueue, RecordError};
pub use config::{ConfigError, ConfigSource};
pub use db::{DbError, DbSettings, Pool};
pub use publish::{Destination, EventPublisher, PublishError};
