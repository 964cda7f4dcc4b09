//! Who is calling. In AWS the API Gateway JWT authorizer has verified the token and
//! hands its claims over; locally the runner verifies the token and does the same.

use serde::Serialize;
use sluice_messages::{Email, UserTier};
use std::collections::HashMap;

/// The authenticated user of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub user_id: String,
    pub email: Option<Email>,
    pub tier: UserTier,
    /// Members of the research team (may read team-wide data).
    pub team_member: bool,
}

impl Caller {
    /// From verified JWT claims: `sub`; the tier from `custom:tier` (Cognito) or
    /// `tier`, demo when absent; team membership from the `team` group.
    pub fn from_claims(claims: &HashMap<String, String>) -> Option<Self> {
        let user_id = claims
            .get("sub")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && s.len() <= 128)?;
        let tier = claims
            .get("custom:tier")
            .or_else(|| claims.get("tier"))
            .and_then(|t| UserTier::parse(t).ok())
            .unwrap_or(UserTier::Demo);
        let groups = claims
            .get("cognito:groups")
            .or_else(|| claims.get("groups"))
            .cloned()
            .unwrap_or_default();
        let team_member = groups
            .split([',', ' ', '[', ']'])
            .any(|g| g.trim().eq_ignore_ascii_case("team"));
        Some(Self {
            user_id: user_id.to_owned(),
            email: claims.get("email").and_then(|e| Email::parse(e).ok()),
            tier,
            team_member,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn cognito_claims_make_a_caller() {
        let c = Caller::from_claims(&claims(&[
            ("sub", "u-1"),
            ("custom:tier", "professional"),
            ("email", "ana@fund.example"),
            ("cognito:groups", "[team admins]"),
        ]))
        .unwrap();
        assert_eq!(
            (c.user_id.as_str(), c.tier, c.team_member),
            ("u-1", UserTier::Professional, true)
        );
    }

    #[test]
    fn no_subject_no_caller_and_unknown_tiers_are_demo() {
        assert!(Caller::from_claims(&claims(&[("tier", "basic")])).is_none());
        let c = Caller::from_claims(&claims(&[("sub", "u"), ("tier", "platinum")])).unwrap();
        assert_eq!(c.tier, UserTier::Demo);
        assert!(!c.team_member);
    }
}
