//! Per-day feedback counters: the DynamoDB key layout (work in progress).
