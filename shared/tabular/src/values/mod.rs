//! Normalising single cell values: empty markers, dates, numbers and text.

mod date;
mod number;
mod text;
mod unit;

pub use date::{parse_date, DateOrder, InvalidDateOrder};
pub use number::{parse_decimal, parse_integer, Decimal, NumberCell};
pub(crate) use text::normalise_text;
pub use unit::UnitMark;

/// Why a cell value cannot be loaded; the Display is a short reason for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("`{0}` is not a date")]
    NotADate(String),
    #[error("{0} is not a calendar date")]
    NotACalendarDate(String),
    #[error("{raw}: year {year} is outside 1900-2100")]
    YearOutOfRange { raw: String, year: u32 },
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` is out of range")]
    OutOfRange(String),
    #[error("`{raw}` has too many digits before the decimal point (at most {max})")]
    TooManyDigits { raw: String, max: u8 },
    #[error("`{raw}` has too many decimals (at most {max}; values are never rounded)")]
    TooManyDecimals { raw: String, max: u8 },
    /// The value's own mark and the unit given for it disagree (`€5` with unit `USD`).
    #[error("`{raw}` is {} but {unit_column} is `{unit}`", mark.meaning())]
    UnitConflict {
        raw: String,
        mark: UnitMark,
        unit_column: String,
        unit: String,
    },
    /// A column that holds one currency got a value marked as something else.
    #[error("`{raw}` is {} but this column holds {currency}", mark.meaning())]
    NotInCurrency {
        raw: String,
        mark: UnitMark,
        currency: &'static str,
    },
    #[error("`{raw}`: ¥ is both yen and yuan; write JPY or CNY in {unit_column}")]
    AmbiguousCurrency { raw: String, unit_column: String },
    #[error("`{0}` is not a whole number")]
    NotAWholeNumber(String),
    #[error("{0} does not fit a 32-bit integer")]
    IntegerOverflow(String),
    #[error("text longer than {max_len} characters")]
    TooLong { max_len: usize },
}

/// Cell texts that mean "no value": "", "-", dashes, "n/a", "null", "#N/A", … (case-insensitive).
pub fn is_empty_marker(raw: &str) -> bool {
    const MARKERS: [&str; 13] = [
        "", "-", "–", "—", "n/a", "na", "n.a.", "nd", "n/d", "null", "none", "#n/a", "nan",
    ];
    let trimmed = raw.trim();
    MARKERS.iter().any(|m| m.eq_ignore_ascii_case(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_markers_are_recognised_in_any_case() {
        for marker in [
            "", "   ", "-", " – ", "—", "n/a", "N/A", "na", "NA", "n.a.", "N.A.", "nd", "ND", "n/d", "N/D", "null",
            "NULL", "None", "#N/A", "#n/a", "NaN", "nan", "\t-\t",
        ] {
            assert!(is_empty_marker(marker), "{marker:?}");
        }
    }

    #[test]
    fn ordinary_values_are_not_empty_markers() {
        for value in [
            "0", "--", "n", "a", "nada", "-1", "na na", "#VALUE!", "Nando", "none yet",
        ] {
            assert!(!is_empty_marker(value), "{value:?}");
        }
    }

    #[test]
    fn value_errors_read_as_short_reasons() {
        assert_eq!(
            ValueError::NotACalendarDate("31/02/2024".into()).to_string(),
            "31/02/2024 is not a calendar date"
        );
        assert_eq!(
            ValueError::NotANumber("abc".into()).to_string(),
            "`abc` is not a number"
        );
        let unit_errors = [
            (
                ValueError::UnitConflict {
                    raw: "€5".into(),
                    mark: UnitMark::Euro,
                    unit_column: "Unidad".into(),
                    unit: "USD".into(),
                },
                "`€5` is in EUR but Unidad is `USD`",
            ),
            (
                ValueError::UnitConflict {
                    raw: "12%".into(),
                    mark: UnitMark::Percent,
                    unit_column: "unit".into(),
                    unit: "EUR".into(),
                },
                "`12%` is a percentage but unit is `EUR`",
            ),
            (
                ValueError::NotInCurrency {
                    raw: "€5".into(),
                    mark: UnitMark::Euro,
                    currency: "USD",
                },
                "`€5` is in EUR but this column holds USD",
            ),
            (
                ValueError::AmbiguousCurrency {
                    raw: "¥100".into(),
                    unit_column: "Unidad".into(),
                },
                "`¥100`: ¥ is both yen and yuan; write JPY or CNY in Unidad",
            ),
        ];
        for (error, reason) in unit_errors {
            assert_eq!(error.to_string(), reason);
        }
        assert_eq!(
            ValueError::TooLong { max_len: 255 }.to_string(),
            "text longer than 255 characters"
        );
    }
}
