//! `GET /v1/me`: the caller's account, tier, credits, limits and usage. Accounts are
//! created on first use, from the verified claims.

use crate::caller::Caller;
use crate::routes::analyses;
use crate::ApiState;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use sluice_core::auth::Principal;
use sluice_core::ledger;
use sluice_messages::{Money, TierPolicy, UserTier};
use sluice_web::{json, ApiError};
use std::sync::Arc;

/// Creates the account on first use, from the claims; later requests record the visit.
/// Returns the account's tier of record: a token that claims a tier sets it (the user
/// pool is where an admin changes it); a token that claims none (an access token) never
/// changes it, so it can never lower what the account pays for. A new account gets its
/// tier's credits for the month, and an upgrade the difference to the better tier's,
/// through the ledger (once per account, month and tier).
pub async fn touch(
    client: &mut deadpool_postgres::Client,
    caller: &Principal,
    today: chrono::NaiveDate,
) -> Result<UserTier, ApiError> {
    let first_tier = caller.claimed_tier.unwrap_or(UserTier::Demo);
    let row = client
        .query_one(
            "WITH before AS (SELECT tier FROM user_accounts WHERE user_id = $1)
             INSERT INTO user_accounts (user_id, email, tier, credit_balance_micros, team_member)
             VALUES ($1, $2, $3, 0, $4)
             ON CONFLICT (user_id) DO UPDATE SET last_seen_at = now(),
                 email = COALESCE(EXCLUDED.email, user_accounts.email),
                 tier = COALESCE($5, user_accounts.tier), team_member = EXCLUDED.team_member,
                 updated_at = CASE WHEN (user_accounts.tier, user_accounts.team_member)
                     IS DISTINCT FROM (COALESCE($5, user_accounts.tier), EXCLUDED.team_member)
                     THEN now() ELSE user_accounts.updated_at END
             RETURNING tier, (SELECT tier FROM before)",
            &[
                &caller.user_id,
                &caller.email.as_ref().map(|e| e.as_str()),
                &first_tier.as_str(),
                &caller.team_member,
                &caller.claimed_tier.map(|t| t.as_str()),
            ],
        )
        .await?;
    let stored: String = row.get(0);
    let before: Option<String> = row.get(1);
    let tier = UserTier::parse(&stored)?;
    if before.as_deref() != Some(stored.as_str()) && !tier.policy().monthly_credits.is_zero() {
        let tx = client.transaction().await?;
        ledger::grant_monthly_credits(&tx, &caller.user_id, tier, today).await?;
        tx.commit().await?;
    }
    Ok(tier)
}

/// A tier's limits and prices, money in the one shape answers use.
pub fn limits_json(policy: &TierPolicy) -> serde_json::Value {
    json!({
        "requests_per_hour": policy.requests_per_hour,
        "requests_per_day": policy.requests_per_day,
        "concurrent_analyses": policy.concurrent_analyses,
        "history_years": policy.history_years,
        "sp500_only": policy.sp500_only,
        "filing_access_fee": policy.filing_access_fee.view(),
        "analysis_fee": policy.analysis_fee.view(),
        "monthly_credits": policy.monthly_credits.view(),
    })
}

/// `GET /v1/me`.
pub async fn me(State(api): State<Arc<ApiState>>, Caller(caller): Caller) -> Result<Response, ApiError> {
    let client = api.pool.get().await?;
    let row = client
        .query_one(
            "SELECT credit_balance_micros, created_at FROM user_accounts WHERE user_id = $1",
            &[&caller.user_id],
        )
        .await?;
    let balance = Money::from_micros(row.get(0));
    let created: chrono::DateTime<chrono::Utc> = row.get(1);
    let usage = analyses::usage(&client, &caller, api.clock.now()).await?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "user_id": caller.user_id,
            "email": caller.email.as_ref().map(|e| e.as_str()),
            "tier": caller.tier.as_str(),
            "team_member": caller.team_member,
            "credit_balance": balance.view(),
            // When the tier's monthly credits are next granted.
            "credit_reset_date": ledger::credit_reset_date(api.clock.today()),
            "limits": limits_json(&caller.tier.policy()),
            "usage": usage,
            "member_since": created,
        }),
    ))
}
