//! Recognising the lines that start a part or an item: `ITEM 1A:`, `Item 7A —`, `PART II`,
//! `Part I, Item 2.`, `Items 1 and 2. Business and Properties`, `Item 3.D Risk Factors`.
//!
//! A hand-written scanner rather than one big regex, because the accept/reject rules (a letter
//! suffix must stand alone, a cross-reference such as "Item 7 of this report" is not a heading)
//! read more clearly as code.

/// An `Item …` heading at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemHeading {
    /// The part written before the item (`Part II, Item 1A`), 1-based.
    pub part: Option<u8>,
    /// Item keys as written, upper-cased: `["1A"]`, or `["1", "2"]` for "Items 1 and 2".
    pub items: Vec<String>,
    /// Byte offset in the line where the text after the item label and its separators begins.
    pub rest: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineKind {
    Item(ItemHeading),
    /// `PART II — OTHER INFORMATION`
    Part(u8),
    /// `SIGNATURES`: ends the last item.
    Signatures,
    Other,
}

/// Longest line still taken for a heading without further evidence; longer lines starting with
/// "Item" are sentences unless they start with the item's title (heading and paragraph merged).
pub(crate) const MAX_HEADING_LEN: usize = 300;

pub(crate) fn classify(line: &str) -> LineKind {
    let s = line.trim();
    let first = s.as_bytes().first().map(|b| b.to_ascii_lowercase());
    if first != Some(b'i') && first != Some(b'p') && first != Some(b's') {
        return LineKind::Other;
    }
    let mut i = 0;
    let mut part = None;
    if let Some((p, j)) = parse_part(s, 0) {
        let k = skip_seps(s, j, true);
        if eat_ci(s, k, "item").is_some() {
            part = Some(p);
            i = k;
        } else {
            return if valid_part_rest(s, j) {
                LineKind::Part(p)
            } else {
                LineKind::Other
            };
        }
    }
    if let Some(h) = parse_item(s, i) {
        return LineKind::Item(ItemHeading { part, ..h });
    }
    if s.len() <= 12 {
        let letters: String = s.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.eq_ignore_ascii_case("signatures") || letters.eq_ignore_ascii_case("signature") {
            return LineKind::Signatures;
        }
    }
    LineKind::Other
}

/// A line that starts a part or an item (never removed as a page header).
pub(crate) fn is_structural(line: &str) -> bool {
    !matches!(classify(line), LineKind::Other)
}

fn parse_part(s: &str, i: usize) -> Option<(u8, usize)> {
    let j = eat_ci(s, i, "part")?;
    let j = skip_ws(s, j);
    let roman_end = s[j..]
        .find(|c: char| !matches!(c, 'I' | 'V' | 'i' | 'v'))
        .map_or(s.len(), |k| j + k);
    if roman_end == j || next_is_alnum(s, roman_end) {
        return None;
    }
    let part = match s[j..roman_end].to_ascii_uppercase().as_str() {
        "I" => 1,
        "II" => 2,
        "III" => 3,
        "IV" => 4,
        _ => return None,
    };
    Some((part, roman_end))
}

fn valid_part_rest(s: &str, j: usize) -> bool {
    if s.len() > 120 {
        return false;
    }
    let k = skip_seps(s, j, false);
    let punct = s[j..k].chars().any(|c| !c.is_whitespace());
    match s[k..].chars().next() {
        None => true,
        Some(c) if c == ',' || c == ';' => false,
        Some(c) if c.is_lowercase() => punct,
        Some(_) => true,
    }
}

fn parse_item(s: &str, i: usize) -> Option<ItemHeading> {
    let mut j = eat_ci(s, i, "items").or_else(|| eat_ci(s, i, "item"))?;
    let mut items = Vec::new();
    loop {
        j = skip_ws(s, j);
        if let Some(k) = eat_ci(s, j, "no.") {
            j = skip_ws(s, k);
        }
        let (key, k) = parse_item_number(s, j)?;
        items.push(key);
        j = k;
        // "Items 1 and 2", "Items 1, 1A and 2", "Items 1 & 2"
        let mut k = skip_ws(s, j);
        if let Some(m) = eat_ci(s, k, "and")
            .or_else(|| eat_ci(s, k, "&"))
            .or_else(|| eat_ci(s, k, ","))
        {
            k = skip_ws(s, m);
            if let Some(m) = eat_ci(s, k, "item") {
                k = m;
            }
            let k2 = skip_ws(s, k);
            if s[k2..].starts_with(|c: char| c.is_ascii_digit()) {
                j = k2;
                continue;
            }
        }
        break;
    }
    let rest = &s[j..];
    // "Item 2.02" (8-K numbering) and "Item 123" are not 10-K/10-Q/20-F items.
    if rest.starts_with(|c: char| c.is_ascii_digit())
        || (rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit()))
    {
        return None;
    }
    let k = skip_seps(s, j, false);
    let punct = s[j..k].chars().any(|c| !c.is_whitespace());
    let ok = match s[k..].chars().next() {
        None => true,
        Some(',' | ';') => false,
        // "Item 1A “Risk Factors” of our Annual Report" is a reference; "Item 1A. “Risk Factors”" a heading.
        Some('"' | '“' | '\'' | '‘') => punct,
        Some(c) if c.is_lowercase() => punct,
        Some(_) => true,
    };
    ok.then_some(ItemHeading {
        part: None,
        items,
        rest: k,
    })
}

/// `1`, `1A`, `1 A.`, `3.D`, `7(a)`: digits plus an optional stand-alone letter A–D.
fn parse_item_number(s: &str, j: usize) -> Option<(String, usize)> {
    let digits_end = s[j..].find(|c: char| !c.is_ascii_digit()).map_or(s.len(), |k| j + k);
    let n = digits_end - j;
    if n == 0 || n > 2 {
        return None;
    }
    let mut key = s[j..digits_end].trim_start_matches('0').to_string();
    if key.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let letter_at = |p: usize| b.get(p).is_some_and(|c| matches!(c.to_ascii_uppercase(), b'A'..=b'D'));
    let d = digits_end;
    let (letter, end) = if letter_at(d) && !next_is_alnum(s, d + 1) {
        (Some(d), d + 1)
    } else if b.get(d) == Some(&b'.') && letter_at(d + 1) && !next_is_alnum(s, d + 2) {
        // "3.D Risk Factors" (20-F); "Item 1. A summary" has a space and stays item 1.
        (Some(d + 1), d + 2)
    } else if b.get(d) == Some(&b' ') && letter_at(d + 1) && matches!(b.get(d + 2), Some(b'.' | b':' | b')')) {
        (Some(d + 1), d + 2)
    } else if b.get(d) == Some(&b'(') && letter_at(d + 1) && b.get(d + 2) == Some(&b')') {
        (Some(d + 1), d + 3)
    } else {
        (None, d)
    };
    if let Some(p) = letter {
        key.push(char::from(b[p].to_ascii_uppercase()));
    }
    Some((key, end))
}

fn eat_ci(s: &str, i: usize, word: &str) -> Option<usize> {
    let end = i + word.len();
    let head = s.get(i..end)?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    // "Item" must not run into a word ("Itemized"); digits may follow directly ("Item1A").
    let alpha_word = word.chars().all(|c| c.is_ascii_alphabetic());
    if alpha_word && s[end..].starts_with(|c: char| c.is_alphabetic()) {
        return None;
    }
    Some(end)
}

fn skip_ws(s: &str, i: usize) -> usize {
    s[i..].find(|c: char| !c.is_whitespace()).map_or(s.len(), |k| i + k)
}

/// Skips whitespace and the punctuation that separates an item label from its title.
fn skip_seps(s: &str, i: usize, allow_comma: bool) -> usize {
    s[i..]
        .find(|c: char| {
            !(c.is_whitespace()
                || matches!(c, '.' | ':' | '-' | '–' | '—' | '|' | ')' | '−')
                || (allow_comma && c == ','))
        })
        .map_or(s.len(), |k| i + k)
}

fn next_is_alnum(s: &str, i: usize) -> bool {
    s.get(i..)
        .and_then(|t| t.chars().next())
        .is_some_and(|c| c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line: &str) -> Option<(Option<u8>, Vec<String>, String)> {
        match classify(line) {
            LineKind::Item(h) => Some((h.part, h.items, line.trim()[h.rest..].to_string())),
            _ => None,
        }
    }

    fn keys(line: &str) -> Vec<String> {
        item(line).map(|(_, k, _)| k).unwrap_or_default()
    }

    #[test]
    fn heading_variants() {
        assert_eq!(keys("ITEM 1A: RISK FACTORS"), ["1A"]);
        assert_eq!(keys("Item 1A. Risk Factors"), ["1A"]);
        assert_eq!(keys("Item 1A — Risk Factors"), ["1A"]);
        assert_eq!(keys("ITEM 1A RISK FACTORS"), ["1A"]);
        assert_eq!(keys("Item\u{a0}1A.\u{a0}Risk Factors"), ["1A"]);
        assert_eq!(keys("Item1A.Risk Factors"), ["1A"]);
        assert_eq!(keys("item 7a. quantitative and qualitative"), ["7A"]);
        assert_eq!(keys("Item 1. Business"), ["1"]);
        assert_eq!(keys("Item 1 Business"), ["1"]);
        assert_eq!(keys("ITEM 1 - BUSINESS"), ["1"]);
        assert_eq!(keys("Item 7(a). Market Risk"), ["7A"]);
        assert_eq!(keys("Item 3.D Risk Factors"), ["3D"]);
        assert_eq!(keys("Item 3.D. Risk Factors"), ["3D"]);
        assert_eq!(keys("Item 6. [Reserved]"), ["6"]);
        assert_eq!(keys("Item 1A."), ["1A"]);
        assert_eq!(keys("Item 1A. | Risk Factors | 5"), ["1A"]);
        assert_eq!(keys("Items 1 and 2. Business and Properties"), ["1", "2"]);
        assert_eq!(keys("Item 01. Business"), ["1"]);
        assert_eq!(item("ITEM 1A: RISK FACTORS").unwrap().2, "RISK FACTORS");
    }

    #[test]
    fn parts() {
        assert_eq!(classify("PART II — OTHER INFORMATION"), LineKind::Part(2));
        assert_eq!(classify("Part I"), LineKind::Part(1));
        assert_eq!(classify("PART IV"), LineKind::Part(4));
        assert_eq!(item("Part II, Item 1A. Risk Factors").unwrap().0, Some(2));
        assert_eq!(item("PART I. ITEM 2. MANAGEMENT'S DISCUSSION").unwrap().1, ["2"]);
        assert_eq!(classify("Part I of this report contains"), LineKind::Other);
        assert_eq!(classify("Particulars"), LineKind::Other);
        assert_eq!(classify("SIGNATURES"), LineKind::Signatures);
    }

    #[test]
    fn references_are_not_headings() {
        assert_eq!(item("Item 7 of this Form 10-K discusses"), None);
        assert_eq!(item("Item 1A “Risk Factors” of the 2024 Form 10-K"), None);
        assert_eq!(item("Item 7, “Management’s Discussion and Analysis”"), None);
        assert_eq!(item("Items 7 and 8 of this report"), None);
        assert_eq!(item("Item 2.02 Results of Operations and Financial Condition"), None);
        assert_eq!(item("Itemized deductions"), None);
        assert_eq!(item("Item 123"), None);
        assert_eq!(
            item("Item 1. A summary"),
            Some((None, vec!["1".to_string()], "A summary".to_string()))
        );
    }
}
