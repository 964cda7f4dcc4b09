//! Documents into chunks that follow their structure. Pure: text in, chunks out.
//!
//! A chunk is at most [`MAX_CHUNK_CHARS`] characters of body, cut at paragraph breaks
//! (then sentence ends, then spaces) inside one section or page, never across two. Each
//! carries a context header (company, form, period, section or page) that is embedded and
//! searched with the body, and a citation: the section or page and the character span of
//! the body in that section's (or the document's) text.

use serde::Serialize;
use sluice_filing_sections::{FilingSections, SectionStatus};

/// Bumped whenever the chunks of the same document would come out differently: a document
/// is re-indexed when its (sha256, chunker version, model) changes.
pub const CHUNKER_VERSION: i32 = 1;

/// The longest body of one chunk, in characters.
pub const MAX_CHUNK_CHARS: usize = 1200;
/// Shorter pieces are merged with the next paragraph of the same section.
const MIN_CHUNK_CHARS: usize = 200;

/// What is known about a document, for the context header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DocumentMeta {
    pub title: String,
    /// The company's name, when the document is about one.
    pub company: Option<String>,
    pub ticker: Option<String>,
    pub form: Option<String>,
    /// "FY2024", "2024-Q2", or whatever period the document covers.
    pub period: Option<String>,
}

/// One chunk and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    pub ord: usize,
    pub header: String,
    pub body: String,
    /// The filing item ("1A Risk Factors") or Markdown heading the chunk is under.
    pub section: Option<String>,
    /// The PDF page (from 1).
    pub page: Option<u32>,
    /// Character span of the body: in the section's text for a filing, in the page's text
    /// for a PDF, in the whole text otherwise.
    pub char_start: usize,
    pub char_end: usize,
}

impl Chunk {
    /// What is embedded: the header, then the body.
    pub fn embedding_text(&self) -> String {
        format!("{}\n{}", self.header, self.body)
    }
}

/// The kinds of document a team may drop under `knowledge/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Html,
    Markdown,
    PlainText,
}

impl DocumentKind {
    /// From the object key's extension; `None` for anything else (refused with a reason).
    pub fn from_key(key: &str) -> Option<Self> {
        let ext = key.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "pdf" => Some(Self::Pdf),
            "html" | "htm" => Some(Self::Html),
            "md" | "markdown" => Some(Self::Markdown),
            "txt" | "text" => Some(Self::PlainText),
            _ => None,
        }
    }
}

/// A part of a document chunked on its own: a section, a page, or the whole text.
struct Part<'a> {
    section: Option<String>,
    page: Option<u32>,
    text: &'a str,
    /// Where `text` starts in the text spans count in (chars).
    offset: usize,
}

fn header(meta: &DocumentMeta, place: Option<&str>) -> String {
    let mut parts: Vec<&str> = Vec::new();
    match meta.company.as_deref() {
        Some(c) => parts.push(c),
        None => parts.push(&meta.title),
    }
    if let Some(t) = meta.ticker.as_deref() {
        parts.push(t);
    }
    if let Some(f) = meta.form.as_deref() {
        parts.push(f);
    }
    if let Some(p) = meta.period.as_deref() {
        parts.push(p);
    }
    if meta.company.is_some() && !meta.title.is_empty() && meta.form.is_none() {
        parts.push(&meta.title);
    }
    let mut h = parts.join(" · ");
    if let Some(place) = place {
        h.push_str(" · ");
        h.push_str(place);
    }
    h
}

fn chunk_parts(meta: &DocumentMeta, parts: Vec<Part<'_>>) -> Vec<Chunk> {
    let mut out = Vec::new();
    for part in parts {
        let place = match (&part.section, part.page) {
            (Some(s), Some(p)) => Some(format!("{s} · page {p}")),
            (Some(s), None) => Some(s.clone()),
            (None, Some(p)) => Some(format!("page {p}")),
            (None, None) => None,
        };
        let head = header(meta, place.as_deref());
        for (start, end) in passages(part.text) {
            let body: String = part.text.chars().skip(start).take(end - start).collect();
            let body = body.trim().to_string();
            if body.is_empty() {
                continue;
            }
            out.push(Chunk {
                ord: out.len(),
                header: head.clone(),
                body,
                section: part.section.clone(),
                page: part.page,
                char_start: part.offset + start,
                char_end: part.offset + end,
            });
        }
    }
    out
}

/// Character spans of `text` of at most [`MAX_CHUNK_CHARS`], cut at the best break
/// (blank line, line end, sentence end, space) in the second half of the window.
pub fn passages(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut start = 0;
    // Leading white space is never a chunk of its own.
    while start < chars.len() && chars[start].is_whitespace() {
        start += 1;
    }
    while start < chars.len() {
        let limit = (start + MAX_CHUNK_CHARS).min(chars.len());
        let end = if limit == chars.len() {
            limit
        } else {
            best_break(&chars, start + MIN_CHUNK_CHARS, limit).unwrap_or(limit)
        };
        spans.push((start, end));
        start = end;
        while start < chars.len() && chars[start].is_whitespace() {
            start += 1;
        }
    }
    spans
}

/// The last break in `from..to`, preferring paragraph over line over sentence over word.
fn best_break(chars: &[char], from: usize, to: usize) -> Option<usize> {
    let from = from.min(to);
    let window = || (from..to).rev();
    let para = window().find(|&i| i > 0 && chars[i] == '\n' && chars[i - 1] == '\n');
    let line = || window().find(|&i| chars[i] == '\n');
    let sentence =
        || window().find(|&i| i > 0 && chars[i].is_whitespace() && matches!(chars[i - 1], '.' | '?' | '!' | ';'));
    let word = || window().find(|&i| chars[i].is_whitespace());
    para.or_else(line).or_else(sentence).or_else(word)
}

/// Plain text: one part, spans into the text.
pub fn chunk_plain(meta: &DocumentMeta, text: &str) -> Vec<Chunk> {
    chunk_parts(
        meta,
        vec![Part {
            section: None,
            page: None,
            text,
            offset: 0,
        }],
    )
}

/// Markdown: one part per heading (`#` to `######`), labelled with the heading's text
/// (and its parents': "Results > Revenue"); spans into the Markdown source.
pub fn chunk_markdown(meta: &DocumentMeta, text: &str) -> Vec<Chunk> {
    let mut parts = Vec::new();
    let mut trail: Vec<(usize, String)> = Vec::new();
    let mut section: Option<String> = None;
    let mut part_start_byte = 0;
    let mut part_start_char = 0;
    let mut char_pos = 0;
    let mut byte_pos = 0;
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let level = trimmed.chars().take_while(|&c| c == '#').count();
        let is_heading = !in_fence && (1..=6).contains(&level) && trimmed[level..].starts_with(' ');
        if is_heading {
            parts.push(Part {
                section: section.clone(),
                page: None,
                text: &text[part_start_byte..byte_pos],
                offset: part_start_char,
            });
            let title = trimmed[level..].trim().trim_end_matches('#').trim().to_string();
            trail.retain(|(l, _)| *l < level);
            trail.push((level, title));
            section = Some(trail.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" > "));
            part_start_byte = byte_pos + line.len();
            part_start_char = char_pos + line.chars().count();
        }
        byte_pos += line.len();
        char_pos += line.chars().count();
    }
    parts.push(Part {
        section,
        page: None,
        text: &text[part_start_byte..],
        offset: part_start_char,
    });
    chunk_parts(meta, parts)
}

/// HTML: rendered to text (the workspace's one HTML walker), then as plain text; spans
/// into the rendered text.
pub fn chunk_html(meta: &DocumentMeta, html: &str) -> Vec<Chunk> {
    let text = html_text(html);
    chunk_plain(meta, &text)
}

/// The text of an HTML document as the chunker sees it (paragraphs kept apart).
pub fn html_text(html: &str) -> String {
    sluice_text::html_to_text(html, &sluice_text::HtmlOptions::MESSAGE)
}

/// PDF pages (their text, page 1 first): one part per page; spans into the page's text.
pub fn chunk_pages(meta: &DocumentMeta, pages: &[String]) -> Vec<Chunk> {
    let parts = pages
        .iter()
        .enumerate()
        .map(|(i, text)| Part {
            section: None,
            page: u32::try_from(i + 1).ok(),
            text,
            offset: 0,
        })
        .collect();
    chunk_parts(meta, parts)
}

/// A filing's items (from `sluice-filing-sections`): one part per item with text;
/// absent items are skipped; spans into the item's text.
pub fn chunk_filing(meta: &DocumentMeta, sections: &FilingSections) -> Vec<Chunk> {
    let parts = sections
        .iter()
        .filter(|s| s.status != SectionStatus::Absent && !s.text.trim().is_empty())
        .map(|s| Part {
            section: Some(format!("Item {} {}", s.item, s.title)),
            page: None,
            text: &s.text,
            offset: 0,
        })
        .collect();
    chunk_parts(meta, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> DocumentMeta {
        DocumentMeta {
            title: "Q3 board memo".into(),
            company: Some("Acme Corp".into()),
            ticker: Some("ACME".into()),
            form: None,
            period: Some("2024-Q3".into()),
        }
    }

    #[test]
    fn short_text_is_one_chunk_with_header_and_span() {
        let chunks = chunk_plain(&meta(), "  Revenue grew 12%.\n");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].body, "Revenue grew 12%.");
        assert_eq!(chunks[0].header, "Acme Corp · ACME · 2024-Q3 · Q3 board memo");
        assert_eq!((chunks[0].char_start, chunks[0].char_end), (2, 20));
        assert_eq!(chunks[0].section, None);
    }

    #[test]
    fn long_text_is_cut_at_paragraphs_and_spans_point_into_it() {
        let para = "word ".repeat(100); // 500 chars
        let text = format!("{para}\n\n{para}\n\n{para}\n\n{para}");
        let chunks = chunk_plain(&meta(), &text);
        assert!(chunks.len() >= 2, "{}", chunks.len());
        let all: Vec<char> = text.chars().collect();
        for c in &chunks {
            assert!(c.body.chars().count() <= MAX_CHUNK_CHARS);
            let span: String = all[c.char_start..c.char_end].iter().collect();
            assert_eq!(span.trim(), c.body);
        }
        // Paragraph breaks, not mid-word.
        assert!(chunks[0].body.ends_with("word"));
        assert_eq!(
            chunks.iter().map(|c| c.ord).collect::<Vec<_>>(),
            (0..chunks.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn text_without_breaks_is_still_cut() {
        let text = "x".repeat(3000);
        let chunks = chunk_plain(&meta(), &text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].char_end, 3000);
    }

    #[test]
    fn markdown_sections_follow_headings() {
        let md = "Intro line.\n# Results\nRevenue rose.\n## Margins\nGross margin 41%.\n```\n# not a heading\n```\n# Outlook\nCautious.\n";
        let chunks = chunk_markdown(&meta(), md);
        let sections: Vec<_> = chunks.iter().map(|c| c.section.clone()).collect();
        assert_eq!(
            sections,
            vec![
                None,
                Some("Results".into()),
                Some("Results > Margins".into()),
                Some("Outlook".into())
            ]
        );
        assert!(chunks[2].body.contains("# not a heading"));
        assert!(chunks[1].header.ends_with("· Results"));
        let all: Vec<char> = md.chars().collect();
        let span: String = all[chunks[3].char_start..chunks[3].char_end].iter().collect();
        assert_eq!(span.trim(), "Cautious.");
    }

    #[test]
    fn pdf_pages_are_cited_by_page() {
        let pages = vec!["First page text.".to_string(), String::new(), "Third page.".to_string()];
        let chunks = chunk_pages(&meta(), &pages);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1].page, Some(3));
        assert!(chunks[1].header.ends_with("· page 3"));
    }

    #[test]
    fn html_is_rendered_before_chunking() {
        let chunks = chunk_html(
            &meta(),
            "<html><body><h1>Memo</h1><p>Cash is &amp; was fine.</p></body></html>",
        );
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].body.contains("Cash is & was fine."), "{}", chunks[0].body);
        assert!(!chunks[0].body.contains('<'));
    }

    #[test]
    fn filing_items_become_sections() {
        let doc = "<html><body><p>Item 1. Business</p><p>We make phones and sell them worldwide to many customers.</p>\
                   <p>Item 1A. Risk Factors</p><p>Supply chains may be disrupted by many events beyond our control.</p></body></html>";
        let sections =
            sluice_filing_sections::extract(doc, sluice_filing_sections::FilingType::TenK).expect("text document");
        let m = DocumentMeta {
            title: "10-K".into(),
            company: Some("Apple Inc.".into()),
            ticker: Some("AAPL".into()),
            form: Some("10-K".into()),
            period: Some("FY2024".into()),
        };
        let chunks = chunk_filing(&m, &sections);
        let risk = chunks
            .iter()
            .find(|c| c.body.contains("Supply chains"))
            .expect("risk factors chunked");
        assert_eq!(risk.section.as_deref(), Some("Item 1A Risk Factors"));
        assert_eq!(risk.header, "Apple Inc. · AAPL · 10-K · FY2024 · Item 1A Risk Factors");
    }

    #[test]
    fn kinds_come_from_the_extension() {
        assert_eq!(DocumentKind::from_key("knowledge/a/Memo.PDF"), Some(DocumentKind::Pdf));
        assert_eq!(
            DocumentKind::from_key("knowledge/notes.md"),
            Some(DocumentKind::Markdown)
        );
        assert_eq!(DocumentKind::from_key("knowledge/x.exe"), None);
        assert_eq!(DocumentKind::from_key("knowledge/noext"), None);
    }
}
