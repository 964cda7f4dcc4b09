//! The offline, rule-based triage: no model, no network, no cost, deterministic.
//! Keyword lexicons (English and Spanish) score sentiment and categories; priority
//! rules push crash, data-loss and security reports up, and keep praise at P3. Pure.

use super::schema::{language_tag, one_line, Category, Priority, TriageAnswer, MAX_SUMMARY_CHARS};
use super::FeedbackItem;
use sluice_text::{split_sentences, words};

/// What the processing log says about every rule-based triage.
pub const RULES_NOTE: &str = "Rule-based triage without a language model: keyword lexicons for sentiment and \
                              category; crash, data-loss and security words raise the priority; praise is never \
                              above P3; a 1-2 star rating lowers the sentiment.";

/// A term is one or more words; a trailing `*` on the last word matches any ending.
const POSITIVE: &[&str] = &[
    "love*",
    "great",
    "excellent",
    "amazing",
    "awesome",
    "thank*",
    "helpful",
    "perfect",
    "fantastic",
    "wonderful",
    "easy",
    "happy",
    "recommend*",
    "best",
    "nice",
    "good",
    "brilliant",
    "intuitive",
    "smooth",
    "works well",
    "well done",
    "kudos",
    "gracias",
    "excelente",
    "genial",
    "encanta*",
    "perfecto",
    "bueno",
    "fácil",
];

const NEGATIVE: &[&str] = &[
    "crash*",
    "broke*",
    "bug*",
    "error*",
    "fail*",
    "slow*",
    "terrible",
    "awful",
    "hate*",
    "worst",
    "frustrat*",
    "annoy*",
    "useless",
    "disappoint*",
    "problem*",
    "issue*",
    "unable",
    "horrible",
    "bad",
    "poor",
    "lost",
    "missing",
    "wrong",
    "not working",
    "doesn't work",
    "does not work",
    "can't",
    "cannot",
    "ridiculous",
    "unacceptable",
    "angry",
    "furious",
    "scam",
    "charged twice",
    "double charged",
    "malo",
    "lento",
    "fallo*",
    "no funciona",
    "pésimo",
    "problema*",
];

/// Words that flip the sentiment of the word after them.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "don't", "doesn't", "isn't", "wasn't", "aren't", "didn't", "won't", "nunca", "nada",
];

/// Security and data-loss reports: P0, and a bug.
const CRITICAL: &[&str] = &[
    "security",
    "vulnerab*",
    "hacked",
    "hacker*",
    "breach*",
    "leak*",
    "exposed",
    "unauthori*",
    "phish*",
    "data loss",
    "lost all",
    "lost my",
    "deleted all",
    "deleted my",
    "all my data",
    "wiped",
    "corrupt*",
    "disappeared",
    "seguridad",
    "perdí",
    "datos perdidos",
];

/// Crashes, outages, locked-out users and money wrongly taken: P1.
const SEVERE: &[&str] = &[
    "crash*",
    "outage",
    "is down",
    "went down",
    "cannot log*",
    "can't log*",
    "unable to log*",
    "unusable",
    "not working at all",
    "completely broken",
    "charged twice",
    "double charged",
    "overcharg*",
    "se cierra",
    "no puedo entrar",
];

const URGENT: &[&str] = &["urgent*", "asap", "immediately", "critical", "emergency", "urgente"];

const BUG: &[&str] = &[
    "bug*",
    "crash*",
    "error*",
    "broke*",
    "doesn't work",
    "does not work",
    "not working",
    "stopped working",
    "fail*",
    "exception",
    "glitch*",
    "freez*",
    "blank screen",
    "wrong",
    "fallo*",
    "no funciona",
    "se cierra",
    "cuelga",
];

const BILLING: &[&str] = &[
    "bill*",
    "invoice*",
    "charg*",
    "refund*",
    "payment*",
    "credit card",
    "subscription*",
    "pric*",
    "receipt*",
    "overcharg*",
    "factura*",
    "cobr*",
    "reembolso",
    "pago*",
    "tarjeta",
];

const PERFORMANCE: &[&str] = &[
    "slow*",
    "lag*",
    "latency",
    "take* forever",
    "to load",
    "loading",
    "timeout*",
    "timed out",
    "performance",
    "sluggish",
    "high cpu",
    "memory",
    "battery",
    "lento",
    "tarda*",
];

const FEATURE_REQUEST: &[&str] = &[
    "feature*",
    "would be nice",
    "would love",
    "wish",
    "please add",
    "add support",
    "support for",
    "ability to",
    "option to",
    "it would be great",
    "suggest*",
    "request*",
    "integrat*",
    "dark mode",
    "can you add",
    "could you add",
    "roadmap",
    "me gustaría",
    "sería genial",
];

const UX: &[&str] = &[
    "confus*",
    "hard to find",
    "hard to use",
    "difficult to",
    "ui",
    "ux",
    "design",
    "layout",
    "button*",
    "navigat*",
    "menu*",
    "unclear",
    "unintuitive",
    "font*",
    "cluttered",
    "too many clicks",
    "onboarding",
    "interfaz",
    "confuso",
];

const PRAISE: &[&str] = &[
    "love*",
    "great",
    "excellent",
    "amazing",
    "awesome",
    "thank*",
    "fantastic",
    "wonderful",
    "brilliant",
    "best",
    "perfect",
    "keep up",
    "kudos",
    "recommend*",
    "gracias",
    "excelente",
    "genial",
    "encanta*",
];

const ENGLISH: &[&str] = &[
    "the", "and", "is", "it", "to", "i", "my", "this", "that", "with", "for", "you", "was", "are", "have", "of", "on",
    "when",
];
const SPANISH: &[&str] = &[
    "el", "la", "los", "las", "que", "y", "por", "para", "pero", "muy", "es", "está", "mi", "con", "una", "un",
    "cuando", "gracias",
];

/// A rule-based triage and the terms that decided it (for the processing log).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTriage {
    pub answer: TriageAnswer,
    pub matched: Vec<String>,
}

/// Triage without a model. Always a valid answer; the same item always gives the same one.
pub fn triage(item: &FeedbackItem<'_>) -> RuleTriage {
    let whole = match item.subject {
        Some(subject) if !subject.trim().is_empty() => format!("{subject}. {}", item.text),
        _ => item.text.to_owned(),
    };
    let words = words(&whole);
    let mut matched = Vec::new();
    let mut hits = |name: &str, terms: &[&str]| -> usize {
        let found: Vec<&str> = terms.iter().copied().filter(|t| find(&words, t).is_some()).collect();
        matched.extend(found.iter().map(|t| format!("{name}:{}", t.trim_end_matches('*'))));
        found.len()
    };
    let critical = hits("critical", CRITICAL);
    let severe = hits("severe", SEVERE);
    let urgent = hits("urgent", URGENT) > 0;
    let scores = [
        (Category::Bug, hits("bug", BUG) + critical),
        (Category::Billing, hits("billing", BILLING)),
        (Category::Performance, hits("performance", PERFORMANCE)),
        (Category::FeatureRequest, hits("feature_request", FEATURE_REQUEST)),
        (Category::Ux, hits("ux", UX)),
        (Category::Praise, hits("praise", PRAISE)),
    ];
    let sentiment = sentiment(&words, critical, item.rating);
    let category = category(&scores, sentiment);
    let priority = priority(category, critical > 0, severe > 0, urgent, item.rating);
    let answer = TriageAnswer {
        sentiment,
        category,
        priority,
        summary: summary(item),
        language: language(item.language, &words),
    }
    .settle();
    RuleTriage { answer, matched }
}

/// Where `term` first occurs in `words` (word by word; a trailing `*` is a prefix).
fn find(words: &[String], term: &str) -> Option<usize> {
    let parts: Vec<&str> = term.split(' ').collect();
    (0..words.len()).find(|&i| {
        parts.len() <= words.len() - i
            && parts.iter().enumerate().all(|(k, part)| {
                let word = &words[i + k];
                match part.strip_suffix('*') {
                    Some(prefix) => word.starts_with(prefix),
                    None => word == part,
                }
            })
    })
}

/// Every position where `term` starts.
fn positions(words: &[String], term: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while from < words.len() {
        match find(&words[from..], term) {
            Some(at) => {
                out.push(from + at);
                from += at + 1;
            }
            None => break,
        }
    }
    out
}

/// -1..1 from the lexicons (a negated positive word counts as negative; each term
/// once), blended half and half with the star rating when there is one.
fn sentiment(words: &[String], critical: usize, rating: Option<u8>) -> f32 {
    let (mut positive, mut negative) = (0usize, critical);
    for term in POSITIVE {
        let at = positions(words, term);
        if at.is_empty() {
            continue;
        }
        let negated = at.iter().any(|&i| i > 0 && NEGATORS.contains(&words[i - 1].as_str()));
        if negated {
            negative += 1;
        } else {
            positive += 1;
        }
    }
    negative += NEGATIVE.iter().filter(|t| find(words, t).is_some()).count();
    let lexical = (positive as f32 - negative as f32) / (positive + negative + 1) as f32;
    match rating.filter(|r| (1..=5).contains(r)) {
        Some(stars) => 0.5 * lexical + 0.5 * (f32::from(stars) - 3.0) / 2.0,
        None => lexical,
    }
}

/// The best-scoring category (ties: bug, billing, performance, feature request,
/// UX, praise); praise only when nothing else scores as high and the tone is not negative.
fn category(scores: &[(Category, usize)], sentiment: f32) -> Category {
    let best_problem = scores.iter().filter(|(c, _)| *c != Category::Praise).fold(
        None::<(Category, usize)>,
        |best, &(c, n)| match best {
            Some((_, m)) if m >= n => best,
            _ if n > 0 => Some((c, n)),
            _ => best,
        },
    );
    let praise = scores
        .iter()
        .find(|(c, _)| *c == Category::Praise)
        .map_or(0, |(_, n)| *n);
    match best_problem {
        Some((c, n)) if n >= praise => c,
        _ if praise > 0 && sentiment >= 0.0 => Category::Praise,
        Some((c, _)) => c,
        None => Category::Other,
    }
}

fn priority(category: Category, critical: bool, severe: bool, urgent: bool, rating: Option<u8>) -> Priority {
    if category == Category::Praise {
        return Priority::P3;
    }
    if critical {
        return Priority::P0;
    }
    if severe {
        return Priority::P1;
    }
    let problem = matches!(category, Category::Bug | Category::Billing | Category::Performance);
    let base = if problem { Priority::P2 } else { Priority::P3 };
    if urgent || (problem && rating == Some(1)) {
        // Urgency and one-star anger raise a step, never past P1 on their own.
        base.raised().max(Priority::P1)
    } else {
        base
    }
}

/// The subject and the first sentence of the text, on one line.
fn summary(item: &FeedbackItem<'_>) -> String {
    let first = split_sentences(item.text)
        .into_iter()
        .next()
        .unwrap_or_else(|| item.text.to_owned());
    let line = match item.subject.map(str::trim).filter(|s| !s.is_empty()) {
        Some(subject) if !first.to_lowercase().contains(&subject.to_lowercase()) => {
            format!("{}: {first}", subject.trim_end_matches(['.', ':', ' ']))
        }
        _ => first,
    };
    let line = one_line(&line, MAX_SUMMARY_CHARS);
    if line.is_empty() {
        "(no text)".to_owned()
    } else {
        line
    }
}

/// The source's tag when it gave a valid one, else English or Spanish by their
/// commonest words, else `und`.
fn language(reported: Option<&str>, words: &[String]) -> String {
    if let Some(tag) = reported.and_then(language_tag) {
        return tag;
    }
    let count = |list: &[&str]| words.iter().filter(|w| list.contains(&w.as_str())).count();
    let (en, es) = (count(ENGLISH), count(SPANISH));
    if es > en && es >= 2 {
        "es".to_owned()
    } else if en >= 1 && en >= es {
        "en".to_owned()
    } else {
        "und".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(subject: Option<&'a str>, text: &'a str, rating: Option<u8>) -> FeedbackItem<'a> {
        FeedbackItem {
            source: "zendesk",
            subject,
            text,
            rating,
            language: None,
        }
    }

    fn run(subject: Option<&str>, text: &str, rating: Option<u8>) -> TriageAnswer {
        triage(&item(subject, text, rating)).answer
    }

    #[test]
    fn crashes_and_data_loss_are_urgent_bugs() {
        let a = run(
            Some("App crashes"),
            "The app crashes every time I open a report. I lost all my notes!",
            None,
        );
        assert_eq!((a.category, a.priority), (Category::Bug, Priority::P0));
        assert!(a.sentiment < -0.25, "{}", a.sentiment);
        assert_eq!(a.language, "en");
        assert_eq!(a.summary, "The app crashes every time I open a report.");
        let titled = run(Some("Export"), "It fails. Twice.", None);
        assert_eq!(titled.summary, "Export: It fails.");
        let crash = run(None, "It crashed twice today when exporting.", None);
        assert_eq!((crash.category, crash.priority), (Category::Bug, Priority::P1));
        let security = run(
            None,
            "I think there is a security hole: I can see other users' invoices.",
            None,
        );
        assert_eq!(security.priority, Priority::P0);
    }

    #[test]
    fn praise_is_positive_and_never_above_p3() {
        let a = run(None, "Love the new dashboard, great work! Thank you so much.", Some(5));
        assert_eq!((a.category, a.priority), (Category::Praise, Priority::P3));
        assert!(a.sentiment > 0.25, "{}", a.sentiment);
        let urgent_praise = run(None, "URGENT: you are amazing, the best app, thank you!", None);
        assert_eq!(
            (urgent_praise.category, urgent_praise.priority),
            (Category::Praise, Priority::P3)
        );
    }

    #[test]
    fn billing_complaints_are_billing() {
        let twice = run(
            Some("Charged twice"),
            "I was charged twice for my subscription this month. Please refund one payment.",
            None,
        );
        assert_eq!((twice.category, twice.priority), (Category::Billing, Priority::P1));
        assert!(twice.sentiment < 0.0);
        let invoice = run(None, "Where can I download the invoice for March?", None);
        assert_eq!((invoice.category, invoice.priority), (Category::Billing, Priority::P2));
    }

    #[test]
    fn other_categories() {
        let slow = run(None, "Loading the portfolio page takes forever, it is so slow.", None);
        assert_eq!((slow.category, slow.priority), (Category::Performance, Priority::P2));
        let feature = run(None, "It would be great to have dark mode. Could you add it?", None);
        assert_eq!(
            (feature.category, feature.priority),
            (Category::FeatureRequest, Priority::P3)
        );
        let ux = run(
            None,
            "The settings menu is confusing and the export button is hard to find.",
            None,
        );
        assert_eq!(ux.category, Category::Ux);
        let other = run(None, "Hello, who is my account manager?", None);
        assert_eq!((other.category, other.priority), (Category::Other, Priority::P3));
        // Praise words do not outvote a problem.
        let mixed = run(None, "I love this app but it crashes on startup.", None);
        assert_eq!(mixed.category, Category::Bug);
    }

    #[test]
    fn ratings_and_negation_move_sentiment() {
        let plain = run(None, "The export works.", None).sentiment;
        let one_star = run(None, "The export works.", Some(1)).sentiment;
        let two_stars = run(None, "The export works.", Some(2)).sentiment;
        assert!(
            one_star < two_stars && two_stars < plain,
            "{one_star} {two_stars} {plain}"
        );
        assert!(run(None, "Not good at all.", None).sentiment < 0.0);
        // A one-star bug report is raised a step.
        let angry = run(None, "The chart shows the wrong numbers.", Some(1));
        assert_eq!((angry.category, angry.priority), (Category::Bug, Priority::P1));
    }

    #[test]
    fn spanish_is_recognised_and_reported_languages_win() {
        let es = run(
            None,
            "La aplicación no funciona y se cierra cuando abro mi cartera.",
            Some(1),
        );
        assert_eq!(
            (es.language.as_str(), es.category, es.priority),
            ("es", Category::Bug, Priority::P1)
        );
        let mut reported = item(None, "Bonjour", None);
        reported.language = Some("fr_FR");
        assert_eq!(triage(&reported).answer.language, "fr-FR");
        assert_eq!(run(None, "12345", None).language, "und");
    }

    #[test]
    fn the_same_item_gives_the_same_triage_and_says_why() {
        let i = item(
            Some("Crash"),
            "Crashes on login; cannot log in at all. Urgent!",
            Some(2),
        );
        let (a, b) = (triage(&i), triage(&i));
        assert_eq!(a, b);
        assert!(a.matched.iter().any(|m| m == "severe:crash"), "{:?}", a.matched);
        assert!(a.answer.summary.chars().count() <= MAX_SUMMARY_CHARS);
        assert!((-1.0..=1.0).contains(&a.answer.sentiment));
        assert_eq!(run(None, "   ", None).summary, "(no text)");
    }
}
