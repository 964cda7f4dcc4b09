//! Analysis kinds: prompts, schemas, chunking (work in progress).
