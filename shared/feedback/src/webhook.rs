//! Webhook deliveries: which source, its secrets, the errors, and [`receive_webhook`].

use crate::signature::{verify_intercom, verify_standard, verify_zendesk};
use crate::{parse_intercom, parse_standard, parse_zendesk};
use chrono::{DateTime, Utc};
use sluice_messages::FeedbackReceived;
use std::collections::HashMap;

/// A sender of signed webhooks (`POST /v1/webhooks/{source}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookSource {
    Zendesk,
    Intercom,
    /// Any sender of the Standard Webhooks format with Sluice's generic feedback JSON.
    Standard,
}

impl WebhookSource {
    /// The path segment: `zendesk`, `intercom` or `standard` (ASCII case ignored).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        [Self::Zendesk, Self::Intercom, Self::Standard]
            .into_iter()
            .find(|source| source.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Zendesk => "zendesk",
            Self::Intercom => "intercom",
            Self::Standard => "standard",
        }
    }
}

impl std::fmt::Display for WebhookSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shared secrets of each source. `None`/empty: that source is not accepted.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookSecrets {
    /// The Zendesk webhook's signing secret, as Zendesk shows it.
    pub zendesk: Option<String>,
    /// The Intercom app's client secret.
    pub intercom: Option<String>,
    /// `whsec_...` secrets; several during a rotation (any one may have signed).
    pub standard: Vec<String>,
}

impl std::fmt::Debug for WebhookSecrets {
    // Secrets never reach a log: only whether each is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("zendesk", &self.zendesk.as_ref().map(|_| "<set>"))
            .field("intercom", &self.intercom.as_ref().map(|_| "<set>"))
            .field("standard", &format_args!("<{} set>", self.standard.len()))
            .finish()
    }
}

/// Why a webhook delivery was refused. The first five are about authenticity (answer 401;
/// [`NotConfigured`](Self::NotConfigured) is the receiver's fault); `Malformed` is a bad
/// body; `Unsupported` is a genuine delivery with nothing to triage (answer 2xx, drop it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the delivery is not signed (no signature header)")]
    MissingSignature,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the signed timestamp is outside the replay window")]
    StaleTimestamp,
    #[error("malformed signature header: {0}")]
    MalformedHeader(String),
    #[error("no secret is configured for this webhook source")]
    NotConfigured,
    #[error("the body does not parse: {0}")]
    Malformed(String),
    #[error("the delivery carries no feedback: {0}")]
    Unsupported(String),
}

/// The headers each scheme reads (lower case).
pub mod headers {
    pub const ZENDESK_SIGNATURE: &str = "x-zendesk-webhook-signature";
    pub const ZENDESK_TIMESTAMP: &str = "x-zendesk-webhook-signature-timestamp";
    pub const INTERCOM_SIGNATURE: &str = "x-hub-signature";
    pub const STANDARD_ID: &str = "webhook-id";
    pub const STANDARD_TIMESTAMP: &str = "webhook-timestamp";
    pub const STANDARD_SIGNATURE: &str = "webhook-signature";
    /// Svix, the reference implementation of Standard Webhooks, sends the same values
    /// under these names; they are read when the `webhook-*` ones are absent.
    pub const SVIX_ID: &str = "svix-id";
    pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
    pub const SVIX_SIGNATURE: &str = "svix-signature";
}

/// Verifies a delivery (`headers`: name -> value; names are matched ignoring ASCII case)
/// against the source's secret, then parses the raw body into one [`FeedbackReceived`].
/// `now` is the receive time: the replay window is measured from it, and it is the
/// `received_at` of a payload that carries no time of its own.
pub fn receive_webhook(
    source: WebhookSource,
    headers: &HashMap<String, String>,
    body: &[u8],
    secrets: &WebhookSecrets,
    now: DateTime<Utc>,
) -> Result<FeedbackReceived, WebhookError> {
    match source {
        WebhookSource::Zendesk => {
            let secret = secrets
                .zendesk
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or(WebhookError::NotConfigured)?;
            let signature = header(headers, headers::ZENDESK_SIGNATURE).ok_or(WebhookError::MissingSignature)?;
            let timestamp = header(headers, headers::ZENDESK_TIMESTAMP)
                .ok_or_else(|| WebhookError::MalformedHeader(format!("{} is missing", headers::ZENDESK_TIMESTAMP)))?;
            verify_zendesk(secret, timestamp, body, signature, now)?;
            parse_zendesk(body, now)
        }
        WebhookSource::Intercom => {
            let secret = secrets
                .intercom
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or(WebhookError::NotConfigured)?;
            let signature = header(headers, headers::INTERCOM_SIGNATURE).ok_or(WebhookError::MissingSignature)?;
            verify_intercom(secret, body, signature)?;
            parse_intercom(body, now)
        }
        WebhookSource::Standard => {
            if secrets.standard.iter().all(|s| s.trim().is_empty()) {
                return Err(WebhookError::NotConfigured);
            }
            let signature = header(headers, headers::STANDARD_SIGNATURE)
                .or_else(|| header(headers, headers::SVIX_SIGNATURE))
                .ok_or(WebhookError::MissingSignature)?;
            let id = header(headers, headers::STANDARD_ID)
                .or_else(|| header(headers, headers::SVIX_ID))
                .ok_or_else(|| WebhookError::MalformedHeader(format!("{} is missing", headers::STANDARD_ID)))?;
            let timestamp = header(headers, headers::STANDARD_TIMESTAMP)
                .or_else(|| header(headers, headers::SVIX_TIMESTAMP))
                .ok_or_else(|| WebhookError::MalformedHeader(format!("{} is missing", headers::STANDARD_TIMESTAMP)))?;
            verify_standard(&secrets.standard, id, timestamp, body, signature, now)?;
            parse_standard(id, body, now)
        }
    }
}

/// A header by name, ignoring ASCII case (the exact lower-case key is tried first).
fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .or_else(|| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_by_name() {
        assert_eq!(WebhookSource::parse("zendesk"), Some(WebhookSource::Zendesk));
        assert_eq!(WebhookSource::parse("Intercom"), Some(WebhookSource::Intercom));
        assert_eq!(WebhookSource::parse("standard"), Some(WebhookSource::Standard));
        assert_eq!(WebhookSource::parse("github"), None);
        assert_eq!(WebhookSource::Standard.to_string(), "standard");
    }

    #[test]
    fn secrets_are_not_printed() {
        let secrets = WebhookSecrets {
            zendesk: Some("zd-secret".into()),
            intercom: None,
            standard: vec!["whsec_abc".into()],
        };
        let printed = format!("{secrets:?}");
        assert!(
            !printed.contains("zd-secret") && !printed.contains("whsec_abc"),
            "{printed}"
        );
    }

    #[test]
    fn header_names_ignore_case() {
        let headers = HashMap::from([("X-Hub-Signature".to_owned(), "sha1=00".to_owned())]);
        assert_eq!(header(&headers, headers::INTERCOM_SIGNATURE), Some("sha1=00"));
    }

    #[test]
    fn a_source_without_a_secret_is_not_configured() {
        let none = WebhookSecrets::default();
        let headers = HashMap::new();
        let now = Utc::now();
        for source in [WebhookSource::Zendesk, WebhookSource::Intercom, WebhookSource::Standard] {
            assert_eq!(
                receive_webhook(source, &headers, b"{}", &none, now),
                Err(WebhookError::NotConfigured)
            );
        }
        let some = WebhookSecrets {
            zendesk: Some("a".into()),
            intercom: Some("b".into()),
            standard: vec!["whsec_YWJj".into()],
        };
        for source in [WebhookSource::Zendesk, WebhookSource::Intercom, WebhookSource::Standard] {
            assert_eq!(
                receive_webhook(source, &headers, b"{}", &some, now),
                Err(WebhookError::MissingSignature)
            );
        }
    }
}
