//! Fitting filing text into a model's context: a token estimate and a split on
//! paragraph boundaries (sentences, then words, when a paragraph alone is too big).
//! Pure.

use super::section::SectionInput;
use sluice_text::split_sentences;

/// About four characters per token for English prose: cheap and close enough, and
/// the planner leaves a margin for text that tokenises worse (tables, numbers).
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// One part of the filing's text, small enough for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The text with a header line per section it holds.
    pub text: String,
    /// The section items it holds, in order.
    pub items: Vec<String>,
}

/// The header line a section's text is shown under.
pub fn section_header(section: &SectionInput, continued: bool) -> String {
    let name = if section.item.eq_ignore_ascii_case("document") {
        section.title.trim().to_owned()
    } else if section.title.trim().is_empty() {
        format!("Item {}", section.item.trim())
    } else {
        format!("Item {}: {}", section.item.trim(), section.title.trim())
    };
    if continued {
        format!("## {name} (continued)")
    } else {
        format!("## {name}")
    }
}

/// Splits the sections into as few chunks as fit `budget_tokens` each (estimated
/// with [`estimate_tokens`]), breaking between paragraphs where possible.
pub fn plan_chunks(sections: &[&SectionInput], budget_tokens: usize) -> Vec<Chunk> {
    let budget_chars = budget_tokens.max(1).saturating_mul(4);
    let mut chunks = Vec::new();
    let mut text = String::new();
    let mut chars = 0usize;
    let mut items: Vec<String> = Vec::new();
    for section in sections {
        let header = section_header(section, false);
        let continued = section_header(section, true);
        // Room for a piece under the longer header and the blank lines around it.
        let piece_chars = budget_chars.saturating_sub(continued.chars().count() + 4).max(16);
        let mut started = false;
        let mut open_here = false;
        for piece in pieces(&section.text, piece_chars) {
            let piece_len = piece.chars().count();
            let head_len = if open_here {
                0
            } else if started {
                continued.chars().count() + 2
            } else {
                header.chars().count() + 2
            };
            if chars > 0 && chars + 2 + head_len + piece_len > budget_chars {
                chunks.push(Chunk {
                    text: std::mem::take(&mut text),
                    items: std::mem::take(&mut items),
                });
                chars = 0;
                open_here = false;
            }
            if chars > 0 {
                text.push_str("\n\n");
                chars += 2;
            }
            if !open_here {
                let line = if started { &continued } else { &header };
                text.push_str(line);
                text.push_str("\n\n");
                chars += line.chars().count() + 2;
                items.push(section.item.trim().to_owned());
                open_here = true;
                started = true;
            }
            text.push_str(&piece);
            chars += piece_len;
        }
    }
    if !text.is_empty() {
        chunks.push(Chunk { text, items });
    }
    chunks
}

/// The text as paragraphs of at most `max_chars`: long paragraphs are split into
/// sentences, long sentences at spaces, and a space-free run at characters.
fn pieces(text: &str, max_chars: usize) -> Vec<String> {
    let normalised = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    for paragraph in normalised.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if paragraph.chars().count() <= max_chars {
            out.push(paragraph.to_owned());
            continue;
        }
        let mut current = String::new();
        let mut current_len = 0;
        for unit in split_sentences(paragraph)
            .into_iter()
            .flat_map(|s| split_words(&s, max_chars))
        {
            let unit_len = unit.chars().count();
            if current_len > 0 && current_len + 1 + unit_len > max_chars {
                out.push(std::mem::take(&mut current));
                current_len = 0;
            }
            if current_len > 0 {
                current.push(' ');
                current_len += 1;
            }
            current.push_str(&unit);
            current_len += unit_len;
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// `sentence` in runs of at most `max_chars`, broken at spaces where there are any.
fn split_words(sentence: &str, max_chars: usize) -> Vec<String> {
    if sentence.chars().count() <= max_chars {
        return vec![sentence.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for word in sentence.split_whitespace() {
        let mut word_chars: Vec<char> = word.chars().collect();
        while word_chars.len() > max_chars {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                current_len = 0;
            }
            let rest = word_chars.split_off(max_chars);
            out.push(word_chars.into_iter().collect());
            word_chars = rest;
        }
        let len = word_chars.len();
        if current_len > 0 && current_len + 1 + len > max_chars {
            out.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if current_len > 0 {
            current.push(' ');
            current_len += 1;
        }
        current.extend(word_chars);
        current_len += len;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(item: &str, title: &str, text: &str) -> SectionInput {
        SectionInput::new(item, title, text)
    }

    #[test]
    fn tokens_are_about_four_characters() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("ééééé"), 2);
    }

    #[test]
    fn a_small_filing_is_one_chunk_with_headers() {
        let a = section("1", "Business", "We sell widgets.\n\nWe also sell gadgets.");
        let b = section("7", "MD&A", "Sales rose.");
        let chunks = plan_chunks(&[&a, &b], 1_000);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].items, ["1", "7"]);
        assert_eq!(
            chunks[0].text,
            "## Item 1: Business\n\nWe sell widgets.\n\nWe also sell gadgets.\n\n## Item 7: MD&A\n\nSales rose."
        );
        let doc = section("document", "Current report", "Text.");
        assert_eq!(plan_chunks(&[&doc], 100)[0].text, "## Current report\n\nText.");
    }

    #[test]
    fn long_text_splits_on_paragraphs_within_the_budget() {
        let paragraph = "Revenue grew because customers bought more widgets. ".repeat(10);
        let text = [paragraph.trim(); 12].join("\n\n");
        let s = section("7", "Management's Discussion and Analysis", &text);
        let budget = 400;
        let chunks = plan_chunks(&[&s], budget);
        assert!(chunks.len() >= 4, "{}", chunks.len());
        for (i, chunk) in chunks.iter().enumerate() {
            assert!(estimate_tokens(&chunk.text) <= budget, "chunk {i}");
            let continued = chunk
                .text
                .starts_with("## Item 7: Management's Discussion and Analysis (continued)");
            assert_eq!(continued, i > 0, "chunk {i}");
            assert_eq!(chunk.items, ["7"]);
        }
        // Nothing is lost: every paragraph appears once, whole.
        let total: usize = chunks.iter().map(|c| c.text.matches(paragraph.trim()).count()).sum();
        assert_eq!(total, 12);
    }

    #[test]
    fn giant_paragraphs_and_words_are_cut_to_fit() {
        let sentences = "A sentence that is fairly long and keeps going. ".repeat(200);
        let word = "x".repeat(5_000);
        let s = section("1A", "Risk Factors", &format!("{sentences}\n\n{word}"));
        let chunks = plan_chunks(&[&s], 300);
        assert!(chunks.iter().all(|c| estimate_tokens(&c.text) <= 300));
        let xs: usize = chunks.iter().map(|c| c.text.matches('x').count()).sum();
        assert_eq!(xs, 5_000);
        let sentence_count: usize = chunks.iter().map(|c| c.text.matches("keeps going.").count()).sum();
        assert_eq!(sentence_count, 200);
    }
}
