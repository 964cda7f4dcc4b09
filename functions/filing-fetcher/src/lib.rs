//! filing-fetcher: a task's filing from EDGAR into S3, split into sections.

pub mod edgar;
