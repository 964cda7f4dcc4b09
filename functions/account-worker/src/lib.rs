//! Accounts on a schedule. On the first day of each month (EventBridge Scheduler,
//! template.yaml) every account is topped up with what its tier includes for the month,
//! through the one ledger: the grant's key names the account, month and tier, so a retried
//! or repeated run grants nothing twice. A run that dies midway is finished by the next
//! (or the retry): accounts already granted are skipped by their key.

use chrono::NaiveDate;
use sluice_core::ledger::{self, CreditOutcome, LedgerError};
use sluice_core::{Answer, Clock, Function, FunctionError, Instance, Pool, Trigger};
use sluice_messages::UserTier;

pub const SERVICE: &str = "account-worker";

/// The schedule's name in its input (template.yaml).
pub const MONTHLY_CREDITS: &str = "monthly-credits";

/// Accounts granted per round trip for the account list.
const PAGE: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("account {user_id} has an unknown tier: {reason}")]
    Tier { user_id: String, reason: String },
}

/// What one monthly run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MonthlyGrants {
    pub month: String,
    pub accounts: u64,
    pub granted: u64,
    /// Granted before (a repeated run, or an account that upgraded this month already).
    pub already: u64,
}

/// The function, built once per instance.
#[derive(Clone)]
pub struct AccountWorker {
    pub pool: Pool,
    pub clock: Clock,
}

impl AccountWorker {
    pub fn build(instance: &Instance) -> Self {
        Self {
            pool: instance.pool.clone(),
            clock: instance.clock,
        }
    }

    /// Grants the month of `today` to every account, page by page in user-id order.
    pub async fn grant_monthly_credits(&self, today: NaiveDate) -> Result<MonthlyGrants, AccountError> {
        let mut done = MonthlyGrants {
            month: ledger::month_of(today).format("%Y-%m").to_string(),
            ..MonthlyGrants::default()
        };
        let mut after = String::new();
        loop {
            let page = {
                let client = self.pool.get().await?;
                client
                    .query(
                        "SELECT user_id, tier FROM user_accounts WHERE user_id > $1 ORDER BY user_id LIMIT $2",
                        &[&after, &PAGE],
                    )
                    .await?
            };
            let Some(last) = page.last() else { break };
            after = last.get(0);
            for row in &page {
                let user_id: String = row.get(0);
                let tier: String = row.get(1);
                let tier = UserTier::parse(&tier).map_err(|e| AccountError::Tier {
                    user_id: user_id.clone(),
                    reason: e.to_string(),
                })?;
                let mut client = self.pool.get().await?;
                let tx = client.transaction().await?;
                let outcome = ledger::grant_monthly_credits(&tx, &user_id, tier, today).await?;
                tx.commit().await?;
                done.accounts += 1;
                match outcome {
                    CreditOutcome::Credited { .. } => done.granted += 1,
                    CreditOutcome::AlreadyCredited | CreditOutcome::Insufficient { .. } => done.already += 1,
                }
            }
        }
        tracing::info!(month = %done.month, accounts = done.accounts, granted = done.granted, "monthly credits granted");
        Ok(done)
    }
}

impl Function for AccountWorker {
    /// The monthly schedule; anything else is not this function's.
    async fn handle(&self, trigger: Trigger) -> Result<Answer, FunctionError> {
        match trigger {
            Trigger::Schedule(tick) if tick.detail["schedule"] == MONTHLY_CREDITS => {
                let done = self
                    .grant_monthly_credits(self.clock.today())
                    .await
                    .map_err(FunctionError::failed)?;
                Ok(Answer::Done(serde_json::to_value(done).map_err(FunctionError::failed)?))
            }
            Trigger::Schedule(tick) => Err(FunctionError::Unsupported(format!(
                "the schedule {} (account-worker serves {MONTHLY_CREDITS})",
                tick.detail["schedule"]
            ))),
            other => Err(FunctionError::Unsupported(other.kind().into())),
        }
    }
}
