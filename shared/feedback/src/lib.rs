//! Customer feedback in. Pure: no I/O, no clock (the caller passes `now`).
//!
//! Every source becomes one [`FeedbackReceived`]: signed webhooks from Zendesk, Intercom
//! and any Standard Webhooks sender ([`receive_webhook`]), App Store Connect and Google
//! Play review exports uploaded under `uploads/reviews/` ([`parse_app_store_reviews`],
//! [`parse_google_play_reviews`]) and raw e-mail written by an SES receipt rule under
//! `inbound-email/` ([`parse_email`]).
//!
//! # Identity: processed once
//!
//! Downstream deduplicates on `source:external_id:revision`. `external_id` is the item at
//! the source (ticket, conversation, review, Message-ID); `revision` its version. The same
//! delivery sent again gives the same pair; a later update of the same ticket keeps
//! `external_id` and gets a new `revision`:
//!
//! | source      | external_id                           | revision                                      |
//! |-------------|---------------------------------------|-----------------------------------------------|
//! | Zendesk     | ticket id                             | ticket `updated_at` (event shape or template); else `sha256:` of the body |
//! | Intercom    | conversation id                       | `message:<id>` / `part:<id>` of the customer's words; `rating:<created_at>`; `updated:<updated_at>` for a teammate reply |
//! | Standard    | `data.id`                             | the `webhook-id` header                       |
//! | App Store   | review id                             | `createdDate`                                 |
//! | Google Play | `reviewId` of the review link, else `package:submit-millis:device` | last update time (RFC 3339, ms) |
//! | E-mail      | Message-ID, else `sha256:<hex>` of the raw bytes | the same                            |
//!
//! # Text
//!
//! `text` is never empty: an item with neither text nor rating is an error (webhooks:
//! [`WebhookError::Malformed`]; exports: a skipped row; e-mail: [`EmailError::NoText`]).
//! A rating without words gets the text "Rated N of 5 stars, with no written comment.".
//! Text is whitespace-normalised (one space between words, at most one blank line, trimmed,
//! invisible characters removed) and capped at [`MAX_TEXT_CHARS`] (20,000) characters.
//! HTML (Intercom parts, HTML-only e-mail) is converted to text with an HTML5 parser.
//! Every text loses a signature block below a `-- ` delimiter (also `--`, without the space);
//! e-mail text also loses quoted replies, mobile footers and sign-offs ([`strip_quoted_and_signature`]).
//! `language` is a BCP 47 tag when the source gives a clear hint (a locale, Google Play's
//! Reviewer Language, an App Store storefront with one dominant language,
//! `Content-Language`), else `None`.
//!
//! # Webhook signatures
//!
//! Checked on the raw body bytes in constant time. A missing signature, a wrong one and a
//! stale timestamp are distinct [`WebhookError`]s. Where the scheme signs a timestamp it
//! must be within [`REPLAY_WINDOW_SECS`] (5 minutes) of `now`, in the past or the future.
//!
//! - **Zendesk**: `X-Zendesk-Webhook-Signature` = base64 HMAC-SHA256 of
//!   `X-Zendesk-Webhook-Signature-Timestamp` + body, keyed with the signing secret's UTF-8
//!   text as Zendesk shows it ([`verify_zendesk`]).
//! - **Intercom**: `X-Hub-Signature` = `sha1=` + hex HMAC-SHA1 of the body with the app's
//!   client secret ([`verify_intercom`]). No timestamp: replays dedupe downstream.
//! - **Standard Webhooks**: `webhook-id`, `webhook-timestamp` (Unix seconds) and
//!   `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
//!   keyed with the base64-decoded part of a `whsec_` secret; any configured secret may
//!   match any listed signature, for rotations ([`verify_standard`]). `svix-*` headers are
//!   read as the same.
//!
//! # What each webhook body yields
//!
//! **Zendesk**, event subscriptions (`"type": "zen:event-type:ticket.*"`, `detail` = the
//! ticket, `event` = the change): `ticket.created` and `ticket.description_changed` give
//! the ticket's description (author: requester id); `ticket.comment_added` gives the
//! comment when a customer wrote it publicly (author: its name); an agent's comment or an
//! internal note gives the description again under the new revision (the ticket changed,
//! the customer's words did not). Other ticket events and non-ticket events (`user.*`,
//! `organization.*`) are [`WebhookError::Unsupported`].
//!
//! **Zendesk**, trigger/automation webhooks: the JSON body is whatever the admin wrote.
//! Use this template (JSON, POST):
//!
//! ```json
//! {
//!   "ticket_id": "{{ticket.id}}",
//!   "updated_at": "{{ticket.updated_at_with_timestamp}}",
//!   "subject": "{{ticket.title}}",
//!   "comment": "{{ticket.latest_public_comment}}",
//!   "author": "{{ticket.requester.name}}",
//!   "url": "{{ticket.link}}"
//! }
//! ```
//!
//! `ticketID`/`ticketId`/`id` are read as the ticket id and `latest_public_comment`,
//! `latest_comment`, `text`, `body`, `description` as the text, and `locale`/`language`
//! when it holds a language tag (`en-US`; a language name is ignored). A body with a ticket id but
//! no text (a notification-only trigger) is [`WebhookError::Malformed`]: the message says
//! which field to add, and Zendesk shows the failing webhook to its admin.
//!
//! **Intercom** (`"type": "notification_event"`, API 1.x `conversation_message` or 2.x
//! `source`): `conversation.user.created` gives the opening message;
//! `conversation.user.replied` the newest part a user/lead/contact wrote;
//! `conversation.rating.added` the rating and its remark; `conversation.admin.replied` the
//! customer's opening message under a new revision (or `Unsupported` when a teammate
//! opened the conversation). Every other topic (`user.created`, `conversation_part.tag.created`,
//! `ping`, ...) and any other body type is `Unsupported`. HTML is stripped.
//!
//! **Standard** (Sluice's generic feedback JSON; `type` `feedback.created` or
//! `feedback.updated`, other types are `Unsupported`):
//!
//! ```json
//! {
//!   "type": "feedback.created",
//!   "timestamp": "2024-05-01T12:00:00Z",
//!   "data": {
//!     "id": "fb_123",
//!     "text": "Love the new dashboard, but exports are slow.",
//!     "author": "Dana Smith",
//!     "rating": 4,
//!     "subject": "Dashboard",
//!     "language": "en-GB",
//!     "url": "https://example.com/feedback/fb_123"
//!   }
//! }
//! ```
//!
//! `data.id` (string or number) is required, and `data.text` unless there is a `rating`
//! (a whole number 1-5). `timestamp` (RFC 3339, optional) is `received_at`; without it the
//! receive time is used. The other fields are optional.

pub mod email;
mod intercom;
mod json;
pub mod metrics;
pub mod reviews;
pub mod ses;
pub mod signature;
mod standard;
pub mod text;
pub mod webhook;
mod zendesk;

pub use email::{parse_email, strip_quoted_and_signature, EmailError};
pub use intercom::parse_intercom;
pub use json::parse_time;
pub use reviews::{
    parse_app_store_export, parse_app_store_reviews, parse_google_play_export, parse_google_play_reviews, ReviewError,
    ReviewExport, SkippedReview,
};
pub use ses::{screen_inbound, EmailRefusal, InboundMail, ReceiptVerdicts};
pub use signature::{
    sign_intercom, sign_standard, sign_stripe, sign_zendesk, verify_hub_sha256, verify_intercom, verify_standard,
    verify_stripe, verify_zendesk, REPLAY_WINDOW_SECS,
};
pub use sluice_messages::{FeedbackReceived, FeedbackSource};
pub use standard::{parse_standard, STANDARD_FEEDBACK_TYPES};
pub use text::MAX_TEXT_CHARS;
pub use webhook::{receive_webhook, WebhookError, WebhookSecrets, WebhookSource};
pub use zendesk::parse_zendesk;
