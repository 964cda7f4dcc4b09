//! Authentication is declared on each route by the extractor its handler takes:
//! [`Caller`] for any signed-in user, [`Team`] for members of the research team. A
//! handler that takes neither (the signed webhooks) needs no token: the sender's
//! signature is checked instead.

use crate::routes::account;
use crate::ApiState;
use axum::extract::FromRequestParts;
use http::request::Parts;
use sluice_core::auth::Principal;
use sluice_web::rate_limit::{self, AdmissionAnswer, AdmissionSlot, Allowance};
use sluice_web::ApiError;
use std::sync::Arc;

/// A signed-in user (the account is created on first use).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// A request the chat's tools make through the router on a caller's behalf (a request
/// extension, which only code can set): it is served as that caller, already
/// authenticated and admitted by the turn that runs the tool.
#[derive(Debug, Clone)]
pub struct AsCaller(pub Principal);

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        if let Some(AsCaller(principal)) = parts.extensions.get::<AsCaller>() {
            return Ok(Self(principal.clone()));
        }
        let mut principal = api.auth.principal(parts).await?;
        let mut client = api.pool.get().await?;
        // Served at the account's tier of record, not at whatever the token says.
        principal.tier = account::touch(&mut client, &principal, api.clock.today()).await?;
        // Every authenticated request counts against the tier's allowance.
        let allowance = Allowance::from(&principal.tier.policy());
        let admission = rate_limit::admit(&client, &principal.user_id, allowance, api.clock.now()).await?;
        if let Some(slot) = parts.extensions.get::<AdmissionSlot>() {
            slot.put(admission);
        }
        // The handler takes its own connection: never two at once.
        drop(client);
        match admission.refusal() {
            Some(refused) => Err(refused),
            None => Ok(Self(principal)),
        }
    }
}

/// A signed-in member of the research team: team data (spreadsheet loads, feedback).
#[derive(Debug, Clone)]
pub struct Team(pub Principal);

impl FromRequestParts<Arc<ApiState>> for Team {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, api).await?;
        // The `team` group only, whatever the tier: a paying customer is not the team.
        if principal.team_member {
            Ok(Self(principal))
        } else {
            Err(ApiError::Forbidden(
                "only members of the research team may read team data (spreadsheet loads, feedback)".into(),
            ))
        }
    }
}

/// A team admin (the `team` and `admins` groups): grants and corrects credits.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl FromRequestParts<Arc<ApiState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, api).await?;
        if principal.team_admin {
            Ok(Self(principal))
        } else {
            Err(ApiError::Forbidden(
                "only team admins (the team and admins groups) may grant or adjust credits".into(),
            ))
        }
    }
}
