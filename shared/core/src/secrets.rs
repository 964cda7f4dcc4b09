//! The one way a function reads a secret (database credentials, vendor and model API
//! keys, webhook signing secrets), inside its constructor at start-up.
//!
//! A setting `NAME` is read from the configuration when it is set there (the local
//! stack, the tests); otherwise from the Secrets Manager secret that `NAME_SECRET_ARN`
//! names. `arn#key` reads the field `key` of a secret holding a JSON object (the RDS
//! managed secret's `username`/`password`, the webhook secrets' `zendesk`...), so one
//! secret can hold several values; each secret is fetched once per instance.
//! Errors name the setting, never the value.

use crate::ConfigSource;
use std::collections::HashMap;
use tokio::sync::Mutex;

/// A secret value: never printed, logged or serialised; read with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it (a header, a signature key).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `message` with every occurrence of the value replaced by `***` (servers echo keys
    /// in error bodies).
    pub fn redact(&self, message: &str) -> String {
        if self.0.is_empty() {
            message.to_owned()
        } else {
            message.replace(&self.0, "***")
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret read as a plain setting (the local stack, tests): `cfg.optional::<Secret>(..)`.
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{name}: {reason}")]
    Unreadable { name: String, reason: String },
}

/// Reads secrets for one instance; caches each Secrets Manager secret it fetched.
pub struct Secrets {
    client: Option<aws_sdk_secretsmanager::Client>,
    fetched: Mutex<HashMap<String, String>>,
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client: Some(client),
            fetched: Mutex::new(HashMap::new()),
        }
    }

    /// Configuration only (the local stack, tests): `NAME_SECRET_ARN` is an error.
    pub fn from_config_only() -> Self {
        Self {
            client: None,
            fetched: Mutex::new(HashMap::new()),
        }
    }

    /// The secret `name`, or `None` when neither `name` nor `name_SECRET_ARN` is set.
    pub async fn get(&self, cfg: &ConfigSource, name: &str) -> Result<Option<Secret>, SecretError> {
        let unreadable = |reason: String| SecretError::Unreadable {
            name: name.to_owned(),
            reason,
        };
        if let Some(value) = cfg.optional::<String>(name).map_err(|e| unreadable(e.to_string()))? {
            return Ok(Some(Secret(value)));
        }
        let arn_key = format!("{name}_SECRET_ARN");
        let Some(reference) = cfg
            .optional::<String>(&arn_key)
            .map_err(|e| unreadable(e.to_string()))?
        else {
            return Ok(None);
        };
        let (arn, field) = split_reference(&reference);
        let raw = self.fetch(arn).await.map_err(unreadable)?;
        let value = match field {
            None => raw.trim().to_owned(),
            Some(field) => json_field(&raw, field).map_err(unreadable)?,
        };
        if value.is_empty() {
            return Err(unreadable(format!("the secret {arn_key} names is empty")));
        }
        Ok(Some(Secret(value)))
    }

    /// Like [`Secrets::get`], for a secret the function cannot start without.
    pub async fn required(&self, cfg: &ConfigSource, name: &str) -> Result<Secret, SecretError> {
        self.get(cfg, name).await?.ok_or_else(|| SecretError::Unreadable {
            name: name.to_owned(),
            reason: format!("neither {name} nor {name}_SECRET_ARN is set"),
        })
    }

    async fn fetch(&self, arn: &str) -> Result<String, String> {
        let mut fetched = self.fetched.lock().await;
        if let Some(raw) = fetched.get(arn) {
            return Ok(raw.clone());
        }
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| "no Secrets Manager here: set the value itself".to_owned())?;
        let out = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())?;
        let raw = out
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| "the secret holds no string".to_owned())?;
        fetched.insert(arn.to_owned(), raw.clone());
        Ok(raw)
    }
}

/// `arn#key` -> (`arn`, `key`). Secret ARNs never contain `#`.
fn split_reference(reference: &str) -> (&str, Option<&str>) {
    match reference.split_once('#') {
        Some((arn, key)) if !key.is_empty() => (arn, Some(key)),
        Some((arn, _)) => (arn, None),
        None => (reference, None),
    }
}

fn json_field(raw: &str, field: &str) -> Result<String, String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(raw).map_err(|_| "the secret is not a JSON object".to_owned())?;
    match object.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(format!("the field `{field}` of the secret is not a string")),
        None => Err(format!("the secret has no field `{field}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_come_from_the_configuration_first() {
        let secrets = Secrets::from_config_only();
        let cfg = ConfigSource::from_pairs([("FMP_API_KEY", "k-123")]);
        let key = secrets.get(&cfg, "FMP_API_KEY").await.unwrap().unwrap();
        assert_eq!(key.expose(), "k-123");
        assert_eq!(format!("{key:?}"), "Secret(redacted)");
        assert_eq!(key.to_string(), "<redacted>");
        assert_eq!(key.redact("bad key k-123!"), "bad key ***!");
        assert_eq!(Secret::new("").redact("as is"), "as is");
        assert_eq!(secrets.get(&cfg, "LLM_API_KEY").await.unwrap(), None);
        let err = secrets.required(&cfg, "LLM_API_KEY").await.unwrap_err().to_string();
        assert!(err.contains("LLM_API_KEY_SECRET_ARN"), "{err}");
    }

    #[tokio::test]
    async fn an_arn_without_secrets_manager_is_refused_without_the_value() {
        let secrets = Secrets::from_config_only();
        let cfg = ConfigSource::from_pairs([("X_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:x#key")]);
        let err = secrets.get(&cfg, "X").await.unwrap_err().to_string();
        assert!(err.starts_with("X:"), "{err}");
    }

    #[test]
    fn references_and_json_fields() {
        assert_eq!(split_reference("arn:a#zendesk"), ("arn:a", Some("zendesk")));
        assert_eq!(split_reference("arn:a"), ("arn:a", None));
        assert_eq!(split_reference("arn:a#"), ("arn:a", None));
        let raw = r#"{"username":"sluice","password":" p w ","port":5432,"list":[1]}"#;
        assert_eq!(json_field(raw, "password").unwrap(), "p w");
        assert_eq!(json_field(raw, "port").unwrap(), "5432");
        assert!(json_field(raw, "list").is_err());
        assert!(json_field(raw, "nope").unwrap_err().contains("nope"));
        assert!(json_field("bare-value", "x").is_err());
    }
}
