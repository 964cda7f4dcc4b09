//! Portfolio intelligence over the team's spreadsheets (issue 12).
//!
//! - [`rules`]: the KPI alert rules the team edits, validated (pure).
//! - [`tracker`]: after a KPI load, the rules evaluated over the rows it wrote; alerts
//!   stored once and announced as `KpiAlert` events, in the caller's transaction.
//! - [`deals`]: the deal-flow scorer (weighted factors, each explained).
//! - [`report`]: the portfolio report (KPI trends, cash runway, budget attainment, open
//!   alerts), narrated extractively, stored in S3.
//! - [`narration`]: what a model is given to narrate a report, and the check that its
//!   narration invents no number (pure).

pub mod deals;
pub mod narration;
pub mod report;
pub mod rules;
pub mod tracker;

#[derive(Debug, thiserror::Error)]
pub enum PortfolioError {
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Publish(#[from] sluice_core::PublishError),
    /// A report could not be written to S3.
    #[error("report storage: {0}")]
    Storage(String),
}

impl PortfolioError {
    /// Worth retrying (connection trouble), unlike a refused value.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => !sluice_core::db::is_permanent(e),
            Self::Publish(_) | Self::Storage(_) => true,
        }
    }
}
