//! Who is calling. In AWS, the HTTP API's JWT authorizer has verified the token and
//! hands its claims over in the request context; a function URL (the events stream)
//! and the local runner have no authorizer, so the function verifies the bearer token
//! itself with the one verifier ([`TokenVerifier`]). Either way the claims are read by
//! [`Principal::from_claims`].

use crate::problem::ApiError;
use http::request::Parts;
use lambda_http::request::RequestContext;
use sluice_core::auth::{AuthError, Claims, Principal, TokenVerifier};
use sluice_core::{ConfigSource, InitError};
use std::sync::Arc;
use std::time::Duration;

/// How a function learns who is calling.
#[derive(Clone, Debug)]
pub enum Authenticator {
    /// API Gateway's JWT authorizer verified the token: its claims are in the request
    /// context lambda_http hands over.
    Gateway,
    /// This function verifies `Authorization: Bearer` tokens itself.
    Verify(Arc<Verifier>),
}

/// The one verifier of a process, and where its keys come from. Cognito rotates a
/// pool's signing keys: a token naming a key this process does not know makes it fetch
/// the keys again, at most once per `refetch_every` (so forged `kid`s cannot make it
/// hammer the endpoint), then verify once more.
#[derive(Debug)]
pub struct Verifier {
    current: std::sync::RwLock<Arc<TokenVerifier>>,
    jwks_url: Option<String>,
    last_fetch: tokio::sync::Mutex<Option<std::time::Instant>>,
    refetch_every: Duration,
}

/// How often, at most, an unknown key makes a process fetch the pool's keys again.
pub const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(300);

impl Verifier {
    /// Keys that never change (the local secret; tests).
    pub fn fixed(verifier: TokenVerifier) -> Self {
        Self::new(verifier, None, JWKS_REFETCH_EVERY)
    }

    /// A verifier whose keys were fetched from `jwks_url` just now.
    pub fn new(verifier: TokenVerifier, jwks_url: Option<String>, refetch_every: Duration) -> Self {
        let fetched = jwks_url.as_ref().map(|_| std::time::Instant::now());
        Self {
            current: std::sync::RwLock::new(Arc::new(verifier)),
            jwks_url,
            last_fetch: tokio::sync::Mutex::new(fetched),
            refetch_every,
        }
    }

    fn current(&self) -> Arc<TokenVerifier> {
        match self.current.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Checks a token; an unknown key triggers one rate-limited fetch of the keys.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        match self.current().verify(token) {
            Err(AuthError::UnknownKey) if self.jwks_url.is_some() => {
                self.refresh_keys().await;
                self.current().verify(token)
            }
            other => other,
        }
    }

    /// Fetches the keys again unless that was done less than `refetch_every` ago (then a
    /// concurrent request may already have brought the new ones).
    async fn refresh_keys(&self) {
        let Some(url) = &self.jwks_url else { return };
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.refetch_every) {
            return;
        }
        *last = Some(std::time::Instant::now());
        let refreshed = match fetch_jwks(url).await {
            Ok(jwks) => self.current().with_keys(&jwks),
            Err(e) => {
                tracing::warn!(error = %e, "the user pool's keys could not be fetched again");
                return;
            }
        };
        match refreshed {
            Some(Ok(verifier)) => {
                tracing::info!("a token named an unknown key: the user pool's keys were fetched again");
                if let Ok(mut current) = self.current.write() {
                    *current = Arc::new(verifier);
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "the user pool's keys as fetched again are unusable"),
            None => {}
        }
    }
}

impl Authenticator {
    /// The verified claims of a request, or 401.
    pub async fn claims(&self, parts: &Parts) -> Result<Claims, ApiError> {
        match self {
            Self::Gateway => match parts.extensions.get::<RequestContext>() {
                Some(RequestContext::ApiGatewayV2(context)) => context
                    .authorizer
                    .as_ref()
                    .and_then(|a| a.jwt.as_ref())
                    .map(|jwt| jwt.claims.clone())
                    .ok_or(ApiError::Unauthenticated),
                _ => Err(ApiError::Unauthenticated),
            },
            Self::Verify(verifier) => {
                let header = parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                let verified = match TokenVerifier::bearer(header) {
                    Ok(token) => verifier.verify(token).await,
                    Err(e) => Err(e),
                };
                verified.map_err(|e| {
                    // Deliberately vague towards the caller; the reason is for the operator.
                    tracing::debug!(reason = %e, "token refused");
                    ApiError::Unauthenticated
                })
            }
        }
    }

    /// The authenticated user of a request, or 401.
    pub async fn principal(&self, parts: &Parts) -> Result<Principal, ApiError> {
        Principal::from_claims(&self.claims(parts).await?).ok_or(ApiError::Unauthenticated)
    }
}

/// The verifier the configuration names: the Cognito user pool (`COGNITO_ISSUER`,
/// `COGNITO_CLIENT_IDS`; keys from `COGNITO_JWKS_URL`, by default the issuer's
/// `/.well-known/jwks.json`) or, for the local stack only, `LOCAL_JWT_SECRET`.
/// Fails closed: in AWS the local verifier refuses to start.
pub async fn verifier_from_config(cfg: &ConfigSource) -> Result<Verifier, InitError> {
    if let Some(issuer) = cfg.optional::<String>("COGNITO_ISSUER")? {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let client_ids: Vec<String> = cfg
            .required::<String>("COGNITO_CLIENT_IDS")?
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let url = cfg
            .optional::<String>("COGNITO_JWKS_URL")?
            .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        let jwks = fetch_jwks(&url)
            .await
            .map_err(|e| InitError::unusable("COGNITO_JWKS_URL", e))?;
        let verifier = TokenVerifier::cognito(issuer, client_ids, &jwks)
            .map_err(|e| InitError::unusable("COGNITO_JWKS_URL", format!("the user pool's keys are unusable: {e}")))?;
        let every = Duration::from_secs(cfg.or("COGNITO_JWKS_REFETCH_SECS", JWKS_REFETCH_EVERY.as_secs())?);
        return Ok(Verifier::new(verifier, Some(url), every));
    }
    if cfg.in_aws() {
        return Err(InitError::unusable(
            "COGNITO_ISSUER",
            "required in AWS: the local token verifier never runs in Lambda",
        ));
    }
    let secret: String = cfg.required("LOCAL_JWT_SECRET").map_err(|_| {
        InitError::unusable(
            "LOCAL_JWT_SECRET",
            "neither COGNITO_ISSUER (AWS) nor LOCAL_JWT_SECRET (local stack) is set: no way to verify tokens",
        )
    })?;
    Ok(Verifier::fixed(TokenVerifier::local(secret.into_bytes())))
}

async fn fetch_jwks(url: &str) -> anyhow::Result<String> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequestContext,
    };
    use sluice_core::auth::local::issue_token;

    fn parts(f: impl FnOnce(&mut http::request::Builder)) -> Parts {
        let mut builder = http::Request::builder().uri("/v1/me");
        f(&mut builder);
        builder.body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn the_gateway_hands_over_verified_claims() {
        let mut context = ApiGatewayV2httpRequestContext::default();
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims.insert("sub".into(), "u-1".into());
        jwt.claims.insert("custom:tier".into(), "basic".into());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        context.authorizer = Some(authorizer);
        let with_claims = parts(|b| {
            b.extensions_mut()
                .map(|e| e.insert(RequestContext::ApiGatewayV2(context.clone())));
        });
        let who = Authenticator::Gateway.principal(&with_claims).await.unwrap();
        assert_eq!(who.user_id, "u-1");
        // A bearer header means nothing when the gateway is the verifier.
        let header_only = parts(|b| {
            b.headers_mut()
                .map(|h| h.insert(http::header::AUTHORIZATION, "Bearer x".parse().unwrap()));
        });
        assert!(matches!(
            Authenticator::Gateway.principal(&header_only).await,
            Err(ApiError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn a_verifying_function_checks_the_bearer_token() {
        let verify = Authenticator::Verify(Arc::new(Verifier::fixed(TokenVerifier::local(b"s3cret".to_vec()))));
        let good = issue_token(b"s3cret", "ana", "professional", true, 1).unwrap();
        let forged = issue_token(b"other", "ana", "professional", true, 1).unwrap();
        let with = |token: String| {
            parts(move |b| {
                b.headers_mut()
                    .map(|h| h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap()));
            })
        };
        let who = verify.principal(&with(good)).await.unwrap();
        assert!(who.team_member && who.user_id == "ana");
        assert!(verify.principal(&with(forged)).await.is_err());
        assert!(verify.principal(&parts(|_| {})).await.is_err());
    }

    #[tokio::test]
    async fn the_local_verifier_never_runs_in_aws() {
        let local = ConfigSource::from_pairs([("LOCAL_JWT_SECRET", "x")]);
        assert!(verifier_from_config(&local).await.is_ok());
        let in_lambda = local.with("AWS_LAMBDA_FUNCTION_NAME", "sluice-http-api");
        let err = verifier_from_config(&in_lambda).await.unwrap_err().to_string();
        assert!(err.contains("COGNITO_ISSUER"), "{err}");
        assert!(verifier_from_config(&ConfigSource::default()).await.is_err());
    }
}
