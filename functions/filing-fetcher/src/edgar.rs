//! The EDGAR client (work in progress).
