//! A fake EDGAR (work in progress).
