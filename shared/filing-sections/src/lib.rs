//! Splits an SEC filing's primary document into its items as plain text.
//!
//! Pure: the caller reads the file and hands over its text. Inputs may be HTML (including inline
//! XBRL `.htm`), plain text, or an EDGAR full-text SGML submission (`.txt`). The document is
//! first rendered to plain text ([`document_text`]); items are then cut out of that text, so every
//! [`SectionSource`] offset points into it.

mod headings;
mod pages;
mod render;
mod sections;
mod titles;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use sluice_messages::FilingType;
pub use titles::items_for;

/// What the filing says about an item.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum SectionStatus {
    /// The item's heading was found with body text after it.
    Found,
    /// No heading for the item (e.g. Item 1A in a 10-K from before 2005).
    Absent,
    /// The item points elsewhere (proxy statement, annual report, another item) instead of saying it.
    IncorporatedByReference,
    /// The item says "None", "Not applicable" or that smaller reporting companies need not provide it.
    NotApplicable,
}

/// One item of a filing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Section {
    /// `"1A"`, `"7"`; for a 10-Q the part comes first: `"I-2"`, `"II-1A"`.
    pub item: String,
    /// The canonical title of the item, whatever the filing wrote.
    pub title: String,
    pub status: SectionStatus,
    /// Plain text after the heading; empty when absent; the short statement itself when not
    /// applicable or incorporated by reference.
    pub text: String,
    /// Where in [`document_text`] the section was found; `None` when absent.
    pub source: Option<SectionSource>,
}

/// Where a section sits in the plain-text rendering, so a reader can check it against the filing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SectionSource {
    /// The heading as written in the document (whitespace collapsed).
    pub heading: String,
    /// Offset, in chars (Unicode scalar values), of the heading's start in [`document_text`].
    pub start: usize,
    /// Offset, in chars, where the next heading (of any item) starts: the section's end, exclusive.
    pub end: usize,
}

/// The sections of a filing; serialises as a JSON object keyed by item: `{"1": {...}, "1A": {...}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(transparent)]
pub struct FilingSections(pub BTreeMap<String, Section>);

impl FilingSections {
    /// The section for `item` (`"1A"`, `"II-1A"`, `"document"`).
    pub fn get(&self, item: &str) -> Option<&Section> {
        self.0.get(item)
    }

    /// Sections in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Section> {
        self.0.values()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a document cannot be split at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SectionError {
    /// Binary content (PDF, ZIP, image…) handed in as text: there is no text to split.
    #[error("not an HTML or text document: {0}")]
    NotText(&'static str),
}

/// Splits `document` into the items that matter for `form`.
///
/// Every expected item of the form is in the result, with status `absent` when not found, so
/// consumers can tell "not in this filing" from "not looked for".
pub fn extract(document: &str, form: FilingType) -> Result<FilingSections, SectionError> {
    if let Some(reason) = render::binary_reason(document) {
        return Err(SectionError::NotText(reason));
    }
    let rendered = render::render(document);
    Ok(sections::extract_from_text(&rendered.text, rendered.primary, form))
}

/// The plain-text rendering used for extraction: one line per paragraph or table row (cells joined
/// by `" | "`), hidden inline-XBRL content dropped, page headers, footers and page numbers removed.
pub fn document_text(document: &str) -> String {
    render::render(document).text
}

/// The form a document says it is: the SGML header's `CONFORMED SUBMISSION TYPE`, or inline
/// XBRL's `dei:DocumentType`. Lets a caller warn when asked to split a 10-Q as a 10-K.
pub fn detect_form(document: &str) -> Option<FilingType> {
    render::detect_form(document)
}

/// A document's bytes as text: EDGAR documents are mostly UTF-8 or ASCII; older ones
/// are windows-1252. A UTF-8 byte-order mark is dropped.
pub fn decode_document(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}
