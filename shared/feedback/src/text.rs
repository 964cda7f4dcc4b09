//! Text every source shares: whitespace normalisation and the length cap, language hints
//! to BCP 47 tags. HTML to text is `sluice_text`'s.

/// The longest text kept for triage, in characters (Unicode scalar values). Longer text is
/// cut there (after normalisation); the original stays at the source (see `link`).
pub const MAX_TEXT_CHARS: usize = 20_000;

/// The longest author or subject kept, in characters.
pub const MAX_FIELD_CHARS: usize = 500;

/// Normalises text for triage: line breaks to `\n`, Unicode spaces and tabs to one space,
/// invisible characters (zero-width space, BOM, word joiner, controls) removed, every line
/// trimmed, at most one blank line in a row, trimmed, and cut at [`MAX_TEXT_CHARS`].
pub fn normalise_text(raw: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut blank_run = 0usize;
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    for line in unified.split('\n') {
        let line = collapse_spaces(line);
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !lines.is_empty() && blank_run > 0 {
            lines.push(String::new());
        }
        blank_run = 0;
        lines.push(line);
    }
    cap_chars(&lines.join("\n"), MAX_TEXT_CHARS)
}

/// One line (an author, a subject): all whitespace collapsed to single spaces, trimmed,
/// capped at [`MAX_FIELD_CHARS`]; `None` when nothing is left.
pub fn single_line(raw: &str) -> Option<String> {
    let flat = collapse_spaces(&raw.replace(['\r', '\n'], " "));
    let capped = cap_chars(&flat, MAX_FIELD_CHARS);
    (!capped.is_empty()).then_some(capped)
}

/// The text of an item: its normalised text without a signature block (below `-- ` or `--`),
/// or, for a rating with no words, a sentence saying so (triage reads text; the rating is in
/// `rating`). `None` when there is neither.
pub fn feedback_text(text: Option<&str>, rating: Option<u8>) -> Option<String> {
    let text = text
        .map(|raw| {
            let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
            let lines: Vec<&str> = unified.split('\n').collect();
            normalise_text(&before_signature(&lines, is_signature_delimiter).join("\n"))
        })
        .unwrap_or_default();
    if !text.is_empty() {
        return Some(text);
    }
    rating.map(|stars| format!("Rated {stars} of 5 stars, with no written comment."))
}

/// The lines before the first one that `starts_signature` accepts; all of them when there
/// is none, or when nothing but the signature would be left.
pub(crate) fn before_signature<'l, 'a>(lines: &'l [&'a str], starts_signature: impl Fn(&str) -> bool) -> &'l [&'a str] {
    match lines.iter().position(|line| starts_signature(line)) {
        Some(cut) if has_text(&lines[..cut]) => &lines[..cut],
        _ => lines,
    }
}

pub(crate) fn has_text(lines: &[&str]) -> bool {
    lines.iter().any(|line| !line.trim().is_empty())
}

/// The signature delimiter: `-- ` (RFC 3676), also without its trailing space as many
/// clients and editors send it, or a lone dash.
pub(crate) fn is_signature_delimiter(line: &str) -> bool {
    matches!(line.trim(), "--" | "—")
}

fn collapse_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut pending_space = false;
    for c in line.chars() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{00ad}')
}

fn cap_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].trim_end().to_owned(),
        None => text.to_owned(),
    }
}

/// A language hint (`en`, `en_US`, `pt-br`, `zh-Hans-CN`) as a BCP 47 tag with the usual
/// casing (`en-US`, `pt-BR`, `zh-Hans-CN`): language (2-3 letters), then optionally a
/// script (4 letters) and a region (2 letters or 3 digits). Subtags after the first one
/// that does not fit are dropped. `None` for anything else (a language name such as
/// "English", `und`, an empty hint): no tag is better than a wrong one.
pub fn language_tag(hint: &str) -> Option<String> {
    let mut subtags = hint.trim().split(['-', '_']);
    let language = subtags.next()?;
    if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let language = language.to_ascii_lowercase();
    if language == "und" {
        return None;
    }
    let mut tag = language;
    let mut seen_script = false;
    for subtag in subtags {
        if !seen_script && subtag.len() == 4 && subtag.bytes().all(|b| b.is_ascii_alphabetic()) {
            seen_script = true;
            tag.push('-');
            tag.push_str(&subtag[..1].to_ascii_uppercase());
            tag.push_str(&subtag[1..].to_ascii_lowercase());
            continue;
        }
        let region = (subtag.len() == 2 && subtag.bytes().all(|b| b.is_ascii_alphabetic()))
            || (subtag.len() == 3 && subtag.bytes().all(|b| b.is_ascii_digit()));
        if region {
            tag.push('-');
            tag.push_str(&subtag.to_ascii_uppercase());
        }
        break;
    }
    Some(tag)
}

/// The language of an App Store storefront (ISO 3166-1 alpha-3 territory), only where one
/// language clearly dominates; multilingual territories (CAN, CHE, BEL, IND, ...) give `None`.
pub fn territory_language(territory: &str) -> Option<&'static str> {
    let code = territory.trim().to_ascii_uppercase();
    let tag = match code.as_str() {
        "USA" | "GBR" | "AUS" | "NZL" | "IRL" => "en",
        "DEU" | "AUT" => "de",
        "FRA" => "fr",
        "ESP" => "es-ES",
        "MEX" => "es-MX",
        "ARG" | "CHL" | "COL" | "PER" | "URY" | "VEN" | "ECU" | "BOL" | "PRY" | "CRI" | "GTM" | "DOM" => "es",
        "ITA" => "it",
        "PRT" => "pt-PT",
        "BRA" => "pt-BR",
        "NLD" => "nl",
        "SWE" => "sv",
        "NOR" => "nb",
        "DNK" => "da",
        "POL" => "pl",
        "CZE" => "cs",
        "SVK" => "sk",
        "HUN" => "hu",
        "ROU" => "ro",
        "GRC" => "el",
        "TUR" => "tr",
        "RUS" => "ru",
        "UKR" => "uk",
        "JPN" => "ja",
        "KOR" => "ko",
        "CHN" => "zh-Hans",
        "TWN" => "zh-Hant",
        "THA" => "th",
        "VNM" => "vi",
        "IDN" => "id",
        "ISR" => "he",
        "SAU" | "ARE" | "EGY" | "QAT" | "KWT" | "JOR" => "ar",
        _ => return None,
    };
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_normalised_and_paragraphs_kept() {
        let raw = "  Hello\u{a0}\u{a0}there,\t friend \r\n\r\n\r\n\n second\u{200b} line \r third  ";
        assert_eq!(normalise_text(raw), "Hello there, friend\n\nsecond line\nthird");
        assert_eq!(normalise_text(" \n\t \n"), "");
    }

    #[test]
    fn text_is_capped_on_a_character_boundary() {
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        let capped = normalise_text(&long);
        assert_eq!(capped.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn a_rating_without_words_still_has_text() {
        assert_eq!(
            feedback_text(Some("  "), Some(4)).as_deref(),
            Some("Rated 4 of 5 stars, with no written comment.")
        );
        assert_eq!(feedback_text(None, None), None);
        assert_eq!(feedback_text(Some(" ok "), Some(2)).as_deref(), Some("ok"));
    }

    #[test]
    fn webhook_text_loses_its_signature_block() {
        // RFC 3676's delimiter is "-- "; many clients and editors drop the trailing space.
        for delimiter in ["-- ", "--", " -- "] {
            let raw = format!("The export fails.\r\n{delimiter}\r\nJane Doe\r\nAcme Corp");
            assert_eq!(
                feedback_text(Some(&raw), None).as_deref(),
                Some("The export fails."),
                "{delimiter:?}"
            );
        }
        // Nothing but a signature is still the item's text; dashes inside a line are prose.
        assert_eq!(feedback_text(Some("--\nJane"), None).as_deref(), Some("--\nJane"));
        assert_eq!(
            feedback_text(Some("Fast -- really\n--x"), None).as_deref(),
            Some("Fast -- really\n--x")
        );
    }

    #[test]
    fn language_hints_become_tags() {
        assert_eq!(language_tag("en").as_deref(), Some("en"));
        assert_eq!(language_tag("pt_br").as_deref(), Some("pt-BR"));
        assert_eq!(language_tag("ZH-hans-cn").as_deref(), Some("zh-Hans-CN"));
        assert_eq!(language_tag("es-419").as_deref(), Some("es-419"));
        assert_eq!(language_tag("de-DE-1996").as_deref(), Some("de-DE"));
        assert_eq!(language_tag("English"), None);
        assert_eq!(language_tag("und"), None);
        assert_eq!(language_tag(""), None);
        assert_eq!(territory_language("usa"), Some("en"));
        assert_eq!(territory_language("CHE"), None);
    }
}
