//! Cutting items out of the rendered text: find every heading, pick the occurrence that starts the
//! real section (not the table of contents), and tell found from "None." and "incorporated by
//! reference".

use crate::headings::{self, LineKind, MAX_HEADING_LEN};
use crate::pages::is_page_number;
use crate::titles::{self, match_title, ItemSpec, TitleMatch, DOCUMENT_KEY, RISK_FACTORS_KEY};
use crate::{FilingSections, FilingType, Section, SectionSource, SectionStatus};
use regex::Regex;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

#[derive(Clone, Copy)]
struct Line<'a> {
    start: usize,
    text: &'a str,
}

impl Line<'_> {
    fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// A heading in the text. `keys` is empty for lines that only end the previous section
/// (`PART II`, `SIGNATURES`, items of no interest are keyed too, since any item ends a section).
#[derive(Debug)]
struct Mark {
    keys: Vec<String>,
    start: usize,
    body_start: usize,
    heading: String,
}

/// A section located in the text, offsets in bytes.
struct Located {
    heading: String,
    start: usize,
    body: Range<usize>,
}

pub(crate) fn extract_from_text(text: &str, primary: Range<usize>, form: FilingType) -> FilingSections {
    let primary = clamp(text, primary);
    let lines = lines_in(text, primary.clone());
    let mut located: Vec<(&'static str, &'static str, Option<Located>)> = Vec::new();
    match form {
        FilingType::TenK | FilingType::TenQ | FilingType::TwentyF => {
            let marks = item_marks(text, &lines, form);
            for spec in titles::specs(form) {
                located.push((spec.key, spec.title, best_section(text, &marks, spec.key, primary.end)));
            }
        }
        FilingType::EightK | FilingType::Def14A | FilingType::S1 => {
            let whole = Located {
                heading: String::new(),
                start: 0,
                body: 0..text.len(),
            };
            located.push((DOCUMENT_KEY, titles::document_title(form), Some(whole)));
            if form == FilingType::S1 {
                let marks = prospectus_marks(&lines);
                located.push((
                    RISK_FACTORS_KEY,
                    "Risk Factors",
                    best_section(text, &marks, RISK_FACTORS_KEY, primary.end),
                ));
            }
        }
    }

    let mut offsets: Vec<usize> = located
        .iter()
        .filter_map(|(_, _, l)| l.as_ref())
        .flat_map(|l| [l.start, l.body.end])
        .collect();
    let chars = char_offsets(text, &mut offsets);
    let mut out = BTreeMap::new();
    for (key, title, loc) in located {
        let section = match loc {
            None => absent(key, title),
            Some(loc) => {
                let body = clean_body(text.get(loc.body.clone()).unwrap_or(""));
                let status = status_of(body);
                if status == SectionStatus::Absent {
                    absent(key, title)
                } else {
                    let ch = |b: usize| chars.get(&b).copied().unwrap_or(0);
                    Section {
                        item: key.to_string(),
                        title: title.to_string(),
                        status,
                        text: body.to_string(),
                        source: Some(SectionSource {
                            heading: loc.heading,
                            start: ch(loc.start),
                            end: ch(loc.body.end),
                        }),
                    }
                }
            }
        };
        out.insert(key.to_string(), section);
    }
    FilingSections(out)
}

fn absent(key: &str, title: &str) -> Section {
    Section {
        item: key.to_string(),
        title: title.to_string(),
        status: SectionStatus::Absent,
        text: String::new(),
        source: None,
    }
}

fn clamp(text: &str, r: Range<usize>) -> Range<usize> {
    let end = r.end.min(text.len());
    let start = r.start.min(end);
    if text.is_char_boundary(start) && text.is_char_boundary(end) {
        start..end
    } else {
        0..text.len()
    }
}

fn lines_in(text: &str, range: Range<usize>) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut pos = range.start;
    for l in text[range].split('\n') {
        out.push(Line { start: pos, text: l });
        pos += l.len() + 1;
    }
    out
}

/// Every item and part heading of an item form, in document order, with running headers and
/// "(continued)" headings dropped so they do not cut a section short.
fn item_marks(text: &str, lines: &[Line], form: FilingType) -> Vec<Mark> {
    let specs = titles::specs(form);
    let mut marks: Vec<Mark> = Vec::new();
    let mut part: u8 = 1;
    let mut part_since_item = false;
    let mut items_in_part = 0usize;
    let mut last_num: Option<u32> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        match headings::classify(line.text) {
            LineKind::Part(p) => {
                // The same part again after its items is a running page header, not a new part.
                if p != part || items_in_part == 0 {
                    marks.push(boundary(line));
                    items_in_part = 0;
                    part = p;
                    part_since_item = true;
                }
            }
            LineKind::Signatures => marks.push(boundary(line)),
            LineKind::Item(h) => {
                let num = h
                    .items
                    .first()
                    .and_then(|k| k.trim_end_matches(char::is_alphabetic).parse::<u32>().ok())
                    .unwrap_or(0);
                let here = match h.part {
                    Some(p) => p,
                    // A 10-Q restarts numbering in Part II; without a PART line, a drop means a new part.
                    None if form == FilingType::TenQ && !part_since_item && last_num.is_some_and(|l| num < l) => {
                        if part == 1 {
                            2
                        } else {
                            1
                        }
                    }
                    None => part,
                };
                let keys: Vec<String> = h.items.iter().map(|k| item_key(form, here, k)).collect();
                let spec = keys.iter().find_map(|k| specs.iter().find(|s| s.key == k));
                let lead = line.text.len() - line.text.trim_start().len();
                let rest_at = lead + h.rest;
                let extent = heading_extent(line, rest_at, spec, lines.get(i + 1));
                if let Some((heading, body_start, absorbed)) = extent {
                    if here != part {
                        items_in_part = 0;
                        part = here;
                    }
                    part_since_item = false;
                    last_num = Some(num);
                    items_in_part += 1;
                    // "Item 7. MD&A (continued)" on a new page neither starts nor ends a section.
                    if !is_continuation(&line.text[rest_at..]) {
                        marks.push(Mark {
                            keys,
                            start: line.start + lead,
                            body_start,
                            heading,
                        });
                    }
                    if absorbed {
                        i += 1;
                    }
                }
            }
            LineKind::Other => {
                if form == FilingType::TwentyF && is_20f_risk_factors(line.text) {
                    marks.push(Mark {
                        keys: vec!["3D".to_string()],
                        start: line.start,
                        body_start: line.end(),
                        heading: display_heading(line.text),
                    });
                }
            }
        }
        i += 1;
    }
    drop_repeats(text, marks)
}

fn is_continuation(rest: &str) -> bool {
    let r = rest.trim_end().to_lowercase();
    r.contains("(continued)") || r.ends_with("continued") || r.ends_with("(cont.)") || r.ends_with("(cont'd)")
}

/// A heading for the item already open, after it has had real text, is a running page header.
fn drop_repeats(text: &str, marks: Vec<Mark>) -> Vec<Mark> {
    let mut kept: Vec<Mark> = Vec::with_capacity(marks.len());
    for m in marks {
        if let Some(prev) = kept.last() {
            let same = !m.keys.is_empty() && prev.keys == m.keys;
            let had_text = text
                .get(prev.body_start..m.start)
                .is_some_and(|b| alnum_score(b) >= 200);
            if same && had_text {
                continue;
            }
        }
        kept.push(m);
    }
    kept
}

fn boundary(line: Line) -> Mark {
    Mark {
        keys: Vec::new(),
        start: line.start,
        body_start: line.end(),
        heading: display_heading(line.text),
    }
}

fn item_key(form: FilingType, part: u8, item: &str) -> String {
    if form == FilingType::TenQ {
        let roman = ["I", "II", "III", "IV"]
            .get(usize::from(part.max(1)) - 1)
            .unwrap_or(&"I");
        format!("{roman}-{item}")
    } else {
        item.to_string()
    }
}

/// Where the heading ends and the body begins: `(heading as written, body start, whether the
/// next line was taken as the title)`. `None` for a long line that is a sentence, not a heading.
fn heading_extent(
    line: Line,
    rest_at: usize,
    spec: Option<&ItemSpec>,
    next: Option<&Line>,
) -> Option<(String, usize, bool)> {
    let rest = &line.text[rest_at..];
    let title =
        |s: &str| -> Option<TitleMatch> { spec.and_then(|sp| sp.variants.iter().find_map(|v| match_title(s, v))) };
    let next = next.filter(|n| !headings::is_structural(n.text));
    let trimmed = rest.trim_matches(|c: char| c.is_whitespace() || c == '|');
    if trimmed.is_empty() || is_page_number(trimmed) {
        // "Item 1A." alone: the title, if any, is on the next line.
        if let Some(next) = next {
            if let Some(m) = title(next.text) {
                let heading = display_heading(&format!("{} {}", line.text, &next.text[..m.end]));
                return Some((heading, body_after(next, m.end), true));
            }
            if spec.is_none() && looks_like_title(next.text) {
                return Some((
                    display_heading(&format!("{} {}", line.text, next.text)),
                    next.end(),
                    true,
                ));
            }
        }
        return Some((display_heading(line.text), line.end(), false));
    }
    if let Some(m) = title(rest) {
        if !m.complete {
            // A title wrapped onto the next line: "ITEM 7. MANAGEMENT'S DISCUSSION … CONDITION AND" / "RESULTS OF OPERATIONS".
            if let Some(next) = next {
                let joined = format!("{rest} {}", next.text);
                if let Some(j) = title(&joined).filter(|j| j.end > rest.len() + 1) {
                    let into_next = j.end - rest.len() - 1;
                    let heading = display_heading(&format!("{} {}", line.text, &next.text[..into_next]));
                    return Some((heading, body_after(next, into_next), true));
                }
            }
        }
        let cut = rest_at + m.end;
        if body_like(&line.text[cut..]) {
            return Some((display_heading(&line.text[..cut]), line.start + cut, false));
        }
        return Some((display_heading(line.text), line.end(), false));
    }
    (line.text.len() <= MAX_HEADING_LEN).then(|| (display_heading(line.text), line.end(), false))
}

/// Where the body starts on a line whose first `title_end` bytes finish a heading.
fn body_after(line: &Line, title_end: usize) -> usize {
    if body_like(&line.text[title_end..]) {
        line.start + title_end
    } else {
        line.end()
    }
}

/// What follows a title on the heading's line is body text when it is a sentence or a statement
/// ("Risk Factors. Not applicable."), not a page number or a title suffix.
fn body_like(after_title: &str) -> bool {
    let r =
        after_title.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ':' | '-' | '–' | '—' | '|'));
    let has_letters = r.chars().any(char::is_alphabetic);
    has_letters && (r.chars().count() > 80 || r.trim_end().ends_with('.') || is_not_applicable(r))
}

/// A short line right after a bare "Item 2." that reads as its title.
fn looks_like_title(s: &str) -> bool {
    let first = s.chars().next();
    s.chars().count() <= 100
        && first.is_some_and(|c| c.is_uppercase() || matches!(c, '[' | '"' | '“'))
        && !s.trim_end().ends_with('.')
        && !is_page_number(s)
        && !is_not_applicable(s)
}

fn display_heading(s: &str) -> String {
    s.replace(" | ", " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 20-F Item 3.D often appears only as "D. Risk Factors" under "Item 3. Key Information".
fn is_20f_risk_factors(line: &str) -> bool {
    static SUB: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:3\s*\.?\s*)?D\s*[.:)\-–—]?\s+risk\s+factors\b[\s.:|]*(?:\d{1,3})?$").expect("static regex")
    });
    line.len() <= 60 && SUB.is_match(line.trim())
}

/// S-1 prospectus: "Risk Factors" headings, and the headings that usually follow that section.
fn prospectus_marks(lines: &[Line]) -> Vec<Mark> {
    const NEXT: &[&str] = &[
        "use of proceeds",
        "dividend policy",
        "capitalization",
        "dilution",
        "market and industry data",
        "industry and market data",
        "market, industry and other data",
        "forward-looking statements",
        "selected financial data",
        "selected consolidated financial data",
        "selected consolidated financial and other data",
        "management's discussion and analysis of financial condition and results of operations",
        "business",
        "determination of offering price",
        "selling stockholders",
        "selling shareholders",
        "selling security holders",
        "description of securities",
        "description of capital stock",
        "plan of distribution",
        "legal proceedings",
    ];
    const NEXT_PREFIX: &[&str] = &[
        "cautionary note regarding forward",
        "special note regarding forward",
        "cautionary statement regarding forward",
        "special note about forward",
        "note regarding forward",
    ];
    let mut marks = Vec::new();
    for line in lines {
        if line.text.chars().count() > 120 {
            continue;
        }
        let words = heading_words(line.text);
        if words == "risk factors" {
            marks.push(Mark {
                keys: vec![RISK_FACTORS_KEY.to_string()],
                start: line.start,
                body_start: line.end(),
                heading: display_heading(line.text),
            });
        } else if NEXT.contains(&words.as_str())
            || NEXT_PREFIX.iter().any(|p| words.starts_with(p))
            || headings::is_structural(line.text)
        {
            marks.push(boundary(*line));
        }
    }
    marks
}

/// A heading line reduced for comparison: first table cell, no page number or dot leaders,
/// lower case, straight apostrophes.
fn heading_words(line: &str) -> String {
    let first = line.split(" | ").next().unwrap_or("");
    let first = first.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_whitespace() || c == '.');
    first
        .replace(['’', '‘'], "'")
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The occurrence of `key` with the most body text: table-of-contents entries have none (a page
/// number at most), so the real section wins; ties go to the later occurrence.
fn best_section(text: &str, marks: &[Mark], key: &str, limit: usize) -> Option<Located> {
    let mut best: Option<(usize, Located)> = None;
    for (n, m) in marks.iter().enumerate() {
        if !m.keys.iter().any(|k| k == key) {
            continue;
        }
        let end = marks.get(n + 1).map_or(limit, |next| next.start).max(m.body_start);
        let body = m.body_start..end;
        let score = text.get(body.clone()).map_or(0, alnum_score);
        if best.as_ref().is_none_or(|(s, _)| score >= *s) {
            best = Some((
                score,
                Located {
                    heading: m.heading.clone(),
                    start: m.start,
                    body,
                },
            ));
        }
    }
    best.filter(|(score, _)| *score > 0).map(|(_, l)| l)
}

/// Letters and digits in `body`, page-number lines not counted.
fn alnum_score(body: &str) -> usize {
    body.lines()
        .filter(|l| !is_page_number(l))
        .map(|l| l.chars().filter(|c| c.is_alphanumeric()).count())
        .sum()
}

fn clean_body(body: &str) -> &str {
    body.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ':' | '-' | '–' | '—' | '|'))
        .trim_end()
}

fn status_of(body: &str) -> SectionStatus {
    if alnum_score(body) == 0 {
        SectionStatus::Absent
    } else if is_not_applicable(body) {
        SectionStatus::NotApplicable
    } else if is_incorporated_by_reference(body) {
        SectionStatus::IncorporatedByReference
    } else {
        SectionStatus::Found
    }
}

/// "None.", "Not applicable.", "Smaller reporting companies are not required to provide…".
fn is_not_applicable(body: &str) -> bool {
    static NA: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ix)^(?:none|n/?a|not\ applicable|omitted|\[?reserved\]?)\b[\s.;,]*$
              | ^(?:none|not\ applicable)[.;]
              | \bnot\ applicable\b
              | smaller\ reporting\ compan(?:y|ies).{0,120}\bnot\ required
              | \bnot\ required\ to\ (?:provide|disclose|include|present)",
        )
        .expect("static regex")
    });
    let t = body.trim();
    t.len() <= 600 && NA.is_match(t)
}

/// "…is incorporated herein by reference to the Proxy Statement", "…is included in Item 7".
fn is_incorporated_by_reference(body: &str) -> bool {
    static IBR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)\bincorporated\b.{0,80}\bby\s+reference\b|\bby\s+reference\b.{0,40}\bincorporated\b")
            .expect("static regex")
    });
    static XREF: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?is)\b(?:is|are|appears?|can\ be)\s+(?:included|set\ forth|contained|presented|provided|found|located|discussed)\b.{0,200}\b(?:item|part|annual\ report|proxy\ statement|exhibit|pages?|caption)\b",
        )
        .expect("static regex")
    });
    let t = body.trim();
    (t.len() <= 1200 && IBR.is_match(t)) || (t.len() <= 600 && XREF.is_match(t))
}

/// Byte offsets to char offsets, in one pass over the text.
fn char_offsets(text: &str, offsets: &mut [usize]) -> BTreeMap<usize, usize> {
    offsets.sort_unstable();
    let mut out = BTreeMap::new();
    let mut chars = 0;
    let mut pos = 0;
    for &b in offsets.iter() {
        let b = b.min(text.len());
        if b < pos {
            continue;
        }
        chars += text.get(pos..b).map_or(0, |s| s.chars().count());
        pos = b;
        out.insert(b, chars);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_of("None."), SectionStatus::NotApplicable);
        assert_eq!(status_of("Not applicable."), SectionStatus::NotApplicable);
        assert_eq!(
            status_of("As a smaller reporting company, the Company is not required to provide this information."),
            SectionStatus::NotApplicable
        );
        assert_eq!(
            status_of(
                "The information required by this Item is incorporated herein by reference to the Proxy Statement."
            ),
            SectionStatus::IncorporatedByReference
        );
        assert_eq!(
            status_of("The information required by this item is included in Item 7 under “Market Risk”."),
            SectionStatus::IncorporatedByReference
        );
        assert_eq!(status_of("12"), SectionStatus::Absent);
        assert_eq!(
            status_of("None of our competitors has a product like ours, and we are proud of it."),
            SectionStatus::Found
        );
    }

    #[test]
    fn char_offsets_count_chars() {
        let text = "a’b’c";
        let m = char_offsets(text, &mut [text.len(), 0, 4]);
        assert_eq!(m[&0], 0);
        assert_eq!(m[&4], 2);
        assert_eq!(m[&text.len()], 5);
    }
}
