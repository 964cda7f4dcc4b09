//! The typed body of each analysis kind. The structs are what an answer must parse
//! into; [`schema`] is the same contract written as JSON Schema for the prompt (a
//! test keeps the two in step). Pure.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sluice_messages::{AnalysisKind, ModelKey};

/// A number the filing states, with what it measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFigure {
    pub label: String,
    /// As written in the filing (`$391.0 billion`, `12%`).
    pub value: String,
    pub context: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryBody {
    pub headline: String,
    pub business: String,
    pub key_points: Vec<String>,
    pub key_figures: Vec<KeyFigure>,
    pub outlook: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskCategory {
    Market,
    Operational,
    Regulatory,
    Financial,
    Technology,
    Legal,
    Macroeconomic,
    Other,
}

impl RiskCategory {
    pub const ALL: [RiskCategory; 8] = [
        Self::Market,
        Self::Operational,
        Self::Regulatory,
        Self::Financial,
        Self::Technology,
        Self::Legal,
        Self::Macroeconomic,
        Self::Other,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Operational => "operational",
            Self::Regulatory => "regulatory",
            Self::Financial => "financial",
            Self::Technology => "technology",
            Self::Legal => "legal",
            Self::Macroeconomic => "macroeconomic",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Self::Low, Self::Medium, Self::High];
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    pub title: String,
    pub category: RiskCategory,
    pub severity: Severity,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskFactorsBody {
    pub overview: String,
    pub risks: Vec<Risk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdnaBody {
    pub overview: String,
    pub drivers: Vec<String>,
    pub liquidity: String,
    pub outlook: String,
    pub key_figures: Vec<KeyFigure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Where a body came from. Added by the analyser, never asked of the model (a
/// model's own `provenance` is overwritten), so readers can tell model output from
/// offline extraction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub model: ModelKey,
    pub extractive: bool,
    pub note: String,
    /// The filing's section items the body was made from.
    pub sections: Vec<String>,
    /// How many parts the text was analysed in (1 when it fit one call).
    pub chunks: u32,
    pub prompt_version: u16,
}

/// What every extractive body says about itself.
pub const EXTRACTIVE_NOTE: &str = "Produced offline without a language model: ranked sentences, key figures and risk \
                                   phrases extracted from the filing's text.";
/// What every model-written body says about itself.
pub const MODEL_NOTE: &str =
    "Written by a language model from the filing's text; it can misread or omit details, so check figures against \
     the filing.";

/// One parsed answer of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalysisBody {
    Summary(SummaryBody),
    RiskFactors(RiskFactorsBody),
    Mdna(MdnaBody),
}

impl AnalysisBody {
    pub fn kind(&self) -> AnalysisKind {
        match self {
            Self::Summary(_) => AnalysisKind::Summary,
            Self::RiskFactors(_) => AnalysisKind::RiskFactors,
            Self::Mdna(_) => AnalysisKind::Mdna,
        }
    }

    /// A model's answer: the first JSON object in it (fences and prose around it are
    /// ignored), parsed into the kind's body and checked. The error says what was wrong.
    pub fn parse(kind: AnalysisKind, answer: &str) -> Result<Self, String> {
        Self::from_value(kind, extract_json_object(answer)?)
    }

    pub fn from_value(kind: AnalysisKind, value: Value) -> Result<Self, String> {
        let body = match kind {
            AnalysisKind::Summary => serde_json::from_value(value).map(Self::Summary),
            AnalysisKind::RiskFactors => serde_json::from_value(value).map(Self::RiskFactors),
            AnalysisKind::Mdna => serde_json::from_value(value).map(Self::Mdna),
        }
        .map_err(|e| format!("the JSON does not match the {kind} schema: {e}"))?;
        body.validate()?;
        Ok(body)
    }

    /// What serde cannot say: required text is not blank and lists are not empty.
    pub fn validate(&self) -> Result<(), String> {
        fn text(field: &str, value: &str) -> Result<(), String> {
            if value.trim().is_empty() {
                Err(format!("`{field}` is empty"))
            } else {
                Ok(())
            }
        }
        fn list<T>(field: &str, items: &[T], each: impl Fn(&T) -> Result<(), String>) -> Result<(), String> {
            if items.is_empty() {
                return Err(format!("`{field}` needs at least one item"));
            }
            items.iter().try_for_each(each)
        }
        fn figures(field: &str, items: &[KeyFigure]) -> Result<(), String> {
            items.iter().try_for_each(|f| {
                text(&format!("{field}[].label"), &f.label)?;
                text(&format!("{field}[].value"), &f.value)
            })
        }
        match self {
            Self::Summary(b) => {
                text("headline", &b.headline)?;
                text("business", &b.business)?;
                list("key_points", &b.key_points, |p| text("key_points[]", p))?;
                figures("key_figures", &b.key_figures)?;
                text("outlook", &b.outlook)
            }
            Self::RiskFactors(b) => {
                text("overview", &b.overview)?;
                list("risks", &b.risks, |r| {
                    text("risks[].title", &r.title)?;
                    text("risks[].summary", &r.summary)
                })
            }
            Self::Mdna(b) => {
                text("overview", &b.overview)?;
                list("drivers", &b.drivers, |d| text("drivers[]", d))?;
                text("liquidity", &b.liquidity)?;
                text("outlook", &b.outlook)?;
                figures("key_figures", &b.key_figures)
            }
        }
    }

    pub fn provenance(&self) -> Option<&Provenance> {
        match self {
            Self::Summary(b) => b.provenance.as_ref(),
            Self::RiskFactors(b) => b.provenance.as_ref(),
            Self::Mdna(b) => b.provenance.as_ref(),
        }
    }

    pub fn set_provenance(&mut self, provenance: Option<Provenance>) {
        match self {
            Self::Summary(b) => b.provenance = provenance,
            Self::RiskFactors(b) => b.provenance = provenance,
            Self::Mdna(b) => b.provenance = provenance,
        }
    }

    pub fn to_value(&self) -> Value {
        let serialised = match self {
            Self::Summary(b) => serde_json::to_value(b),
            Self::RiskFactors(b) => serde_json::to_value(b),
            Self::Mdna(b) => serde_json::to_value(b),
        };
        // Plain structs of strings, enums and vectors always serialise.
        serialised.unwrap_or(Value::Null)
    }

    /// The body as the model-facing JSON (no provenance), for merge prompts.
    pub fn to_answer_json(&self) -> String {
        let mut bare = self.clone();
        bare.set_provenance(None);
        bare.to_value().to_string()
    }
}

/// The first JSON object in `text`: skips code fences and prose before it, and
/// tries a few `{` in case the prose itself has braces.
pub fn extract_json_object(text: &str) -> Result<Value, String> {
    let mut last_error = None;
    for (start, _) in text.match_indices('{').take(8) {
        match balanced_object(&text[start..]) {
            Some(candidate) => match serde_json::from_str::<Value>(candidate) {
                Ok(value @ Value::Object(_)) => return Ok(value),
                Ok(_) => {}
                Err(e) => last_error = Some(format!("the answer's JSON does not parse: {e}")),
            },
            None => {
                last_error
                    .get_or_insert_with(|| "the answer's JSON object is not closed (was it cut short?)".to_owned());
            }
        }
    }
    Err(last_error.unwrap_or_else(|| "the answer contains no JSON object".to_owned()))
}

/// The prefix of `text` (which starts with `{`) up to its matching `}`.
fn balanced_object(text: &str) -> Option<&str> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&text[..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn text_prop(description: &str) -> Value {
    json!({ "type": "string", "minLength": 1, "description": description })
}

fn text_list(description: &str) -> Value {
    json!({ "type": "array", "minItems": 1, "items": { "type": "string", "minLength": 1 }, "description": description })
}

fn figures_prop() -> Value {
    json!({
        "type": "array",
        "description": "Figures the text states (up to 8), quoted exactly as written.",
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["label", "value", "context"],
            "properties": {
                "label": text_prop("What the figure measures, e.g. Net sales."),
                "value": text_prop("The figure as written, e.g. $391.0 billion or 12%."),
                "context": { "type": "string", "description": "The period or comparison it refers to." }
            }
        }
    })
}

/// The JSON Schema an answer of `kind` must satisfy (the model-facing contract,
/// without the `provenance` the analyser adds afterwards).
pub fn schema(kind: AnalysisKind) -> Value {
    let (required, properties): (&[&str], Value) = match kind {
        AnalysisKind::Summary => (
            &["headline", "business", "key_points", "key_figures", "outlook"],
            json!({
                "headline": text_prop("One sentence: the most important takeaway for an investor."),
                "business": text_prop("What the company does and how it makes money, in 2-4 sentences."),
                "key_points": text_list("The 3-6 most important points of the period, one sentence each."),
                "key_figures": figures_prop(),
                "outlook": text_prop("What management expects or plans; say so if the text gives no outlook."),
            }),
        ),
        AnalysisKind::RiskFactors => (
            &["overview", "risks"],
            json!({
                "overview": text_prop("2-3 sentences on the company's overall risk profile."),
                "risks": {
                    "type": "array",
                    "minItems": 1,
                    "description": "The most important risks (up to 10), most severe first.",
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["title", "category", "severity", "summary"],
                        "properties": {
                            "title": text_prop("A short name for the risk."),
                            "category": {
                                "type": "string",
                                "enum": RiskCategory::ALL.iter().map(RiskCategory::as_str).collect::<Vec<_>>(),
                            },
                            "severity": {
                                "type": "string",
                                "enum": Severity::ALL.iter().map(Severity::as_str).collect::<Vec<_>>(),
                            },
                            "summary": text_prop("1-2 sentences: what could happen and why it matters."),
                        }
                    }
                },
            }),
        ),
        AnalysisKind::Mdna => (
            &["overview", "drivers", "liquidity", "outlook", "key_figures"],
            json!({
                "overview": text_prop("2-3 sentences on the period's results as management explains them."),
                "drivers": text_list("What drove revenue, margins and costs, one sentence each."),
                "liquidity": text_prop("Cash, debt, cash flows and capital resources."),
                "outlook": text_prop("What management expects; say so if the text gives no outlook."),
                "key_figures": figures_prop(),
            }),
        ),
    };
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: AnalysisKind) -> AnalysisBody {
        let figure = KeyFigure {
            label: "Net sales".into(),
            value: "$10 billion".into(),
            context: "fiscal 2024".into(),
        };
        match kind {
            AnalysisKind::Summary => AnalysisBody::Summary(SummaryBody {
                headline: "h".into(),
                business: "b".into(),
                key_points: vec!["p".into()],
                key_figures: vec![figure],
                outlook: "o".into(),
                provenance: None,
            }),
            AnalysisKind::RiskFactors => AnalysisBody::RiskFactors(RiskFactorsBody {
                overview: "o".into(),
                risks: vec![Risk {
                    title: "t".into(),
                    category: RiskCategory::Legal,
                    severity: Severity::High,
                    summary: "s".into(),
                }],
                provenance: None,
            }),
            AnalysisKind::Mdna => AnalysisBody::Mdna(MdnaBody {
                overview: "o".into(),
                drivers: vec!["d".into()],
                liquidity: "l".into(),
                outlook: "o".into(),
                key_figures: vec![figure],
                provenance: None,
            }),
        }
    }

    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The structs and the JSON Schema name the same fields, all required.
    #[test]
    fn schema_and_structs_agree() {
        for kind in AnalysisKind::ALL {
            let schema = schema(kind);
            let body = sample(kind).to_value();
            assert_eq!(keys(&schema["properties"]), keys(&body), "{kind}");
            let mut required: Vec<String> = serde_json::from_value(schema["required"].clone()).unwrap();
            required.sort();
            assert_eq!(required, keys(&body), "{kind}");
            for (name, prop) in schema["properties"].as_object().unwrap() {
                if prop["type"] == "array" {
                    if let Some(item_props) = prop["items"].get("properties") {
                        let first = &body[name][0];
                        assert_eq!(keys(item_props), keys(first), "{kind}.{name}");
                    }
                }
            }
            assert_eq!(AnalysisBody::from_value(kind, body).unwrap(), sample(kind));
        }
        let enums = &schema(AnalysisKind::RiskFactors)["properties"]["risks"]["items"]["properties"];
        for c in RiskCategory::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(enums["category"]["enum"].as_array().unwrap().len(), 8);
        assert_eq!(enums["severity"]["enum"], json!(["low", "medium", "high"]));
    }

    #[test]
    fn json_is_found_behind_fences_and_prose() {
        let fenced = "```json\n{\"a\": \"}\\\"{\", \"b\": [1, {\"c\": 2}]}\n```";
        assert_eq!(
            extract_json_object(fenced).unwrap(),
            json!({"a": "}\"{", "b": [1, {"c": 2}]})
        );
        let prose = "Sure {here} it is: {\"a\": 1} and more text {";
        assert_eq!(extract_json_object(prose).unwrap(), json!({"a": 1}));
        assert!(extract_json_object("no json").unwrap_err().contains("no JSON object"));
        assert!(extract_json_object("{\"a\": [1, 2").unwrap_err().contains("not closed"));
        assert!(extract_json_object("{\"a\": tru}")
            .unwrap_err()
            .contains("does not parse"));
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let missing = AnalysisBody::parse(AnalysisKind::Summary, r#"{"headline":"x"}"#).unwrap_err();
        assert!(missing.contains("missing field"), "{missing}");
        let extra =
            r#"{"overview":"o","risks":[{"title":"t","category":"legal","severity":"high","summary":"s"}],"x":1}"#;
        assert!(AnalysisBody::parse(AnalysisKind::RiskFactors, extra)
            .unwrap_err()
            .contains("unknown field"));
        let bad_enum =
            r#"{"overview":"o","risks":[{"title":"t","category":"weather","severity":"high","summary":"s"}]}"#;
        assert!(AnalysisBody::parse(AnalysisKind::RiskFactors, bad_enum)
            .unwrap_err()
            .contains("unknown variant"));
        let empty = r#"{"overview":"o","risks":[]}"#;
        assert!(AnalysisBody::parse(AnalysisKind::RiskFactors, empty)
            .unwrap_err()
            .contains("at least one"));
        let blank = r#"{"overview":" ","drivers":["d"],"liquidity":"l","outlook":"o","key_figures":[]}"#;
        assert!(AnalysisBody::parse(AnalysisKind::Mdna, blank)
            .unwrap_err()
            .contains("`overview` is empty"));
    }

    #[test]
    fn provenance_is_ours_not_the_models() {
        let mut body = sample(AnalysisKind::Summary);
        assert!(!body.to_answer_json().contains("provenance"));
        body.set_provenance(Some(Provenance {
            model: ModelKey::parse("extractive:v1").unwrap(),
            extractive: true,
            note: EXTRACTIVE_NOTE.into(),
            sections: vec!["1".into()],
            chunks: 1,
            prompt_version: 1,
        }));
        assert_eq!(body.to_value()["provenance"]["extractive"], true);
        assert!(!body.to_answer_json().contains("provenance"));
        let again = AnalysisBody::from_value(AnalysisKind::Summary, body.to_value()).unwrap();
        assert_eq!(again, body);
    }
}
