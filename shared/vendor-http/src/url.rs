//! The base URL of a vendor's API.

use std::fmt;
use std::str::FromStr;

/// An `http(s)://host[:port][/prefix]` base URL, kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

/// Why a base URL is refused. The messages never repeat the URL: it may hold a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBaseUrl {
    #[error("not a URL: {0}")]
    Unparsable(String),
    #[error("expected an http:// or https:// URL with a host")]
    NotHttp,
    #[error("credentials do not belong in a URL; configure the API key instead")]
    Credentials,
    #[error("a base URL has no query or fragment")]
    QueryOrFragment,
}

impl BaseUrl {
    pub fn parse(raw: &str) -> Result<Self, InvalidBaseUrl> {
        let url = reqwest::Url::parse(raw.trim()).map_err(|e| InvalidBaseUrl::Unparsable(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidBaseUrl::NotHttp);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidBaseUrl::Credentials);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(InvalidBaseUrl::QueryOrFragment);
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `path` under the base: `https://host/prefix` joined with `a/b` or `/a/b` is
    /// `https://host/prefix/a/b`.
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.0, path.trim_start_matches('/'))
    }
}

impl FromStr for BaseUrl {
    type Err = InvalidBaseUrl;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_base_urls_without_trailing_slash_join_paths() {
        let base = BaseUrl::parse(" http://127.0.0.1:11434/v1/ ").unwrap();
        assert_eq!(base.as_str(), "http://127.0.0.1:11434/v1");
        assert_eq!(
            base.join("chat/completions"),
            "http://127.0.0.1:11434/v1/chat/completions"
        );
        assert_eq!(base.join("/chat"), "http://127.0.0.1:11434/v1/chat");
        let host: BaseUrl = "https://www.sec.gov".parse().unwrap();
        assert_eq!(host.to_string(), "https://www.sec.gov");
        assert_eq!(
            host.join("files/company_tickers.json"),
            "https://www.sec.gov/files/company_tickers.json"
        );
    }

    #[test]
    fn other_urls_are_refused_without_echoing_them() {
        assert_eq!(BaseUrl::parse("ftp://sec.gov"), Err(InvalidBaseUrl::NotHttp));
        assert_eq!(BaseUrl::parse("mailto:ops@example.com"), Err(InvalidBaseUrl::NotHttp));
        assert!(matches!(BaseUrl::parse("sec.gov"), Err(InvalidBaseUrl::Unparsable(_))));
        assert_eq!(
            BaseUrl::parse("https://x.io/?a=1"),
            Err(InvalidBaseUrl::QueryOrFragment)
        );
        assert_eq!(
            BaseUrl::parse("https://x.io/#top"),
            Err(InvalidBaseUrl::QueryOrFragment)
        );
        let err = BaseUrl::parse("https://user:sk-123@host/v1").unwrap_err();
        assert_eq!(err, InvalidBaseUrl::Credentials);
        assert!(!err.to_string().contains("sk-123"));
        let err = BaseUrl::parse("http://sk-456 @host").unwrap_err();
        assert!(!err.to_string().contains("sk-456"), "{err}");
    }
}
