//! Sentences of a paragraph.

/// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "inc", "corp", "co", "ltd", "llc", "no", "nos", "vs", "e.g", "i.e", "etc", "mr", "ms", "mrs", "dr", "st", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "u.s", "fig", "s.a", "n.v",
    "plc",
];

/// The sentences of a paragraph, white space collapsed: one ends at `.`, `!` or `?`
/// followed by a space and a capital, digit, quote, bracket, `$` or bullet, unless the
/// word before is an abbreviation or an initial. A period inside a number never ends one.
pub fn split_sentences(paragraph: &str) -> Vec<String> {
    let flat: String = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<(usize, char)> = flat.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (n, &(i, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next_is_space = chars.get(n + 1).is_some_and(|(_, c)| *c == ' ');
        let after = chars.get(n + 2).map(|(_, c)| *c);
        let starts_sentence =
            after.is_some_and(|a| a.is_uppercase() || a.is_ascii_digit() || matches!(a, '"' | '“' | '(' | '$' | '•'));
        if !next_is_space || !starts_sentence {
            continue;
        }
        if c == '.' {
            let word_start = flat[..i].rfind(' ').map_or(0, |p| p + 1);
            let word = flat[word_start..i].trim_start_matches(['(', '"', '“']).to_lowercase();
            let initial = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
            if initial || ABBREVIATIONS.contains(&word.as_str()) {
                continue;
            }
        }
        let end = i + c.len_utf8();
        let sentence = flat[start..end].trim();
        if !sentence.is_empty() {
            out.push(sentence.to_owned());
        }
        start = end;
    }
    let rest = flat[start..].trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_but_not_at_abbreviations_or_decimals() {
        let s = split_sentences(
            "Apple Inc. designs phones. Net sales were $391.0 billion in the U.S. and abroad. \
             Growth was 2.5% in 2024! Is it? Yes.",
        );
        assert_eq!(
            s,
            [
                "Apple Inc. designs phones.",
                "Net sales were $391.0 billion in the U.S. and abroad.",
                "Growth was 2.5% in 2024!",
                "Is it?",
                "Yes."
            ]
        );
    }

    #[test]
    fn initials_lower_case_and_white_space() {
        assert_eq!(
            split_sentences("Filed by J. Smith on Monday.\n  It  fails. then\tcontinues."),
            ["Filed by J. Smith on Monday.", "It fails. then continues."]
        );
        assert!(split_sentences(" \n ").is_empty());
        assert_eq!(split_sentences("No end"), ["No end"]);
    }
}
