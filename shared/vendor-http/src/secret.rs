//! The API key.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// A vendor API key. `Debug` and `Display` never show it, so it cannot reach a log by
/// accident; [`ApiKey::expose_secret`] is the one way to its value.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the one header that carries it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// `message` with every occurrence of the key replaced by `***` (servers echo keys
    /// in error bodies).
    pub fn redact(&self, message: &str) -> String {
        if self.0.is_empty() {
            message.to_owned()
        } else {
            message.replace(&self.0, "***")
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for ApiKey {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_prints() {
        let key: ApiKey = "sk-secret-123".parse().unwrap();
        for printed in [format!("{key:?}"), format!("{key}"), format!("{:?}", Some(&key))] {
            assert!(!printed.contains("sk-secret-123"), "{printed}");
        }
        assert_eq!(key.expose_secret(), "sk-secret-123");
        assert_eq!(key.redact("bad key sk-secret-123!"), "bad key ***!");
        assert_eq!(ApiKey::new("").redact("as is"), "as is");
    }
}
