//! The vocabulary of filing analyses: SEC form types, accession numbers, the kinds
//! of analysis, task states and what a user asks for. Pure.

use crate::newtypes::{string_newtype, Cik, InvalidValue, Ticker};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The SEC forms Sluice analyses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilingType {
    #[serde(rename = "10-K")]
    TenK,
    #[serde(rename = "10-Q")]
    TenQ,
    #[serde(rename = "8-K")]
    EightK,
    #[serde(rename = "20-F")]
    TwentyF,
    #[serde(rename = "DEF 14A")]
    Def14A,
    #[serde(rename = "S-1")]
    S1,
}

impl FilingType {
    pub const ALL: [FilingType; 6] = [
        Self::TenK,
        Self::TenQ,
        Self::EightK,
        Self::TwentyF,
        Self::Def14A,
        Self::S1,
    ];

    /// Accepts EDGAR's spelling (`10-K`, `DEF 14A`) and common variants (`10k`, `def-14a`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let squashed: String = raw
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match squashed.as_str() {
            "10K" => Ok(Self::TenK),
            "10Q" => Ok(Self::TenQ),
            "8K" => Ok(Self::EightK),
            "20F" => Ok(Self::TwentyF),
            "DEF14A" => Ok(Self::Def14A),
            "S1" => Ok(Self::S1),
            _ => Err(InvalidValue::new(
                "form type",
                format!("`{}` is not one of 10-K, 10-Q, 8-K, 20-F, DEF 14A, S-1", raw.trim()),
            )),
        }
    }

    /// EDGAR's spelling, as in submissions' `form` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TenK => "10-K",
            Self::TenQ => "10-Q",
            Self::EightK => "8-K",
            Self::TwentyF => "20-F",
            Self::Def14A => "DEF 14A",
            Self::S1 => "S-1",
        }
    }
}

impl fmt::Display for FilingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FilingType {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An EDGAR accession number, `0000320193-24-000123`: filer id, two-digit year, sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessionNumber(String);

impl AccessionNumber {
    /// Accepts the dashed form or the 18 digits without dashes (as in archive paths).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        let digits: String = trimmed.chars().filter(|c| *c != '-').collect();
        let dashes_ok =
            !trimmed.contains('-') || (trimmed.len() == 20 && &trimmed[10..11] == "-" && &trimmed[13..14] == "-");
        if digits.len() != 18 || !digits.bytes().all(|b| b.is_ascii_digit()) || !dashes_ok {
            return Err(InvalidValue::new(
                "accession number",
                "expected 18 digits as 0000320193-24-000123",
            ));
        }
        Ok(Self(format!("{}-{}-{}", &digits[..10], &digits[10..12], &digits[12..])))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The 18 digits, as EDGAR's archive folders name a filing.
    pub fn folder(&self) -> String {
        self.0.replace('-', "")
    }
    /// The year the accession number was assigned (its two-digit year; 1990s and later).
    pub fn year(&self) -> i32 {
        let yy: i32 = self.0[11..13].parse().unwrap_or(0);
        if yy >= 90 {
            1900 + yy
        } else {
            2000 + yy
        }
    }
}
string_newtype!(AccessionNumber);

/// What an analysis looks at and produces; each kind has its own prompt and JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisKind {
    /// The business, the year's results and the outlook.
    Summary,
    /// Item 1A: the risks, ranked and grouped.
    RiskFactors,
    /// Management's discussion and analysis: drivers, liquidity, outlook.
    Mdna,
}

impl AnalysisKind {
    pub const ALL: [AnalysisKind; 3] = [Self::Summary, Self::RiskFactors, Self::Mdna];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "summary" => Ok(Self::Summary),
            "risk_factors" | "risks" => Ok(Self::RiskFactors),
            "mdna" | "md&a" | "md_a" => Ok(Self::Mdna),
            _ => Err(InvalidValue::new(
                "analysis kind",
                "expected summary, risk_factors or mdna",
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Summary => "summary",
            Self::RiskFactors => "risk_factors",
            Self::Mdna => "mdna",
        }
    }

    /// The version of this kind's prompt and schema. Part of the global pool's key:
    /// bump it whenever the prompt or the schema changes, so old answers are not reused.
    pub fn prompt_version(&self) -> u16 {
        match self {
            Self::Summary => 1,
            Self::RiskFactors => 1,
            Self::Mdna => 1,
        }
    }
}

impl fmt::Display for AnalysisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Accepted, waiting for the filing fetcher.
    Queued,
    /// The filing is being found, downloaded and split into sections.
    Fetching,
    /// The filing is ready; waiting for or in the analyser.
    Analysing,
    Completed,
    Failed,
    /// Its user cancelled it while it was queued: nothing was charged or held.
    Cancelled,
}

impl TaskStatus {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "queued" => Ok(Self::Queued),
            "fetching" => Ok(Self::Fetching),
            "analysing" => Ok(Self::Analysing),
            "completed" => Ok(Self::Completed),
            "failed" => Ok(Self::Failed),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(InvalidValue::new(
                "task status",
                format!("`{other}` is not a task status"),
            )),
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Fetching => "fetching",
            Self::Analysing => "analysing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
    /// Counts against the tier's concurrent analyses.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Queued | Self::Fetching | Self::Analysing)
    }
}

/// The company a request names: by ticker (resolved through EDGAR) or by CIK.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyRef {
    Ticker(Ticker),
    Cik(Cik),
}

impl fmt::Display for CompanyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ticker(t) => write!(f, "{t}"),
            Self::Cik(c) => write!(f, "CIK{c}"),
        }
    }
}

/// Which filing of the company: a fiscal year's (the latest of that form for the
/// year), a fiscal quarter's (a 10-Q: quarters 1 to 3; the fourth is the 10-K's), or an
/// exact accession number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilingSelector {
    FiscalYear(i32),
    FiscalQuarter { year: i32, quarter: u8 },
    Accession(AccessionNumber),
}

impl FilingSelector {
    /// The fiscal year the filing belongs to, as far as the request says (an accession
    /// number by the year it was assigned).
    pub fn year(&self) -> i32 {
        match self {
            Self::FiscalYear(y) | Self::FiscalQuarter { year: y, .. } => *y,
            Self::Accession(a) => a.year(),
        }
    }
}

/// A filing as a user names it, before EDGAR has resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilingSpec {
    pub company: CompanyRef,
    pub form: FilingType,
    pub selector: FilingSelector,
}

impl FilingSpec {
    /// A stable name of the request, for queue deduplication and task matching:
    /// `AAPL:10-K:FY2024`, `AAPL:10-Q:FY2025Q1` or `CIK0000320193:10-K:0000320193-24-000123`.
    pub fn key(&self) -> String {
        let which = match &self.selector {
            FilingSelector::FiscalYear(y) => format!("FY{y}"),
            FilingSelector::FiscalQuarter { year, quarter } => format!("FY{year}Q{quarter}"),
            FilingSelector::Accession(a) => a.to_string(),
        };
        format!("{}:{}:{}", self.company, self.form.as_str().replace(' ', ""), which)
    }
}

/// The model an analysis came from, as `provider:model` (`bedrock:amazon.nova-lite-v1:0`,
/// `openai:gpt-4o-mini`, `extractive:v1`). Part of the global pool's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelKey(String);

impl ModelKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        match trimmed.split_once(':') {
            Some((provider, model))
                if !provider.is_empty()
                    && !model.is_empty()
                    && provider.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    && trimmed.len() <= 200
                    && !trimmed.chars().any(char::is_whitespace) =>
            {
                Ok(Self(trimmed.to_owned()))
            }
            _ => Err(InvalidValue::new("model key", "expected provider:model")),
        }
    }
    pub fn new(provider: &str, model: &str) -> Result<Self, InvalidValue> {
        Self::parse(&format!("{provider}:{model}"))
    }

    /// The model a deployment is configured with (`LLM_PROVIDER`, `LLM_MODEL`): the
    /// one rule shared by the API (pool look-ups) and the analyser (pool writes).
    /// `extractive` is the offline analyser (`extractive:v1`); `bedrock` defaults to
    /// Amazon Nova Lite; `openai` needs a model name.
    pub fn configured(provider: &str, model: Option<&str>) -> Result<Self, InvalidValue> {
        let model = model.map(str::trim).filter(|m| !m.is_empty());
        match (provider.trim(), model) {
            ("extractive", _) => Self::new("extractive", "v1"),
            ("bedrock", m) => Self::new("bedrock", m.unwrap_or(Self::DEFAULT_BEDROCK_MODEL)),
            ("openai", Some(m)) => Self::new("openai", m),
            ("openai", None) => Err(InvalidValue::new("model key", "LLM_MODEL is required for openai")),
            (other, _) => Err(InvalidValue::new(
                "model key",
                format!("LLM_PROVIDER `{other}` is not bedrock, openai or extractive"),
            )),
        }
    }

    pub const DEFAULT_BEDROCK_MODEL: &'static str = "amazon.nova-lite-v1:0";
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn provider(&self) -> &str {
        self.0.split_once(':').map(|(p, _)| p).unwrap_or_default()
    }
}
string_newtype!(ModelKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_types_parse_edgar_spellings_and_variants() {
        assert_eq!(FilingType::parse("10-K").unwrap(), FilingType::TenK);
        assert_eq!(FilingType::parse(" def-14a ").unwrap(), FilingType::Def14A);
        assert_eq!(FilingType::parse("DEF 14A").unwrap().as_str(), "DEF 14A");
        assert_eq!(FilingType::parse("s1").unwrap(), FilingType::S1);
        assert!(FilingType::parse("10-KT").is_err());
        for form in FilingType::ALL {
            let json = serde_json::to_string(&form).unwrap();
            assert_eq!(json, format!("\"{}\"", form.as_str()));
            assert_eq!(FilingType::parse(form.as_str()).unwrap(), form);
        }
    }

    #[test]
    fn accession_numbers_normalise_to_the_dashed_form() {
        let a = AccessionNumber::parse("000032019324000123").unwrap();
        assert_eq!(a.as_str(), "0000320193-24-000123");
        assert_eq!(a.folder(), "000032019324000123");
        assert_eq!(a.year(), 2024);
        assert_eq!(AccessionNumber::parse("0001011438-98-000429").unwrap().year(), 1998);
        assert!(AccessionNumber::parse("0000320193-24-00012").is_err());
        assert!(AccessionNumber::parse("000032019-324-000123").is_err());
        assert!(AccessionNumber::parse("../../etc/passwd").is_err());
    }

    #[test]
    fn filing_spec_keys_are_stable_and_distinct() {
        let fy = FilingSpec {
            company: CompanyRef::Ticker(Ticker::parse("aapl").unwrap()),
            form: FilingType::Def14A,
            selector: FilingSelector::FiscalYear(2024),
        };
        assert_eq!(fy.key(), "AAPL:DEF14A:FY2024");
        let acc = FilingSpec {
            company: CompanyRef::Cik(Cik::parse("320193").unwrap()),
            form: FilingType::TenK,
            selector: FilingSelector::Accession(AccessionNumber::parse("0000320193-24-000123").unwrap()),
        };
        assert_eq!(acc.key(), "CIK0000320193:10-K:0000320193-24-000123");
    }

    #[test]
    fn model_keys_need_a_provider_and_a_model() {
        let key = ModelKey::parse("bedrock:amazon.nova-lite-v1:0").unwrap();
        assert_eq!(key.provider(), "bedrock");
        assert!(ModelKey::parse("nova").is_err());
        assert!(ModelKey::parse("Bedrock:x").is_err());
        assert!(ModelKey::parse("openai: gpt").is_err());
        assert_eq!(
            ModelKey::configured("extractive", Some("x")).unwrap().as_str(),
            "extractive:v1"
        );
        assert_eq!(
            ModelKey::configured("bedrock", None).unwrap().as_str(),
            "bedrock:amazon.nova-lite-v1:0"
        );
        assert_eq!(
            ModelKey::configured("openai", Some("llama3.1")).unwrap().as_str(),
            "openai:llama3.1"
        );
        assert!(ModelKey::configured("openai", None).is_err());
        assert!(ModelKey::configured("gemini", None).is_err());
    }

    #[test]
    fn analysis_kinds_and_task_states_round_trip() {
        for kind in AnalysisKind::ALL {
            assert_eq!(AnalysisKind::parse(kind.as_str()).unwrap(), kind);
            assert!(kind.prompt_version() >= 1);
        }
        assert!(AnalysisKind::parse("poem").is_err());
        for s in ["queued", "fetching", "analysing", "completed", "failed", "cancelled"] {
            assert_eq!(TaskStatus::parse(s).unwrap().as_str(), s);
        }
        assert!(TaskStatus::Fetching.is_active());
        assert!(!TaskStatus::Failed.is_active() && !TaskStatus::Cancelled.is_active());
    }
}
