//! Numbers as people type them in Spanish and English spreadsheets, kept exact: digits are
//! handled as text, never as `f64`.

use super::unit::{UnitMark, MARKS};
use super::{is_empty_marker, ValueError};
use std::fmt;

/// Exponents beyond this are a typo, not a value any column can hold.
const MAX_EXPONENT: i64 = 1000;

/// An exact decimal number with every digit it was written with; it never passes through a
/// float and is never rounded. Canonical: no leading zeros in the integer part, no trailing
/// zeros in the fraction, no negative zero (`-0,50` is `-0.5`, `1.300,00` is `1300`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

impl Decimal {
    fn new(negative: bool, int: &str, frac: &str) -> Self {
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        Self {
            negative: negative && !(int.is_empty() && frac.is_empty()),
            int: int.to_owned(),
            frac: frac.to_owned(),
        }
    }

    /// Digits before the decimal point (0 for `0.5`).
    pub fn integer_digits(&self) -> usize {
        self.int.len()
    }

    /// Digits after the decimal point (0 for `12`).
    pub fn fraction_digits(&self) -> usize {
        self.frac.len()
    }

    /// The text PostgreSQL `numeric` reads back as the same value: `-1234.5`, `0.000123`, `0`.
    /// Built directly rather than through `fmt`: it runs once per value of a million-row load.
    pub fn into_text(self) -> String {
        if !self.negative && self.frac.is_empty() && !self.int.is_empty() {
            return self.int;
        }
        let mut out = String::with_capacity(self.int.len() + self.frac.len() + 3);
        if self.negative {
            out.push('-');
        }
        out.push_str(if self.int.is_empty() { "0" } else { &self.int });
        if !self.frac.is_empty() {
            out.push('.');
            out.push_str(&self.frac);
        }
        out
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.clone().into_text())
    }
}

/// A number cell: its value, and the unit written with it (`42,5%`, `€1.234,56`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberCell {
    pub value: Decimal,
    pub mark: Option<UnitMark>,
}

/// Parses a decimal exactly, for a column that keeps `integer_digits` digits before the point
/// and, when `scale` is set, at most that many after it. A value that does not fit is an
/// error, never rounded. Empty markers are `None`.
///
/// Accepts one unit mark at either end ($ € £ ¥ USD EUR GBP US$) or a trailing `%` (the points
/// are kept: `12,5%` -> `12.5`, marked [`UnitMark::Percent`]), spaces, a sign or accounting
/// parentheses, and `1.5e3` (without commas). Separators: with both `.` and `,` the last is the
/// decimal; one kind repeated groups thousands; one occurring once is the decimal if it is the
/// file's (`decimal_comma`), else thousands when followed by exactly three digits
/// (`1,234` -> `1234`), else the decimal.
pub fn parse_decimal(
    raw: &str,
    decimal_comma: bool,
    integer_digits: u8,
    scale: Option<u8>,
) -> Result<Option<NumberCell>, ValueError> {
    let Some(cell) = parse_number(raw, decimal_comma)? else {
        return Ok(None);
    };
    if cell.value.integer_digits() > usize::from(integer_digits) {
        return Err(ValueError::TooManyDigits {
            raw: raw.trim().to_owned(),
            max: integer_digits,
        });
    }
    if let Some(scale) = scale.filter(|s| cell.value.fraction_digits() > usize::from(*s)) {
        return Err(ValueError::TooManyDecimals {
            raw: raw.trim().to_owned(),
            max: scale,
        });
    }
    Ok(Some(cell))
}

/// Parses a whole number that fits PostgreSQL `integer`; same syntax as [`parse_decimal`]
/// (a unit mark is read past: a count has no unit column).
pub fn parse_integer(raw: &str, decimal_comma: bool) -> Result<Option<i32>, ValueError> {
    let Some(NumberCell { value: number, .. }) = parse_number(raw, decimal_comma)? else {
        return Ok(None);
    };
    let trimmed = raw.trim();
    if !number.frac.is_empty() {
        return Err(ValueError::NotAWholeNumber(trimmed.to_owned()));
    }
    let overflow = || ValueError::IntegerOverflow(trimmed.to_owned());
    // More than 10 digits cannot fit, and would not parse as i64 either past 19.
    if number.int.len() > 10 {
        return Err(overflow());
    }
    let magnitude: i64 = if number.int.is_empty() {
        0
    } else {
        number.int.parse().map_err(|_| overflow())?
    };
    let value = if number.negative { -magnitude } else { magnitude };
    i32::try_from(value).map(Some).map_err(|_| overflow())
}

fn parse_number(raw: &str, decimal_comma: bool) -> Result<Option<NumberCell>, ValueError> {
    let trimmed = raw.trim();
    if is_empty_marker(trimmed) {
        return Ok(None);
    }
    let not_a_number = || ValueError::NotANumber(trimmed.to_owned());
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let (negative, body, mark) = strip_decorations(&compact).ok_or_else(not_a_number)?;
    let value = match body.find(['e', 'E']) {
        Some(pos) => {
            let exponent = parse_exponent(&body[pos + 1..]).ok_or_else(not_a_number)?;
            if exponent.abs() > MAX_EXPONENT {
                return Err(ValueError::OutOfRange(trimmed.to_owned()));
            }
            scientific(negative, &body[..pos], exponent).ok_or_else(not_a_number)?
        }
        None => {
            let (int, frac) = split_separators(body, decimal_comma).ok_or_else(not_a_number)?;
            Decimal::new(negative, &int, frac)
        }
    };
    Ok(Some(NumberCell { value, mark }))
}

/// Strips one unit mark, one sign and one pair of accounting parentheses, in any order.
/// Returns (negative, the bare number, the mark), or `None` for a sign inside parentheses.
/// A second mark (`€5%`, `$5 EUR`) is left in place, so the number does not parse.
fn strip_decorations(compact: &str) -> Option<(bool, &str, Option<UnitMark>)> {
    let mut s = compact;
    let mut minus: Option<bool> = None;
    let mut parens = false;
    let mut mark: Option<UnitMark> = None;
    loop {
        let before = s.len();
        if mark.is_none() {
            if let Some((rest, found)) = strip_mark(s) {
                (s, mark) = (rest, Some(found));
            }
        }
        if !parens {
            if let Some(rest) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
                (s, parens) = (rest, true);
            }
        }
        if minus.is_none() {
            if let Some(rest) = s.strip_prefix(['-', '\u{2212}']) {
                (s, minus) = (rest, Some(true));
            } else if let Some(rest) = s.strip_prefix('+') {
                (s, minus) = (rest, Some(false));
            }
        }
        if s.len() == before {
            break;
        }
    }
    if parens && minus.is_some() {
        return None;
    }
    Some((parens || minus == Some(true), s, mark))
}

/// A currency mark at either end, or `%` at the end.
fn strip_mark(s: &str) -> Option<(&str, UnitMark)> {
    for (text, mark) in MARKS {
        let is_text = |part: &str| part.eq_ignore_ascii_case(text);
        if mark != UnitMark::Percent {
            if let Some(head) = s.get(..text.len()).filter(|head| is_text(head)) {
                return Some((&s[head.len()..], mark));
            }
        }
        let tail_start = s.len().saturating_sub(text.len());
        if s.len() >= text.len() && s.get(tail_start..).is_some_and(is_text) {
            return Some((&s[..tail_start], mark));
        }
    }
    None
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// `+3`, `-2`, `10`; an exponent too long for `i64` saturates (it is out of range anyway).
fn parse_exponent(raw: &str) -> Option<i64> {
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    if digits.is_empty() || !all_digits(digits) {
        return None;
    }
    let value: i64 = digits.parse().unwrap_or(i64::MAX);
    Some(if negative { -value } else { value })
}

/// `1.5e3`: the mantissa may have one `.` as its decimal point and no commas.
fn scientific(negative: bool, mantissa: &str, exponent: i64) -> Option<Decimal> {
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let len = i64::try_from(digits.len()).ok()?;
    let point = i64::try_from(int.len()).ok()? + exponent;
    let number = if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).ok()?);
        Decimal::new(negative, "", &format!("{zeros}{digits}"))
    } else if point >= len {
        let zeros = "0".repeat(usize::try_from(point - len).ok()?);
        Decimal::new(negative, &format!("{digits}{zeros}"), "")
    } else {
        let (i, f) = digits.split_at(usize::try_from(point).ok()?);
        Decimal::new(negative, i, f)
    };
    Some(number)
}

/// Decides which of `.` and `,` is the decimal separator and which groups thousands, and
/// returns (integer digits, fraction digits).
fn split_separators(body: &str, decimal_comma: bool) -> Option<(String, &str)> {
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') {
        return None;
    }
    let dots = body.matches('.').count();
    let commas = body.matches(',').count();
    let file_decimal = if decimal_comma { ',' } else { '.' };
    let (thousands, decimal) = match (dots, commas) {
        (0, 0) => (None, None),
        (1.., 1..) => {
            // Both occur: the last one is the decimal separator.
            let last = body.rfind(['.', ','])?;
            if body[last..].starts_with('.') {
                (Some(','), Some('.'))
            } else {
                (Some('.'), Some(','))
            }
        }
        (count, 0) | (0, count) => {
            let sep = if dots > 0 { '.' } else { ',' };
            if count > 1 {
                (Some(sep), None)
            } else if sep == file_decimal {
                (None, Some(sep))
            } else {
                let (before, after) = body.split_once(sep)?;
                if after.len() == 3 && is_leading_group(before) {
                    (Some(sep), None)
                } else {
                    (None, Some(sep))
                }
            }
        }
    };
    let (int, frac) = match decimal {
        Some(d) => {
            if body.matches(d).count() != 1 {
                return None;
            }
            body.split_once(d)?
        }
        None => (body, ""),
    };
    if !all_digits(frac) {
        return None;
    }
    let int = match thousands {
        Some(t) if int.contains(t) => ungroup(int, t)?,
        _ => int.to_owned(),
    };
    if !all_digits(&int) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    Some((int, frac))
}

/// The first group of a thousands-grouped number: 1 to 3 digits, not starting with 0.
fn is_leading_group(s: &str) -> bool {
    (1..=3).contains(&s.len()) && all_digits(s) && !s.starts_with('0')
}

/// "1.234.567" -> "1234567", checking that the groups really are thousands.
fn ungroup(int: &str, sep: char) -> Option<String> {
    let mut groups = int.split(sep);
    let first = groups.next()?;
    if !is_leading_group(first) {
        return None;
    }
    let mut out = first.to_owned();
    for group in groups {
        if group.len() != 3 || !all_digits(group) {
            return None;
        }
        out.push_str(group);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical text of a value in a column with room for 18 integer digits, any scale.
    fn dec(raw: &str, decimal_comma: bool) -> Result<Option<String>, ValueError> {
        parse_decimal(raw, decimal_comma, 18, None).map(|cell| cell.map(|c| c.value.into_text()))
    }

    fn ok(raw: &str, decimal_comma: bool) -> String {
        match dec(raw, decimal_comma) {
            Ok(Some(v)) => v,
            other => panic!("{raw:?} (decimal_comma={decimal_comma}) gave {other:?}"),
        }
    }

    fn assert_not_a_number(raw: &str) {
        assert!(
            matches!(dec(raw, false), Err(ValueError::NotANumber(_))),
            "{raw:?} gave {:?}",
            dec(raw, false)
        );
    }

    fn mark(raw: &str, decimal_comma: bool) -> Option<UnitMark> {
        match parse_decimal(raw, decimal_comma, 18, None) {
            Ok(Some(cell)) => cell.mark,
            other => panic!("{raw:?} gave {other:?}"),
        }
    }

    #[test]
    fn plain_numbers_are_canonical() {
        assert_eq!(ok("0", false), "0");
        assert_eq!(ok("000", false), "0");
        assert_eq!(ok("42", false), "42");
        assert_eq!(ok("0042", false), "42");
        assert_eq!(ok("1.50", false), "1.5");
        assert_eq!(ok("1.000", true), "1000");
        assert_eq!(ok("3.0", false), "3");
        assert_eq!(ok(".5", false), "0.5");
        assert_eq!(ok("5.", false), "5");
        assert_eq!(ok("  7  ", false), "7");
        assert_eq!(mark("42", false), None);
    }

    #[test]
    fn digits_are_kept_as_written_never_rounded() {
        for (raw, decimal_comma, expected) in [
            ("2,3456", true, "2.3456"),
            ("2.3456", false, "2.3456"),
            ("0,000123", true, "0.000123"),
            ("1.005", false, "1.005"),
            ("-1.005", false, "-1.005"),
            ("9.995", false, "9.995"),
            ("0.125", false, "0.125"),
            ("3,14159", false, "3.14159"),
            ("12,3456789", true, "12.3456789"),
            ("1.234.567,891", true, "1234567.891"),
            ("123456789012345678.5", false, "123456789012345678.5"),
            ("-0,001", true, "-0.001"),
            // Trailing zeros of the fraction carry no value.
            ("1,2500", true, "1.25"),
            (
                "0,123456789012345678901234567890",
                true,
                "0.12345678901234567890123456789",
            ),
        ] {
            assert_eq!(ok(raw, decimal_comma), expected, "{raw:?}");
        }
    }

    #[test]
    fn signs_and_accounting_parentheses() {
        assert_eq!(ok("-1.5", false), "-1.5");
        assert_eq!(ok("+1.5", false), "1.5");
        assert_eq!(ok("\u{2212}2", false), "-2");
        assert_eq!(ok("(1.234,50)", true), "-1234.5");
        assert_eq!(ok("(1,234.50)", false), "-1234.5");
        assert_eq!(ok("-0", false), "0");
        assert_eq!(ok("-0.00", false), "0");
        assert_eq!(ok("(0)", false), "0", "no negative zero");
        assert!(matches!(dec("(-5)", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("--5", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("5-", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("(5", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn currency_marks_are_stripped_and_reported() {
        let cases = [
            ("$1,234.50", false, "1234.5", UnitMark::Dollar),
            ("1.234,50 €", true, "1234.5", UnitMark::Euro),
            ("€1.234,56", true, "1234.56", UnitMark::Euro),
            ("€ 12", false, "12", UnitMark::Euro),
            ("£3", false, "3", UnitMark::Pound),
            ("¥1000", false, "1000", UnitMark::Yen),
            ("USD 1,000,000", false, "1000000", UnitMark::UsDollar),
            ("1000000 usd", false, "1000000", UnitMark::UsDollar),
            ("EUR 5,5", true, "5.5", UnitMark::Euro),
            ("EUR 1.234,56", true, "1234.56", UnitMark::Euro),
            ("1.234,56 EUR", true, "1234.56", UnitMark::Euro),
            ("1.234,56EUR", true, "1234.56", UnitMark::Euro),
            ("eur 5", false, "5", UnitMark::Euro),
            ("5 GBP", false, "5", UnitMark::Pound),
            ("US$ 2.5", false, "2.5", UnitMark::UsDollar),
            ("2.5 US$", false, "2.5", UnitMark::UsDollar),
            ("-$1,234", false, "-1234", UnitMark::Dollar),
            ("$-1,234", false, "-1234", UnitMark::Dollar),
            ("$(1,234)", false, "-1234", UnitMark::Dollar),
            ("(€1.234)", true, "-1234", UnitMark::Euro),
            ("-1.234,56 €", true, "-1234.56", UnitMark::Euro),
            ("EUR1e3", false, "1000", UnitMark::Euro),
        ];
        for (raw, comma, value, expected) in cases {
            assert_eq!(ok(raw, comma), value, "{raw:?}");
            assert_eq!(mark(raw, comma), Some(expected), "{raw:?}");
        }
        assert_eq!(ok("1 234 567,89", true), "1234567.89");
        assert_eq!(ok("1\u{a0}234\u{a0}567,89", true), "1234567.89");
        assert_eq!(ok("1\u{202f}234", false), "1234");
        assert!(matches!(dec("$", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("EUR", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("5 CHF", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn percentages_keep_the_points_as_written_and_the_mark() {
        for (raw, comma, value) in [
            ("42,5%", true, "42.5"),
            ("12,5 %", false, "12.5"),
            ("12,50 %", true, "12.5"),
            ("-3%", false, "-3"),
            ("0.5%", false, "0.5"),
            ("(2,5%)", true, "-2.5"),
            ("(2,5)%", true, "-2.5"),
            ("0,0123%", true, "0.0123"),
        ] {
            assert_eq!(ok(raw, comma), value, "{raw:?}");
            assert_eq!(mark(raw, comma), Some(UnitMark::Percent), "{raw:?}");
        }
        assert!(matches!(dec("%", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("5%%", false), Err(ValueError::NotANumber(_))));
        assert!(
            matches!(dec("%5", false), Err(ValueError::NotANumber(_))),
            "% only after the number"
        );
    }

    #[test]
    fn a_number_carries_at_most_one_mark() {
        for raw in ["€5%", "5%€", "$5 EUR", "EUR 5 USD", "€5€", "5 € €", "US$5$", "£ 5 %"] {
            assert_not_a_number(raw);
        }
    }

    #[test]
    fn with_both_separators_the_last_is_the_decimal() {
        for comma in [false, true] {
            assert_eq!(ok("1.234.567,89", comma), "1234567.89");
            assert_eq!(ok("1,234,567.89", comma), "1234567.89");
            assert_eq!(ok("1.234,5", comma), "1234.5");
            assert_eq!(ok("1,234.5", comma), "1234.5");
        }
        assert!(matches!(dec("1.2.3,4,5", true), Err(ValueError::NotANumber(_))));
        assert!(
            matches!(dec("1,23.4", false), Err(ValueError::NotANumber(_))),
            "bad grouping"
        );
        assert!(
            matches!(dec("1.5,234", true), Err(ValueError::NotANumber(_))),
            "bad grouping"
        );
        assert!(matches!(dec("1,234.5,6", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn a_repeated_single_separator_groups_thousands() {
        for comma in [false, true] {
            assert_eq!(ok("1.234.567", comma), "1234567");
            assert_eq!(ok("1,234,567", comma), "1234567");
        }
        assert!(matches!(dec("1.23.456", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("1234.567.890", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn a_single_separator_once_follows_the_file_then_the_three_digit_rule() {
        // The file's own decimal separator is always a decimal.
        assert_eq!(ok("1,234", true), "1.234");
        assert_eq!(ok("1.234", false), "1.234");
        assert_eq!(ok("3,5", true), "3.5");
        // The other separator: three digits after it means thousands ...
        assert_eq!(ok("1,234", false), "1234");
        assert_eq!(ok("1.234", true), "1234");
        assert_eq!(ok("123,456", false), "123456");
        // ... otherwise it is a decimal.
        assert_eq!(ok("3,5", false), "3.5");
        assert_eq!(ok("3.5", true), "3.5");
        assert_eq!(ok("3,14159", false), "3.14159");
        assert_eq!(ok("0,125", false), "0.125");
        assert_eq!(ok("1234,567", false), "1234.567");
        assert_eq!(ok(",5", false), "0.5");
        assert!(matches!(dec(",", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec(".", true), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn scientific_notation_shifts_digits() {
        assert_eq!(ok("1.5e3", false), "1500");
        assert_eq!(ok("1.5E+3", true), "1500");
        assert_eq!(ok("2e0", false), "2");
        assert_eq!(ok("-2.5e-3", false), "-0.0025");
        assert_eq!(ok("1.23456e2", false), "123.456");
        assert_eq!(ok("12345e-2", false), "123.45");
        assert_eq!(ok("1e-5", false), "0.00001");
        assert_eq!(ok("5e-5", false), "0.00005");
        assert_eq!(ok(".5e1", false), "5");
        assert!(
            matches!(dec("1,5e3", true), Err(ValueError::NotANumber(_))),
            "no commas with exponents"
        );
        assert!(matches!(dec("1e", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("e5", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("1e5e5", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("1.2.3e4", false), Err(ValueError::NotANumber(_))));
        assert_eq!(dec("1e2000", false), Err(ValueError::OutOfRange("1e2000".into())));
        assert!(matches!(
            dec("1e-99999999999999999999999", false),
            Err(ValueError::OutOfRange(_))
        ));
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for raw in [
            "abc",
            "12-3",
            "1.2.3,4,5",
            "12abc",
            "1/2",
            "0x10",
            "1_000",
            "--",
            "+-1",
            "1..2",
            "inf",
            "5k",
        ] {
            assert_not_a_number(raw);
        }
        assert_eq!(dec(" abc ", false).unwrap_err().to_string(), "`abc` is not a number");
    }

    #[test]
    fn empty_markers_are_null() {
        for raw in ["", "  ", "-", "n/a", "#N/A", "NaN", "null", "—"] {
            assert_eq!(dec(raw, false), Ok(None), "{raw:?}");
            assert_eq!(parse_integer(raw, true), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn integer_digits_are_bounded() {
        assert_eq!(
            parse_decimal("1e40", false, 18, None),
            Err(ValueError::TooManyDigits {
                raw: "1e40".into(),
                max: 18
            })
        );
        assert_eq!(
            parse_decimal(" 1e40 ", false, 18, None).unwrap_err().to_string(),
            "`1e40` has too many digits before the decimal point (at most 18)"
        );
        assert_eq!(ok("999999999999999999.999", false), "999999999999999999.999");
        assert!(matches!(
            dec("1000000000000000000", false),
            Err(ValueError::TooManyDigits { max: 18, .. })
        ));
        assert!(matches!(
            dec("-1000000000000000000", false),
            Err(ValueError::TooManyDigits { .. })
        ));
        assert!(matches!(
            parse_decimal("12", false, 1, Some(4)),
            Err(ValueError::TooManyDigits { max: 1, .. })
        ));
        assert!(
            parse_decimal("0000.5", false, 1, Some(4)).is_ok(),
            "leading zeros do not count"
        );
        assert!(parse_decimal("0.5", false, 0, Some(4)).is_ok());
        assert!(parse_decimal("1", false, 0, Some(4)).is_err());
    }

    #[test]
    fn a_fixed_scale_rejects_more_decimals_instead_of_rounding() {
        let score = |raw| parse_decimal(raw, false, 1, Some(4)).map(|c| c.map(|c| c.value.into_text()));
        assert_eq!(score("0.8765"), Ok(Some("0.8765".into())));
        assert_eq!(
            score("0.87650"),
            Ok(Some("0.8765".into())),
            "trailing zeros are not digits"
        );
        assert_eq!(score("9.9999"), Ok(Some("9.9999".into())));
        assert_eq!(
            score("0.87654"),
            Err(ValueError::TooManyDecimals {
                raw: "0.87654".into(),
                max: 4
            })
        );
        assert_eq!(
            score("0.87654").unwrap_err().to_string(),
            "`0.87654` has too many decimals (at most 4; values are never rounded)"
        );
        assert!(matches!(score("9.99995"), Err(ValueError::TooManyDecimals { .. })));
        assert!(matches!(score("1e-5"), Err(ValueError::TooManyDecimals { .. })));
    }

    #[test]
    fn decimals_print_as_postgres_reads_them() {
        assert_eq!(Decimal::new(true, "0012", "500").into_text(), "-12.5");
        assert_eq!(Decimal::new(true, "000", "000").into_text(), "0");
        assert_eq!(Decimal::new(false, "", "05").into_text(), "0.05");
        assert_eq!(Decimal::new(false, "7", "").into_text(), "7");
        assert_eq!(Decimal::new(true, "7", "").into_text(), "-7");
        assert_eq!(Decimal::new(false, "", "").into_text(), "0");
        assert_eq!(
            Decimal::new(true, "1", "25").to_string(),
            "-1.25",
            "Display is the same text"
        );
        let d = Decimal::new(false, "0123", "4560");
        assert_eq!((d.integer_digits(), d.fraction_digits()), (3, 3));
    }

    #[test]
    fn integers_use_the_same_syntax() {
        assert_eq!(parse_integer("1.200", true), Ok(Some(1200)));
        assert_eq!(parse_integer("1,200", false), Ok(Some(1200)));
        assert_eq!(parse_integer("1.234.567", false), Ok(Some(1_234_567)));
        assert_eq!(parse_integer(" 42 ", false), Ok(Some(42)));
        assert_eq!(parse_integer("-7", false), Ok(Some(-7)));
        assert_eq!(parse_integer("(7)", false), Ok(Some(-7)));
        assert_eq!(parse_integer("12.0", false), Ok(Some(12)));
        assert_eq!(parse_integer("12,00", true), Ok(Some(12)));
        assert_eq!(parse_integer("1.5e3", false), Ok(Some(1500)));
        assert_eq!(parse_integer("0", false), Ok(Some(0)));
        assert_eq!(parse_integer("-0", false), Ok(Some(0)));
        assert_eq!(parse_integer("$1,000", false), Ok(Some(1000)));
    }

    #[test]
    fn integers_must_be_whole() {
        assert_eq!(
            parse_integer("12.5", false),
            Err(ValueError::NotAWholeNumber("12.5".into()))
        );
        assert_eq!(
            parse_integer("12,5", true),
            Err(ValueError::NotAWholeNumber("12,5".into()))
        );
        assert_eq!(
            parse_integer("1.5e-1", false),
            Err(ValueError::NotAWholeNumber("1.5e-1".into()))
        );
        assert_eq!(
            parse_integer("12.5", false).unwrap_err().to_string(),
            "`12.5` is not a whole number"
        );
        assert!(matches!(parse_integer("abc", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn integers_must_fit_i32() {
        assert_eq!(parse_integer("2147483647", false), Ok(Some(i32::MAX)));
        assert_eq!(parse_integer("-2147483648", false), Ok(Some(i32::MIN)));
        assert_eq!(
            parse_integer("2147483648", false),
            Err(ValueError::IntegerOverflow("2147483648".into()))
        );
        assert!(matches!(
            parse_integer("-2147483649", false),
            Err(ValueError::IntegerOverflow(_))
        ));
        assert!(matches!(
            parse_integer("99999999999999999999999", false),
            Err(ValueError::IntegerOverflow(_))
        ));
        assert!(matches!(
            parse_integer("1e12", false),
            Err(ValueError::IntegerOverflow(_))
        ));
        assert_eq!(
            parse_integer("00000000000042", false),
            Ok(Some(42)),
            "leading zeros do not count"
        );
    }
}
