//! Rendering a filing to plain text: HTML (inline XBRL included) through the shared walker of
//! `sluice-text` with this crate's table-row layout, plain text as is, and EDGAR full-text SGML
//! submissions split into their documents first.

use crate::pages::{self, Piece};
use crate::FilingType;
use regex::Regex;
use sluice_text::{html_blocks, HtmlOptions};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

/// The plain text and the byte range of the primary document in it (a full-text submission also
/// carries exhibits, which must not be searched for items).
pub(crate) struct Rendered {
    pub text: String,
    pub primary: Range<usize>,
}

pub(crate) fn render(document: &str) -> Rendered {
    let document = document.strip_prefix('\u{feff}').unwrap_or(document);
    if !is_sgml(document) {
        let text = pages::finish(render_body(document)).join("\n");
        let len = text.len();
        return Rendered { text, primary: 0..len };
    }
    let mut text = String::new();
    let mut primary = 0..0;
    for (n, doc) in sgml_documents(document).iter().filter(|d| d.is_text()).enumerate() {
        let lines = pages::finish(render_body(doc.body));
        if lines.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        if n > 0 {
            // Exhibits are labelled so a reader of the text knows where the primary document ends.
            text.push_str(&format!("[{}: {}]\n", doc.kind, doc.description));
        }
        let start = text.len();
        text.push_str(&lines.join("\n"));
        if n == 0 {
            primary = start..text.len();
        }
    }
    Rendered { text, primary }
}

fn render_body(body: &str) -> Vec<Piece> {
    if looks_like_html(body) {
        html_pieces(body)
    } else {
        plain_pieces(body)
    }
}

/// Binary content has no text to split; says what it looks like.
pub(crate) fn binary_reason(document: &str) -> Option<&'static str> {
    let head = document.trim_start();
    if head.starts_with("%PDF-") {
        return Some("looks like a PDF");
    }
    if head.starts_with("PK\u{3}\u{4}") {
        return Some("looks like a ZIP archive");
    }
    let sample: Vec<char> = document.chars().take(4096).collect();
    if sample.contains(&'\0') {
        return Some("contains NUL bytes");
    }
    let odd = sample
        .iter()
        .filter(|c| **c == '\u{fffd}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}')))
        .count();
    (sample.len() >= 64 && odd * 10 > sample.len()).then_some("mostly control or undecodable characters")
}

pub(crate) fn detect_form(document: &str) -> Option<FilingType> {
    static SGML_TYPE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^CONFORMED SUBMISSION TYPE:\s*(\S+)").expect("static regex"));
    static DEI_TYPE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)name\s*=\s*["']dei:DocumentType["'][^>]*>\s*([^<]+?)\s*<"#).expect("static regex")
    });
    let raw = if is_sgml(document) {
        SGML_TYPE.captures(document)
    } else {
        DEI_TYPE.captures(document)
    }?;
    let form = raw.get(1)?.as_str();
    let form = form.trim_end_matches("/A").trim_end_matches("405");
    FilingType::parse(form).ok()
}

/// A full-text submission: SGML header and `<DOCUMENT>`s, possibly inside a PEM envelope
/// ("-----BEGIN PRIVACY-ENHANCED MESSAGE-----", as in 1990s filings).
fn is_sgml(document: &str) -> bool {
    let head = head(document, 8000);
    head.contains("<SEC-DOCUMENT>")
        || head.contains("<SEC-HEADER>")
        || head.contains("<IMS-DOCUMENT>")
        || (head.trim_start().starts_with("<DOCUMENT>") && head.contains("<TYPE>"))
}

/// At most the first `n` bytes of `s`, cut at a char boundary.
fn head(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct SgmlDocument<'a> {
    kind: &'a str,
    description: &'a str,
    body: &'a str,
}

impl SgmlDocument<'_> {
    /// Text worth reading: not images, archives, XBRL or uuencoded attachments.
    fn is_text(&self) -> bool {
        let kind = self.kind.to_ascii_uppercase();
        let binary_kind = kind.starts_with("EX-101")
            || matches!(
                kind.as_str(),
                "GRAPHIC" | "ZIP" | "EXCEL" | "PDF" | "XML" | "JSON" | "XBRL"
            );
        let body = self.body.trim_start();
        !binary_kind && !body.starts_with("begin ") && !body.starts_with("<PDF>")
    }
}

fn sgml_documents(submission: &str) -> Vec<SgmlDocument<'_>> {
    let mut docs = Vec::new();
    let mut rest = submission;
    while let Some(open) = rest.find("<DOCUMENT>") {
        let after = &rest[open + "<DOCUMENT>".len()..];
        let (doc, next) = match after.find("</DOCUMENT>") {
            Some(close) => (&after[..close], &after[close + "</DOCUMENT>".len()..]),
            None => (after, ""),
        };
        let field = |tag: &str| {
            doc.find(tag)
                .map(|p| doc[p + tag.len()..].lines().next().unwrap_or("").trim())
                .unwrap_or("")
        };
        let body = match doc.find("<TEXT>") {
            Some(p) => {
                let b = &doc[p + "<TEXT>".len()..];
                b.find("</TEXT>").map_or(b, |q| &b[..q])
            }
            None => "",
        };
        docs.push(SgmlDocument {
            kind: field("<TYPE>"),
            description: field("<DESCRIPTION>"),
            body,
        });
        rest = next;
    }
    docs
}

fn looks_like_html(body: &str) -> bool {
    // `<TABLE>`, `<S>`, `<C>` and `<PAGE>` are EDGAR's own plain-text markup, so they do not count.
    static HTML_TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)<(?:html|body|div|p|br|font|td|span)[\s>/]").expect("static regex"));
    HTML_TAG.is_match(body)
}

fn plain_pieces(body: &str) -> Vec<Piece> {
    static EDGAR_TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)</?(?:S|C|CAPTION|TABLE|FN|PRE|XBRL|F\d{1,2}|R\d{1,2})>").expect("static regex")
    });
    let mut out = Vec::new();
    for raw in body.lines() {
        for (k, chunk) in raw.split('\u{c}').enumerate() {
            if k > 0 {
                out.push(Piece::PageBreak);
            }
            let trimmed = chunk.trim();
            if trimmed.eq_ignore_ascii_case("<PAGE>") {
                out.push(Piece::PageBreak);
                continue;
            }
            let line = EDGAR_TAG.replace_all(trimmed, "");
            let line = line.trim().replace(['\u{a0}', '\t'], " ");
            out.push(if line.is_empty() {
                Piece::Blank
            } else {
                Piece::Line(line)
            });
        }
    }
    out
}

/// Inline XBRL is XHTML: `<div/>` closes itself there, but an HTML parser would leave it open
/// and nest the rest of the page inside it (fatal when it is `display:none`). Expands such tags.
fn expand_self_closing(src: &str) -> Cow<'_, str> {
    static SELF_CLOSING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<([A-Za-z][A-Za-z0-9:._-]*)(\s[^<>]*?)?/>").expect("static regex"));
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    ];
    let head = head(src, 4000);
    let xhtml = head.trim_start().starts_with("<?xml") || head.contains("http://www.w3.org/1999/xhtml");
    if !xhtml {
        return Cow::Borrowed(src);
    }
    SELF_CLOSING.replace_all(src, |c: &regex::Captures| {
        let name = c.get(1).map_or("", |m| m.as_str());
        let attrs = c.get(2).map_or("", |m| m.as_str());
        if VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) {
            format!("<{name}{attrs}/>")
        } else {
            format!("<{name}{attrs}></{name}>")
        }
    })
}

/// HTML through the shared walker; what is filing-specific is the XHTML clean-up before and
/// the layout of table rows ([`render_row`]).
fn html_pieces(src: &str) -> Vec<Piece> {
    let src = expand_self_closing(src);
    let options = HtmlOptions {
        row_layout: render_row,
        ..HtmlOptions::DOCUMENT
    };
    html_blocks(&src, &options)
}

/// Longest row still laid out on one line; longer rows are layout tables holding whole paragraphs.
const MAX_ROW_CHARS: usize = 400;

/// A table row as one line of cells joined by " | ", or, for layout tables that hold paragraphs,
/// the cells' lines one after another.
fn render_row(cells: Vec<Vec<Piece>>, out: &mut Vec<Piece>) {
    let lines_of = |cell: &[Piece]| -> Vec<String> {
        cell.iter()
            .filter_map(|p| match p {
                Piece::Line(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    };
    let texts: Vec<Vec<String>> = cells.iter().map(|c| lines_of(c)).collect();
    let total: usize = texts.iter().flatten().map(|l| l.chars().count()).sum();
    // Cells of one line each are a data row (or a bullet and its paragraph), however long.
    let layout = texts.iter().any(|t| t.len() > 4) || (total > MAX_ROW_CHARS && texts.iter().any(|t| t.len() > 1));
    if layout {
        for cell in cells {
            out.extend(cell);
        }
        return;
    }
    let mut joined: Vec<String> = Vec::new();
    let mut prefix = String::new();
    for t in &texts {
        let cell = t.join(" ");
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        if matches!(cell, "$" | "€" | "£" | "¥" | "US$" | "(" | "$(") {
            prefix.push_str(cell);
            continue;
        }
        let closing = cell.chars().count() <= 3 && cell.starts_with([')', '%']);
        match joined.last_mut() {
            Some(last) if closing && prefix.is_empty() => last.push_str(cell),
            _ => joined.push(format!("{}{cell}", std::mem::take(&mut prefix))),
        }
    }
    if !prefix.is_empty() {
        joined.push(prefix);
    }
    if joined.len() > 1 && is_list_marker(&joined[0]) {
        // "● | Selling expenses fell" reads better as "● Selling expenses fell".
        let body = joined.remove(1);
        joined[0] = format!("{} {body}", joined[0]);
    }
    if !joined.is_empty() {
        out.push(Piece::Line(joined.join(" | ")));
    }
    if cells.iter().flatten().any(|p| matches!(p, Piece::PageBreak)) {
        out.push(Piece::PageBreak);
    }
}

/// A bullet or list number standing in its own cell: `•`, `(1)`, `a.`.
fn is_list_marker(cell: &str) -> bool {
    static MARKER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[●•·◦▪■□➢►✓*o]|\(?[0-9]{1,2}[.)]|\(?[a-z]{1,4}[.)]|\([0-9a-z]{1,4}\))$").expect("static regex")
    });
    MARKER.is_match(cell.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        pages::finish(html_pieces(html)).join("\n")
    }

    #[test]
    fn blocks_become_lines_and_spans_join() {
        let t = text("<html><body><div><span>Item</span><span>&#160;1A.</span> <b>Risk</b> Factors</div><p>Body text.</p></body></html>");
        assert_eq!(t, "Item 1A. Risk Factors\nBody text.");
    }

    #[test]
    fn hidden_and_head_content_is_dropped() {
        let t = text(
            "<html><head><title>x</title><style>p{}</style></head><body><div style=\"display: none\"><ix:header>\
             <ix:hidden>secret</ix:hidden></ix:header></div><p>Net sales were <ix:nonFraction name=\"a\">391</ix:nonFraction> billion.</p></body></html>",
        );
        assert_eq!(t, "Net sales were 391 billion.");
    }

    #[test]
    fn table_rows_are_lines_with_currency_merged() {
        let t = text(
            "<table><tr><td>Net sales</td><td>$</td><td>391,035</td><td></td><td>$</td><td>(383</td><td>)</td></tr>\
             <tr><td><div>Total</div><div>assets</div></td><td>12</td><td>%</td></tr></table>",
        );
        assert_eq!(t, "Net sales | $391,035 | $(383)\nTotal assets | 12%");
        let t = text(
            "<table><tr><td>•</td><td>Selling expenses fell.</td></tr><tr><td>(1)</td><td>Restated.</td></tr></table>",
        );
        assert_eq!(t, "• Selling expenses fell.\n(1) Restated.");
    }

    #[test]
    fn self_closing_xhtml_divs_do_not_swallow_the_page() {
        let t = text(
            "<?xml version='1.0'?><html xmlns=\"http://www.w3.org/1999/xhtml\"><body><div style=\"display:none\"/>\
             <p>Visible</p><td/></body></html>",
        );
        assert_eq!(t, "Visible");
    }

    #[test]
    fn sgml_submission_keeps_text_documents_only() {
        let sub = "<SEC-DOCUMENT>x.txt\n<SEC-HEADER>x.hdr.sgml\nCONFORMED SUBMISSION TYPE:\t8-K\n</SEC-HEADER>\n\
                   <DOCUMENT>\n<TYPE>8-K\n<SEQUENCE>1\n<DESCRIPTION>CURRENT REPORT\n<TEXT>\n<html><body><p>Item 2.02 Results</p></body></html>\n</TEXT>\n</DOCUMENT>\n\
                   <DOCUMENT>\n<TYPE>GRAPHIC\n<TEXT>\nbegin 644 logo.jpg\nM_]C_X\nend\n</TEXT>\n</DOCUMENT>\n\
                   <DOCUMENT>\n<TYPE>EX-99.1\n<DESCRIPTION>PRESS RELEASE\n<TEXT>\nRevenue grew.\n<PAGE>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n";
        let r = render(sub);
        assert_eq!(r.text, "Item 2.02 Results\n\n[EX-99.1: PRESS RELEASE]\nRevenue grew.");
        assert_eq!(&r.text[r.primary.clone()], "Item 2.02 Results");
        assert_eq!(detect_form(sub), Some(FilingType::EightK));
    }

    #[test]
    fn binary_is_refused() {
        assert!(binary_reason("%PDF-1.7 ...").is_some());
        assert!(binary_reason("<html>fine</html>").is_none());
    }
}
