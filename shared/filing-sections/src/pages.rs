//! Page furniture: the running headers, footers and page numbers printed at every page break.
//! Left in, they would land in the middle of section text (and sometimes split a paragraph).

use crate::headings;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A rendered document before clean-up: lines, blank lines (kept, collapsed, for plain-text
/// documents whose paragraphs are separated so) and page breaks, as the shared HTML walker
/// lays them out.
pub(crate) use sluice_text::Block as Piece;

/// How many lines on each side of a page break may be furniture.
const EDGE_LINES: usize = 3;
/// A line seen at this many page breaks (digits ignored), and at one break in ten at least, is a
/// running header or footer; rarer repeats ("See accompanying notes…") are content.
const REPEATS: usize = 3;
const MAX_FURNITURE_CHARS: usize = 150;

/// Removes page furniture, joins a paragraph the page break cut in two, and returns the lines.
pub(crate) fn finish(pieces: Vec<Piece>) -> Vec<String> {
    // Lines ("" = blank, None = removed) and the positions where a page break sits before lines[i].
    let mut lines: Vec<Option<String>> = Vec::with_capacity(pieces.len());
    let mut breaks: Vec<usize> = vec![0];
    for p in pieces {
        match p {
            Piece::Line(l) => lines.push(Some(l)),
            Piece::Blank => lines.push(Some(String::new())),
            Piece::PageBreak => {
                if breaks.last() != Some(&lines.len()) {
                    breaks.push(lines.len());
                }
            }
        }
    }
    if breaks.last() != Some(&lines.len()) {
        breaks.push(lines.len());
    }

    // Candidate furniture next to each break: nearest line first.
    let mut edges: Vec<(Vec<usize>, Vec<usize>)> = Vec::with_capacity(breaks.len());
    for (n, &b) in breaks.iter().enumerate() {
        let prev_break = if n == 0 { 0 } else { breaks[n - 1] };
        let next_break = breaks.get(n + 1).copied().unwrap_or(lines.len());
        let before: Vec<usize> = (prev_break..b)
            .rev()
            .filter(|&i| is_text(&lines[i]))
            .take(EDGE_LINES)
            .collect();
        let after: Vec<usize> = (b..next_break)
            .filter(|&i| is_text(&lines[i]))
            .take(EDGE_LINES)
            .collect();
        edges.push((before, after));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (before, after) in &edges {
        let mut here: Vec<String> = before
            .iter()
            .chain(after)
            .filter_map(|&i| lines[i].as_deref())
            .filter(|l| l.chars().count() <= MAX_FURNITURE_CHARS)
            .map(shape)
            .collect();
        here.sort();
        here.dedup();
        for s in here {
            *seen.entry(s).or_default() += 1;
        }
    }
    let min_repeats = REPEATS.max(breaks.len() / 10);
    let furniture = |l: &str| {
        !headings::is_structural(l)
            && (is_page_number(l)
                || (l.chars().count() <= MAX_FURNITURE_CHARS
                    && seen.get(&shape(l)).copied().unwrap_or(0) >= min_repeats))
    };
    for (before, after) in &edges {
        for side in [before, after] {
            for &i in side {
                if lines[i].as_deref().is_some_and(furniture) {
                    lines[i] = None;
                } else {
                    break;
                }
            }
        }
    }

    // A paragraph that runs over a page break comes back as one line.
    let inner = breaks.len().saturating_sub(2);
    for &b in breaks.iter().skip(1).take(inner) {
        let prev = (0..b).rev().find(|&i| is_text(&lines[i]));
        let next = (b..lines.len()).find(|&i| is_text(&lines[i]));
        let (Some(p), Some(q)) = (prev, next) else {
            continue;
        };
        let joins = {
            let (Some(a), Some(z)) = (lines[p].as_deref(), lines[q].as_deref()) else {
                continue;
            };
            let open_end = a.chars().last().is_some_and(|c| c.is_alphanumeric() || c == ',');
            let continues = z.chars().next().is_some_and(|c| c.is_lowercase());
            open_end && continues && !a.contains(" | ") && !headings::is_structural(a)
        };
        if joins {
            let tail = lines[q].take().unwrap_or_default();
            if let Some(a) = lines[p].as_mut() {
                a.push(' ');
                a.push_str(&tail);
            }
        }
    }

    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut blank = false;
    for l in lines.into_iter().flatten() {
        if l.is_empty() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push(String::new());
        }
        blank = false;
        out.push(l);
    }
    out
}

fn is_text(line: &Option<String>) -> bool {
    line.as_deref().is_some_and(|l| !l.is_empty())
}

/// `12`, `- 12 -`, `Page 12`, `F-3`, `ii`, `Page 3 of 40`; not `2024`, a year heading a table.
pub(crate) fn is_page_number(line: &str) -> bool {
    static PAGE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^(?:page\s*)?[-–—(\[]?\s*(?:\d{1,3}|[ivxlc]{1,7}|[a-z]{1,2}\s?-\s?\d{1,3}|\d{1,3}\s?-\s?\d{1,3})\s*[-–—)\]]?(?:\s*of\s*\d{1,4})?$",
        )
        .expect("static regex")
    });
    let l = line.trim();
    !l.is_empty() && l.len() <= 24 && PAGE.is_match(l)
}

/// A line with its digits blanked out, so "Form 10-K | 4" and "Form 10-K | 5" count as the same.
fn shape(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            if c.is_ascii_digit() {
                '#'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Piece {
        Piece::Line(s.to_string())
    }

    #[test]
    fn page_numbers() {
        for p in ["12", "- 12 -", "Page 12", "F-3", "ii", "Page 3 of 40", "(7)"] {
            assert!(is_page_number(p), "{p}");
        }
        for p in ["Item 7.", "2024", "Net sales | 12", "Total"] {
            assert!(!is_page_number(p), "{p}");
        }
    }

    #[test]
    fn running_footers_and_page_numbers_are_removed_and_paragraphs_rejoined() {
        let words = ["alpha", "beta", "gamma", "delta", "epsilon"];
        let mut pieces = vec![line("Item 1A. Risk Factors")];
        for n in 1..=4 {
            pieces.push(line(&format!("The {} risk is about the", words[n])));
            pieces.push(line(&format!("Acme Corp. | 2024 Form 10-K | {n}")));
            pieces.push(Piece::PageBreak);
            pieces.push(line("Table of Contents"));
            pieces.push(line(&format!("economy of {}.", words[n - 1])));
        }
        let out = finish(pieces);
        assert_eq!(out[0], "Item 1A. Risk Factors");
        assert_eq!(out[1], "The beta risk is about the economy of alpha.");
        assert_eq!(out.len(), 5, "{out:?}");
        assert!(!out.iter().any(|l| l.contains("Form 10-K") || l == "Table of Contents"));
    }

    #[test]
    fn headings_at_page_tops_stay() {
        let mut pieces = Vec::new();
        for n in 1..=4 {
            pieces.push(Piece::PageBreak);
            pieces.push(line("Item 7."));
            pieces.push(line(["Alpha.", "Beta.", "Gamma.", "Delta."][n - 1]));
            pieces.push(line(&format!("{n}")));
        }
        let out = finish(pieces);
        assert_eq!(out.iter().filter(|l| *l == "Item 7.").count(), 4);
        assert!(!out.iter().any(|l| l.parse::<u32>().is_ok()));
    }
}
