//! The one bearer-token verifier. In AWS: Cognito user-pool JWTs (RS256, keys from the
//! pool's JWKS, issuer and client checked as API Gateway's JWT authorizer checks them).
//! Locally: HS256 tokens of `make token`, signed with `LOCAL_JWT_SECRET`.
//!
//! Verified claims come out as API Gateway's JWT authorizer hands them to a function
//! (every value a string, a list as `[a b]`), so the same rules read them whoever
//! verified the token. [`Principal::from_claims`] holds those rules.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sluice_messages::{Email, UserTier};
use std::collections::HashMap;

/// Verified claims, shaped as API Gateway's JWT authorizer passes them on.
pub type Claims = HashMap<String, String>;

/// Why a token was refused. Deliberately vague towards callers (it is logged at debug only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is signed with a key this verifier does not know")]
    UnknownKey,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token was not issued for this application")]
    WrongAudience,
}

/// Verifies bearer tokens: one per process, built at start-up.
#[derive(Clone)]
pub enum TokenVerifier {
    /// Cognito user pool: RS256 with the pool's published keys.
    Cognito {
        /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`
        issuer: String,
        /// App clients whose tokens are accepted (`aud` of ID tokens, `client_id` of access tokens).
        client_ids: Vec<String>,
        keys: JwkSet,
    },
    /// The local stack: HS256 with `LOCAL_JWT_SECRET`.
    Local { secret: Vec<u8> },
}

impl std::fmt::Debug for TokenVerifier {
    // The local secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cognito {
                issuer,
                client_ids,
                keys,
            } => f
                .debug_struct("Cognito")
                .field("issuer", issuer)
                .field("client_ids", client_ids)
                .field("keys", &keys.keys.len())
                .finish(),
            Self::Local { .. } => f.write_str("Local"),
        }
    }
}

impl TokenVerifier {
    pub fn local(secret: impl Into<Vec<u8>>) -> Self {
        Self::Local { secret: secret.into() }
    }

    /// The pool's keys document (`<issuer>/.well-known/jwks.json`) as published.
    pub fn cognito(issuer: impl Into<String>, client_ids: Vec<String>, jwks_json: &str) -> Result<Self, AuthError> {
        let keys: JwkSet = serde_json::from_str(jwks_json).map_err(|_| AuthError::Malformed)?;
        Ok(Self::Cognito {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            client_ids,
            keys,
        })
    }

    /// The same verifier with the pool's keys as now published (they rotate); `None` for
    /// a local verifier, which has no published keys.
    pub fn with_keys(&self, jwks_json: &str) -> Option<Result<Self, AuthError>> {
        match self {
            Self::Cognito { issuer, client_ids, .. } => {
                Some(Self::cognito(issuer.clone(), client_ids.clone(), jwks_json))
            }
            Self::Local { .. } => None,
        }
    }

    /// Checks signature, expiry, issuer and audience; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        match self {
            Self::Local { secret } => local::verify_token(secret, token),
            Self::Cognito {
                issuer,
                client_ids,
                keys,
            } => verify_cognito(issuer, client_ids, keys, token),
        }
    }

    /// The token of an `Authorization: Bearer ...` header value.
    pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
        let value = header.ok_or(AuthError::Missing)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::Malformed);
        }
        Ok(token.trim())
    }
}

fn invalid(e: jsonwebtoken::errors::Error) -> AuthError {
    AuthError::Invalid(format!("{:?}", e.kind()))
}

fn verify_cognito(issuer: &str, client_ids: &[String], keys: &JwkSet, token: &str) -> Result<Claims, AuthError> {
    let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(AuthError::Invalid("algorithm is not RS256".into()));
    }
    let jwk = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid))
        .ok_or(AuthError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| AuthError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    // ID tokens carry the client in `aud`, access tokens in `client_id`: checked below.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = decode::<Map<String, Value>>(token, &key, &validation).map_err(invalid)?;
    let raw = data.claims;
    let client = match raw.get("token_use").and_then(Value::as_str) {
        Some("id") => raw.get("aud").and_then(Value::as_str),
        Some("access") => raw.get("client_id").and_then(Value::as_str),
        _ => None,
    };
    if !client.is_some_and(|c| client_ids.iter().any(|id| id == c)) {
        return Err(AuthError::WrongAudience);
    }
    Ok(flatten(raw))
}

/// Claims as API Gateway hands them over: strings as they are, lists as `[a b]`.
fn flatten(raw: Map<String, Value>) -> Claims {
    raw.into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Array(items) => {
                    let parts: Vec<String> = items
                        .into_iter()
                        .map(|i| match i {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .collect();
                    format!("[{}]", parts.join(" "))
                }
                other => other.to_string(),
            };
            (k, text)
        })
        .collect()
}

/// Tokens of the local stack (`make token`), shaped like a Cognito ID token's claims.
pub mod local {
    use super::{AuthError, Claims};
    use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
    use serde::{Deserialize, Serialize};

    pub const ISSUER: &str = "sluice-local";
    pub const AUDIENCE: &str = "sluice";

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct LocalClaims {
        pub sub: String,
        pub tier: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub groups: Vec<String>,
        pub iss: String,
        pub aud: String,
        pub iat: i64,
        pub exp: i64,
    }

    /// Signs a token for the local stack (`make token`, the tests).
    pub fn issue_token(secret: &[u8], user: &str, tier: &str, team: bool, hours: i64) -> Result<String, String> {
        let groups: &[&str] = if team { &["team"] } else { &[] };
        issue_token_in_groups(secret, user, tier, groups, hours)
    }

    /// A local token in the given Cognito groups (`team`, `admins`).
    pub fn issue_token_in_groups(
        secret: &[u8],
        user: &str,
        tier: &str,
        groups: &[&str],
        hours: i64,
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = LocalClaims {
            sub: user.to_owned(),
            tier: tier.to_owned(),
            email: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + hours * 3600,
        };
        encode(&Header::default(), &claims, &EncodingKey::from_secret(secret)).map_err(|e| e.to_string())
    }

    /// Verifies a local token (HS256, issuer, audience, expiry).
    pub fn verify_token(secret: &[u8], token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        let data =
            decode::<LocalClaims>(token, &DecodingKey::from_secret(secret), &validation).map_err(super::invalid)?;
        let c = data.claims;
        let mut claims = Claims::from([("sub".to_owned(), c.sub), ("tier".to_owned(), c.tier)]);
        if let Some(email) = c.email {
            claims.insert("email".into(), email);
        }
        if !c.groups.is_empty() {
            claims.insert("cognito:groups".into(), format!("[{}]", c.groups.join(" ")));
        }
        Ok(claims)
    }
}

/// The authenticated user behind verified claims.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    pub user_id: String,
    pub email: Option<Email>,
    /// The tier this request is served at: the account's tier of record once the HTTP
    /// API has read it (the claim's, or demo, before).
    pub tier: UserTier,
    /// The tier the token claims (`custom:tier`/`tier`), when it claims one: an access
    /// token carries none, and then never lowers the account's tier.
    #[serde(skip)]
    pub claimed_tier: Option<UserTier>,
    /// Members of the research team (may read team-wide data).
    pub team_member: bool,
    /// Team members in the `admins` group too: they may grant and adjust credits.
    pub team_admin: bool,
}

impl Principal {
    /// `sub` (1..=128 characters); the tier from `custom:tier` (Cognito) or `tier`, demo
    /// when absent or unknown; team membership from the `team` group of `cognito:groups`
    /// (or `groups`). The same rules as the HTTP API's `Caller`.
    pub fn from_claims(claims: &Claims) -> Option<Self> {
        let user_id = claims
            .get("sub")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && s.len() <= 128)?;
        let claimed_tier = claims
            .get("custom:tier")
            .or_else(|| claims.get("tier"))
            .and_then(|t| UserTier::parse(t).ok());
        let groups = claims
            .get("cognito:groups")
            .or_else(|| claims.get("groups"))
            .cloned()
            .unwrap_or_default();
        let in_group = |name: &str| {
            groups
                .split([',', ' ', '[', ']'])
                .any(|g| g.trim().eq_ignore_ascii_case(name))
        };
        let team_member = in_group("team");
        let team_admin = team_member && in_group("admins");
        Some(Self {
            user_id: user_id.to_owned(),
            email: claims.get("email").and_then(|e| Email::parse(e).ok()),
            tier: claimed_tier.unwrap_or(UserTier::Demo),
            claimed_tier,
            team_member,
            team_admin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tokens_round_trip_and_forgeries_fail() {
        let token = local::issue_token(b"s3cret", "ana", "basic", true, 1).unwrap();
        let verifier = TokenVerifier::local(b"s3cret".to_vec());
        let claims = verifier.verify(&token).unwrap();
        assert_eq!(claims["sub"], "ana");
        assert_eq!(claims["cognito:groups"], "[team]");
        let who = Principal::from_claims(&claims).unwrap();
        assert!(who.team_member && who.tier == UserTier::Basic);
        assert!(TokenVerifier::local(b"other".to_vec()).verify(&token).is_err());
        let expired = local::issue_token(b"s3cret", "ana", "basic", false, -2).unwrap();
        assert!(verifier.verify(&expired).is_err());
        assert_eq!(verifier.verify(" "), Err(AuthError::Missing));
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(TokenVerifier::bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(TokenVerifier::bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(TokenVerifier::bearer(None), Err(AuthError::Missing));
        assert_eq!(TokenVerifier::bearer(Some("Basic abc")), Err(AuthError::Malformed));
        assert_eq!(TokenVerifier::bearer(Some("Bearer")), Err(AuthError::Malformed));
    }

    #[test]
    fn principals_follow_the_api_rules() {
        let claims =
            |pairs: &[(&str, &str)]| -> Claims { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let p = Principal::from_claims(&claims(&[
            ("sub", "u-1"),
            ("custom:tier", "professional"),
            ("cognito:groups", "[team admins]"),
        ]))
        .unwrap();
        assert_eq!(
            (p.user_id.as_str(), p.tier, p.team_member),
            ("u-1", UserTier::Professional, true)
        );
        assert!(Principal::from_claims(&claims(&[("tier", "basic")])).is_none());
        let p = Principal::from_claims(&claims(&[("sub", "u"), ("cognito:groups", "[teams]")])).unwrap();
        assert!(!p.team_member);
    }

    /// A real RS256 token against a JWKS, as Cognito publishes them (needs `openssl` to make a key).
    #[test]
    fn cognito_tokens_are_checked_for_key_issuer_and_client() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let dir = std::env::temp_dir().join(format!("sluice-auth-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let der = dir.join("key.der");
        // PKCS#1 DER, what jsonwebtoken's RSA signer reads.
        let made = std::process::Command::new("sh")
            .arg("-c")
            .arg("openssl genrsa 2048 2>/dev/null | openssl rsa -traditional -outform DER -out \"$0\" 2>/dev/null")
            .arg(&der)
            .status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipping: openssl is not available to make a test key");
            return;
        }
        let private = std::fs::read(&der).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let key = EncodingKey::from_rsa_der(&private);
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("k1".into());
        let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
        let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
        let verifier = TokenVerifier::cognito(issuer, vec!["client-1".into()], &jwks).unwrap();
        let now = chrono::Utc::now().timestamp();
        let sign = |kid: &str, claims: serde_json::Value| {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(kid.into());
            encode(&header, &claims, &key).unwrap()
        };
        let id_token = sign(
            "k1",
            serde_json::json!({"sub": "u-9", "iss": issuer, "aud": "client-1", "token_use": "id",
                "exp": now + 600, "cognito:groups": ["team"], "custom:tier": "basic"}),
        );
        let claims = verifier.verify(&id_token).unwrap();
        assert_eq!(claims["cognito:groups"], "[team]");
        assert!(Principal::from_claims(&claims).unwrap().team_member);
        let access = sign(
            "k1",
            serde_json::json!({"sub": "u-9", "iss": issuer, "client_id": "client-1", "token_use": "access", "exp": now + 600}),
        );
        assert!(verifier.verify(&access).is_ok());
        let other_client = sign(
            "k1",
            serde_json::json!({"sub": "u", "iss": issuer, "aud": "client-2", "token_use": "id", "exp": now + 600}),
        );
        assert_eq!(verifier.verify(&other_client), Err(AuthError::WrongAudience));
        let other_issuer = sign(
            "k1",
            serde_json::json!({"sub": "u", "iss": "https://evil.example", "aud": "client-1", "token_use": "id", "exp": now + 600}),
        );
        assert!(verifier.verify(&other_issuer).is_err());
        let unknown_key = sign(
            "k2",
            serde_json::json!({"sub": "u", "iss": issuer, "aud": "client-1", "token_use": "id", "exp": now + 600}),
        );
        assert_eq!(verifier.verify(&unknown_key), Err(AuthError::UnknownKey));
        let expired = sign(
            "k1",
            serde_json::json!({"sub": "u", "iss": issuer, "aud": "client-1", "token_use": "id", "exp": now - 600}),
        );
        assert!(verifier.verify(&expired).is_err());
        // An HS256 token never passes as a Cognito one.
        let local = local::issue_token(b"x", "u", "demo", false, 1).unwrap();
        assert!(verifier.verify(&local).is_err());
    }
}
