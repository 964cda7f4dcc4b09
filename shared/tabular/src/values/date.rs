//! Dates as people type them: ISO, day-first or month-first numbers, Spanish and English
//! month names, and month-only or quarter-only periods (`marzo 2026`, `T1 2026`), which mean
//! the period's last day.

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
/// dropped (the date is taken as written, whatever the zone). A month or a quarter without a
/// day (`marzo 2024`, `2024-03`, `T1 2024`, `Q1 2024`, `1T24`, `2024-Q1`) means the period's
/// last day, the date KPIs are reported at, so `marzo 2024` and `31/03/2024` are one period.
/// Years must be 1900..=2100; two-digit years below 70 are 20yy, others 19yy.
pub fn parse_date(raw: &str, order: DateOrder) -> Result<Option<NaiveDate>, ValueError> {
    let trimmed = raw.trim();
    if is_empty_marker(trimmed) {
        return Ok(None);
    }
    let not_a_date = || ValueError::NotADate(trimmed.to_owned());
    let date_part = strip_time(trimmed).ok_or_else(not_a_date)?;
    let tokens = tokenize(date_part).ok_or_else(not_a_date)?;
    let written = interpret(&tokens, order).ok_or_else(not_a_date)?;
    let year = written.year();
    if !(1900..=2100).contains(&year) {
        return Err(ValueError::YearOutOfRange {
            raw: trimmed.to_owned(),
            year,
        });
    }
    let year = i32::try_from(year).map_err(|_| not_a_date())?;
    let date = match written {
        Written::Day { month, day, .. } => NaiveDate::from_ymd_opt(year, month, day),
        Written::Month { month, .. } => last_day_of_month(year, month),
        Written::Quarter { quarter, .. } => last_day_of_month(year, quarter * 3),
    };
    date.map(Some)
        .ok_or_else(|| ValueError::NotACalendarDate(trimmed.to_owned()))
}

/// `None` for a month outside 1..=12.
fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    next.pred_opt()
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

/// What a date cell names: a day, or a whole month or quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    Day {
        year: u32,
        month: u32,
        day: u32,
    },
    Month {
        year: u32,
        month: u32,
    },
    /// `quarter` is 1..=4.
    Quarter {
        year: u32,
        quarter: u32,
    },
}

impl Written {
    fn year(&self) -> u32 {
        match *self {
            Self::Day { year, .. } | Self::Month { year, .. } | Self::Quarter { year, .. } => year,
        }
    }
}

/// The letter or word that makes a number a quarter: `T1` (trimestre), `Q1`, `1er trimestre`.
fn is_quarter_word(t: &Token) -> bool {
    !t.numeric && matches!(t.text.as_str(), "t" | "q" | "trimestre" | "quarter" | "qtr")
}

/// A quarter number, 1 to 4.
fn quarter(t: &Token) -> Option<u32> {
    small(t).filter(|q| (1..=4).contains(q))
}

/// What the tokens name, without checking that a day or month exists.
fn interpret(tokens: &[Token], order: DateOrder) -> Option<Written> {
    let numeric = tokens.iter().all(|t| t.numeric);
    let day = |year, month, day| Some(Written::Day { year, month, day });
    let month = |year, month| Some(Written::Month { year, month });
    // The quarter number and the year are checked in the guards: `2026-Q1` would otherwise
    // stop at the arm for `1Q26`, with 2026 as its quarter.
    let is_quarter = |w: &Token, q: &Token, y: Option<u32>| is_quarter_word(w) && quarter(q).is_some() && y.is_some();
    let quarter_of = |year: Option<u32>, q: &Token| {
        Some(Written::Quarter {
            year: year?,
            quarter: quarter(q)?,
        })
    };
    match tokens {
        // yyyymmdd
        [t] if numeric && t.text.len() == 8 => {
            let part = |range: std::ops::Range<usize>| t.text.get(range).and_then(|p| p.parse().ok());
            day(part(0..4)?, part(4..6)?, part(6..8)?)
        }
        // 2024-03, 03/2024
        [a, b] if numeric => match (long_year(a), long_year(b)) {
            (Some(y), None) => month(y, small(b)?),
            (None, Some(y)) => month(y, small(a)?),
            _ => None,
        },
        [a, b, c] if numeric => match long_year(a) {
            Some(y) => day(y, small(b)?, small(c)?),
            None => {
                let (first, second) = (small(a)?, small(b)?);
                match order {
                    DateOrder::DayFirst => day(year(c)?, second, first),
                    DateOrder::MonthFirst => day(year(c)?, first, second),
                }
            }
        },
        // T1 2024, Q1-24, 1T24, 1Q 2024, 1er trimestre 2024
        [w, q, y] | [q, w, y] if is_quarter(w, q, year(y)) => quarter_of(year(y), q),
        // 2024-Q1, 2024 1T
        [y, w, q] | [y, q, w] if is_quarter(w, q, long_year(y)) => quarter_of(long_year(y), q),
        // marzo 2024, mar-24
        [m, y] => month(year(y)?, month_word(m)?),
        // 2024-Mar-15
        [y, m, d] if long_year(y).is_some() => day(long_year(y)?, month_word(m)?, small(d)?),
        // 15 de marzo de 2024, 15-Mar-24
        [d, m, y] if month_word(m).is_some() => day(year(y)?, month_word(m)?, small(d)?),
        // March 15, 2024
        [m, d, y] if month_word(m).is_some() => day(year(y)?, month_word(m)?, small(d)?),
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

    fn assert_not_a_date(raw: &str) {
        assert!(
            matches!(dmy(raw), Err(ValueError::NotADate(_))),
            "{raw:?} gave {:?}",
            dmy(raw)
        );
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
            assert_not_a_date(raw);
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
    fn month_level_values_are_the_last_day_of_the_month() {
        let d = ymd(2024, 3, 31);
        for raw in [
            "marzo 2024",
            "Marzo de 2024",
            "mar-24",
            "Mar 2024",
            "MARCH 2024",
            "2024-03",
            "03/2024",
            "3/2024",
            "3.2024",
        ] {
            assert_date(raw, DateOrder::DayFirst, d);
            assert_date(raw, DateOrder::MonthFirst, d);
        }
        // A number after a month name is a year, as in "mar-24".
        assert_date("mar 15", DateOrder::DayFirst, ymd(2015, 3, 31));
    }

    #[test]
    fn every_month_ends_on_its_own_last_day() {
        let ends = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        for (i, end) in ends.into_iter().enumerate() {
            let month = u32::try_from(i + 1).unwrap();
            assert_date(&format!("{month:02}/2023"), DateOrder::DayFirst, ymd(2023, month, end));
            assert_date(
                &format!("2023-{month:02}"),
                DateOrder::MonthFirst,
                ymd(2023, month, end),
            );
        }
        assert_date("febrero 2024", DateOrder::DayFirst, ymd(2024, 2, 29));
        assert_date("feb-00", DateOrder::DayFirst, ymd(2000, 2, 29));
        assert_date("February 1900", DateOrder::DayFirst, ymd(1900, 2, 28));
        assert_date("diciembre 2100", DateOrder::DayFirst, ymd(2100, 12, 31));
    }

    #[test]
    fn a_month_and_its_last_day_are_the_same_date() {
        for order in [DateOrder::DayFirst, DateOrder::MonthFirst] {
            assert_eq!(
                parse_date("marzo 2026", order),
                parse_date("31 de marzo de 2026", order)
            );
            assert_eq!(parse_date("Q1 2026", order), parse_date("2026-03-31", order));
        }
    }

    #[test]
    fn quarter_level_values_are_the_last_day_of_the_quarter() {
        let cases = [
            ("T1 2026", ymd(2026, 3, 31)),
            ("t1 2026", ymd(2026, 3, 31)),
            ("Q1 2026", ymd(2026, 3, 31)),
            ("q1-2026", ymd(2026, 3, 31)),
            ("Q1/26", ymd(2026, 3, 31)),
            ("T1-26", ymd(2026, 3, 31)),
            ("1T26", ymd(2026, 3, 31)),
            ("1T 2026", ymd(2026, 3, 31)),
            ("1Q 2026", ymd(2026, 3, 31)),
            ("1Q26", ymd(2026, 3, 31)),
            ("2026-Q1", ymd(2026, 3, 31)),
            ("2026Q1", ymd(2026, 3, 31)),
            ("2026 1T", ymd(2026, 3, 31)),
            ("1er trimestre 2026", ymd(2026, 3, 31)),
            ("1er trimestre de 2026", ymd(2026, 3, 31)),
            ("T2 2026", ymd(2026, 6, 30)),
            ("Q2 2026", ymd(2026, 6, 30)),
            ("3T26", ymd(2026, 9, 30)),
            ("2026-Q3", ymd(2026, 9, 30)),
            ("Q4 2026", ymd(2026, 12, 31)),
            ("4Q 2026", ymd(2026, 12, 31)),
            ("quarter 4 2026", ymd(2026, 12, 31)),
            ("Q1 99", ymd(1999, 3, 31)),
        ];
        for (raw, expected) in cases {
            assert_date(raw, DateOrder::DayFirst, expected);
            assert_date(raw, DateOrder::MonthFirst, expected);
        }
    }

    #[test]
    fn quarters_outside_one_to_four_or_without_a_year_are_not_dates() {
        for raw in [
            "Q0 2026",
            "Q5 2026",
            "T5 2026",
            "5T26",
            "2026-Q0",
            "Q 2026",
            "Q1",
            "T1",
            "2026 Q",
            "Q1 Q2 2026",
            "Q1 2026 T",
            "X1 2026",
            "Q1 126",
        ] {
            assert_not_a_date(raw);
        }
        assert!(matches!(
            dmy("Q1 1899"),
            Err(ValueError::YearOutOfRange { year: 1899, .. })
        ));
        assert_eq!(dmy("13/2024"), Err(ValueError::NotACalendarDate("13/2024".into())));
        assert_eq!(dmy("0/2024"), Err(ValueError::NotACalendarDate("0/2024".into())));
    }

    #[test]
    fn full_dates_stay_as_written() {
        for raw in ["1/3/2026", "2026-03-01", "1 de marzo de 2026", "01.03.2026"] {
            assert_date(raw, DateOrder::DayFirst, ymd(2026, 3, 1));
        }
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
            "H1 2024",
        ] {
            assert_not_a_date(raw);
        }
        assert_eq!(dmy(" abc ").unwrap_err().to_string(), "`abc` is not a date");
    }
}
