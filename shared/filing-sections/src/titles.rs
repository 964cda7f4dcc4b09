//! The items each form is split into, with their canonical titles and the spellings filers use.

use crate::FilingType;

/// An item to extract: its key, canonical title, and the title spellings accepted after "Item N.".
pub(crate) struct ItemSpec {
    pub key: &'static str,
    pub title: &'static str,
    pub variants: &'static [&'static str],
}

const MDA: &str = "Management's Discussion and Analysis of Financial Condition and Results of Operations";
const MDA_VARIANTS: &[&str] = &[
    MDA,
    "Management's Discussion and Analysis of Results of Operations and Financial Condition",
    "Management's Discussion and Analysis",
];
const RISK: &[&str] = &["Risk Factors"];

const TEN_K: &[ItemSpec] = &[
    ItemSpec {
        key: "1",
        title: "Business",
        variants: &["Business", "Description of Business"],
    },
    ItemSpec {
        key: "1A",
        title: "Risk Factors",
        variants: RISK,
    },
    ItemSpec {
        key: "7",
        title: MDA,
        variants: MDA_VARIANTS,
    },
    ItemSpec {
        key: "7A",
        title: "Quantitative and Qualitative Disclosures About Market Risk",
        variants: &[
            "Quantitative and Qualitative Disclosures About Market Risk",
            "Quantitative and Qualitative Disclosure About Market Risk",
            "Quantitative and Qualitative Disclosures Regarding Market Risk",
            "Quantitative and Qualitative Disclosure Regarding Market Risk",
        ],
    },
    ItemSpec {
        key: "8",
        title: "Financial Statements and Supplementary Data",
        variants: &[
            "Financial Statements and Supplementary Data",
            "Financial Statements and Supplemental Data",
            "Consolidated Financial Statements and Supplementary Data",
            "Financial Statements",
        ],
    },
];

const TEN_Q: &[ItemSpec] = &[
    ItemSpec {
        key: "I-2",
        title: MDA,
        variants: MDA_VARIANTS,
    },
    ItemSpec {
        key: "II-1A",
        title: "Risk Factors",
        variants: RISK,
    },
];

const TWENTY_F: &[ItemSpec] = &[
    ItemSpec {
        key: "3D",
        title: "Risk Factors",
        variants: RISK,
    },
    ItemSpec {
        key: "4",
        title: "Information on the Company",
        variants: &["Information on the Company"],
    },
    ItemSpec {
        key: "5",
        title: "Operating and Financial Review and Prospects",
        variants: &["Operating and Financial Review and Prospects"],
    },
];

pub(crate) const DOCUMENT_KEY: &str = "document";
pub(crate) const RISK_FACTORS_KEY: &str = "risk_factors";

/// Item forms: the items to cut out. Whole-document forms (8-K, DEF 14A, S-1) return an empty list.
pub(crate) fn specs(form: FilingType) -> &'static [ItemSpec] {
    match form {
        FilingType::TenK => TEN_K,
        FilingType::TenQ => TEN_Q,
        FilingType::TwentyF => TWENTY_F,
        FilingType::EightK | FilingType::Def14A | FilingType::S1 => &[],
    }
}

/// The title of the `document` section of a whole-document form.
pub(crate) fn document_title(form: FilingType) -> &'static str {
    match form {
        FilingType::EightK => "Current Report",
        FilingType::Def14A => "Proxy Statement",
        FilingType::S1 => "Registration Statement",
        FilingType::TenK => "Annual Report",
        FilingType::TenQ => "Quarterly Report",
        FilingType::TwentyF => "Annual Report (Foreign Private Issuer)",
    }
}

/// The keys and canonical titles [`crate::extract`] returns for `form`, in filing order.
pub fn items_for(form: FilingType) -> Vec<(&'static str, &'static str)> {
    match form {
        FilingType::EightK | FilingType::Def14A => vec![(DOCUMENT_KEY, document_title(form))],
        FilingType::S1 => vec![(DOCUMENT_KEY, document_title(form)), (RISK_FACTORS_KEY, "Risk Factors")],
        _ => specs(form).iter().map(|s| (s.key, s.title)).collect(),
    }
}

/// A title found at the start of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TitleMatch {
    /// Byte offset in the text just after the matched title.
    pub end: usize,
    /// False when the text ran out part way through the title (a heading wrapped onto the next line).
    pub complete: bool,
}

/// If `text` begins with `title` (ignoring case, punctuation, apostrophes and spacing, with `&`
/// read as "and"), where the title ends. A text that ends part way through the title also
/// matches (headings wrap), as long as a real prefix was seen.
pub(crate) fn match_title(text: &str, title: &str) -> Option<TitleMatch> {
    let want: Vec<char> = normalise(title).collect();
    let mut matched = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if matched == want.len() {
            break;
        }
        let expanded: &[char] = match c {
            '&' => &['a', 'n', 'd'],
            _ if c.is_alphanumeric() => &[],
            _ => continue,
        };
        if expanded.is_empty() {
            for lc in c.to_lowercase() {
                if want.get(matched) != Some(&lc) {
                    return None;
                }
                matched += 1;
            }
        } else {
            for lc in expanded {
                if want.get(matched) != Some(lc) {
                    return None;
                }
                matched += 1;
            }
        }
        end = i + c.len_utf8();
    }
    if matched == want.len() {
        // A title must end at a word boundary: "Business" does not match "Businesses".
        let next_alnum = text[end..].chars().next().is_some_and(|c| c.is_alphanumeric());
        return (!next_alnum).then_some(TitleMatch { end, complete: true });
    }
    // The text ran out part way through the title: a wrapped heading, if enough of it was seen.
    let rest_blank = text[end..].chars().all(|c| !c.is_alphanumeric());
    (rest_blank && matched >= 12.min(want.len())).then_some(TitleMatch { end, complete: false })
}

fn normalise(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(|c| {
        let v: Vec<char> = if c == '&' {
            vec!['a', 'n', 'd']
        } else if c.is_alphanumeric() {
            c.to_lowercase().collect()
        } else {
            Vec::new()
        };
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_prefix_ignores_apostrophes_case_and_ampersands() {
        let end = |text: &str, title: &str| match_title(text, title).map(|m| m.end);
        let t = "Management’s Discussion & Analysis of Financial Condition and Results of Operations | 20";
        assert_eq!(end(t, MDA), Some(t.find(" | 20").unwrap()));
        let wrapped = match_title("MANAGEMENTS DISCUSSION AND ANALYSIS OF FINANCIAL CONDITION AND", MDA).unwrap();
        assert!(!wrapped.complete);
        assert_eq!(end("Risk Factors. None.", "Risk Factors"), Some(12));
        assert_eq!(end("Businesses", "Business"), None);
        assert_eq!(end("Properties", "Business"), None);
        assert_eq!(end("Ri", "Risk Factors"), None);
    }
}
