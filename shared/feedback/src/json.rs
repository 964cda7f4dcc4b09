//! Reading loosely typed JSON payloads: ids that are strings in one payload and numbers in
//! the next, times as RFC 3339 or Unix seconds.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

/// The body as a JSON object, or why not.
pub(crate) fn object(body: &[u8], what: &str) -> Result<Object, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("{what} body is not a JSON object")),
        Err(e) => Err(format!("{what} body is not JSON: {e}")),
    }
}

/// The object at `key`, if it is one.
pub(crate) fn obj<'a>(map: &'a Object, key: &str) -> Option<&'a Object> {
    map.get(key).and_then(Value::as_object)
}

/// A string or number at `key` as text, trimmed; `None` when absent, null or empty.
pub(crate) fn text(map: &Object, key: &str) -> Option<String> {
    let value = match map.get(key)? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!value.is_empty()).then_some(value)
}

/// The first of `keys` that has text.
pub(crate) fn first_text(map: &Object, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| text(map, key))
}

/// A boolean at `key` (`true`/`false`, or the strings `"true"`/`"false"`).
pub(crate) fn flag(map: &Object, key: &str) -> Option<bool> {
    match map.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A time at `key`: Unix seconds (a number or a numeric string; values past the year 5138
/// are read as milliseconds) or an RFC 3339 string.
pub(crate) fn time(map: &Object, key: &str) -> Option<DateTime<Utc>> {
    match map.get(key)? {
        Value::Number(n) => n.as_i64().and_then(epoch),
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(n) => epoch(n),
                Err(_) => parse_time(s),
            }
        }
        _ => None,
    }
}

fn epoch(value: i64) -> Option<DateTime<Utc>> {
    if value.unsigned_abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(value)
    } else {
        DateTime::from_timestamp(value, 0)
    }
}

/// An RFC 3339 time, or one of the near-misses senders use (`2013-12-12T05:35Z` from
/// Zendesk placeholders, a time with no zone read as UTC).
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S UTC",
    ];
    NAIVE
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_shapes_senders_use() {
        let expected = DateTime::from_timestamp(1_386_826_500, 0);
        assert_eq!(parse_time("2013-12-12T05:35Z"), expected);
        assert_eq!(parse_time("2013-12-12T05:35:00Z"), expected);
        assert_eq!(parse_time("2013-12-12T06:35:00+01:00"), expected);
        assert_eq!(parse_time("2013-12-12 05:35:00"), expected);
        assert_eq!(parse_time("last tuesday"), None);
        let map = object(br#"{"a":1386826500,"b":"1386826500","c":1386826500000,"d":null}"#, "t").unwrap_or_default();
        assert_eq!(time(&map, "a"), expected);
        assert_eq!(time(&map, "b"), expected);
        assert_eq!(time(&map, "c"), expected);
        assert_eq!(time(&map, "d"), None);
    }
}
