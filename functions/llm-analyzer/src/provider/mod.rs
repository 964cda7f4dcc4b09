//! Model providers behind one interface: Amazon Bedrock (Converse), any
//! OpenAI-compatible chat endpoint, and an offline extractive analyser that uses no
//! model at all. Retries happen in exactly one place, [`complete_with_retry`], with
//! the shared [`Backoff`]; the providers themselves make one attempt per call.

pub mod bedrock;
pub mod chat;
pub mod extractive;
pub mod openai;

use futures::future::BoxFuture;
use sluice_core::retry::Backoff;
use sluice_core::{ConfigError, ConfigSource};
use sluice_messages::{ModelKey, Money};
use sluice_vendor_http::{with_retry, BaseUrl, Verdict};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use bedrock::BedrockModel;
pub use extractive::ExtractiveModel;
pub use openai::OpenAiModel;

/// One single-turn request: a system prompt and a user prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub system: String,
    pub prompt: String,
    pub max_tokens: u32,
    pub temperature: f32,
    /// JSON Schema the answer must satisfy (also embedded in the prompt by the analysis layer).
    pub response_schema: Option<serde_json::Value>,
}

/// A model's answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub content: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub latency: Duration,
    pub cost: Money,
    pub model: ModelKey,
}

/// Why a model call failed. [`ProviderError::is_retryable`] decides whether trying
/// again can help; messages never carry prompt text or credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("the model provider is throttling requests")]
    Throttled { retry_after: Option<Duration> },
    #[error("the model provider is unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    #[error("the model call timed out")]
    Timeout,
    /// The endpoint could not be reached (connection refused, reset, DNS).
    #[error("the model provider could not be reached: {0}")]
    Network(String),
    /// A 4xx other than 429: the same request would fail again.
    #[error("the model provider refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the model provider's answer was malformed: {0}")]
    Malformed(String),
    #[error("the input does not fit the model's context window")]
    ContextTooLong,
    /// The request asks for something this provider cannot do.
    #[error("unsupported request: {0}")]
    Unsupported(String),
}

impl ProviderError {
    /// Throttling, 5xx, timeouts and connection failures are transient.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Unavailable { .. } | Self::Timeout | Self::Network(_)
        )
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// A language model (or a stand-in for one) the analysis layer can call.
pub trait LanguageModel: Send + Sync {
    fn model(&self) -> &ModelKey;
    /// How many input tokens fit (for chunking).
    fn context_tokens(&self) -> usize;
    /// True for the offline extractive analyser (no language model).
    fn is_extractive(&self) -> bool {
        false
    }
    /// One attempt; retrying is [`complete_with_retry`]'s job.
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> BoxFuture<'a, Result<Completion, ProviderError>>;
    /// One attempt at a conversation turn with tools ([`chat::chat_with_retry`] retries).
    /// Providers without a chat (the extractive analyser) refuse.
    fn chat<'a>(&'a self, _request: &'a chat::ChatRequest) -> BoxFuture<'a, Result<chat::ChatReply, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::Unsupported(
                "this provider has no chat with tools".to_owned(),
            ))
        })
    }
}

/// Whether a failed call is tried again (and when): the one rule of both the single-turn
/// completions and the chat.
pub(crate) fn retry_verdict(error: &ProviderError) -> Verdict {
    if error.is_retryable() {
        Verdict::Retry {
            after: error.retry_after(),
        }
    } else {
        Verdict::Final
    }
}

/// Calls the model, retrying only retryable errors with full-jitter exponential
/// backoff (a server's Retry-After wins), at most `backoff.max_attempts` attempts: the
/// shared loop of [`sluice_vendor_http::with_retry`], for every provider.
pub async fn complete_with_retry(
    model: &dyn LanguageModel,
    request: &CompletionRequest,
    backoff: Backoff,
) -> Result<Completion, ProviderError> {
    let what = model.model().to_string();
    with_retry(backoff, &what, |_attempt| model.complete(request), retry_verdict).await
}

/// Which provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Bedrock,
    OpenAi,
    Extractive,
}

impl ProviderKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Bedrock => "bedrock",
            Self::OpenAi => "openai",
            Self::Extractive => "extractive",
        }
    }
}

impl FromStr for ProviderKind {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "bedrock" => Ok(Self::Bedrock),
            "openai" => Ok(Self::OpenAi),
            "extractive" => Ok(Self::Extractive),
            _ => Err("expected bedrock, openai or extractive".to_owned()),
        }
    }
}

/// Price per million tokens, in micro-dollars, so cost stays integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pricing {
    pub input_per_mtok_micros: i64,
    pub output_per_mtok_micros: i64,
}

impl Pricing {
    /// Nova Lite on-demand: $0.06 per million input tokens, $0.24 per million output tokens.
    pub const NOVA_LITE: Pricing = Pricing {
        input_per_mtok_micros: 60_000,
        output_per_mtok_micros: 240_000,
    };

    /// Cost of one call, rounded half up to the micro-dollar once (not per side).
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> Money {
        let scaled = i128::from(input_tokens) * i128::from(self.input_per_mtok_micros)
            + i128::from(output_tokens) * i128::from(self.output_per_mtok_micros);
        let micros = (scaled + 500_000).div_euclid(1_000_000);
        Money::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

/// The model server's API key (`LLM_API_KEY`): the shared secret type, never printed.
pub use sluice_vendor_http::ApiKey;

pub const DEFAULT_BEDROCK_MODEL: &str = ModelKey::DEFAULT_BEDROCK_MODEL;
/// Big enough that the extractive analyser never chunks.
pub const EXTRACTIVE_CONTEXT_TOKENS: usize = 10_000_000;
const MIN_CONTEXT_TOKENS: usize = 1_000;

/// Everything the providers read from the environment.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    kind: ProviderKind,
    model: String,
    key: ModelKey,
    base_url: Option<BaseUrl>,
    api_key: Option<ApiKey>,
    bedrock_endpoint_url: Option<BaseUrl>,
    timeout: Duration,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    context_tokens: usize,
    pricing: Pricing,
}

impl ProviderConfig {
    /// Reads `LLM_PROVIDER`, `LLM_MODEL`, `LLM_BASE_URL`, `LLM_API_KEY`,
    /// `BEDROCK_ENDPOINT_URL`, `LLM_TIMEOUT_SECS`, `LLM_MAX_ATTEMPTS`, `LLM_BACKOFF_MS`,
    /// `LLM_BACKOFF_MAX_MS`, `LLM_CONTEXT_TOKENS`, `LLM_PRICE_INPUT_PER_MTOK_MICROS`
    /// and `LLM_PRICE_OUTPUT_PER_MTOK_MICROS`.
    pub fn load(cfg: &ConfigSource) -> Result<Self, ConfigError> {
        let kind: ProviderKind = cfg.or("LLM_PROVIDER", ProviderKind::Extractive)?;
        let invalid = |key: &str, reason: &str| ConfigError::Invalid {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        let model = match kind {
            ProviderKind::Bedrock => cfg.or("LLM_MODEL", DEFAULT_BEDROCK_MODEL.to_owned())?,
            ProviderKind::OpenAi => cfg.required::<String>("LLM_MODEL")?,
            ProviderKind::Extractive => "v1".to_owned(),
        };
        // The one rule the API (pool look-ups) and the analyser (pool writes) share.
        let key = ModelKey::configured(kind.as_str(), Some(&model)).map_err(|e| invalid("LLM_MODEL", &e.reason))?;
        let base_url = match kind {
            ProviderKind::OpenAi => Some(cfg.required::<BaseUrl>("LLM_BASE_URL")?),
            _ => None,
        };
        let api_key = match kind {
            ProviderKind::OpenAi => cfg.optional::<ApiKey>("LLM_API_KEY")?,
            _ => None,
        };
        let bedrock_endpoint_url = match kind {
            ProviderKind::Bedrock => cfg.optional::<BaseUrl>("BEDROCK_ENDPOINT_URL")?,
            _ => None,
        };
        let timeout_secs: u64 = cfg.or("LLM_TIMEOUT_SECS", 60)?;
        if timeout_secs == 0 {
            return Err(invalid("LLM_TIMEOUT_SECS", "must be at least 1"));
        }
        let max_attempts: u32 = cfg.or("LLM_MAX_ATTEMPTS", 4)?;
        if max_attempts == 0 {
            return Err(invalid("LLM_MAX_ATTEMPTS", "must be at least 1"));
        }
        let backoff_ms: u64 = cfg.or("LLM_BACKOFF_MS", 500)?;
        let backoff_max_ms: u64 = cfg.or("LLM_BACKOFF_MAX_MS", 20_000)?;
        let default_context = match kind {
            ProviderKind::Bedrock => bedrock_context_tokens(&model),
            ProviderKind::OpenAi => 8_192,
            ProviderKind::Extractive => EXTRACTIVE_CONTEXT_TOKENS,
        };
        let context_tokens: usize = cfg.or("LLM_CONTEXT_TOKENS", default_context)?;
        if context_tokens < MIN_CONTEXT_TOKENS {
            return Err(invalid("LLM_CONTEXT_TOKENS", "must be at least 1000"));
        }
        let default_pricing = match kind {
            ProviderKind::Bedrock if model.contains("nova-lite") => Pricing::NOVA_LITE,
            _ => Pricing::default(),
        };
        let pricing = Pricing {
            input_per_mtok_micros: cfg.or("LLM_PRICE_INPUT_PER_MTOK_MICROS", default_pricing.input_per_mtok_micros)?,
            output_per_mtok_micros: cfg.or(
                "LLM_PRICE_OUTPUT_PER_MTOK_MICROS",
                default_pricing.output_per_mtok_micros,
            )?,
        };
        if pricing.input_per_mtok_micros < 0 || pricing.output_per_mtok_micros < 0 {
            return Err(invalid("LLM_PRICE_INPUT_PER_MTOK_MICROS", "prices cannot be negative"));
        }
        if kind != ProviderKind::Extractive && pricing == Pricing::default() {
            tracing::warn!(model = %key, "no token prices configured; analysis costs will be recorded as zero");
        }
        Ok(Self {
            kind,
            model,
            key,
            base_url,
            api_key,
            bedrock_endpoint_url,
            timeout: Duration::from_secs(timeout_secs),
            max_attempts,
            backoff_base: Duration::from_millis(backoff_ms),
            backoff_max: Duration::from_millis(backoff_max_ms.max(backoff_ms)),
            context_tokens,
            pricing,
        })
    }

    pub fn kind(&self) -> ProviderKind {
        self.kind
    }
    /// The provider's own model id (`amazon.nova-lite-v1:0`, `gpt-4o-mini`, `v1`).
    pub fn model(&self) -> &str {
        &self.model
    }
    /// `bedrock:<model>`, `openai:<model>` or `extractive:v1`.
    pub fn model_key(&self) -> ModelKey {
        self.key.clone()
    }
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_ref().map(BaseUrl::as_str)
    }
    pub fn api_key(&self) -> Option<&ApiKey> {
        self.api_key.as_ref()
    }
    pub fn bedrock_endpoint_url(&self) -> Option<&str> {
        self.bedrock_endpoint_url.as_ref().map(BaseUrl::as_str)
    }
    /// The whole of one attempt, connection included.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    pub fn context_tokens(&self) -> usize {
        self.context_tokens
    }
    pub fn pricing(&self) -> Pricing {
        self.pricing
    }
    /// The backoff [`complete_with_retry`] should use with this provider.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            max_attempts: self.max_attempts,
            base: self.backoff_base,
            max: self.backoff_max,
        }
    }
}

/// Context windows of the Bedrock models Sluice is likely to run; conservative otherwise.
fn bedrock_context_tokens(model: &str) -> usize {
    if model.contains("nova-lite") || model.contains("nova-pro") {
        300_000
    } else if model.contains("nova-micro") {
        128_000
    } else {
        32_000
    }
}

/// Why a provider could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// The model the configuration names. Built once per Lambda instance.
pub async fn build_model(
    config: &ProviderConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<Arc<dyn LanguageModel>, BuildError> {
    let model: Arc<dyn LanguageModel> = match config.kind {
        ProviderKind::Bedrock => Arc::new(BedrockModel::new(config, sdk)),
        ProviderKind::OpenAi => Arc::new(OpenAiModel::new(config)?),
        ProviderKind::Extractive => Arc::new(ExtractiveModel::new()),
    };
    tracing::info!(model = %model.model(), context_tokens = model.context_tokens(), "model provider ready");
    Ok(model)
}

/// The model an instance's configuration names, with its settings: `LLM_PROVIDER` and
/// the rest of [`ProviderConfig::load`], an OpenAI-compatible endpoint's key read as the
/// secret `LLM_API_KEY`. The one way a function sets its model up (llm-analyzer,
/// portfolio-analyst's report narration).
pub async fn from_instance(
    instance: &sluice_core::Instance,
) -> Result<(ProviderConfig, Arc<dyn LanguageModel>), sluice_core::InitError> {
    let cfg = match instance.secret("LLM_API_KEY").await? {
        Some(key) => instance.cfg.clone().with("LLM_API_KEY", key.expose()),
        None => instance.cfg.clone(),
    };
    let provider = ProviderConfig::load(&cfg)?;
    let model = build_model(&provider, &instance.sdk)
        .await
        .map_err(|e| sluice_core::InitError::unusable("LLM_PROVIDER", e))?;
    Ok((provider, model))
}

/// Keeps provider error messages short and free of anything we must not echo.
pub(crate) fn sanitise_message(message: &str, secret: Option<&ApiKey>) -> String {
    let mut out = message.trim().to_owned();
    if let Some(key) = secret {
        out = key.redact(&out);
    }
    if out.chars().count() > 300 {
        out = out.chars().take(300).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_provider() {
        let c = ProviderConfig::load(&ConfigSource::default()).unwrap();
        assert_eq!(c.kind(), ProviderKind::Extractive);
        assert_eq!(c.model_key().as_str(), "extractive:v1");
        assert_eq!(c.context_tokens(), EXTRACTIVE_CONTEXT_TOKENS);

        let c = ProviderConfig::load(&ConfigSource::from_pairs([("LLM_PROVIDER", "bedrock")])).unwrap();
        assert_eq!(c.model_key().as_str(), "bedrock:amazon.nova-lite-v1:0");
        assert_eq!(c.context_tokens(), 300_000);
        assert_eq!(c.pricing(), Pricing::NOVA_LITE);
        assert_eq!(c.timeout(), Duration::from_secs(60));
        assert_eq!(c.backoff().max_attempts, 4);
        assert_eq!(c.backoff().base, Duration::from_millis(500));
        assert_eq!(c.bedrock_endpoint_url(), None);
    }

    #[test]
    fn openai_needs_a_model_and_a_base_url_and_hides_the_key() {
        let base = ConfigSource::from_pairs([("LLM_PROVIDER", "openai")]);
        assert!(matches!(
            ProviderConfig::load(&base),
            Err(ConfigError::Missing { key }) if key == "LLM_MODEL"
        ));
        let with_model = base.with("LLM_MODEL", "llama3.1:8b");
        assert!(matches!(
            ProviderConfig::load(&with_model),
            Err(ConfigError::Missing { key }) if key == "LLM_BASE_URL"
        ));
        let bad_url = with_model.clone().with("LLM_BASE_URL", "ftp://x");
        assert!(ProviderConfig::load(&bad_url).is_err());
        let userinfo = with_model.clone().with("LLM_BASE_URL", "https://user:sk-123@host/v1");
        let err = ProviderConfig::load(&userinfo).unwrap_err().to_string();
        assert!(!err.contains("sk-123"), "{err}");
        let full = with_model
            .with("LLM_BASE_URL", "http://127.0.0.1:11434/v1/")
            .with("LLM_API_KEY", "sk-secret")
            .with("LLM_CONTEXT_TOKENS", "4096")
            .with("LLM_PRICE_INPUT_PER_MTOK_MICROS", "150000");
        let c = ProviderConfig::load(&full).unwrap();
        assert_eq!(c.model_key().as_str(), "openai:llama3.1:8b");
        assert_eq!(c.base_url(), Some("http://127.0.0.1:11434/v1"));
        assert_eq!(c.context_tokens(), 4096);
        assert_eq!(c.pricing().input_per_mtok_micros, 150_000);
        assert_eq!(c.pricing().output_per_mtok_micros, 0);
        assert!(!format!("{c:?}").contains("sk-secret"));
        assert_eq!(c.api_key().map(ApiKey::expose), Some("sk-secret"));
    }

    #[test]
    fn nonsense_values_are_refused() {
        for (key, value) in [
            ("LLM_PROVIDER", "gpt"),
            ("LLM_MAX_ATTEMPTS", "0"),
            ("LLM_TIMEOUT_SECS", "0"),
            ("LLM_CONTEXT_TOKENS", "10"),
            ("LLM_MODEL", "has space"),
            ("LLM_PRICE_OUTPUT_PER_MTOK_MICROS", "-1"),
        ] {
            let cfg = ConfigSource::from_pairs([("LLM_PROVIDER", "bedrock")]).with(key, value);
            assert!(ProviderConfig::load(&cfg).is_err(), "{key}={value}");
        }
    }

    #[test]
    fn cost_is_integer_micro_dollars_rounded_once() {
        let p = Pricing::NOVA_LITE;
        assert_eq!(p.cost(1_000_000, 0), Money::from_micros(60_000));
        assert_eq!(p.cost(0, 1_000_000), Money::from_micros(240_000));
        // 1000 in at 0.06 micros each + 500 out at 0.24 micros each = 60 + 120.
        assert_eq!(p.cost(1_000, 500), Money::from_micros(180));
        // 7 tokens cost 0.42 micros: rounds to 0; 9 tokens 0.54: rounds to 1.
        assert_eq!(p.cost(7, 0), Money::ZERO);
        assert_eq!(p.cost(9, 0), Money::from_micros(1));
        assert_eq!(Pricing::default().cost(123_456, 789), Money::ZERO);
    }

    #[test]
    fn retryable_errors() {
        assert!(ProviderError::Throttled { retry_after: None }.is_retryable());
        assert!(ProviderError::Unavailable { status: 503 }.is_retryable());
        assert!(ProviderError::Timeout.is_retryable());
        assert!(ProviderError::Network("reset".into()).is_retryable());
        assert!(!ProviderError::Refused {
            status: 400,
            message: "bad".into()
        }
        .is_retryable());
        assert!(!ProviderError::ContextTooLong.is_retryable());
        assert!(!ProviderError::Malformed("x".into()).is_retryable());
        assert_eq!(
            ProviderError::Throttled {
                retry_after: Some(Duration::from_secs(2))
            }
            .retry_after(),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn messages_lose_the_key_and_stay_short() {
        let key = ApiKey::new("sk-abc");
        assert_eq!(sanitise_message(" bad key sk-abc ", Some(&key)), "bad key ***");
        assert_eq!(sanitise_message(&"x".repeat(400), None).chars().count(), 301);
    }
}
