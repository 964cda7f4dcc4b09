//! The text of each page of a PDF, or the reason it cannot be indexed. Pure.

use lopdf::Document;

/// Larger documents are refused before parsing.
pub const MAX_PDF_BYTES: usize = 20 * 1024 * 1024;
/// More pages than this are refused (a book, not a team document).
pub const MAX_PDF_PAGES: usize = 2000;

/// Why a document is refused; recorded on the document, shown to people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the PDF is encrypted (password protected): its text cannot be read")]
    Encrypted,
    #[error("the PDF cannot be read: {0}")]
    Corrupt(String),
    #[error("the document is {size} bytes, above the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the PDF has {pages} pages, above the limit of {limit}")]
    TooManyPages { pages: usize, limit: usize },
    #[error("the document has no text to index (a scan without a text layer, or empty)")]
    NoText,
    #[error("unsupported kind of document (PDF, HTML, Markdown or plain text only)")]
    Unsupported,
    #[error("the text is not valid UTF-8")]
    NotUtf8,
}

/// One string per page (page 1 first), whitespace tidied.
pub fn page_texts(bytes: &[u8]) -> Result<Vec<String>, Refusal> {
    if bytes.len() > MAX_PDF_BYTES {
        return Err(Refusal::TooLarge {
            size: bytes.len(),
            limit: MAX_PDF_BYTES,
        });
    }
    if !bytes.starts_with(b"%PDF-") {
        return Err(Refusal::Corrupt("no %PDF- header".into()));
    }
    // The trailer (or the cross-reference stream's dictionary, never compressed) names
    // an /Encrypt dictionary when the document is encrypted, even with an empty password.
    if contains(bytes, b"/Encrypt") {
        return Err(Refusal::Encrypted);
    }
    let doc = Document::load_mem(bytes).map_err(|e| Refusal::Corrupt(short(&e.to_string())))?;
    if doc.is_encrypted() {
        return Err(Refusal::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.len() > MAX_PDF_PAGES {
        return Err(Refusal::TooManyPages {
            pages: pages.len(),
            limit: MAX_PDF_PAGES,
        });
    }
    let mut texts = Vec::with_capacity(pages.len());
    for number in pages.keys() {
        let text = doc
            .extract_text(&[*number])
            .map_err(|e| Refusal::Corrupt(short(&e.to_string())))?;
        texts.push(tidy(&text));
    }
    if texts.iter().all(|t| t.trim().is_empty()) {
        return Err(Refusal::NoText);
    }
    Ok(texts)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Lines trimmed, runs of blank lines collapsed to one.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A small PDF with one line of text per page (Courier): what tests and the benchmark
/// drop under `knowledge/`.
pub fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for text in pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap_or_default()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    // Writing to memory cannot fail short of allocation.
    let _ = doc.save_to(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_out_in_order() {
        let pdf = pdf_with_pages(&["Revenue grew in Europe.", "Headcount is 120."]);
        let pages = page_texts(&pdf).expect("readable");
        assert_eq!(pages.len(), 2);
        assert!(pages[0].contains("Revenue grew in Europe."), "{pages:?}");
        assert!(pages[1].contains("Headcount is 120."), "{pages:?}");
    }

    #[test]
    fn refusals_have_reasons() {
        assert!(matches!(page_texts(b"hello"), Err(Refusal::Corrupt(_))));
        assert!(matches!(
            page_texts(b"%PDF-1.4\n1 0 obj garbage"),
            Err(Refusal::Corrupt(_))
        ));
        let mut encrypted = pdf_with_pages(&["secret"]);
        let at = encrypted.len() - 30;
        encrypted.splice(at..at, b"/Encrypt 9 0 R ".iter().copied());
        assert_eq!(page_texts(&encrypted), Err(Refusal::Encrypted));
        assert_eq!(page_texts(&pdf_with_pages(&["", " "])), Err(Refusal::NoText));
        let big = vec![b' '; MAX_PDF_BYTES + 1];
        assert!(matches!(page_texts(&big), Err(Refusal::TooLarge { .. })));
    }
}
