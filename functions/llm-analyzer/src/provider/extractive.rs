//! The offline analyser: no model, no network, no cost. It ranks the filing's
//! sentences (TF-IDF-like weights of their words, favouring a section's opening),
//! pulls out key figures (dollar amounts and percentages with their context) and
//! risk statements ("could adversely affect", "risk", "may"), and fills the same
//! typed bodies a model would, each marked as produced without a language model.
//! Deterministic: the same sections always give the same body.

use super::{Completion, CompletionRequest, LanguageModel, ProviderError, EXTRACTIVE_CONTEXT_TOKENS};
use crate::analysis::body::{
    schema, AnalysisBody, KeyFigure, MdnaBody, Provenance, Risk, RiskCategory, RiskFactorsBody, Severity, SummaryBody,
    EXTRACTIVE_NOTE,
};
use crate::analysis::section::SectionInput;
use futures::future::BoxFuture;
use sluice_messages::{AnalysisKind, FilingType, ModelKey, Money};
use sluice_text::{split_sentences, words};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// The extractive analyser as a [`LanguageModel`], so it can be configured like any
/// provider. The analysis layer calls [`analyse`] directly; [`LanguageModel::complete`]
/// serves callers that only have a prompt and a schema.
#[derive(Debug, Clone)]
pub struct ExtractiveModel {
    key: ModelKey,
}

impl ExtractiveModel {
    pub fn new() -> Self {
        Self { key: model_key() }
    }
}

impl Default for ExtractiveModel {
    fn default() -> Self {
        Self::new()
    }
}

/// `extractive:v1`.
pub fn model_key() -> ModelKey {
    ModelKey::parse("extractive:v1").unwrap_or_else(|_| unreachable!("a valid literal"))
}

impl LanguageModel for ExtractiveModel {
    fn model(&self) -> &ModelKey {
        &self.key
    }
    fn context_tokens(&self) -> usize {
        EXTRACTIVE_CONTEXT_TOKENS
    }
    fn is_extractive(&self) -> bool {
        true
    }
    /// Recognises the kind by its schema and analyses the prompt's filing text
    /// (between the `<<<FILING TEXT` markers when present, else the whole prompt).
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let started = Instant::now();
            let kind = AnalysisKind::ALL
                .into_iter()
                .find(|k| request.response_schema.as_ref() == Some(&schema(*k)))
                .ok_or_else(|| {
                    ProviderError::Unsupported("the extractive analyser only answers the analysis schemas".to_owned())
                })?;
            let text = between(&request.prompt, "<<<FILING TEXT\n", "\nFILING TEXT>>>").unwrap_or(&request.prompt);
            let company = request
                .prompt
                .lines()
                .find_map(|l| l.strip_prefix("Company: "))
                .unwrap_or("The company");
            let section = SectionInput {
                item: "document".to_owned(),
                title: "Prompt".to_owned(),
                text: text.to_owned(),
            };
            let body = analyse(kind, company, FilingType::EightK, &[&section]);
            Ok(Completion {
                content: body.to_value().to_string(),
                input_tokens: 0,
                output_tokens: 0,
                latency: started.elapsed(),
                cost: Money::ZERO,
                model: self.key.clone(),
            })
        })
    }
}

fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].rfind(close)? + start;
    Some(&text[start..end])
}

/// Analyses the sections without a model. Always a valid body of `kind`, with
/// provenance saying how it was made.
pub fn analyse(kind: AnalysisKind, company: &str, _form: FilingType, sections: &[&SectionInput]) -> AnalysisBody {
    let doc = Document::new(sections);
    let company = if company.trim().is_empty() {
        "The company"
    } else {
        company.trim()
    };
    let mut body = match kind {
        AnalysisKind::Summary => AnalysisBody::Summary(doc.summary(company)),
        AnalysisKind::RiskFactors => AnalysisBody::RiskFactors(doc.risk_factors(company)),
        AnalysisKind::Mdna => AnalysisBody::Mdna(doc.mdna(company)),
    };
    body.set_provenance(Some(Provenance {
        model: model_key(),
        extractive: true,
        note: EXTRACTIVE_NOTE.to_owned(),
        sections: sections.iter().map(|s| s.item.trim().to_owned()).collect(),
        chunks: 1,
        prompt_version: kind.prompt_version(),
    }));
    body
}

/// One sentence of the filing and how it ranks.
#[derive(Debug, Clone)]
struct Sentence {
    text: String,
    /// Index of its section in the input.
    section: usize,
    /// Lower-cased content words, in order of first appearance, without repeats.
    terms: Vec<String>,
    score: f64,
}

struct Document<'s> {
    sections: &'s [&'s SectionInput],
    sentences: Vec<Sentence>,
}

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "are",
    "was",
    "were",
    "with",
    "that",
    "this",
    "these",
    "those",
    "from",
    "our",
    "its",
    "their",
    "has",
    "have",
    "had",
    "not",
    "but",
    "all",
    "any",
    "can",
    "which",
    "such",
    "other",
    "also",
    "into",
    "than",
    "then",
    "they",
    "them",
    "there",
    "been",
    "being",
    "will",
    "would",
    "may",
    "could",
    "should",
    "each",
    "more",
    "most",
    "some",
    "over",
    "under",
    "about",
    "including",
    "within",
    "upon",
    "during",
    "through",
    "among",
    "who",
    "whom",
    "what",
    "when",
    "where",
    "while",
    "well",
    "because",
    "result",
    "results",
    "company",
    "companies",
    "year",
    "years",
    "certain",
    "related",
    "primarily",
    "approximately",
];

/// The words a sentence is ranked by: the shared tokenizer's words, possessives folded
/// (`company's` is `company`), without short words, numbers and stop words.
fn terms(text: &str) -> impl Iterator<Item = String> {
    words(text).into_iter().filter_map(|word| {
        let word = match word.strip_suffix("'s") {
            Some(stem) => stem.to_owned(),
            None => word,
        };
        let content =
            word.chars().count() >= 3 && word.chars().any(char::is_alphabetic) && !STOPWORDS.contains(&word.as_str());
        content.then_some(word)
    })
}

impl<'s> Document<'s> {
    fn new(sections: &'s [&'s SectionInput]) -> Self {
        let mut sentences = Vec::new();
        for (index, section) in sections.iter().enumerate() {
            let normalised = section.text.replace("\r\n", "\n");
            let mut in_section = Vec::new();
            for paragraph in normalised.split("\n\n") {
                for text in split_sentences(paragraph) {
                    let word_count = text.split_whitespace().count();
                    // Headings, table rows and fragments are not sentences to rank.
                    if word_count < 5 || !text.chars().any(char::is_alphabetic) {
                        continue;
                    }
                    let mut seen = BTreeSet::new();
                    let terms: Vec<String> = terms(&text).filter(|w| seen.insert(w.clone())).collect();
                    in_section.push(Sentence {
                        text,
                        section: index,
                        terms,
                        score: 0.0,
                    });
                }
            }
            if in_section.is_empty() {
                // Keep something from a section of fragments: its text, flattened.
                let flat: String = section.text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !flat.is_empty() {
                    let terms = terms(&flat).collect::<BTreeSet<_>>().into_iter().collect();
                    in_section.push(Sentence {
                        text: shorten(&flat, 400),
                        section: index,
                        terms,
                        score: 0.0,
                    });
                }
            }
            sentences.extend(in_section);
        }
        let mut doc = Self { sections, sentences };
        doc.rank();
        doc
    }

    /// Scores each sentence by the summed weight of its distinct words (frequent in
    /// the text, rare across sentences), normalised by length, with a bonus for the
    /// opening of its section.
    fn rank(&mut self) {
        let n = self.sentences.len().max(1) as f64;
        let mut tf: BTreeMap<&str, f64> = BTreeMap::new();
        let mut df: BTreeMap<&str, f64> = BTreeMap::new();
        for s in &self.sentences {
            for t in &s.terms {
                *df.entry(t.as_str()).or_default() += 1.0;
            }
            for term in terms(&s.text) {
                if let Some((key, _)) = df.get_key_value(term.as_str()) {
                    *tf.entry(key).or_default() += 1.0;
                }
            }
        }
        let weight = |t: &str| {
            let tf = tf.get(t).copied().unwrap_or(1.0);
            let df = df.get(t).copied().unwrap_or(1.0);
            (1.0 + tf.ln()) * ((n + 1.0) / df).ln()
        };
        let mut per_section: BTreeMap<usize, usize> = BTreeMap::new();
        for s in &self.sentences {
            *per_section.entry(s.section).or_default() += 1;
        }
        let mut position: BTreeMap<usize, usize> = BTreeMap::new();
        let scores: Vec<f64> = self
            .sentences
            .iter()
            .map(|s| {
                let pos = position.entry(s.section).or_default();
                let total = per_section.get(&s.section).copied().unwrap_or(1).max(1) as f64;
                let lead = 1.0 + 0.3 * (1.0 - *pos as f64 / total);
                *pos += 1;
                let words = s.text.split_whitespace().count();
                let length = if words < 8 {
                    0.6
                } else if words > 60 {
                    0.7
                } else {
                    1.0
                };
                let sum: f64 = s.terms.iter().map(|t| weight(t)).sum();
                sum / (s.terms.len().max(1) as f64).sqrt() * lead * length
            })
            .collect();
        for (s, score) in self.sentences.iter_mut().zip(scores) {
            s.score = score;
        }
    }

    /// Indexes of the sentences `score` keeps, best first (ties to the earlier).
    fn ranked(&self, score: impl Fn(&Sentence) -> Option<f64>) -> Vec<usize> {
        let mut ranked: Vec<(usize, f64)> = self
            .sentences
            .iter()
            .enumerate()
            .filter_map(|(i, s)| score(s).map(|v| (i, v)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.into_iter().map(|(i, _)| i).collect()
    }

    /// The best `k` of [`Self::ranked`], skipping near-duplicates of ones already chosen.
    fn top(&self, k: usize, score: impl Fn(&Sentence) -> Option<f64>) -> Vec<usize> {
        let mut chosen: Vec<usize> = Vec::new();
        for i in self.ranked(score) {
            if chosen.len() == k {
                break;
            }
            let terms: BTreeSet<&String> = self.sentences[i].terms.iter().collect();
            let duplicate = chosen.iter().any(|&j| {
                let other: BTreeSet<&String> = self.sentences[j].terms.iter().collect();
                let union = terms.union(&other).count().max(1);
                terms.intersection(&other).count() as f64 / union as f64 >= 0.6
            });
            if !duplicate {
                chosen.push(i);
            }
        }
        chosen
    }

    /// [`Self::top`], back in the order the filing tells it.
    fn top_in_order(&self, k: usize, score: impl Fn(&Sentence) -> Option<f64>) -> Vec<usize> {
        let mut chosen = self.top(k, score);
        chosen.sort_unstable();
        chosen
    }

    fn texts(&self, indexes: &[usize], max_chars: usize) -> Vec<String> {
        indexes
            .iter()
            .map(|&i| shorten(&self.sentences[i].text, max_chars))
            .collect()
    }

    fn joined(&self, indexes: &[usize], max_chars: usize) -> Option<String> {
        (!indexes.is_empty()).then(|| self.texts(indexes, max_chars).join(" "))
    }

    fn section_matches(&self, s: &Sentence, items: &[&str], title_words: &[&str]) -> bool {
        let section = self.sections[s.section];
        let title = section.title.to_lowercase();
        items.iter().any(|i| section.item.trim().eq_ignore_ascii_case(i))
            || title_words.iter().any(|w| title.contains(w))
    }

    /// The best sentences whose text mentions one of `terms`.
    fn about(&self, k: usize, terms: &[&str]) -> Vec<usize> {
        self.top_in_order(k, |s| {
            let lower = s.text.to_lowercase();
            terms.iter().any(|t| lower.contains(t)).then_some(s.score)
        })
    }

    /// The best-ranked concise sentence, preferring one that states a figure.
    fn headline(&self, company: &str) -> String {
        let pick = self.top(1, |s| {
            let figure = if s.text.contains(['$', '%']) { 1.3 } else { 1.0 };
            let concise = if s.text.split_whitespace().count() > 35 {
                0.5
            } else {
                1.0
            };
            Some(s.score * figure * concise)
        });
        match pick.first() {
            Some(&i) => format!("{company}: {}", shorten(&self.sentences[i].text, 160)),
            None => format!("{company}: no rankable text in the analysed sections."),
        }
    }

    fn outlook(&self) -> String {
        self.joined(&self.about(2, OUTLOOK_TERMS), 300)
            .unwrap_or_else(|| "No forward-looking statements were found in the analysed sections.".to_owned())
    }

    /// Up to `k` figures from the best-ranked sentences that state any.
    fn key_figures(&self, k: usize) -> Vec<KeyFigure> {
        let mut out: Vec<KeyFigure> = Vec::new();
        let mut seen = BTreeSet::new();
        for i in self.ranked(|s| s.text.contains(['$', '%']).then_some(s.score)) {
            for (label, value) in figures_in(&self.sentences[i].text) {
                if out.len() == k {
                    return out;
                }
                if seen.insert((label.to_lowercase(), value.clone())) {
                    out.push(KeyFigure {
                        label,
                        value,
                        context: shorten(&self.sentences[i].text, 240),
                    });
                }
            }
        }
        out
    }

    fn summary(&self, company: &str) -> SummaryBody {
        let business = self.top_in_order(3, |s| {
            self.section_matches(s, &["1", "4"], &["business"]).then_some(s.score)
        });
        let business_ids: BTreeSet<usize> = business.iter().copied().collect();
        // Key points repeat the business sentences only when nothing else ranks.
        let mut key_points = self.top_in_order(5, |s| Some(s.score));
        key_points.retain(|i| !business_ids.contains(i));
        if key_points.is_empty() {
            key_points = self.top_in_order(5, |s| Some(s.score));
        }
        SummaryBody {
            headline: self.headline(company),
            business: self
                .joined(&business, 300)
                .or_else(|| self.joined(&self.top_in_order(2, |s| Some(s.score)), 300))
                .unwrap_or_else(|| format!("{company}'s filing gives no description of the business.")),
            key_points: non_empty(
                self.texts(&key_points, 300),
                "The analysed sections hold no rankable sentences.",
            ),
            key_figures: self.key_figures(8),
            outlook: self.outlook(),
            provenance: None,
        }
    }

    fn risk_factors(&self, company: &str) -> RiskFactorsBody {
        let mut chosen = self.top(10, |s| {
            let strength = risk_strength(&s.text);
            let lower = s.text.to_lowercase();
            // "The following risk factors could ..." introduces risks; it is not one.
            let meta = if lower.contains("the following")
                || lower.contains("risk factors")
                || lower.contains("numerous risks")
            {
                0.3
            } else {
                1.0
            };
            (strength >= 1.0).then_some(s.score * (1.0 + strength / 3.0) * meta)
        });
        if chosen.is_empty() {
            chosen = self.top(5, |s| Some(s.score));
        }
        let mut risks: Vec<Risk> = chosen
            .iter()
            .map(|&i| {
                let text = &self.sentences[i].text;
                Risk {
                    title: title_of(text),
                    category: categorise(text),
                    severity: severity_of(text),
                    summary: shorten(text, 300),
                }
            })
            .collect();
        // Most severe first; the ranking decides within a severity.
        risks.sort_by_key(|r| std::cmp::Reverse(r.severity));
        if risks.is_empty() {
            risks.push(Risk {
                title: "No risk statements found".to_owned(),
                category: RiskCategory::Other,
                severity: Severity::Low,
                summary: "The analysed sections hold no sentences that describe a risk.".to_owned(),
            });
        }
        let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &risks {
            *by_category.entry(r.category.as_str()).or_default() += 1;
        }
        let categories: Vec<String> = by_category.iter().map(|(c, n)| format!("{c} ({n})")).collect();
        let high = risks.iter().filter(|r| r.severity == Severity::High).count();
        RiskFactorsBody {
            overview: format!(
                "{company}: {} risk statements extracted, {high} worded as potentially material; by category: {}.",
                risks.len(),
                categories.join(", ")
            ),
            risks,
            provenance: None,
        }
    }

    fn mdna(&self, company: &str) -> MdnaBody {
        let overview = self.top_in_order(2, |s| Some(s.score));
        let mut drivers = self.about(5, DRIVER_TERMS);
        if drivers.is_empty() {
            drivers = self.top_in_order(3, |s| Some(s.score));
        }
        MdnaBody {
            overview: self
                .joined(&overview, 300)
                .unwrap_or_else(|| format!("{company}: the analysed sections hold no rankable sentences.")),
            drivers: non_empty(self.texts(&drivers, 300), "No drivers of the results were found."),
            liquidity: self
                .joined(&self.about(2, LIQUIDITY_TERMS), 300)
                .unwrap_or_else(|| "No discussion of liquidity was found in the analysed sections.".to_owned()),
            outlook: self.outlook(),
            key_figures: self.key_figures(8),
            provenance: None,
        }
    }
}

fn non_empty(items: Vec<String>, fallback: &str) -> Vec<String> {
    if items.is_empty() {
        vec![fallback.to_owned()]
    } else {
        items
    }
}

const OUTLOOK_TERMS: &[&str] = &[
    "expect",
    "anticipate",
    "outlook",
    "forecast",
    "guidance",
    "intend",
    "plan to",
    "we believe",
    "will continue",
    "in the future",
];
const DRIVER_TERMS: &[&str] = &[
    "increase",
    "decrease",
    "due to",
    "driven by",
    "primarily",
    "compared to",
    "growth",
    "decline",
    "higher",
    "lower",
];
const LIQUIDITY_TERMS: &[&str] = &[
    "liquidity",
    "cash and cash equivalents",
    "capital resources",
    "credit facility",
    "cash flow",
    "cash generated",
    "borrowings",
    "debt",
    "commercial paper",
];

/// How strongly a sentence reads as a risk statement.
pub fn risk_strength(text: &str) -> f64 {
    let lower = text.to_lowercase();
    let phrases: &[(&str, f64)] = &[
        ("material adverse", 3.0),
        ("materially adverse", 3.0),
        ("materially and adversely", 3.0),
        ("adversely affect", 2.0),
        ("adverse effect", 2.0),
        ("adverse impact", 2.0),
        ("could harm", 2.0),
        ("negatively affect", 2.0),
        ("negatively impact", 2.0),
        ("no assurance", 1.5),
        ("cannot assure", 1.5),
        ("risk", 1.0),
        ("uncertain", 1.0),
        ("could ", 0.5),
        ("may ", 0.5),
    ];
    phrases.iter().filter(|(p, _)| lower.contains(p)).map(|(_, w)| w).sum()
}

fn severity_of(text: &str) -> Severity {
    let lower = text.to_lowercase();
    if [
        "material adverse",
        "materially adverse",
        "materially and adversely",
        "significant",
        "substantial",
    ]
    .iter()
    .any(|p| lower.contains(p))
    {
        Severity::High
    } else if risk_strength(text) >= 2.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// The category whose keywords the sentence mentions most, a keyword of n words
/// counting n (ties: the earlier category).
pub fn categorise(text: &str) -> RiskCategory {
    let lower = text.to_lowercase();
    let table: &[(RiskCategory, &[&str])] = &[
        (
            RiskCategory::Market,
            &["competit", "demand", "market share", "customer", "pricing", "consumer"],
        ),
        (
            RiskCategory::Operational,
            &[
                "supply chain",
                "supplier",
                "manufactur",
                "operations",
                "personnel",
                "employees",
                "disruption",
            ],
        ),
        (
            RiskCategory::Regulatory,
            &[
                "regulat",
                "government",
                "compliance",
                "laws",
                "legislation",
                "antitrust",
                "privacy law",
            ],
        ),
        (
            RiskCategory::Financial,
            &[
                "liquidity",
                "indebtedness",
                "debt",
                "credit",
                "capital",
                "impairment",
                "currenc",
                "tax",
            ],
        ),
        (
            RiskCategory::Technology,
            &[
                "cyber",
                "security breach",
                "data",
                "information technology",
                "systems",
                "software",
                "artificial intelligence",
            ],
        ),
        (
            RiskCategory::Legal,
            &[
                "litigation",
                "lawsuit",
                "legal proceedings",
                "intellectual property",
                "patent",
                "claims",
            ],
        ),
        (
            RiskCategory::Macroeconomic,
            &[
                "economic conditions",
                "inflation",
                "recession",
                "interest rate",
                "geopolitical",
                "pandemic",
                "tariff",
                "trade restrictions",
            ],
        ),
    ];
    let mut best = (RiskCategory::Other, 0);
    for (category, words) in table {
        let hits: usize = words
            .iter()
            .filter(|w| lower.contains(*w))
            .map(|w| w.split_whitespace().count())
            .sum();
        if hits > best.1 {
            best = (*category, hits);
        }
    }
    best.0
}

/// A short name for a risk: the sentence's first clause, at most ten words.
fn title_of(text: &str) -> String {
    let clause = text.split([',', ';', ':']).next().unwrap_or(text);
    let words: Vec<&str> = clause.split_whitespace().collect();
    let mut kept: Vec<&str> = words.iter().take(10).copied().collect();
    if words.len() > 10 {
        // Do not end a cut title on a connecting word.
        while kept.len() > 3
            && kept
                .last()
                .is_some_and(|w| LABEL_EDGE_WORDS.contains(&w.to_lowercase().as_str()))
        {
            kept.pop();
        }
    }
    let mut title = kept.join(" ").trim_end_matches(['.', ',', ';', ':']).to_owned();
    if words.len() > 10 {
        title.push('…');
    }
    if title.is_empty() {
        shorten(text, 60)
    } else {
        title
    }
}

/// `text` cut at a word boundary to at most `max_chars` characters (with `…`).
pub fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    let at_word = match cut.rfind(' ') {
        Some(p) if p > cut.len() / 2 => &cut[..p],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([',', ';', ':', ' ']))
}

const SCALES: &[&str] = &["thousand", "million", "billion", "trillion"];
const LABEL_EDGE_WORDS: &[&str] = &[
    "and",
    "or",
    "of",
    "to",
    "by",
    "was",
    "were",
    "is",
    "are",
    "the",
    "a",
    "an",
    "in",
    "at",
    "from",
    "for",
    "on",
    "approximately",
    "about",
    "totaled",
    "totalled",
    "with",
    "as",
    "compared",
    "increased",
    "decreased",
    "rose",
    "fell",
    "grew",
    "up",
    "down",
    "which",
    "that",
    "its",
    "their",
    "it",
];

/// Dollar amounts (`$391.0 billion`, `$1,234`) and percentages (`12%`, `3.5 percent`)
/// in a sentence, each with a label from the words before it.
pub fn figures_in(sentence: &str) -> Vec<(String, String)> {
    let tokens: Vec<&str> = sentence.split_whitespace().collect();
    let mut out = Vec::new();
    let mut last_figure_end = 0;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].trim_start_matches(['(', '"', '“']);
        let bare = token.trim_end_matches([',', ';', ':', '.', ')', '"', '”']);
        let next = tokens
            .get(i + 1)
            .map(|t| t.trim_end_matches([',', ';', ':', '.', ')']).to_lowercase());
        let mut value = None;
        let mut used = 1;
        if let Some(amount) = bare.strip_prefix('$').or_else(|| bare.strip_prefix("US$")) {
            if is_number(amount) {
                match next.as_deref() {
                    Some(scale) if SCALES.contains(&scale) => {
                        value = Some(format!("${amount} {scale}"));
                        used = 2;
                    }
                    _ => value = Some(format!("${amount}")),
                }
            }
        } else if let Some(number) = bare.strip_suffix('%') {
            if is_number(number) {
                value = Some(format!("{number}%"));
            }
        } else if is_number(bare) && next.as_deref() == Some("percent") {
            value = Some(format!("{bare} percent"));
            used = 2;
        }
        if let Some(value) = value {
            let window = &tokens[last_figure_end..i];
            let previous = out.last().map(|(label, _): &(String, String)| label.clone());
            // The words right before the figure; else the previous figure's label
            // ("up 13%" after "Services net sales were $96.2 billion"); else the
            // words before, across a comma; else what kind of figure it is.
            let label = label_before(window, true)
                .or(previous)
                .or_else(|| label_before(&tokens[..i], false))
                .unwrap_or_else(|| if value.starts_with('$') { "Amount" } else { "Percentage" }.to_owned());
            out.push((label, value));
            last_figure_end = i + used;
        }
        i += used;
    }
    out
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        && !s.ends_with(['.', ','])
}

/// Up to six words before a figure (stopping at a clause break when `strict`),
/// trimmed of connecting words: "Total net sales increased 2% or" gives "Total net sales".
fn label_before(tokens: &[&str], strict: bool) -> Option<String> {
    let mut picked: Vec<&str> = Vec::new();
    for token in tokens.iter().rev() {
        let breaks = token.ends_with([',', ';', ':', '.']);
        if picked.len() == 6 || breaks && (strict || token.ends_with('.')) {
            break;
        }
        if token.contains(['$', '%']) {
            break;
        }
        picked.push(token);
    }
    picked.reverse();
    let cleaned: Vec<String> = picked
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '&' && c != '-')
                .to_owned()
        })
        .filter(|w| !w.is_empty() && !w.contains('%') && !w.starts_with('$'))
        .collect();
    let edge = |w: &String| LABEL_EDGE_WORDS.contains(&w.to_lowercase().as_str()) || is_number(w);
    let start = cleaned.iter().position(|w| !edge(w)).unwrap_or(cleaned.len());
    let end = cleaned.iter().rposition(|w| !edge(w)).map_or(start, |p| p + 1);
    let label = cleaned[start..end.max(start)].join(" ");
    let mut chars = label.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(item: &str, title: &str, text: &str) -> SectionInput {
        SectionInput::new(item, title, text)
    }

    #[test]
    fn figures_come_with_labels() {
        let f = figures_in(
            "Total net sales increased 2% or $7.8 billion compared to 2023, and services revenue was $96.2 billion.",
        );
        assert_eq!(
            f,
            [
                ("Total net sales".to_owned(), "2%".to_owned()),
                ("Total net sales".to_owned(), "$7.8 billion".to_owned()),
                ("Services revenue".to_owned(), "$96.2 billion".to_owned()),
            ]
        );
        assert_eq!(
            figures_in("Gross margin was 46.2 percent."),
            [("Gross margin".to_owned(), "46.2 percent".to_owned())]
        );
        assert!(figures_in("In 2024 we had 161,000 employees.").is_empty());
        assert_eq!(
            figures_in("Cash, equivalents and marketable securities, which totaled $156.7 billion, rose; up 13%.")[0].0,
            "Equivalents and marketable securities"
        );
        assert_eq!(figures_in("Up 13% overall.")[0].0, "Percentage");
    }

    #[test]
    fn risks_are_recognised_and_classified() {
        let cyber = "A cyber attack on our systems could materially adversely affect our business.";
        assert!(risk_strength(cyber) >= 3.0);
        assert_eq!(categorise(cyber), RiskCategory::Technology);
        assert_eq!(severity_of(cyber), Severity::High);
        assert_eq!(
            categorise("Changes in interest rate and inflation may hurt us."),
            RiskCategory::Macroeconomic
        );
        assert_eq!(
            categorise("Patent litigation claims could be costly."),
            RiskCategory::Legal
        );
        assert_eq!(categorise("The weather is nice."), RiskCategory::Other);
        assert_eq!(severity_of("We may need to adapt."), Severity::Low);
        assert_eq!(
            title_of("Competition in our markets is intense, and prices fall."),
            "Competition in our markets is intense"
        );
    }

    #[test]
    fn shorten_cuts_at_words() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four five", 12), "one two…");
    }

    fn filing() -> Vec<SectionInput> {
        vec![
            section(
                "1A",
                "Risk Factors",
                "Our business is subject to many risks. Competition in the smartphone market is intense and could \
                 adversely affect our market share and pricing.\n\nA cyber attack on our systems could materially \
                 adversely affect our business and reputation.\n\nChanges in interest rates and inflation may reduce \
                 consumer demand. We are party to patent litigation and other legal proceedings that could result in \
                 substantial costs.",
            ),
            section(
                "7",
                "Management's Discussion and Analysis",
                "Total net sales increased 2% or $7.8 billion compared to 2023, driven by higher services revenue. \
                 Services revenue was $96.2 billion. Gross margin was 46.2 percent.\n\nCash and cash equivalents \
                 were $29.9 billion and we believe our liquidity is sufficient. We expect to continue investing in \
                 research and development.",
            ),
            section(
                "1",
                "Business",
                "The Company designs, manufactures and markets smartphones, personal computers and wearables. \
                 It also sells services such as advertising, cloud and payments.",
            ),
        ]
    }

    #[test]
    fn every_kind_is_a_valid_body_marked_extractive_and_deterministic() {
        let sections = filing();
        for kind in AnalysisKind::ALL {
            let selected = crate::analysis::section::select_sections(kind, FilingType::TenK, &sections);
            let body = analyse(kind, "Apple Inc.", FilingType::TenK, &selected);
            body.validate().unwrap();
            let again = AnalysisBody::from_value(kind, body.to_value()).unwrap();
            assert_eq!(again, body);
            let provenance = body.provenance().unwrap();
            assert!(provenance.extractive);
            assert_eq!(provenance.note, EXTRACTIVE_NOTE);
            assert_eq!(provenance.model.as_str(), "extractive:v1");
            assert_eq!(analyse(kind, "Apple Inc.", FilingType::TenK, &selected), body);
        }
        let selected =
            crate::analysis::section::select_sections(AnalysisKind::RiskFactors, FilingType::TenK, &sections);
        let AnalysisBody::RiskFactors(risks) = analyse(AnalysisKind::RiskFactors, "Apple", FilingType::TenK, &selected)
        else {
            panic!("wrong kind")
        };
        assert!(risks.risks.len() >= 3, "{risks:?}");
        assert_eq!(risks.risks[0].severity, Severity::High);
        let selected = crate::analysis::section::select_sections(AnalysisKind::Mdna, FilingType::TenK, &sections);
        let AnalysisBody::Mdna(mdna) = analyse(AnalysisKind::Mdna, "Apple", FilingType::TenK, &selected) else {
            panic!("wrong kind")
        };
        assert!(mdna
            .key_figures
            .iter()
            .any(|f| f.value == "$96.2 billion" && f.label == "Services revenue"));
        assert!(mdna.liquidity.contains("$29.9 billion"));
        assert!(mdna.outlook.contains("We expect"));
    }

    #[test]
    fn a_whole_filing_section_is_analysed() {
        let text: String = (0..4_000)
            .map(|i| {
                format!(
                    "In region {i} revenue rose {p}% to ${i}.5 million as demand for product {i} grew. Costs of \
                     program {i} may adversely affect margins.\n\n",
                    p = i % 40
                )
            })
            .collect();
        let s = section("7", "MD&A", &text);
        for kind in AnalysisKind::ALL {
            let body = analyse(kind, "ACME", FilingType::TenK, &[&s]);
            body.validate().unwrap();
        }
    }

    #[test]
    fn complete_answers_a_schema_bearing_prompt() {
        let model = ExtractiveModel::new();
        let prompt = crate::analysis::prompt::analysis(
            AnalysisKind::Summary,
            "ACME",
            FilingType::TenK,
            &["Item 1: Business".into()],
            None,
            "ACME sells anvils to coyotes across the desert. Revenue was $5 million, up 10% on last year.",
        );
        let request = CompletionRequest {
            system: String::new(),
            prompt,
            max_tokens: 100,
            temperature: 0.0,
            response_schema: Some(schema(AnalysisKind::Summary)),
        };
        let completion = futures::executor::block_on(model.complete(&request)).unwrap();
        let body = AnalysisBody::parse(AnalysisKind::Summary, &completion.content).unwrap();
        assert!(body.provenance().unwrap().extractive);
        assert!(completion.content.contains("ACME: "));
        assert_eq!(completion.cost, Money::ZERO);
        let unknown = CompletionRequest {
            response_schema: None,
            ..request
        };
        assert!(matches!(
            futures::executor::block_on(model.complete(&unknown)),
            Err(ProviderError::Unsupported(_))
        ));
    }
}
