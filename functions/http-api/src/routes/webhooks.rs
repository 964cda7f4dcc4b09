//! `POST /v1/webhooks/{source}`: customer feedback from Zendesk, Intercom and any
//! Standard Webhooks sender. No bearer token: the sender signs the raw body instead
//! (checked in constant time by `sluice-feedback`). A refusal (401 bad, missing or
//! stale signature; 404 unknown source; 413) stores and queues nothing; a valid
//! delivery becomes one `FeedbackReceived` on the feedback FIFO queue.

use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use sluice_core::{ConfigSource, Destination, EventPublisher, Secrets};
use sluice_feedback::{WebhookError, WebhookSecrets, WebhookSource};
use sluice_messages::{CorrelationId, Envelope, Producer};
use sluice_web::{json, ApiError, RawBody};
use std::collections::HashMap;
use std::sync::Arc;

/// Where feedback goes and the senders' signing secrets.
#[derive(Clone)]
pub struct FeedbackConfig {
    pub queue_url: String,
    pub secrets: WebhookSecrets,
}

impl std::fmt::Debug for FeedbackConfig {
    // The secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedbackConfig")
            .field("queue_url", &self.queue_url)
            .finish_non_exhaustive()
    }
}

impl FeedbackConfig {
    /// `FEEDBACK_QUEUE_URL`; the secrets `ZENDESK_WEBHOOK_SECRET`, `INTERCOM_CLIENT_SECRET`
    /// and `STANDARD_WEBHOOK_SECRET` (space-separated `whsec_...` during a rotation), each
    /// optional: a source without one refuses its deliveries.
    pub async fn load(cfg: &ConfigSource, secrets: &Secrets) -> Result<Self, sluice_core::InitError> {
        let secret = |name: &'static str| async move {
            Ok::<_, sluice_core::InitError>(
                secrets
                    .get(cfg, name)
                    .await?
                    .map(|s| s.expose().to_owned())
                    .filter(|s| !s.trim().is_empty()),
            )
        };
        Ok(Self {
            queue_url: cfg.required("FEEDBACK_QUEUE_URL")?,
            secrets: WebhookSecrets {
                zendesk: secret("ZENDESK_WEBHOOK_SECRET").await?,
                intercom: secret("INTERCOM_CLIENT_SECRET").await?,
                standard: secret("STANDARD_WEBHOOK_SECRET")
                    .await?
                    .map(|s| s.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
            },
        })
    }
}

/// `POST /v1/webhooks/{source}`.
pub async fn receive(
    State(api): State<Arc<ApiState>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let source = WebhookSource::parse(&source)
        .ok_or_else(|| ApiError::not_found(format!("no webhook source `{source}`: zendesk, intercom or standard")))?;
    let headers: HashMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_owned())))
        .collect();
    let item = match sluice_feedback::receive_webhook(source, &headers, &body, &api.feedback.secrets, api.clock.now()) {
        Ok(item) => item,
        Err(WebhookError::Unsupported(what)) => {
            // Signed and valid, but nothing to triage (e.g. a user.created event).
            tracing::info!(?source, what, "webhook delivery carries no feedback; ignored");
            return Ok(json(StatusCode::ACCEPTED, &json!({"accepted": false, "reason": what})));
        }
        Err(e) => return Err(refusal(e)),
    };
    let external_id = item.external_id.clone();
    let correlation = CorrelationId::parse(&format!("webhook-{}", source_name(source))).unwrap_or_default();
    let envelope = Envelope::feedback(Producer::HttpApi, correlation, item);
    let mut client = api.pool.get().await?;
    let tx = client.transaction().await?;
    EventPublisher::stage(&tx, &Destination::FifoQueue(api.feedback.queue_url.clone()), &envelope).await?;
    tx.commit().await?;
    drop(client);
    api.flush_outbox().await;
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"accepted": true, "external_id": external_id}),
    ))
}

fn source_name(source: WebhookSource) -> &'static str {
    match source {
        WebhookSource::Zendesk => "zendesk",
        WebhookSource::Intercom => "intercom",
        WebhookSource::Standard => "standard",
    }
}

/// Signature problems are 401 with a reason that helps the sender and nothing more.
fn refusal(e: WebhookError) -> ApiError {
    match e {
        WebhookError::MissingSignature
        | WebhookError::BadSignature
        | WebhookError::StaleTimestamp
        | WebhookError::MalformedHeader(_) => ApiError::BadSignature(e.to_string()),
        WebhookError::NotConfigured => ApiError::internal("a webhook arrived for a source with no secret configured"),
        WebhookError::Malformed(reason) => ApiError::InvalidRequest(reason),
        WebhookError::Unsupported(what) => ApiError::InvalidRequest(what),
    }
}
