//! Customer feedback in (work in progress).

pub mod metrics;
