//! What the runner serves besides the functions: the web app (`web/dist`, built by
//! `scripts/web.sh`) at `/`, as CloudFront serves it in AWS; its `config.js`, which says
//! the sign-in is the local one; `POST /local/token`, the local sign-in (a runner-only
//! route: the HTTP API has no such thing, in AWS Cognito signs users in); and `/health`.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use sluice_messages::UserTier;
use sluice_web::{json, ApiError, JsonBody};
use std::path::PathBuf;
use std::sync::Arc;

/// How long a token from the local sign-in lasts.
pub const SIGN_IN_HOURS: i64 = 8;

/// Where the built app is when `WEB_DIR` does not say: this checkout's `web/dist`.
pub fn default_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/dist"))
}

/// The files of the build (what `web/build.mjs` writes), with their types.
const FILES: &[(&str, &str)] = &[
    ("index.html", "text/html; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
];

/// The `config.js` of the local stack: the API and the events on this origin, local sign-in.
pub const LOCAL_CONFIG_JS: &str =
    "window.SLUICE_CONFIG = {\"apiUrl\": \"\", \"eventsUrl\": \"\", \"auth\": {\"mode\": \"local\"}};\n";

/// What the web app is served with.
#[derive(Clone)]
pub struct WebApp {
    /// The build (`web/dist`).
    pub dir: PathBuf,
    /// The stack's token secret (`LOCAL_JWT_SECRET`): without it there is no local sign-in.
    pub token_secret: Option<String>,
    /// Where the page may send requests besides its own origin: S3 (moto) for uploads.
    pub storage_origin: Option<String>,
}

impl WebApp {
    /// The Content-Security-Policy of the page: scripts and styles of its own origin only.
    pub fn content_security_policy(&self) -> String {
        let storage = self
            .storage_origin
            .as_deref()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'{storage}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
    }
}

pub fn router(health: serde_json::Value, app: WebApp) -> Router {
    let health = health.to_string();
    let app = Arc::new(app);
    let mut router = Router::new()
        .route(
            "/",
            get(|State(app): State<Arc<WebApp>>| async move { file(&app, "index.html").await }),
        )
        .route(
            "/config.js",
            get(|| async { asset("text/javascript; charset=utf-8", Body::from(LOCAL_CONFIG_JS)) }),
        )
        .route("/local/token", post(sign_in))
        .route(
            "/health",
            get(move || {
                let health = health.clone();
                async move {
                    let mut response = Response::new(Body::from(health));
                    response
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    response
                }
            }),
        );
    for (name, _) in FILES {
        router = router.route(
            &format!("/{name}"),
            get(move |State(app): State<Arc<WebApp>>| async move { file(&app, name).await }),
        );
    }
    router.with_state(app)
}

/// One file of the build, read on each request (a rebuild shows at the next reload).
async fn file(app: &WebApp, name: &str) -> Response {
    let Some((_, content_type)) = FILES.iter().find(|(n, _)| *n == name) else {
        return not_built();
    };
    match tokio::fs::read(app.dir.join(name)).await {
        Ok(bytes) => {
            let mut response = asset(content_type, Body::from(bytes));
            if name == "index.html" {
                if let Ok(csp) = HeaderValue::from_str(&app.content_security_policy()) {
                    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
                }
            }
            response
        }
        Err(_) => not_built(),
    }
}

fn not_built() -> Response {
    let mut response = asset(
        "text/plain; charset=utf-8",
        Body::from("The web app is not built: run scripts/web.sh (make up does).\n"),
    );
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}

fn asset(content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// What the local sign-in screen sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub user: String,
    pub tier: String,
    #[serde(default)]
    pub team: bool,
}

/// A user id the local sign-in accepts: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn local_user(raw: &str) -> Result<&str, ApiError> {
    let user = raw.trim();
    let fits = (1..=64).contains(&user.len())
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if fits {
        Ok(user)
    } else {
        Err(ApiError::InvalidRequest(
            "user: 1 to 64 letters, digits, '.', '_', '-' or '@'".into(),
        ))
    }
}

/// `POST /local/token {user, tier, team}`: a token as `make token` makes them.
async fn sign_in(State(app): State<Arc<WebApp>>, JsonBody(body): JsonBody<SignIn>) -> Result<Response, ApiError> {
    let Some(secret) = app.token_secret.as_deref() else {
        return Err(ApiError::Unavailable(
            "this runner has no LOCAL_JWT_SECRET: no local sign-in".into(),
        ));
    };
    let user = local_user(&body.user)?;
    let tier = UserTier::parse(&body.tier).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let token = sluice_core::auth::local::issue_token(secret.as_bytes(), user, tier.as_str(), body.team, SIGN_IN_HOURS)
        .map_err(ApiError::internal)?;
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({"token": token, "expires_in": SIGN_IN_HOURS * 3600}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_users_are_plain_names() {
        assert_eq!(local_user(" ana ").unwrap(), "ana");
        assert_eq!(local_user("ana.b@example.com").unwrap(), "ana.b@example.com");
        assert!(local_user("").is_err());
        assert!(local_user("ana smith").is_err());
        assert!(local_user("<script>").is_err());
        assert!(local_user(&"a".repeat(65)).is_err());
    }

    #[test]
    fn the_page_may_reach_storage_and_nothing_else() {
        let app = WebApp {
            dir: default_dir(),
            token_secret: None,
            storage_origin: Some("http://127.0.0.1:4566".into()),
        };
        let csp = app.content_security_policy();
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:4566;"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
    }
}
