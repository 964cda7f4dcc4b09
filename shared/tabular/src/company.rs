//! The normalised company name that keys the companies table, so "Acme, Inc." and "ACME"
//! are one company.

use crate::fold::{collapse_non_alphanumeric, fold};

/// Legal-form words dropped from the end of a name.
const LEGAL_FORMS: [&str; 22] = [
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "sa",
    "sl",
    "slu",
    "sas",
    "sau",
    "gmbh",
    "ag",
    "bv",
    "plc",
    "srl",
    "spa",
    "oy",
    "ab",
];

/// Dotted forms ("S.L.U.") split into at most this many single letters.
const MAX_DOTTED_LETTERS: usize = 4;

/// Lower-case, accents dropped, `&` as "and", punctuation runs as one space, then trailing
/// legal forms ("Inc.", "S.L.", "GmbH", …) dropped while another word remains.
///
/// "Acme, Inc." -> "acme"; "ACME S.L." -> "acme"; "Café Olé" -> "cafe ole"; "Co" -> "co".
pub fn company_key(name: &str) -> String {
    let spaced = collapse_non_alphanumeric(&fold(name).replace('&', " and "), ' ');
    let mut tokens: Vec<&str> = spaced.split(' ').filter(|t| !t.is_empty()).collect();
    while tokens.len() > 1 {
        let drop = trailing_legal_form(&tokens);
        if drop == 0 {
            break;
        }
        tokens.truncate(tokens.len() - drop);
    }
    tokens.join(" ")
}

/// How many trailing tokens form a legal form, leaving at least one token; 0 if none.
fn trailing_legal_form(tokens: &[&str]) -> usize {
    if tokens.last().is_some_and(|last| LEGAL_FORMS.contains(last)) {
        return 1;
    }
    // "S.L." arrives as "s", "l": try the longest run of trailing single letters first.
    let singles = tokens.iter().rev().take_while(|t| t.chars().count() == 1).count();
    let longest = singles.min(MAX_DOTTED_LETTERS).min(tokens.len() - 1);
    (2..=longest)
        .rev()
        .find(|&k| LEGAL_FORMS.contains(&tokens[tokens.len() - k..].concat().as_str()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_the_spec() {
        assert_eq!(company_key("Acme, Inc."), "acme");
        assert_eq!(company_key("ACME S.L."), "acme");
        assert_eq!(company_key("Café Olé"), "cafe ole");
        assert_eq!(company_key("Co"), "co");
    }

    #[test]
    fn case_accents_and_punctuation_fold() {
        assert_eq!(company_key("  Compañía   Ibérica  "), "compania iberica");
        assert_eq!(company_key("Foo-Bar.io"), "foo bar io");
        assert_eq!(company_key("FOO_bar"), "foo bar");
        assert_eq!(company_key("Acme 2.0"), "acme 2 0");
        assert_eq!(company_key(""), "");
        assert_eq!(company_key(" ... "), "");
    }

    #[test]
    fn ampersand_becomes_and() {
        assert_eq!(company_key("Johnson & Johnson"), "johnson and johnson");
        assert_eq!(company_key("Johnson&Johnson"), "johnson and johnson");
        assert_eq!(company_key("Smith & Co."), "smith and");
    }

    #[test]
    fn every_legal_form_is_dropped_from_the_end() {
        for form in LEGAL_FORMS {
            assert_eq!(company_key(&format!("Acme {form}")), "acme", "{form}");
            assert_eq!(company_key(&format!("Acme {}", form.to_uppercase())), "acme", "{form}");
        }
    }

    #[test]
    fn legal_forms_are_dropped_repeatedly() {
        assert_eq!(company_key("Acme Co., Ltd."), "acme");
        assert_eq!(company_key("Acme Holding Company Limited"), "acme holding");
        assert_eq!(company_key("Acme Corp. Inc"), "acme");
    }

    #[test]
    fn dotted_legal_forms_are_dropped() {
        assert_eq!(company_key("Acme S.A."), "acme");
        assert_eq!(company_key("Acme, S.L.U."), "acme");
        assert_eq!(company_key("Acme S.A.U."), "acme");
        assert_eq!(company_key("Acme B.V."), "acme");
        assert_eq!(company_key("Acme S.p.A."), "acme");
        assert_eq!(company_key("Acme S.R.L."), "acme");
        assert_eq!(company_key("Acme L.L.C."), "acme");
        assert_eq!(company_key("Acme P.L.C."), "acme");
        assert_eq!(company_key("Grupo A S.L."), "grupo a");
        assert_eq!(company_key("Acme S. L."), "acme");
    }

    #[test]
    fn a_name_that_is_only_a_legal_form_is_kept() {
        assert_eq!(company_key("Inc."), "inc");
        assert_eq!(company_key("Company Inc"), "company");
        assert_eq!(company_key("S.L."), "s l");
        assert_eq!(company_key("The Company"), "the");
    }

    #[test]
    fn legal_forms_elsewhere_are_kept() {
        assert_eq!(company_key("Inc Labs"), "inc labs");
        assert_eq!(company_key("Co Founders Hub"), "co founders hub");
        assert_eq!(company_key("Acme Sàrl"), "acme sarl");
        assert_eq!(company_key("X Y"), "x y");
    }
}
