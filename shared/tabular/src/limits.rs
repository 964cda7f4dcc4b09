//! How big one line of a spreadsheet may be. A file is streamed, but one record is held
//! whole while it is read: without a cap, an unclosed quote makes the rest of the file
//! one record, and a header without a line end is read to the end of the file.

/// The header record (from the start of the file, BOM included) must end within this many
/// bytes: ingest-validator judges the header from a sample of exactly this size.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The default cap on one data record (a row, quoted line breaks included).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Why a file is refused for its size of line. The words are what the uploader is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineLimitError {
    #[error(
        "the header row is longer than {} (a file without line ends, or a quote that is never closed?)",
        human_bytes(*.limit)
    )]
    Header { limit: usize },
    #[error(
        "the record starting on line {line} is longer than {} (a quote that is never closed?); \
         nothing of the file was loaded",
        human_bytes(*.limit)
    )]
    Record { line: u64, limit: usize },
}

/// Names a size for people: `1 MiB`, `64 KiB`, else bytes.
pub fn human_bytes(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_named_for_people() {
        assert_eq!(human_bytes(MAX_HEADER_BYTES), "64 KiB");
        assert_eq!(human_bytes(DEFAULT_MAX_RECORD_BYTES), "1 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
        let refusal = LineLimitError::Record {
            line: 2,
            limit: 1024 * 1024,
        }
        .to_string();
        assert!(refusal.contains("line 2 is longer than 1 MiB"), "{refusal}");
    }
}
