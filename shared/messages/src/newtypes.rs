//! Domain newtypes that parse on construction: a value of these types is valid.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A value that does not parse as the domain type it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidValue {
    pub kind: &'static str,
    pub reason: String,
}

impl InvalidValue {
    pub(crate) fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }
}

/// Implements Display, FromStr and string serde for a newtype with `parse`.
macro_rules! string_newtype {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_newtype;

/// The spreadsheets Sluice loads; each is one table in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    Companies,
    Kpis,
    Dealflow,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::Companies, Dataset::Kpis, Dataset::Dealflow];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "companies" => Ok(Self::Companies),
            "kpis" => Ok(Self::Kpis),
            "dealflow" => Ok(Self::Dealflow),
            other => Err(InvalidValue::new(
                "dataset",
                format!("`{other}` is not one of companies, kpis, dealflow"),
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Companies => "companies",
            Self::Kpis => "kpis",
            Self::Dealflow => "dealflow",
        }
    }
}
string_newtype!(Dataset);

/// A SHA-256 digest as 64 lower-case hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256Digest(String);

impl Sha256Digest {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let lower = raw.trim().to_ascii_lowercase();
        if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(lower))
        } else {
            Err(InvalidValue::new("sha256 digest", "expected 64 hex characters"))
        }
    }

    /// From the 32 raw bytes a hasher produced.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        use std::fmt::Write;
        let mut out = String::with_capacity(64);
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype!(Sha256Digest);

/// Stock ticker: 1-5 ASCII alphanumerics (a class suffix after `.` or `-` allowed), upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticker(String);

impl Ticker {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let upper = raw.trim().to_ascii_uppercase();
        let (base, class) = match upper.split_once(['.', '-']) {
            Some((b, c)) => (b, Some(c)),
            None => (upper.as_str(), None),
        };
        let base_ok = (1..=5).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_alphanumeric());
        let class_ok = class.is_none_or(|c| (1..=2).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphabetic()));
        if base_ok && class_ok {
            Ok(Self(upper))
        } else {
            Err(InvalidValue::new(
                "ticker",
                format!("`{}` is not 1-5 letters or digits", raw.trim()),
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype!(Ticker);

/// SEC Central Index Key: up to 10 digits, kept zero-padded to 10.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cik(String);

impl Cik {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let digits = raw.trim().trim_start_matches("CIK").trim_start_matches("cik");
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new("CIK", "expected 1 to 10 digits"));
        }
        if digits.bytes().all(|b| b == b'0') {
            return Err(InvalidValue::new("CIK", "zero is not a CIK"));
        }
        Ok(Self(format!("{digits:0>10}")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype!(Cik);

/// An e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        let valid = match trimmed.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && trimmed.len() <= 254
                    && !trimmed.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidValue::new(
                "e-mail address",
                format!("`{trimmed}` is not an address"),
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype!(Email);

/// The subscription tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserTier {
    Demo,
    Basic,
    Professional,
    Enterprise,
}

impl UserTier {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "demo" => Ok(Self::Demo),
            "basic" => Ok(Self::Basic),
            "professional" => Ok(Self::Professional),
            "enterprise" => Ok(Self::Enterprise),
            _ => Err(InvalidValue::new(
                "tier",
                "expected demo, basic, professional or enterprise",
            )),
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Basic => "basic",
            Self::Professional => "professional",
            Self::Enterprise => "enterprise",
        }
    }
}
string_newtype!(UserTier);

/// Money in integer micro-dollars (1 USD = 1,000,000): never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }
    pub fn micros(&self) -> i64 {
        self.0
    }
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
    /// Parses a dollar amount such as `12.5` or `0.000001` exactly.
    pub fn parse_dollars(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let well_formed = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= 6
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(InvalidValue::new(
                "amount",
                format!("`{raw}` is not dollars with at most 6 decimals"),
            ));
        }
        let whole: i64 = whole.parse().map_err(|_| InvalidValue::new("amount", "too large"))?;
        let frac: i64 = format!("{frac:0<6}")
            .parse()
            .map_err(|_| InvalidValue::new("amount", "bad fraction"))?;
        let micros = whole
            .checked_mul(1_000_000)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(|| InvalidValue::new("amount", "too large"))?;
        Ok(Self(if negative { -micros } else { micros }))
    }
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }
}

/// Dollars with cents, and the finer digits only where they matter: `$5.00`, `$0.12`,
/// `$0.015`, `$1.234567`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let fraction = format!("{:06}", abs % 1_000_000);
        let fraction = fraction.trim_end_matches('0');
        let fraction = format!("{fraction:0<2}");
        write!(f, "{sign}${}.{fraction}", abs / 1_000_000)
    }
}

/// How money is shown in answers: exact integer micro-dollars and a display string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoneyView {
    pub micros: i64,
    pub display: String,
}

impl Money {
    /// The one shape money takes in an answer.
    pub fn view(&self) -> MoneyView {
        MoneyView {
            micros: self.0,
            display: self.to_string(),
        }
    }
}

/// The id of one message; also the idempotency key of its effects downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub Uuid);

impl MessageId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
    /// A message id derived from what the message is about, so a producer that
    /// runs twice for the same thing produces the same id.
    pub fn derived(namespace: &str, name: &str) -> Self {
        let ns = Uuid::new_v5(&Uuid::NAMESPACE_OID, namespace.as_bytes());
        Self(Uuid::new_v5(&ns, name.as_bytes()))
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Ties every message and log line of one piece of work together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CorrelationId(String);

impl CorrelationId {
    pub fn new() -> Self {
        Self(Uuid::new_v4().to_string())
    }
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.len() > 128 || !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidValue::new("correlation id", "1-128 printable ASCII characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CorrelationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `data_versions` row of one uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DataVersionId(pub i64);

impl fmt::Display for DataVersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_parses_known_names_only() {
        assert_eq!(Dataset::parse(" KPIs ").unwrap(), Dataset::Kpis);
        assert!(Dataset::parse("prices").is_err());
        assert!(Dataset::parse("").is_err());
    }

    #[test]
    fn digest_is_lower_hex_of_64() {
        let d = Sha256Digest::parse(&"AB".repeat(32)).unwrap();
        assert_eq!(d.as_str(), "ab".repeat(32));
        assert!(Sha256Digest::parse("abc").is_err());
        assert!(Sha256Digest::parse(&"zz".repeat(32)).is_err());
        assert_eq!(Sha256Digest::from_bytes([0xff; 32]).as_str(), "ff".repeat(32));
    }

    #[test]
    fn ticker_is_upper_cased_and_bounded() {
        assert_eq!(Ticker::parse(" aapl ").unwrap().as_str(), "AAPL");
        assert_eq!(Ticker::parse("brk.b").unwrap().as_str(), "BRK.B");
        assert!(Ticker::parse("TOOLONG").is_err());
        assert!(Ticker::parse("").is_err());
        assert!(Ticker::parse("A$").is_err());
    }

    #[test]
    fn cik_is_zero_padded() {
        assert_eq!(Cik::parse("320193").unwrap().as_str(), "0000320193");
        assert_eq!(Cik::parse("CIK0000320193").unwrap().as_str(), "0000320193");
        assert!(Cik::parse("12345678901").is_err());
        assert!(Cik::parse("0").is_err());
        assert!(Cik::parse("12a").is_err());
    }

    #[test]
    fn email_needs_a_domain() {
        assert!(Email::parse("ana@fund.es").is_ok());
        assert!(Email::parse("ana@fund").is_err());
        assert!(Email::parse("a b@fund.es").is_err());
        assert!(Email::parse("@fund.es").is_err());
    }

    #[test]
    fn money_is_exact_micro_dollars() {
        assert_eq!(Money::parse_dollars("12.5").unwrap().micros(), 12_500_000);
        assert_eq!(Money::parse_dollars("0.000001").unwrap().micros(), 1);
        assert_eq!(Money::parse_dollars("-3").unwrap().micros(), -3_000_000);
        assert!(Money::parse_dollars("0.0000001").is_err());
        assert!(Money::parse_dollars("1e3").is_err());
        assert_eq!(Money::from_micros(1_234_567).to_string(), "$1.234567");
        assert_eq!(Money::from_micros(5_000_000).to_string(), "$5.00");
        assert_eq!(Money::from_micros(120_000).to_string(), "$0.12");
        assert_eq!(Money::from_micros(15_000).to_string(), "$0.015");
        assert_eq!(Money::from_micros(100_000).to_string(), "$0.10");
        assert_eq!(Money::ZERO.to_string(), "$0.00");
        assert_eq!(Money::from_micros(-20_000).to_string(), "-$0.02");
        assert_eq!(
            serde_json::to_value(Money::from_micros(20_000).view()).unwrap(),
            serde_json::json!({"micros": 20000, "display": "$0.02"})
        );
        assert_eq!(
            Money::from_micros(5)
                .checked_sub(Money::from_micros(7))
                .unwrap()
                .micros(),
            -2
        );
    }

    #[test]
    fn derived_message_ids_are_stable() {
        assert_eq!(MessageId::derived("etl", "7"), MessageId::derived("etl", "7"));
        assert_ne!(MessageId::derived("etl", "7"), MessageId::derived("etl", "8"));
    }

    #[test]
    fn tier_round_trips() {
        for t in ["demo", "basic", "professional", "enterprise"] {
            assert_eq!(UserTier::parse(t).unwrap().as_str(), t);
        }
        assert!(UserTier::parse("gold").is_err());
    }
}
