//! Who is calling. In AWS the API Gateway JWT authorizer has verified the token and
//! hands its claims over; locally the runner verifies the token and does the same.

/// The authenticated user of one request: the one reading of claims, shared with the
/// events function (which verifies tokens itself).
pub use sluice_core::auth::Principal as Caller;

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_messages::UserTier;
    use std::collections::HashMap;

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
