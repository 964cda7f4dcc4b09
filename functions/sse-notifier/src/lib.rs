//! sse-notifier (work in progress).
