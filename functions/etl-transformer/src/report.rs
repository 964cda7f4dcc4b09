//! What a load tells the people who uploaded the file.

use serde::Serialize;
use sluice_messages::{DataVersionId, Dataset, LoadCounts, LoadStatus};

/// One rejected field of a row; a row with several bad fields has several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// A row whose values changed, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowChange {
    pub row: u64,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// The change report stored as JSON in S3 (`reports/<dataset>/<version>.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeReport {
    pub data_version_id: DataVersionId,
    pub dataset: Dataset,
    pub file: String,
    pub status: LoadStatus,
    pub counts: LoadCounts,
    /// The first changed rows (see `changes_truncated`).
    pub changes: Vec<RowChange>,
    pub changes_truncated: bool,
    /// Rows not written because a newer upload already wrote that row with other values.
    pub stale_rows: Vec<u64>,
    /// Rows overridden by a later row with the same key in this file (the last one wins).
    pub superseded_rows: Vec<u64>,
    /// Header columns the dataset has no column for: kept in the row's `extra` JSON.
    pub extra_columns: Vec<String>,
    /// Header columns dropped (blank or spreadsheet junk such as `Unnamed: 0`).
    pub ignored_columns: Vec<String>,
    pub rejects_key: Option<String>,
}
