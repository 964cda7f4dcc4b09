//! The triage answer: a typed struct that is the JSON Schema the model must meet,
//! and the parser that holds an answer to it. Pure.

use crate::analysis::extract_json_object;
use crate::provider::extractive::shorten;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// Longest summary kept (characters).
pub const MAX_SUMMARY_CHARS: usize = 200;

/// What a piece of feedback is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Bug,
    FeatureRequest,
    Billing,
    Performance,
    Ux,
    Praise,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Self::Bug,
        Self::FeatureRequest,
        Self::Billing,
        Self::Performance,
        Self::Ux,
        Self::Praise,
        Self::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Bug => "bug",
            Self::FeatureRequest => "feature_request",
            Self::Billing => "billing",
            Self::Performance => "performance",
            Self::Ux => "ux",
            Self::Praise => "praise",
            Self::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw.trim())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent a ticket is: P0 (drop everything) .. P3 (whenever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::P0, Self::P1, Self::P2, Self::P3];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::P0 => "P0",
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// One step more urgent (P0 stays P0).
    pub fn raised(self) -> Self {
        match self {
            Self::P0 | Self::P1 => Self::P0,
            Self::P2 => Self::P1,
            Self::P3 => Self::P2,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The triage of one piece of feedback: exactly the fields the schema asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageAnswer {
    /// -1 (angry) .. 1 (delighted).
    pub sentiment: f32,
    pub category: Category,
    pub priority: Priority,
    /// One line, at most [`MAX_SUMMARY_CHARS`] characters.
    pub summary: String,
    /// BCP 47 tag of the feedback's language (`en`, `es`, `pt-BR`); `und` when unknown.
    pub language: String,
}

impl TriageAnswer {
    /// The rules every triage ends with, whoever made it: praise is never above P3,
    /// the summary is one trimmed line, the sentiment has two decimals.
    pub fn settle(mut self) -> Self {
        if self.category == Category::Praise {
            self.priority = Priority::P3;
        }
        self.summary = one_line(&self.summary, MAX_SUMMARY_CHARS);
        self.sentiment = (self.sentiment.clamp(-1.0, 1.0) * 100.0).round() / 100.0;
        self
    }
}

/// The JSON Schema of [`TriageAnswer`] (the model-facing contract).
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["sentiment", "category", "priority", "summary", "language"],
        "properties": {
            "sentiment": {
                "type": "number", "minimum": -1, "maximum": 1,
                "description": "How the customer feels: -1 very negative, 0 neutral, 1 very positive."
            },
            "category": {
                "type": "string",
                "enum": Category::ALL.iter().map(Category::as_str).collect::<Vec<_>>(),
                "description": "What the feedback is mainly about."
            },
            "priority": {
                "type": "string",
                "enum": Priority::ALL.iter().map(Priority::as_str).collect::<Vec<_>>(),
                "description": "P0: crash, data loss or security problem; P1: a core feature broken or money wrongly \
                                taken; P2: a problem with a workaround; P3: requests, minor issues and praise \
                                (praise is always P3)."
            },
            "summary": {
                "type": "string", "minLength": 1, "maxLength": MAX_SUMMARY_CHARS,
                "description": "One line in English saying what the customer reports or asks for."
            },
            "language": {
                "type": "string", "minLength": 2, "maxLength": 16,
                "description": "The BCP 47 tag of the language the customer wrote in, e.g. en, es, pt-BR."
            }
        }
    })
}

/// A model's answer: the first JSON object in it (the analysis layer's extraction),
/// held to the schema. A language that is not a BCP 47 tag is replaced by
/// `fallback_language` (a minor field is not worth failing a triage for); everything
/// else that misses the schema is an error saying what is wrong.
pub fn parse(answer: &str, fallback_language: &str) -> Result<TriageAnswer, String> {
    let value = extract_json_object(answer)?;
    let mut parsed: TriageAnswer =
        serde_json::from_value(value).map_err(|e| format!("the JSON does not match the triage schema: {e}"))?;
    if !parsed.sentiment.is_finite() || !(-1.0..=1.0).contains(&parsed.sentiment) {
        return Err(format!("`sentiment` must be from -1 to 1, not {}", parsed.sentiment));
    }
    if parsed.summary.trim().is_empty() {
        return Err("`summary` is empty".to_owned());
    }
    parsed.language = language_tag(&parsed.language).unwrap_or_else(|| fallback_language.to_owned());
    Ok(parsed.settle())
}

/// A BCP 47-looking tag, normalised (`EN_us` -> `en-US`), or `None`.
pub fn language_tag(raw: &str) -> Option<String> {
    let raw = raw.trim().replace('_', "-");
    let mut parts = raw.split('-');
    let primary = parts.next()?.to_ascii_lowercase();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut tag = primary;
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        tag.push('-');
        if part.len() == 2 {
            tag.push_str(&part.to_ascii_uppercase());
        } else {
            tag.push_str(part);
        }
    }
    Some(tag)
}

/// Whitespace collapsed to single spaces, cut at a word to `max` characters (with `…`).
pub fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    shorten(&flat, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_struct_agree() {
        let s = schema();
        let props: Vec<&String> = s["properties"].as_object().unwrap().keys().collect();
        let sample = TriageAnswer {
            sentiment: 0.5,
            category: Category::FeatureRequest,
            priority: Priority::P3,
            summary: "Wants dark mode".into(),
            language: "en".into(),
        };
        let value = serde_json::to_value(&sample).unwrap();
        let mut fields: Vec<&String> = value.as_object().unwrap().keys().collect();
        fields.sort();
        let mut props_sorted = props.clone();
        props_sorted.sort();
        assert_eq!(fields, props_sorted);
        assert_eq!(value["category"], "feature_request");
        assert_eq!(value["priority"], "P3");
        assert_eq!(s["properties"]["category"]["enum"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn answers_are_found_behind_fences_and_held_to_the_schema() {
        let ok = "Here you go:\n```json\n{\"sentiment\": -0.7, \"category\": \"bug\", \"priority\": \"P1\", \
                  \"summary\": \"App crashes\\non login\", \"language\": \"EN_us\"}\n```";
        let a = parse(ok, "und").unwrap();
        assert_eq!((a.category, a.priority), (Category::Bug, Priority::P1));
        assert_eq!(a.summary, "App crashes on login");
        assert_eq!(a.language, "en-US");
        for (bad, why) in [
            ("no json here", "no JSON object"),
            (
                r#"{"sentiment": 2, "category": "bug", "priority": "P1", "summary": "x", "language": "en"}"#,
                "from -1 to 1",
            ),
            (
                r#"{"sentiment": 0, "category": "rant", "priority": "P1", "summary": "x", "language": "en"}"#,
                "unknown variant",
            ),
            (
                r#"{"sentiment": 0, "category": "bug", "priority": "P1", "summary": " ", "language": "en"}"#,
                "`summary` is empty",
            ),
            (
                r#"{"sentiment": 0, "category": "bug", "priority": "P1", "summary": "x", "language": "en", "x": 1}"#,
                "unknown field",
            ),
        ] {
            let err = parse(bad, "en").unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let odd_language = r#"{"sentiment": 0, "category": "ux", "priority": "P3", "summary": "x",
            "language": "Fake words here (language)"}"#;
        assert_eq!(parse(odd_language, "es").unwrap().language, "es");
    }

    #[test]
    fn praise_is_never_urgent_and_summaries_are_one_short_line() {
        let a = TriageAnswer {
            sentiment: 0.987,
            category: Category::Praise,
            priority: Priority::P0,
            summary: format!("Love it.\n{}", "word ".repeat(100)),
            language: "en".into(),
        }
        .settle();
        assert_eq!(a.priority, Priority::P3);
        assert_eq!(a.sentiment, 0.99);
        assert!(a.summary.chars().count() <= MAX_SUMMARY_CHARS && !a.summary.contains('\n'));
        assert!(a.summary.ends_with('…'));
        assert_eq!(Priority::P2.raised(), Priority::P1);
        assert_eq!(Priority::P0.raised(), Priority::P0);
        assert_eq!(Priority::parse("p2"), Some(Priority::P2));
        assert_eq!(Category::parse("feature_request"), Some(Category::FeatureRequest));
        assert_eq!(language_tag("pt_br").as_deref(), Some("pt-BR"));
        assert_eq!(language_tag("English"), None);
    }
}
