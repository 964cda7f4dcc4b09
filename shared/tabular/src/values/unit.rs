//! Units written into number cells (`42,5%`, `€1.234,56`, `1.234,56 EUR`) and how they
//! compare with a unit column (`EUR`, `%`, `k€`, `miles de euros`).

use crate::fold::fold;

/// The unit a number cell carries: `%` or a currency mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitMark {
    /// `%`: the points are kept as written (`12,5%` is 12.5 with unit `%`).
    Percent,
    /// `$`: US dollars unless the unit column names another dollar or a peso.
    Dollar,
    /// `US$` or `USD`.
    UsDollar,
    /// `€` or `EUR`.
    Euro,
    /// `£` or `GBP`.
    Pound,
    /// `¥`: yen and yuan share it, so it is never read as either on its own.
    Yen,
}

/// The marks a number may start or end with, longest first so that `US$` goes whole.
pub(crate) const MARKS: [(&str, UnitMark); 9] = [
    ("US$", UnitMark::UsDollar),
    ("USD", UnitMark::UsDollar),
    ("EUR", UnitMark::Euro),
    ("GBP", UnitMark::Pound),
    ("$", UnitMark::Dollar),
    ("€", UnitMark::Euro),
    ("£", UnitMark::Pound),
    ("¥", UnitMark::Yen),
    ("%", UnitMark::Percent),
];

/// Symbols of a unit column and the unit they name.
const UNIT_SYMBOLS: [(char, &str); 5] = [('%', "%"), ('€', "EUR"), ('£', "GBP"), ('$', "USD"), ('¥', "JPY")];

/// Currencies written with `$`: the dollars and the Latin American pesos.
const DOLLAR_SIGN: [&str; 10] = ["USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN", "CLP", "COP", "ARS"];

/// Words of a unit column (folded) and the unit they name.
const UNIT_WORDS: [(&str, &str); 33] = [
    ("eur", "EUR"),
    ("euro", "EUR"),
    ("euros", "EUR"),
    ("usd", "USD"),
    ("dolar", "USD"),
    ("dolares", "USD"),
    ("dollar", "USD"),
    ("dollars", "USD"),
    ("gbp", "GBP"),
    ("libra", "GBP"),
    ("libras", "GBP"),
    ("pound", "GBP"),
    ("pounds", "GBP"),
    ("jpy", "JPY"),
    ("yen", "JPY"),
    ("yenes", "JPY"),
    ("cny", "CNY"),
    ("rmb", "CNY"),
    ("yuan", "CNY"),
    ("yuanes", "CNY"),
    ("cad", "CAD"),
    ("aud", "AUD"),
    ("nzd", "NZD"),
    ("hkd", "HKD"),
    ("sgd", "SGD"),
    ("mxn", "MXN"),
    ("clp", "CLP"),
    ("cop", "COP"),
    ("ars", "ARS"),
    ("pct", "%"),
    ("percent", "%"),
    ("percentage", "%"),
    ("porcentaje", "%"),
];

impl UnitMark {
    /// The unit stored when the row's unit column is empty; `None` when the mark alone
    /// cannot say (`¥`).
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Self::Percent => Some("%"),
            Self::Dollar | Self::UsDollar => Some("USD"),
            Self::Euro => Some("EUR"),
            Self::Pound => Some("GBP"),
            Self::Yen => None,
        }
    }

    /// How a reason names the mark: "`€5` is in EUR but ...".
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Percent => "a percentage",
            Self::Dollar => "in dollars",
            Self::UsDollar => "in USD",
            Self::Euro => "in EUR",
            Self::Pound => "in GBP",
            Self::Yen => "in yen or yuan",
        }
    }

    /// Does a unit column's text (`EUR`, `%`, `k€`, `miles de euros`, `MXN`) agree with this
    /// mark? Only the currency is compared, not the scale: `1.500 €` under `k€` agrees.
    pub fn agrees_with(self, unit: &str) -> bool {
        let Some(named) = named_unit(unit) else {
            return false;
        };
        match self {
            Self::Percent => named == "%",
            Self::Dollar => DOLLAR_SIGN.contains(&named),
            Self::UsDollar => named == "USD",
            Self::Euro => named == "EUR",
            Self::Pound => named == "GBP",
            Self::Yen => named == "JPY" || named == "CNY",
        }
    }
}

/// The one unit (`%` or an ISO currency code) a unit column's text names, by its symbols
/// and words; `None` when it names none (`FTE`, `x`, `meses`) or several (`USD/EUR`).
fn named_unit(text: &str) -> Option<&'static str> {
    // Most cells are a bare code or symbol: no folding needed.
    let trimmed = text.trim();
    if let Some(&(_, unit)) = UNIT_WORDS.iter().find(|(word, _)| trimmed.eq_ignore_ascii_case(word)) {
        return Some(unit);
    }
    let mut chars = trimmed.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return UNIT_SYMBOLS.iter().find(|(s, _)| *s == c).map(|&(_, unit)| unit);
    }
    let mut found: Option<&'static str> = None;
    let mut several = false;
    let mut note = |unit: &'static str| match found {
        Some(seen) if seen != unit => several = true,
        _ => found = Some(unit),
    };
    let folded = fold(trimmed);
    for c in folded.chars() {
        if let Some(&(_, unit)) = UNIT_SYMBOLS.iter().find(|(s, _)| *s == c) {
            note(unit);
        }
    }
    for word in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if let Some(&(_, unit)) = UNIT_WORDS.iter().find(|(w, _)| *w == word) {
            note(unit);
        }
    }
    if several {
        None
    } else {
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_alone_names_its_unit_except_the_yen_sign() {
        assert_eq!(UnitMark::Percent.unit(), Some("%"));
        assert_eq!(UnitMark::Dollar.unit(), Some("USD"));
        assert_eq!(UnitMark::UsDollar.unit(), Some("USD"));
        assert_eq!(UnitMark::Euro.unit(), Some("EUR"));
        assert_eq!(UnitMark::Pound.unit(), Some("GBP"));
        assert_eq!(UnitMark::Yen.unit(), None);
    }

    #[test]
    fn unit_columns_name_units_by_code_symbol_or_word() {
        for (text, unit) in [
            ("EUR", "EUR"),
            (" eur ", "EUR"),
            ("€", "EUR"),
            ("Euros", "EUR"),
            ("k€", "EUR"),
            ("M€", "EUR"),
            ("miles de euros", "EUR"),
            ("€ (miles)", "EUR"),
            ("EUR/cliente", "EUR"),
            ("USD", "USD"),
            ("$", "USD"),
            ("US$", "USD"),
            ("MM USD", "USD"),
            ("dólares", "USD"),
            ("GBP", "GBP"),
            ("£", "GBP"),
            ("libras", "GBP"),
            ("JPY", "JPY"),
            ("yen", "JPY"),
            ("¥", "JPY"),
            ("CNY", "CNY"),
            ("RMB", "CNY"),
            ("MXN", "MXN"),
            ("%", "%"),
            ("% YoY", "%"),
            ("porcentaje", "%"),
            ("pct", "%"),
        ] {
            assert_eq!(named_unit(text), Some(unit), "{text:?}");
        }
    }

    #[test]
    fn unit_columns_naming_no_unit_or_several_name_none() {
        for text in [
            "", "FTE", "x", "uds", "meses", "ratio", "USD/EUR", "€ o $", "% EUR", "eurozona",
        ] {
            assert_eq!(named_unit(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_mark_agrees_with_a_unit_of_the_same_currency() {
        assert!(UnitMark::Euro.agrees_with("EUR"));
        assert!(UnitMark::Euro.agrees_with("€"));
        assert!(UnitMark::Euro.agrees_with("miles de euros"));
        assert!(UnitMark::Percent.agrees_with("%"));
        assert!(UnitMark::UsDollar.agrees_with("usd"));
        assert!(UnitMark::Pound.agrees_with("GBP"));
        assert!(UnitMark::Yen.agrees_with("JPY"));
        assert!(UnitMark::Yen.agrees_with("CNY"));
        // `$` is also the peso's and other dollars' sign.
        for unit in DOLLAR_SIGN {
            assert!(UnitMark::Dollar.agrees_with(unit), "{unit}");
        }
    }

    #[test]
    fn a_mark_disagrees_with_any_other_unit() {
        assert!(!UnitMark::Euro.agrees_with("USD"));
        assert!(!UnitMark::Euro.agrees_with("%"));
        assert!(!UnitMark::Euro.agrees_with("FTE"));
        assert!(!UnitMark::Euro.agrees_with("USD/EUR"));
        assert!(!UnitMark::Percent.agrees_with("EUR"));
        assert!(!UnitMark::Percent.agrees_with("pp"));
        assert!(!UnitMark::Percent.agrees_with("x"));
        assert!(!UnitMark::UsDollar.agrees_with("MXN"), "USD is one currency");
        assert!(!UnitMark::Dollar.agrees_with("EUR"));
        assert!(!UnitMark::Pound.agrees_with("EUR"));
        assert!(!UnitMark::Yen.agrees_with("USD"));
    }

    #[test]
    fn marks_are_listed_longest_first() {
        for (i, (a, _)) in MARKS.iter().enumerate() {
            for (b, _) in &MARKS[i + 1..] {
                assert!(!b.ends_with(a) && !b.starts_with(a), "{b} after {a} is never matched");
            }
        }
    }
}
