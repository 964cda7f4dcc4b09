//! The retrieval benchmark's pure parts: the question set, what counts as a hit, recall@k
//! and MRR, percentiles, and the synthetic chunks that pad the store to 100,000.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// One question with its known answer: the document (a corpus label such as `aapl-10-k` or
/// `team/onboarding.md`) and a phrase that appears in the passage that answers it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Question {
    pub q: String,
    pub doc: String,
    pub answer: String,
}

/// Lower case, curly quotes straightened, runs of white space as one space: a phrase is
/// found in a passage whatever the rendering did to its spacing.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            '\u{00A0}' => ' ',
            c => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// True when `passage` (already normalised) answers: it contains the answer phrase.
pub fn answers(passage_normalised: &str, answer: &str) -> bool {
    passage_normalised.contains(&normalise(answer))
}

/// The rank (from 1) of the first relevant result, if any.
pub fn first_relevant(relevant: &[bool]) -> Option<usize> {
    relevant.iter().position(|&r| r).map(|i| i + 1)
}

/// Recall@k and MRR over questions, from each question's first relevant rank (MRR counts
/// every rank returned; recall counts ranks <= k).
pub fn recall_and_mrr(ranks: &[Option<usize>], k: usize) -> (f64, f64) {
    if ranks.is_empty() {
        return (0.0, 0.0);
    }
    let n = ranks.len() as f64;
    let recall = ranks.iter().filter(|r| matches!(r, Some(x) if *x <= k)).count() as f64 / n;
    let mrr = ranks.iter().map(|r| r.map_or(0.0, |x| 1.0 / x as f64)).sum::<f64>() / n;
    (recall, mrr)
}

/// The nearest-rank percentile (`p` in 0..=100) of samples; 0 for none.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One field of PostgreSQL's COPY text format (`\N` for none).
pub fn copy_field(out: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        out.push_str("\\N");
        return;
    };
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Sentences of the real corpus, the material of the synthetic chunks.
pub fn sentences<'a>(bodies: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for body in bodies {
        for s in body.split_inclusive(['.', '\n']) {
            let s = s.trim();
            if s.chars().count() >= 40 {
                out.push(s.to_owned());
            }
        }
    }
    out
}

/// A synthetic chunk: a fictional company's filing passage made of real sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticChunk {
    pub doc: usize,
    pub ord: usize,
    pub ticker: String,
    pub form: &'static str,
    pub period: String,
    pub header: String,
    pub section: String,
    pub body: String,
}

const SECTIONS: [&str; 8] = [
    "Item 1 Business",
    "Item 1A Risk Factors",
    "Item 2 Properties",
    "Item 3 Legal Proceedings",
    "Item 5 Market for Registrant's Common Equity",
    "Item 7 Management's Discussion and Analysis",
    "Item 7A Quantitative and Qualitative Disclosures About Market Risk",
    "Item 8 Financial Statements and Supplementary Data",
];

/// `count` chunks in documents of `per_doc`, deterministic for `seed`: each body 4 to 8
/// sentences drawn from `material` (about the size of a real chunk).
pub fn synthetic_chunks(material: &[String], count: usize, per_doc: usize, seed: u64) -> Vec<SyntheticChunk> {
    let mut rng = StdRng::seed_from_u64(seed);
    let per_doc = per_doc.max(1);
    let mut out = Vec::with_capacity(count);
    if material.is_empty() {
        return out;
    }
    for i in 0..count {
        let doc = i / per_doc;
        let ord = i % per_doc;
        let ticker = format!("SYN{doc:04}");
        let form = if doc.is_multiple_of(4) { "10-Q" } else { "10-K" };
        let period = format!("FY{}", 2015 + doc % 11);
        let section = SECTIONS[(ord * SECTIONS.len()) / per_doc].to_owned();
        let header = format!("Synthetic Company {doc} · {ticker} · {form} · {period} · {section}");
        let n = rng.gen_range(4..=8);
        let mut body = String::new();
        for s in material.choose_multiple(&mut rng, n) {
            if body.chars().count() > 1000 {
                break;
            }
            if !body.is_empty() {
                body.push(' ');
            }
            body.push_str(s);
        }
        out.push(SyntheticChunk {
            doc,
            ord,
            ticker,
            form,
            period,
            header,
            section,
            body,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whatever_the_spacing_and_quotes() {
        let passage = normalise("The Company\u{2019}s  net sales\n increased 2%.");
        assert!(answers(&passage, "company's net sales increased"));
        assert!(!answers(&passage, "net sales decreased"));
    }

    #[test]
    fn recall_and_mrr_count_ranks() {
        let ranks = [Some(1), Some(2), Some(6), None];
        let (recall, mrr) = recall_and_mrr(&ranks, 5);
        assert!((recall - 0.5).abs() < 1e-12);
        assert!((mrr - (1.0 + 0.5 + 1.0 / 6.0) / 4.0).abs() < 1e-12);
        assert_eq!(first_relevant(&[false, true, true]), Some(2));
        assert_eq!(first_relevant(&[false]), None);
        assert_eq!(recall_and_mrr(&[], 5), (0.0, 0.0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&samples, 100.0), 100.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn copy_fields_are_escaped() {
        let mut s = String::new();
        copy_field(&mut s, Some("a\tb\nc\\d"));
        s.push('\t');
        copy_field(&mut s, None);
        assert_eq!(s, "a\\tb\\nc\\\\d\t\\N");
    }

    #[test]
    fn synthetic_chunks_are_deterministic_and_sized() {
        let material: Vec<String> = (0..50)
            .map(|i| format!("Sentence number {i} says something about revenue and costs."))
            .collect();
        let a = synthetic_chunks(&material, 250, 100, 7);
        let b = synthetic_chunks(&material, 250, 100, 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 250);
        assert_eq!(a[249].doc, 2);
        assert_eq!(a[249].ord, 49);
        assert!(a.iter().all(|c| !c.body.is_empty() && c.body.chars().count() <= 1200));
        assert!(a[0].header.starts_with("Synthetic Company 0 · SYN0000 · 10-Q"));
    }
}
