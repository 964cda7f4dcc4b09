//! One file per route family. Every route and the authentication it needs is listed
//! once, in [`crate::ROUTES`].

pub mod account;
pub mod alerts;
pub mod analyses;
pub mod billing;
pub mod bulk_imports;
pub mod data_versions;
pub mod deals;
pub mod fundamentals;
pub mod holdings;
pub mod listing;
pub mod market;
pub mod notifications;
pub mod portfolio;
pub mod reports;
pub mod search;
pub mod tickets;
pub mod uploads;
pub mod webhook_endpoints;
pub mod webhooks;
