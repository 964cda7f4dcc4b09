//! The unsubscribe link's token: which user and which kind of e-mail, signed with a
//! key only Sluice holds (HMAC-SHA256), so the link works without a login and cannot be
//! forged for someone else. It carries nothing secret (a user id and a kind) and never
//! expires: an old e-mail's link still works.
//!
//! `v1.<base64url(user id)>.<kind>.<base64url(HMAC-SHA256(key, "sluice-unsubscribe\0v1\0" user "\0" kind))>`

use crate::NotificationKind;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: &str = "v1";
const CONTEXT: &[u8] = b"sluice-unsubscribe\0v1\0";

/// What a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub user_id: String,
    pub kind: NotificationKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the unsubscribe link is incomplete or damaged")]
    Malformed,
    #[error("the unsubscribe link is not one Sluice sent")]
    BadSignature,
}

/// `None` only for an empty key (HMAC itself takes keys of any length).
fn mac(key: &[u8], user_id: &str, kind: NotificationKind) -> Option<Hmac<Sha256>> {
    if key.is_empty() {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(CONTEXT);
    mac.update(user_id.as_bytes());
    mac.update(b"\0");
    mac.update(kind.as_str().as_bytes());
    Some(mac)
}

/// The token of `user_id`'s link for `kind` (`None` for an empty key: nothing to sign with).
pub fn sign(key: &[u8], user_id: &str, kind: NotificationKind) -> Option<String> {
    let tag = mac(key, user_id, kind)?.finalize().into_bytes();
    Some(format!(
        "{VERSION}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(user_id.as_bytes()),
        kind.as_str(),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Checks a token (constant-time comparison of the signature).
pub fn verify(key: &[u8], token: &str) -> Result<Unsubscribe, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(VERSION), Some(user), Some(kind), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let user_id = URL_SAFE_NO_PAD
        .decode(user)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|u| !u.is_empty())
        .ok_or(TokenError::Malformed)?;
    let kind = NotificationKind::parse(kind).ok_or(TokenError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
    mac(key, &user_id, kind)
        .ok_or(TokenError::BadSignature)?
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    Ok(Unsubscribe { user_id, kind })
}

/// The link in an e-mail: `<api>/v1/unsubscribe?token=...` (the token is URL-safe).
pub fn link(api_url: &str, token: &str) -> String {
    format!("{}/v1/unsubscribe?token={token}", api_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-key";

    #[test]
    fn a_signed_token_verifies_and_names_its_user_and_kind() {
        let token = sign(KEY, "user/with.dots", NotificationKind::KpiAlert).unwrap();
        assert_eq!(
            verify(KEY, &token),
            Ok(Unsubscribe {
                user_id: "user/with.dots".into(),
                kind: NotificationKind::KpiAlert
            })
        );
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
    }

    #[test]
    fn forged_or_damaged_tokens_are_refused() {
        let token = sign(KEY, "ana", NotificationKind::LowBalance).unwrap();
        assert_eq!(sign(b"", "ana", NotificationKind::LowBalance), None);
        assert_eq!(verify(b"", &token), Err(TokenError::BadSignature));
        assert_eq!(verify(b"other-key", &token), Err(TokenError::BadSignature));
        // Another user's id under ana's signature.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("v1.{}.{}.{}", URL_SAFE_NO_PAD.encode("bob"), parts[2], parts[3]);
        assert_eq!(verify(KEY, &forged), Err(TokenError::BadSignature));
        // Another kind under the same signature.
        let other_kind = format!("v1.{}.kpi_alert.{}", parts[1], parts[3]);
        assert_eq!(verify(KEY, &other_kind), Err(TokenError::BadSignature));
        for bad in [
            "",
            "v1",
            "v2.a.low_balance.b",
            "v1.!!.low_balance.x",
            "v1.YW5h.nope.x",
            &format!("{token}.x"),
        ] {
            assert_eq!(verify(KEY, bad), Err(TokenError::Malformed), "{bad}");
        }
    }
}
