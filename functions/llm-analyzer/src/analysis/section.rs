//! Which sections of a filing an analysis reads. What the analysis layer and the
//! extractive analyser both need lives here, so neither depends on the other for it. Pure.

use sluice_messages::{AnalysisKind, FilingType};

/// One section of a filing as the filing fetcher split it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionInput {
    /// `1A`, `7`, `II-1A`, `risk_factors`, `document`, ...
    pub item: String,
    pub title: String,
    pub text: String,
}

impl SectionInput {
    pub fn new(item: &str, title: &str, text: &str) -> Self {
        Self {
            item: item.into(),
            title: title.into(),
            text: text.into(),
        }
    }
}

/// The section items that feed `kind` for `form`, in the order they are shown.
pub fn sections_for(kind: AnalysisKind, form: FilingType) -> &'static [&'static str] {
    match (kind, form) {
        (AnalysisKind::Summary, FilingType::TenK) => &["1", "7"],
        (AnalysisKind::Summary, FilingType::TenQ) => &["I-2"],
        (AnalysisKind::Summary, FilingType::TwentyF) => &["4", "5"],
        (AnalysisKind::RiskFactors, FilingType::TenK) => &["1A"],
        (AnalysisKind::RiskFactors, FilingType::TenQ) => &["II-1A"],
        (AnalysisKind::RiskFactors, FilingType::TwentyF) => &["3D"],
        (AnalysisKind::RiskFactors, FilingType::S1) => &["risk_factors"],
        (AnalysisKind::Mdna, FilingType::TenK) => &["7", "7A"],
        (AnalysisKind::Mdna, FilingType::TenQ) => &["I-2"],
        (AnalysisKind::Mdna, FilingType::TwentyF) => &["5"],
        _ => &["document"],
    }
}

/// The sections `kind` uses, in [`sections_for`] order, skipping blank ones.
pub fn select_sections(kind: AnalysisKind, form: FilingType, sections: &[SectionInput]) -> Vec<&SectionInput> {
    sections_for(kind, form)
        .iter()
        .filter_map(|item| {
            sections
                .iter()
                .find(|s| s.item.trim().eq_ignore_ascii_case(item) && !s.text.trim().is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_its_items() {
        assert_eq!(sections_for(AnalysisKind::Summary, FilingType::TenK), ["1", "7"]);
        assert_eq!(sections_for(AnalysisKind::Summary, FilingType::EightK), ["document"]);
        assert_eq!(
            sections_for(AnalysisKind::RiskFactors, FilingType::S1),
            ["risk_factors"]
        );
        assert_eq!(sections_for(AnalysisKind::RiskFactors, FilingType::TenQ), ["II-1A"]);
        assert_eq!(sections_for(AnalysisKind::Mdna, FilingType::TenK), ["7", "7A"]);
        assert_eq!(sections_for(AnalysisKind::Mdna, FilingType::Def14A), ["document"]);
        let sections = vec![
            SectionInput {
                item: "7".into(),
                title: "MD&A".into(),
                text: "x".into(),
            },
            SectionInput {
                item: "1a".into(),
                title: "Risk Factors".into(),
                text: "y".into(),
            },
            SectionInput {
                item: "1".into(),
                title: "Business".into(),
                text: "  ".into(),
            },
        ];
        let picked = select_sections(AnalysisKind::Summary, FilingType::TenK, &sections);
        assert_eq!(picked.iter().map(|s| s.item.as_str()).collect::<Vec<_>>(), ["7"]);
        assert_eq!(
            select_sections(AnalysisKind::RiskFactors, FilingType::TenK, &sections).len(),
            1
        );
        assert!(select_sections(AnalysisKind::RiskFactors, FilingType::TenQ, &sections).is_empty());
    }
}
