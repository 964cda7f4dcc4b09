//! Section extraction from SEC filings (work in progress).
