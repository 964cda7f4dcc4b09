//! The one typed config loader. Every function reads its settings through a
//! [`ConfigSource`]: the process environment in Lambda and locally, a map in tests.
//! Errors name the variable and never echo its value (it may be a secret).

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration variable {key} is required but not set")]
    Missing { key: String },
    #[error("configuration variable {key} is invalid: {reason}")]
    Invalid { key: String, reason: String },
}

#[derive(Clone, Default)]
pub struct ConfigSource {
    vars: HashMap<String, String>,
}

impl std::fmt::Debug for ConfigSource {
    // Names only: values include connection strings and keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("ConfigSource").field("names", &names).finish()
    }
}

impl ConfigSource {
    pub fn from_env() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    /// A copy with `key` set, for tests and for settings derived at start-up.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.vars.insert(key.to_owned(), value.into());
        self
    }

    /// A copy without `key` (a test of what a function does when a setting is absent).
    /// Whether this process is a Lambda function (the runtime sets its name): where
    /// local conveniences (the HS256 verifier, a database without TLS) refuse to run.
    pub fn in_aws(&self) -> bool {
        self.optional::<String>("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .flatten()
            .is_some()
    }

    pub fn without(mut self, key: &str) -> Self {
        self.vars.remove(key);
        self
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn required<T>(&self, key: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let raw = self
            .raw(key)
            .ok_or_else(|| ConfigError::Missing { key: key.to_owned() })?;
        raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
            key: key.to_owned(),
            reason: e.to_string(),
        })
    }

    pub fn optional<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(key) {
            None => Ok(None),
            Some(_) => self.required(key).map(Some),
        }
    }

    pub fn or<T>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(key)?.unwrap_or(default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_invalid_name_the_variable_not_the_value() {
        let cfg = ConfigSource::from_pairs([("PORT", "secret-ish"), ("EMPTY", "  ")]);
        assert_eq!(
            cfg.required::<u16>("NOPE"),
            Err(ConfigError::Missing { key: "NOPE".into() })
        );
        let err = cfg.required::<u16>("PORT").unwrap_err().to_string();
        assert!(err.contains("PORT") && !err.contains("secret-ish"), "{err}");
        assert_eq!(cfg.optional::<u16>("EMPTY").unwrap(), None);
        assert_eq!(cfg.or("EMPTY", 7u16).unwrap(), 7);
    }

    #[test]
    fn debug_output_names_settings_without_their_values() {
        let cfg = ConfigSource::from_pairs([("DATABASE_URL", "postgres://u:hunter2@h/db")]);
        let printed = format!("{cfg:?}");
        assert!(
            printed.contains("DATABASE_URL") && !printed.contains("hunter2"),
            "{printed}"
        );
    }

    #[test]
    fn values_are_trimmed_and_parsed() {
        let cfg = ConfigSource::from_pairs([("N", " 42 ")]);
        assert_eq!(cfg.required::<u64>("N").unwrap(), 42);
        assert_eq!(cfg.with("M", "3").required::<u8>("M").unwrap(), 3);
    }
}
