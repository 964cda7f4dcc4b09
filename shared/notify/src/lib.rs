//! Notifications, pure (no I/O): what the notifier function and the HTTP API share.
//!
//! - [`kinds`]: the kinds of e-mail a user can mute, and which event is which kind.
//! - [`email`]: each kind's words, and the MIME message SES sends (with `List-Unsubscribe`).
//! - [`unsubscribe`]: the signed token of the unsubscribe link (no login needed).
//! - [`webhooks`]: outbound webhook secrets (`whsec_`), bodies and the retry schedule.
//! - [`target`]: which webhook URLs may be called (no private or loopback addresses in AWS).
//!
//! Who is told of an event is not decided here: [`sluice_messages::audience`] holds the
//! one rule, shared with the live stream.

pub mod email;
pub mod kinds;
pub mod target;
pub mod unsubscribe;
pub mod webhooks;

pub use kinds::NotificationKind;
