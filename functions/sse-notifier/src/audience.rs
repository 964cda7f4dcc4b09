//! Whose an event is: the one rule, shared with the notifications (notifier), lives in
//! [`sluice_messages::audience`].

pub use sluice_messages::audience::{may_see, owner};
