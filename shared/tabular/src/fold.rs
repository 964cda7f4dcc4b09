//! Case and accent folding shared by header matching, company keys and month names.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower-cases, decomposes (NFKD) and drops combining marks: "Fundación" -> "fundacion".
/// Lower-casing first, because some upper-case letters lower-case into a base plus a mark.
pub(crate) fn fold(raw: &str) -> String {
    raw.to_lowercase().nfkd().filter(|c| !is_combining_mark(*c)).collect()
}

/// Replaces every run of non-alphanumeric characters with `sep` and trims it from both ends.
pub(crate) fn collapse_non_alphanumeric(folded: &str, sep: char) -> String {
    let mut out = String::with_capacity(folded.len());
    let mut pending_sep = false;
    for c in folded.chars() {
        if c.is_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push(sep);
            }
            pending_sep = false;
            out.push(c);
        } else {
            pending_sep = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_drops_accents_and_case() {
        assert_eq!(fold("Fundación"), "fundacion");
        assert_eq!(fold("AÑO"), "ano");
        assert_eq!(fold("Compañía"), "compania");
        assert_eq!(fold("ÉCOLE"), "ecole");
    }

    #[test]
    fn collapse_keeps_single_separators_only_between_words() {
        assert_eq!(collapse_non_alphanumeric("  a -- b..c  ", '_'), "a_b_c");
        assert_eq!(collapse_non_alphanumeric("--", '_'), "");
        assert_eq!(collapse_non_alphanumeric("abc", ' '), "abc");
    }
}
