//! Numbers as people type them in Spanish and English spreadsheets, kept exact: digits are
//! handled as text, never as `f64`.

use super::{is_empty_marker, ValueError};

/// Currency marks stripped from either end; `US$` before `$` so it goes whole.
const CURRENCIES: [&str; 8] = ["US$", "USD", "EUR", "GBP", "$", "€", "£", "¥"];

/// Exponents beyond this are a typo, not a value any column can hold.
const MAX_EXPONENT: i64 = 1000;

/// An exact number: `int` has no leading zeros and `frac` no trailing zeros (zero is "" / "").
#[derive(Debug, PartialEq, Eq)]
struct Number {
    negative: bool,
    int: String,
    frac: String,
}

impl Number {
    fn new(negative: bool, int: &str, frac: &str) -> Self {
        Self {
            negative,
            int: int.trim_start_matches('0').to_owned(),
            frac: frac.trim_end_matches('0').to_owned(),
        }
    }
}

/// Parses a decimal to the canonical text PostgreSQL `NUMERIC(precision, scale)` accepts,
/// rounding half away from zero to `scale` digits. Empty markers are `None`.
///
/// Accepts currency marks ($ € £ ¥ USD EUR GBP US$), spaces, a sign or accounting parentheses,
/// a trailing `%` (the points are kept: `12,5%` -> `12.5`) and `1.5e3` (without commas).
/// Separators: with both `.` and `,` the last is the decimal; one kind repeated groups
/// thousands; one occurring once is the decimal if it is the file's (`decimal_comma`), else
/// thousands when followed by exactly three digits (`1,234` -> `1234`), else the decimal.
pub fn parse_decimal(raw: &str, decimal_comma: bool, precision: u8, scale: u8) -> Result<Option<String>, ValueError> {
    let Some(number) = parse_number(raw, decimal_comma)? else {
        return Ok(None);
    };
    let (int, frac) = round_fraction(&number.int, &number.frac, usize::from(scale));
    let (int, frac) = (int.trim_start_matches('0'), frac.trim_end_matches('0'));
    if int.len() > usize::from(precision.saturating_sub(scale)) {
        return Err(ValueError::DoesNotFit {
            raw: raw.trim().to_owned(),
            precision,
            scale,
        });
    }
    let mut out = String::with_capacity(int.len() + frac.len() + 3);
    if number.negative && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(Some(out))
}

/// Parses a whole number that fits PostgreSQL `integer`; same syntax as [`parse_decimal`].
pub fn parse_integer(raw: &str, decimal_comma: bool) -> Result<Option<i32>, ValueError> {
    let Some(number) = parse_number(raw, decimal_comma)? else {
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

fn parse_number(raw: &str, decimal_comma: bool) -> Result<Option<Number>, ValueError> {
    let trimmed = raw.trim();
    if is_empty_marker(trimmed) {
        return Ok(None);
    }
    let not_a_number = || ValueError::NotANumber(trimmed.to_owned());
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let (negative, body) = strip_decorations(&compact).ok_or_else(not_a_number)?;
    let number = match body.find(['e', 'E']) {
        Some(pos) => {
            let exponent = parse_exponent(&body[pos + 1..]).ok_or_else(not_a_number)?;
            if exponent.abs() > MAX_EXPONENT {
                return Err(ValueError::OutOfRange(trimmed.to_owned()));
            }
            scientific(negative, &body[..pos], exponent).ok_or_else(not_a_number)?
        }
        None => {
            let (int, frac) = split_separators(body, decimal_comma).ok_or_else(not_a_number)?;
            Number::new(negative, &int, frac)
        }
    };
    Ok(Some(number))
}

/// Strips currency marks, one sign, one `%` and one pair of accounting parentheses, in any
/// order. Returns (negative, the bare number), or `None` for a sign inside parentheses.
fn strip_decorations(compact: &str) -> Option<(bool, &str)> {
    let mut s = compact;
    let mut minus: Option<bool> = None;
    let mut parens = false;
    let mut percent = false;
    loop {
        let before = s.len();
        s = strip_currency(s);
        if !percent {
            if let Some(rest) = s.strip_suffix('%') {
                (s, percent) = (rest, true);
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
    Some((parens || minus == Some(true), s))
}

fn strip_currency(s: &str) -> &str {
    for code in CURRENCIES {
        if let Some(rest) = s.get(..code.len()).filter(|head| head.eq_ignore_ascii_case(code)) {
            return &s[rest.len()..];
        }
        let tail_start = s.len().saturating_sub(code.len());
        if s.len() >= code.len() && s.get(tail_start..).is_some_and(|tail| tail.eq_ignore_ascii_case(code)) {
            return &s[..tail_start];
        }
    }
    s
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
fn scientific(negative: bool, mantissa: &str, exponent: i64) -> Option<Number> {
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let len = i64::try_from(digits.len()).ok()?;
    let point = i64::try_from(int.len()).ok()? + exponent;
    let number = if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).ok()?);
        Number::new(negative, "", &format!("{zeros}{digits}"))
    } else if point >= len {
        let zeros = "0".repeat(usize::try_from(point - len).ok()?);
        Number::new(negative, &format!("{digits}{zeros}"), "")
    } else {
        let (i, f) = digits.split_at(usize::try_from(point).ok()?);
        Number::new(negative, i, f)
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

/// Rounds `int.frac` half away from zero to `scale` fraction digits (on the magnitude, so
/// rounding up moves away from zero for negatives too).
fn round_fraction(int: &str, frac: &str, scale: usize) -> (String, String) {
    if frac.len() <= scale {
        return (int.to_owned(), frac.to_owned());
    }
    let round_up = frac.as_bytes()[scale] >= b'5';
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes().take(scale)).collect();
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let text: String = digits.iter().map(|&b| char::from(b)).collect();
    let (i, f) = text.split_at(text.len() - scale);
    (i.to_owned(), f.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(raw: &str, decimal_comma: bool) -> Result<Option<String>, ValueError> {
        parse_decimal(raw, decimal_comma, 20, 4)
    }

    fn ok(raw: &str, decimal_comma: bool) -> String {
        match dec(raw, decimal_comma) {
            Ok(Some(v)) => v,
            other => panic!("{raw:?} (decimal_comma={decimal_comma}) gave {other:?}"),
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
        assert!(matches!(dec("(-5)", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("--5", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("5-", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("(5", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn currency_marks_and_spaces_are_stripped() {
        assert_eq!(ok("$1,234.50", false), "1234.5");
        assert_eq!(ok("1.234,50 €", true), "1234.5");
        assert_eq!(ok("€ 12", false), "12");
        assert_eq!(ok("£3", false), "3");
        assert_eq!(ok("¥1000", false), "1000");
        assert_eq!(ok("USD 1,000,000", false), "1000000");
        assert_eq!(ok("1000000 usd", false), "1000000");
        assert_eq!(ok("EUR 5,5", true), "5.5");
        assert_eq!(ok("5 GBP", false), "5");
        assert_eq!(ok("US$ 2.5", false), "2.5");
        assert_eq!(ok("-$1,234", false), "-1234");
        assert_eq!(ok("$-1,234", false), "-1234");
        assert_eq!(ok("$(1,234)", false), "-1234");
        assert_eq!(ok("(€1.234)", true), "-1234");
        assert_eq!(ok("1 234 567,89", true), "1234567.89");
        assert_eq!(ok("1\u{a0}234\u{a0}567,89", true), "1234567.89");
        assert_eq!(ok("1\u{202f}234", false), "1234");
        assert!(matches!(dec("$", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("5 CHF", false), Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn percentages_keep_the_points_as_written() {
        assert_eq!(ok("12,5%", true), "12.5");
        assert_eq!(ok("12,5 %", false), "12.5");
        assert_eq!(ok("-3%", false), "-3");
        assert_eq!(ok("0.5%", false), "0.5");
        assert!(matches!(dec("%", false), Err(ValueError::NotANumber(_))));
        assert!(matches!(dec("5%%", false), Err(ValueError::NotANumber(_))));
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
        assert_eq!(ok("3,14159", false), "3.1416");
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
        assert_eq!(ok("1e-5", false), "0", "rounds to scale 4");
        assert_eq!(ok("5e-5", false), "0.0001", "rounds half away from zero");
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
            assert!(
                matches!(dec(raw, false), Err(ValueError::NotANumber(_))),
                "{raw:?} gave {:?}",
                dec(raw, false)
            );
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
    fn rounding_is_half_away_from_zero() {
        let d = |raw| parse_decimal(raw, false, 15, 2);
        assert_eq!(d("1.005"), Ok(Some("1.01".into())));
        assert_eq!(d("1.004999"), Ok(Some("1".into())));
        assert_eq!(d("-1.005"), Ok(Some("-1.01".into())));
        assert_eq!(d("-1.004"), Ok(Some("-1".into())));
        assert_eq!(d("9.995"), Ok(Some("10".into())));
        assert_eq!(d("99.999"), Ok(Some("100".into())));
        assert_eq!(d("0.001"), Ok(Some("0".into())));
        assert_eq!(d("-0.001"), Ok(Some("0".into())), "no negative zero");
        assert_eq!(d("0.125"), Ok(Some("0.13".into())));
        assert_eq!(parse_decimal("2.5", false, 5, 0), Ok(Some("3".into())));
        assert_eq!(parse_decimal("-2.5", false, 5, 0), Ok(Some("-3".into())));
    }

    #[test]
    fn precision_is_enforced_on_the_integer_part() {
        assert_eq!(
            parse_decimal("1e40", false, 20, 2),
            Err(ValueError::DoesNotFit {
                raw: "1e40".into(),
                precision: 20,
                scale: 2
            })
        );
        assert_eq!(
            parse_decimal("1e40", false, 20, 2).unwrap_err().to_string(),
            "1e40 does not fit NUMERIC(20,2)"
        );
        assert_eq!(
            parse_decimal("9999999999999.99", false, 15, 2),
            Ok(Some("9999999999999.99".into()))
        );
        assert!(matches!(
            parse_decimal("10000000000000", false, 15, 2),
            Err(ValueError::DoesNotFit { .. })
        ));
        assert!(matches!(
            parse_decimal("-10000000000000", false, 15, 2),
            Err(ValueError::DoesNotFit { .. })
        ));
        // NUMERIC(5,4): one integer digit, and rounding can push a value over.
        assert_eq!(parse_decimal("0.87654", false, 5, 4), Ok(Some("0.8765".into())));
        assert_eq!(parse_decimal("9.99994", false, 5, 4), Ok(Some("9.9999".into())));
        assert!(matches!(
            parse_decimal("9.99995", false, 5, 4),
            Err(ValueError::DoesNotFit { .. })
        ));
        assert!(matches!(
            parse_decimal("12", false, 5, 4),
            Err(ValueError::DoesNotFit { .. })
        ));
        assert_eq!(
            parse_decimal("0000.5", false, 5, 4),
            Ok(Some("0.5".into())),
            "leading zeros do not count"
        );
        assert_eq!(parse_decimal("0.5", false, 4, 4), Ok(Some("0.5".into())));
        assert!(matches!(
            parse_decimal("1", false, 4, 4),
            Err(ValueError::DoesNotFit { .. })
        ));
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

    #[test]
    fn round_fraction_carries() {
        assert_eq!(round_fraction("9", "99", 1), ("10".to_owned(), "0".to_owned()));
        assert_eq!(round_fraction("", "95", 1), ("1".to_owned(), "0".to_owned()));
        assert_eq!(round_fraction("1", "2", 4), ("1".to_owned(), "2".to_owned()));
        assert_eq!(round_fraction("12", "345", 0), ("12".to_owned(), String::new()));
    }
}
