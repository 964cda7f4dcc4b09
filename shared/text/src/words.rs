//! Words of a text.

/// The words of `text`, lower-cased, in order: runs of letters and digits, with
/// apostrophes kept inside a word (`doesn't`) and curly ones straightened.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('’', "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_and_keep_inner_apostrophes() {
        assert_eq!(
            words("It DOESN’T work -- 'quoted' 10-K, über-fast!"),
            ["it", "doesn't", "work", "quoted", "10", "k", "über", "fast"]
        );
        assert!(words(" ... ").is_empty());
    }
}
