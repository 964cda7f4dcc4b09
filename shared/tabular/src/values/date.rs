//! Dates as people type them: ISO, day-first or month-first numbers, Spanish and English
//! month names, month-only periods.

use super::{is_empty_marker, ValueError};
use crate::fold::fold;
use chrono::NaiveDate;
use std::str::FromStr;

/// How to read an all-numeric date such as `03/04/2024`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DateOrder {
    /// `dd/mm/yyyy`, as in Spain and most of Europe.
    #[default]
    DayFirst,
    /// `mm/dd/yyyy`, as in US exports.
    MonthFirst,
}

/// A date order that is neither `dmy` nor `mdy`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("date order `{0}` is not `dmy` or `mdy`")]
pub struct InvalidDateOrder(pub String);

impl DateOrder {
    /// `dmy` or `mdy`, case-insensitive.
    pub fn parse(raw: &str) -> Result<Self, InvalidDateOrder> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "dmy" => Ok(Self::DayFirst),
            "mdy" => Ok(Self::MonthFirst),
            _ => Err(InvalidDateOrder(raw.trim().to_owned())),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DayFirst => "dmy",
            Self::MonthFirst => "mdy",
        }
    }
}

impl FromStr for DateOrder {
    type Err = InvalidDateOrder;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Parses a date; empty markers are `None`. A time after the date is checked for shape and
/// dropped (the date is taken as written, whatever the zone). Month-only values such as
/// `marzo 2024` or `2024-03` mean the first day of the month. Years must be 1900..=2100;
/// two-digit years below 70 are 20yy, others 19yy.
pub fn parse_date(raw: &str, order: DateOrder) -> Result<Option<NaiveDate>, ValueError> {
    let trimmed = raw.trim();
    if is_empty_marker(trimmed) {
        return Ok(None);
    }
    let not_a_date = || ValueError::NotADate(trimmed.to_owned());
    let date_part = strip_time(trimmed).ok_or_else(not_a_date)?;
    let tokens = tokenize(date_part).ok_or_else(not_a_date)?;
    let (year, month, day) = interpret(&tokens, order).ok_or_else(not_a_date)?;
    if !(1900..=2100).contains(&year) {
        return Err(ValueError::YearOutOfRange {
            raw: trimmed.to_owned(),
            year,
        });
    }
    let year = i32::try_from(year).map_err(|_| not_a_date())?;
    NaiveDate::from_ymd_opt(year, month, day)
        .map(Some)
        .ok_or_else(|| ValueError::NotACalendarDate(trimmed.to_owned()))
}

/// Removes a trailing time (`T00:00:00Z`, ` 14:30`, ` 9:05 PM`); `None` if it is malformed.
fn strip_time(s: &str) -> Option<&str> {
    let Some(colon) = s.find(':') else {
        return Some(s);
    };
    let hour_start = s[..colon].trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if hour_start == colon || !is_time(&s[hour_start..]) {
        return None;
    }
    let date = &s[..hour_start];
    if let Some(d) = date.strip_suffix(['T', 't']) {
        Some(d)
    } else if date.ends_with(char::is_whitespace) {
        Some(date.trim_end())
    } else {
        None
    }
}

/// `h:mm`, `hh:mm:ss`, `hh:mm:ss.fff`, then optionally `Z`, `UTC`, `am`/`pm` or `±hh[:mm]`.
fn is_time(t: &str) -> bool {
    let clock_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(t.len());
    let (clock, zone) = t.split_at(clock_end);
    let digits = |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = clock.split(':').collect();
    let clock_ok = match parts.as_slice() {
        [h, m] => digits(h, &[1, 2]) && digits(m, &[2]),
        [h, m, s] => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
            digits(h, &[1, 2])
                && digits(m, &[2])
                && digits(whole, &[2])
                && !frac.is_empty()
                && digits(frac, &[frac.len()])
        }
        _ => false,
    };
    let zone = zone.trim().to_ascii_lowercase();
    let zone_ok = match zone.as_str() {
        "" | "z" | "utc" | "am" | "pm" | "a.m." | "p.m." => true,
        _ => zone
            .strip_prefix(['+', '-'])
            .map(|offset| offset.replace(':', ""))
            .is_some_and(|offset| digits(&offset, &[2, 4])),
    };
    clock_ok && zone_ok
}

#[derive(Debug)]
struct Token {
    text: String,
    numeric: bool,
    /// Directly after the previous token, with no separator (the "th" of "15th").
    attached: bool,
}

const FILLERS: [&str; 4] = ["de", "del", "of", "the"];
const ORDINAL_SUFFIXES: [&str; 6] = ["st", "nd", "rd", "th", "o", "er"];
/// Only dropped as the first token: "mar" is also March (and martes).
const WEEKDAYS: [&str; 24] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
];

/// Splits into runs of digits and of letters (folded), dropping fillers such as "de", ordinal
/// suffixes and a leading weekday. `None` for characters no date contains.
fn tokenize(s: &str) -> Option<Vec<Token>> {
    let mut raw: Vec<Token> = Vec::new();
    let mut separated = true;
    for c in fold(s).chars() {
        if c.is_whitespace() || matches!(c, '/' | '-' | '.' | ',') {
            separated = true;
            continue;
        }
        let numeric = c.is_ascii_digit();
        if !numeric && !c.is_alphabetic() {
            return None;
        }
        match raw.last_mut() {
            Some(last) if !separated && last.numeric == numeric => last.text.push(c),
            _ => raw.push(Token {
                text: c.to_string(),
                numeric,
                attached: !separated,
            }),
        }
        separated = false;
    }
    let mut tokens: Vec<Token> = Vec::with_capacity(raw.len());
    for (i, token) in raw.into_iter().enumerate() {
        if !token.numeric {
            let word = token.text.as_str();
            let after_number = tokens.last().is_some_and(|t| t.numeric);
            if FILLERS.contains(&word)
                || (token.attached && after_number && ORDINAL_SUFFIXES.contains(&word))
                || (i == 0 && WEEKDAYS.contains(&word))
            {
                continue;
            }
        }
        tokens.push(token);
    }
    Some(tokens)
}

fn month_number(word: &str) -> Option<u32> {
    Some(match word {
        "january" | "jan" | "enero" | "ene" => 1,
        "february" | "feb" | "febrero" => 2,
        "march" | "mar" | "marzo" => 3,
        "april" | "apr" | "abril" | "abr" => 4,
        "may" | "mayo" => 5,
        "june" | "jun" | "junio" => 6,
        "july" | "jul" | "julio" => 7,
        "august" | "aug" | "agosto" | "ago" => 8,
        "september" | "sep" | "sept" | "septiembre" | "setiembre" | "set" => 9,
        "october" | "oct" | "octubre" => 10,
        "november" | "nov" | "noviembre" => 11,
        "december" | "dec" | "diciembre" | "dic" => 12,
        _ => return None,
    })
}

/// A number of 1-2 digits (day or month).
fn small(t: &Token) -> Option<u32> {
    if t.numeric && (1..=2).contains(&t.text.len()) {
        t.text.parse().ok()
    } else {
        None
    }
}

fn long_year(t: &Token) -> Option<u32> {
    if t.numeric && t.text.len() == 4 {
        t.text.parse().ok()
    } else {
        None
    }
}

/// A 4-digit year, or a 2-digit one: below 70 is 20yy, else 19yy.
fn year(t: &Token) -> Option<u32> {
    if t.numeric && t.text.len() == 2 {
        let yy: u32 = t.text.parse().ok()?;
        return Some(if yy < 70 { 2000 + yy } else { 1900 + yy });
    }
    long_year(t)
}

fn month_word(t: &Token) -> Option<u32> {
    if t.numeric {
        None
    } else {
        month_number(&t.text)
    }
}

/// (year, month, day) from the tokens, without checking that they form a calendar date.
fn interpret(tokens: &[Token], order: DateOrder) -> Option<(u32, u32, u32)> {
    let numeric = tokens.iter().all(|t| t.numeric);
    match tokens {
        // yyyymmdd
        [t] if numeric && t.text.len() == 8 => {
            let part = |range: std::ops::Range<usize>| t.text.get(range).and_then(|p| p.parse().ok());
            Some((part(0..4)?, part(4..6)?, part(6..8)?))
        }
        [a, b] if numeric => match (long_year(a), long_year(b)) {
            (Some(y), None) => Some((y, small(b)?, 1)),
            (None, Some(y)) => Some((y, small(a)?, 1)),
            _ => None,
        },
        [a, b, c] if numeric => match long_year(a) {
            Some(y) => Some((y, small(b)?, small(c)?)),
            None => {
                let (first, second) = (small(a)?, small(b)?);
                match order {
                    DateOrder::DayFirst => Some((year(c)?, second, first)),
                    DateOrder::MonthFirst => Some((year(c)?, first, second)),
                }
            }
        },
        // marzo 2024, mar-24
        [m, y] => Some((year(y)?, month_word(m)?, 1)),
        // 2024-Mar-15
        [y, m, d] if long_year(y).is_some() => Some((long_year(y)?, month_word(m)?, small(d)?)),
        // 15 de marzo de 2024, 15-Mar-24
        [d, m, y] if month_word(m).is_some() => Some((year(y)?, month_word(m)?, small(d)?)),
        // March 15, 2024
        [m, d, y] if month_word(m).is_some() => Some((year(y)?, month_word(m)?, small(d)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn dmy(raw: &str) -> Result<Option<NaiveDate>, ValueError> {
        parse_date(raw, DateOrder::DayFirst)
    }

    fn assert_date(raw: &str, order: DateOrder, expected: NaiveDate) {
        assert_eq!(parse_date(raw, order), Ok(Some(expected)), "{raw:?} ({order:?})");
    }

    #[test]
    fn date_order_parses_dmy_and_mdy_only() {
        assert_eq!(DateOrder::parse("dmy"), Ok(DateOrder::DayFirst));
        assert_eq!(DateOrder::parse(" MDY "), Ok(DateOrder::MonthFirst));
        assert_eq!("Dmy".parse::<DateOrder>(), Ok(DateOrder::DayFirst));
        assert_eq!(DateOrder::parse("ymd"), Err(InvalidDateOrder("ymd".into())));
        assert!(DateOrder::parse("").is_err());
        assert_eq!(DateOrder::default(), DateOrder::DayFirst);
        assert_eq!(DateOrder::MonthFirst.as_str(), "mdy");
    }

    #[test]
    fn iso_dates_with_or_without_time() {
        let d = ymd(2024, 3, 31);
        for order in [DateOrder::DayFirst, DateOrder::MonthFirst] {
            for raw in [
                "2024-03-31",
                " 2024-03-31 ",
                "2024-03-31T00:00:00",
                "2024-03-31 00:00:00",
                "2024-03-31T00:00:00Z",
                "2024-03-31T23:59:59.123",
                "2024-03-31T10:00:00+02:00",
                "2024-03-31T10:00-0500",
                "2024-03-31 10:00",
                "2024/03/31",
                "2024.03.31",
                "2024-3-31",
                "20240331",
            ] {
                assert_date(raw, order, d);
            }
        }
    }

    #[test]
    fn malformed_times_are_rejected() {
        for raw in [
            "2024-03-31T",
            "2024-03-31T0:0",
            "2024-03-31X00:00",
            "2024-03-31 00:00:00 CET",
            "10:00",
            "2024-03-31:",
        ] {
            assert!(
                matches!(dmy(raw), Err(ValueError::NotADate(_))),
                "{raw:?} gave {:?}",
                dmy(raw)
            );
        }
    }

    #[test]
    fn day_first_numeric_dates() {
        let d = ymd(2024, 3, 31);
        for raw in [
            "31/03/2024",
            "31-03-2024",
            "31.03.2024",
            "31/3/2024",
            "31/03/24",
            "31/03/2024 14:30",
            "31/03/2024 9:05 PM",
        ] {
            assert_date(raw, DateOrder::DayFirst, d);
        }
        assert_date("1/2/2024", DateOrder::DayFirst, ymd(2024, 2, 1));
    }

    #[test]
    fn month_first_numeric_dates() {
        let d = ymd(2024, 3, 31);
        for raw in ["3/31/2024", "03/31/2024", "3-31-24", "3.31.2024"] {
            assert_date(raw, DateOrder::MonthFirst, d);
        }
        assert_date("1/2/2024", DateOrder::MonthFirst, ymd(2024, 1, 2));
        assert_date("1/1/2007", DateOrder::MonthFirst, ymd(2007, 1, 1));
        // The order is not guessed: a day-first file with a US date is an error.
        assert_eq!(dmy("3/31/2024"), Err(ValueError::NotACalendarDate("3/31/2024".into())));
    }

    #[test]
    fn two_digit_years_pivot_at_70() {
        assert_date("01/01/00", DateOrder::DayFirst, ymd(2000, 1, 1));
        assert_date("01/01/69", DateOrder::DayFirst, ymd(2069, 1, 1));
        assert_date("01/01/70", DateOrder::DayFirst, ymd(1970, 1, 1));
        assert_date("01/01/99", DateOrder::DayFirst, ymd(1999, 1, 1));
    }

    #[test]
    fn spanish_and_english_month_names() {
        let d = ymd(2024, 3, 15);
        for order in [DateOrder::DayFirst, DateOrder::MonthFirst] {
            for raw in [
                "15 de marzo de 2024",
                "15 de Marzo del 2024",
                "15 marzo 2024",
                "15-mar-2024",
                "15-Mar-24",
                "15 MAR. 2024",
                "March 15, 2024",
                "march 15 2024",
                "Mar. 15, 2024",
                "March 15th, 2024",
                "15th of March 2024",
                "Friday, March 15, 2024",
                "viernes, 15 de marzo de 2024",
                "2024-Mar-15",
                "15/mar/2024",
            ] {
                assert_date(raw, order, d);
            }
        }
    }

    #[test]
    fn every_spanish_abbreviation() {
        let abbreviations = [
            ("ene", 1),
            ("feb", 2),
            ("mar", 3),
            ("abr", 4),
            ("may", 5),
            ("jun", 6),
            ("jul", 7),
            ("ago", 8),
            ("sep", 9),
            ("sept", 9),
            ("set", 9),
            ("oct", 10),
            ("nov", 11),
            ("dic", 12),
        ];
        for (abbr, month) in abbreviations {
            assert_date(&format!("5-{abbr}-2023"), DateOrder::DayFirst, ymd(2023, month, 5));
            assert_date(
                &format!("5 {}. 2023", abbr.to_uppercase()),
                DateOrder::DayFirst,
                ymd(2023, month, 5),
            );
        }
    }

    #[test]
    fn every_full_month_name() {
        let names = [
            ["enero", "january"],
            ["febrero", "february"],
            ["marzo", "march"],
            ["abril", "april"],
            ["mayo", "may"],
            ["junio", "june"],
            ["julio", "july"],
            ["agosto", "august"],
            ["septiembre", "september"],
            ["octubre", "october"],
            ["noviembre", "november"],
            ["diciembre", "december"],
        ];
        for (i, pair) in names.iter().enumerate() {
            let month = u32::try_from(i + 1).unwrap();
            for name in pair {
                assert_date(&format!("1 {name} 2020"), DateOrder::DayFirst, ymd(2020, month, 1));
            }
        }
        assert_date("3 setiembre 2020", DateOrder::DayFirst, ymd(2020, 9, 3));
        assert_date("3 Séptiembre 2020", DateOrder::DayFirst, ymd(2020, 9, 3));
    }

    #[test]
    fn month_level_values_are_the_first_of_the_month() {
        let d = ymd(2024, 3, 1);
        for raw in [
            "marzo 2024",
            "Marzo de 2024",
            "mar-24",
            "Mar 2024",
            "MARCH 2024",
            "2024-03",
            "03/2024",
            "3/2024",
        ] {
            assert_date(raw, DateOrder::DayFirst, d);
            assert_date(raw, DateOrder::MonthFirst, d);
        }
        // A number after a month name is a year, as in "mar-24".
        assert_date("mar 15", DateOrder::DayFirst, ymd(2015, 3, 1));
    }

    #[test]
    fn impossible_dates_name_the_value() {
        assert_eq!(
            dmy("31/02/2024"),
            Err(ValueError::NotACalendarDate("31/02/2024".into()))
        );
        assert_eq!(
            dmy("31/02/2024").unwrap_err().to_string(),
            "31/02/2024 is not a calendar date"
        );
        assert_eq!(
            dmy("01/13/2024"),
            Err(ValueError::NotACalendarDate("01/13/2024".into()))
        );
        assert_eq!(
            dmy("2024-13-01"),
            Err(ValueError::NotACalendarDate("2024-13-01".into()))
        );
        assert_eq!(
            dmy("29/02/2023"),
            Err(ValueError::NotACalendarDate("29/02/2023".into()))
        );
        assert_eq!(dmy("29/02/2024"), Ok(Some(ymd(2024, 2, 29))));
        assert_eq!(dmy("0/1/2024"), Err(ValueError::NotACalendarDate("0/1/2024".into())));
        assert!(matches!(dmy("32 marzo 2024"), Err(ValueError::NotACalendarDate(_))));
    }

    #[test]
    fn years_outside_1900_to_2100_are_rejected() {
        assert_eq!(
            dmy("01/01/1899"),
            Err(ValueError::YearOutOfRange {
                raw: "01/01/1899".into(),
                year: 1899
            })
        );
        assert!(matches!(
            dmy("2101-01-01"),
            Err(ValueError::YearOutOfRange { year: 2101, .. })
        ));
        assert!(matches!(
            dmy("0024-01-01"),
            Err(ValueError::YearOutOfRange { year: 24, .. })
        ));
        assert_eq!(dmy("1900-01-01"), Ok(Some(ymd(1900, 1, 1))));
        assert_eq!(dmy("2100-12-31"), Ok(Some(ymd(2100, 12, 31))));
        assert!(dmy("01/01/1899").unwrap_err().to_string().contains("1899"));
    }

    #[test]
    fn empty_markers_are_null() {
        for raw in ["", " ", "-", "N/A", "nd", "NULL", "#N/A", "—"] {
            assert_eq!(dmy(raw), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn things_that_are_not_dates() {
        for raw in [
            "abc",
            "2024",
            "3.5",
            "15 marzo",
            "15 foo 2024",
            "marzo",
            "1/2",
            "123/4/2024",
            "1/2/202",
            "45382",
            "15 mar abr 2024",
            "2024-03-31#",
            "Q1 2024",
        ] {
            assert!(
                matches!(dmy(raw), Err(ValueError::NotADate(_))),
                "{raw:?} gave {:?}",
                dmy(raw)
            );
        }
        assert_eq!(dmy(" abc ").unwrap_err().to_string(), "`abc` is not a date");
    }
}
