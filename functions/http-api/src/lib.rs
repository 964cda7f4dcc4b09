//! http-api: Sluice's front door. Every `/v1` route and the signed webhooks, as one
//! axum [`Router`], served by lambda_http behind API Gateway (HTTP API, JWT
//! authorizer) in AWS and directly by the local runner: the same router in both
//! places. Authentication is declared on each route (see [`caller`]) and listed in
//! [`ROUTES`], which is also what `openapi.yaml` documents.

pub mod caller;
pub mod chat;
pub mod routes;

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter};
use axum::Router;
use routes::analyses::AnalysisConfig;
use routes::tickets::MetricsTable;
use routes::webhooks::FeedbackConfig;
use sluice_core::{Clock, InitError, Instance, Outbox, Pool};
use sluice_market::{MarketData, QuoteCache};
use sluice_messages::Producer;
use sluice_web::{ApiError, Authenticator};
use std::sync::Arc;
use std::time::Duration;

pub const SERVICE: &str = "http-api";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in user (a bearer token).
    User,
    /// Members of the research team (a bearer token with the `team` group).
    Team,
    /// Team admins (the `team` and `admins` groups).
    Admin,
    /// No token: the sender signs the body (webhooks).
    Signature,
    /// No token: public documentation.
    Public,
}

/// One route: method, path (`{param}` segments, as in `openapi.yaml`) and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Lists every route once and mounts each on the router with its handler.
macro_rules! routes {
    ($( $method:ident $path:literal $access:ident => $handler:path ),* $(,)?) => {
        /// Every route of the API.
        pub const ROUTES: &[Route] = &[ $( Route { method: stringify!($method), path: $path, access: Access::$access } ),* ];

        fn mount(router: Router<Arc<ApiState>>) -> Router<Arc<ApiState>> {
            router $( .route($path, on(MethodFilter::$method, $handler)) )*
        }
    };
}

routes! {
    GET "/v1/openapi.json" Public => openapi,
    GET "/v1/me" User => routes::account::me,
    GET "/v1/me/usage" User => routes::billing::usage,
    GET "/v1/me/notifications" User => routes::notifications::get,
    PUT "/v1/me/notifications" User => routes::notifications::put,
    GET "/v1/unsubscribe" Public => routes::notifications::confirm,
    POST "/v1/unsubscribe" Public => routes::notifications::unsubscribe,
    POST "/v1/webhook-endpoints" User => routes::webhook_endpoints::create,
    GET "/v1/webhook-endpoints" User => routes::webhook_endpoints::list,
    DELETE "/v1/webhook-endpoints/{id}" User => routes::webhook_endpoints::delete,
    GET "/v1/webhook-endpoints/{id}/deliveries" User => routes::webhook_endpoints::deliveries,
    POST "/v1/billing/checkout" User => routes::billing::checkout,
    POST "/v1/webhooks/stripe" Signature => routes::billing::stripe_webhook,
    POST "/v1/admin/credits" Admin => routes::billing::adjust,
    GET "/v1/data-versions" Team => routes::data_versions::list,
    GET "/v1/data-versions/{id}" Team => routes::data_versions::get,
    POST "/v1/uploads" Team => routes::uploads::presign,
    GET "/v1/companies" Team => routes::portfolio::companies,
    GET "/v1/companies/{id}" Team => routes::portfolio::company,
    GET "/v1/kpis" Team => routes::portfolio::kpis,
    GET "/v1/kpis/budget-vs-actual" Team => routes::portfolio::budget_vs_actual,
    GET "/v1/dealflow" Team => routes::portfolio::dealflow,
    GET "/v1/dealflow/weights" Team => routes::deals::weights,
    PUT "/v1/dealflow/weights" Team => routes::deals::set_weights,
    GET "/v1/dealflow/{id}" Team => routes::deals::deal,
    GET "/v1/alerts" Team => routes::alerts::list,
    GET "/v1/alert-rules" Team => routes::alerts::rules,
    POST "/v1/alert-rules" Team => routes::alerts::create_rule,
    PATCH "/v1/alert-rules/{id}" Team => routes::alerts::update_rule,
    DELETE "/v1/alert-rules/{id}" Team => routes::alerts::delete_rule,
    GET "/v1/reports" Team => routes::reports::list,
    POST "/v1/reports" Team => routes::reports::create,
    GET "/v1/reports/{id}" Team => routes::reports::get,
    GET "/v1/quotes/{ticker}" User => routes::market::quote,
    GET "/v1/prices/{ticker}" User => routes::market::prices,
    GET "/v1/prices/{ticker}/indicators" User => routes::market::indicators,
    GET "/v1/fundamentals/{ticker}" User => routes::fundamentals::fundamentals,
    GET "/v1/watchlists" User => routes::holdings::watchlists,
    POST "/v1/watchlists" User => routes::holdings::create_watchlist,
    GET "/v1/watchlists/{id}" User => routes::holdings::watchlist,
    PUT "/v1/watchlists/{id}" User => routes::holdings::update_watchlist,
    DELETE "/v1/watchlists/{id}" User => routes::holdings::delete_watchlist,
    GET "/v1/portfolios" User => routes::holdings::portfolios,
    POST "/v1/portfolios" User => routes::holdings::create_portfolio,
    GET "/v1/portfolios/{id}" User => routes::holdings::portfolio,
    PUT "/v1/portfolios/{id}" User => routes::holdings::update_portfolio,
    DELETE "/v1/portfolios/{id}" User => routes::holdings::delete_portfolio,
    GET "/v1/ratios/{ticker}" User => routes::fundamentals::ratios,
    POST "/v1/analyses" User => routes::analyses::request,
    GET "/v1/analyses" User => routes::analyses::analyses,
    GET "/v1/analyses/{id}" User => routes::analyses::analysis,
    GET "/v1/tasks" User => routes::analyses::tasks,
    GET "/v1/tasks/{id}" User => routes::analyses::task,
    DELETE "/v1/tasks/{id}" User => routes::analyses::cancel_task,
    GET "/v1/filings" User => routes::analyses::filings,
    POST "/v1/bulk-imports/quote" User => routes::bulk_imports::quote,
    POST "/v1/bulk-imports" User => routes::bulk_imports::create,
    GET "/v1/bulk-imports" User => routes::bulk_imports::list,
    GET "/v1/bulk-imports/{id}" User => routes::bulk_imports::get,
    DELETE "/v1/bulk-imports/{id}" User => routes::bulk_imports::cancel,
    GET "/v1/search" User => routes::search::search,
    POST "/v1/conversations" User => chat::create,
    GET "/v1/conversations/{id}" User => chat::get,
    POST "/v1/conversations/{id}/messages" User => chat::ask,
    POST "/v1/webhooks/{source}" Signature => routes::webhooks::receive,
    GET "/v1/tickets" Team => routes::tickets::list,
    GET "/v1/tickets/{id}" Team => routes::tickets::get,
    PATCH "/v1/tickets/{id}" Team => routes::tickets::update,
    GET "/v1/metrics/feedback" Team => routes::tickets::metrics,
}

/// What every route shares, built once per instance by [`build`].
#[derive(Clone)]
pub struct ApiState {
    pub pool: Pool,
    pub auth: Authenticator,
    pub clock: Clock,
    pub s3: aws_sdk_s3::Client,
    pub market: MarketData,
    pub analyses: AnalysisConfig,
    pub feedback: FeedbackConfig,
    pub billing: routes::billing::BillingConfig,
    pub feedback_metrics: MetricsTable,
    /// Where spreadsheets are uploaded (presigned PUTs).
    pub uploads: routes::uploads::UploadConfig,
    /// What the routes stage (filing requests, feedback), sent after each commit.
    pub outbox: Outbox,
    /// Ask Sluice: embeds questions with the model the documents were indexed with.
    pub knowledge: Arc<dyn sluice_knowledge::Embedder>,
    /// Ask Sluice's chat: conversations, the model, the tools' limits.
    pub chat: chat::ChatConfig,
    /// What the chat's tools run the routes with: this state over a pool of its own whose
    /// sessions have a `statement_timeout` (`CHAT_TOOL_TIMEOUT_MS`), one connection,
    /// opened when a tool first runs. `None` in that state itself.
    pub tool_api: Option<Arc<ApiState>>,
    /// The unsubscribe links' key.
    pub notifications: routes::notifications::NotificationConfig,
    /// Where outbound webhooks may point (`WEBHOOK_ALLOW_PRIVATE_TARGETS`, local only).
    pub webhook_targets: sluice_notify::target::TargetPolicy,
}

impl ApiState {
    /// Sends what a route staged. A failure is logged: the outbox keeps the message and
    /// the next request's flush sends it.
    pub async fn flush_outbox(&self) {
        if let Err(e) = self.outbox.flush().await {
            tracing::warn!(error = %e, "sending staged messages failed; the outbox keeps them");
        }
    }
}

/// The one constructor (Lambda, the local runner, the tests). Tokens: in AWS the API
/// Gateway JWT authorizer verifies them (`COGNITO_ISSUER` set, no `LOCAL_JWT_SECRET`);
/// locally the router verifies them itself.
pub async fn build(instance: &Instance) -> Result<Router, InitError> {
    let cfg = &instance.cfg;
    let auth = if cfg.optional::<String>("LOCAL_JWT_SECRET")?.is_some() || !cfg.in_aws() {
        Authenticator::Verify(Arc::new(sluice_web::auth::verifier_from_config(cfg).await?))
    } else {
        Authenticator::Gateway
    };
    Ok(router(state(instance, auth).await?))
}

/// The chat's function URL (`chat-stream`, `InvokeMode: RESPONSE_STREAM`): the
/// conversation routes only, streamed. A function URL has no authorizer in front, so
/// this router verifies bearer tokens itself (Cognito in AWS), whatever the environment.
pub async fn build_chat_stream(instance: &Instance) -> Result<Router, InitError> {
    let auth = Authenticator::Verify(Arc::new(sluice_web::auth::verifier_from_config(&instance.cfg).await?));
    Ok(chat_router(state(instance, auth).await?))
}

/// What every route shares, with the given way of authenticating callers.
async fn state(instance: &Instance, auth: Authenticator) -> Result<Arc<ApiState>, InitError> {
    let cfg = &instance.cfg;
    let dynamodb = aws_sdk_dynamodb::Client::new(&instance.sdk);
    let (provider, model) = llm_analyzer::provider::from_instance(instance).await?;
    let mut state = ApiState {
        pool: instance.pool.clone(),
        auth,
        clock: instance.clock,
        s3: instance.s3(),
        market: MarketData {
            pool: instance.pool.clone(),
            cache: QuoteCache::new(
                dynamodb.clone(),
                &cfg.required::<String>("QUOTE_CACHE_TABLE")?,
                Duration::from_secs(cfg.or("QUOTE_CACHE_TTL_SECS", 300u64)?),
            ),
        },
        analyses: AnalysisConfig::load(cfg)?,
        feedback: FeedbackConfig::load(cfg, &instance.secrets).await?,
        billing: routes::billing::BillingConfig::load(cfg, &instance.secrets).await?,
        feedback_metrics: MetricsTable {
            dynamodb: dynamodb.clone(),
            table: cfg.required("FEEDBACK_METRICS_TABLE")?,
        },
        uploads: routes::uploads::UploadConfig::load(cfg)?,
        outbox: instance.outbox(Producer::HttpApi),
        knowledge: sluice_knowledge::embed::from_config(cfg, &instance.sdk)?,
        chat: chat::ChatConfig::load(cfg, dynamodb.clone(), &provider, model)?,
        tool_api: None,
        notifications: routes::notifications::NotificationConfig::load(cfg, &instance.secrets).await?,
        webhook_targets: sluice_notify::target::TargetPolicy::configured(
            cfg.or(sluice_notify::target::ALLOW_PRIVATE_SETTING, false)?,
            cfg.in_aws(),
        )
        .map_err(|reason| InitError::unusable(sluice_notify::target::ALLOW_PRIVATE_SETTING, reason))?,
    };
    let tool_pool = sluice_core::db::pool(&instance.db.with_statement_timeout(state.chat.limits.timeout, 1))
        .map_err(|e| InitError::unusable("CHAT_TOOL_TIMEOUT_MS", e))?;
    let mut tools = state.clone();
    tools.pool = tool_pool.clone();
    tools.market.pool = tool_pool;
    state.tool_api = Some(Arc::new(tools));
    Ok(Arc::new(state))
}

/// The conversation routes alone (the chat's streaming function URL). Their tools still
/// run through the whole API's router ([`chat::tools`]).
pub fn chat_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/conversations", axum::routing::post(chat::create))
        .route("/v1/conversations/{id}", axum::routing::get(chat::get))
        .route("/v1/conversations/{id}/messages", axum::routing::post(chat::ask))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn(
            sluice_web::rate_limit::with_rate_limit_headers,
        ))
        .layer(axum::middleware::from_fn(sluice_web::with_instance))
        .with_state(state)
}

/// The router over a built state.
pub fn router(state: Arc<ApiState>) -> Router {
    mount(Router::new())
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn(
            sluice_web::rate_limit::with_rate_limit_headers,
        ))
        .layer(axum::middleware::from_fn(sluice_web::with_instance))
        .with_state(state)
}

/// `GET /v1/openapi.json`: this API's OpenAPI document (`openapi.yaml`, as JSON).
async fn openapi() -> axum::response::Response {
    const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
    ([(http::header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response()
}

async fn no_route(request: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", request.method(), request.uri().path()))
}

async fn wrong_method(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(request.method().to_string())
}
