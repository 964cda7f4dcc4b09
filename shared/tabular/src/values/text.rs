//! Text cells.

use super::{is_empty_marker, ValueError};

/// Trims, strips NUL characters (PostgreSQL text cannot hold them) and checks the length in
/// characters; internal whitespace is kept as written.
pub(crate) fn normalise_text(raw: &str, max_len: usize) -> Result<Option<String>, ValueError> {
    let without_nul: String = raw.chars().filter(|&c| c != '\0').collect();
    let trimmed = without_nul.trim();
    if is_empty_marker(trimmed) {
        return Ok(None);
    }
    if trimmed.chars().count() > max_len {
        return Err(ValueError::TooLong { max_len });
    }
    Ok(Some(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_keeps_inner_whitespace() {
        assert_eq!(
            normalise_text("  Acme  Labs\tSL ", 50),
            Ok(Some("Acme  Labs\tSL".to_owned()))
        );
        assert_eq!(
            normalise_text("line one\nline two", 50),
            Ok(Some("line one\nline two".to_owned()))
        );
    }

    #[test]
    fn text_empty_markers_are_null() {
        assert_eq!(normalise_text("   ", 10), Ok(None));
        assert_eq!(normalise_text("N/A", 10), Ok(None));
        assert_eq!(normalise_text("\0", 10), Ok(None));
    }

    #[test]
    fn text_strips_nul_characters() {
        assert_eq!(normalise_text("Ac\0me", 10), Ok(Some("Acme".to_owned())));
    }

    #[test]
    fn text_length_is_counted_in_characters() {
        assert_eq!(normalise_text("ñññ", 3), Ok(Some("ñññ".to_owned())));
        assert_eq!(normalise_text("ññññ", 3), Err(ValueError::TooLong { max_len: 3 }));
        assert_eq!(
            normalise_text(&"x".repeat(256), 255),
            Err(ValueError::TooLong { max_len: 255 })
        );
        assert!(normalise_text(&"x".repeat(255), 255).is_ok());
    }
}
