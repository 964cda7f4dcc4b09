//! What each subscription tier may do and what it costs (seed 002's pricing). Pure.

use crate::newtypes::{Money, UserTier};
use serde::Serialize;

/// A tier's limits and prices. `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierPolicy {
    pub requests_per_hour: Option<u32>,
    pub requests_per_day: Option<u32>,
    pub concurrent_analyses: Option<u32>,
    /// How many years back filings may be analysed.
    pub history_years: Option<u32>,
    /// Demo users see S&P 500 companies only.
    pub sp500_only: bool,
    /// Served only from the filings already stored (the demo set the prefill schedule
    /// keeps: 10-K and 10-Q): no EDGAR request is ever made for this tier.
    pub cached_filings_only: bool,
    /// Charged once per filing a user accesses for the first time.
    pub filing_access_fee: Money,
    /// Charged per analysis that needs a new model call.
    pub analysis_fee: Money,
    /// Charged per chat turn a language model answers (a turn without a model is free).
    pub chat_turn_fee: Money,
    /// Credits granted each month (and on sign-up).
    pub monthly_credits: Money,
    /// Whose analyses wait for workers in the priority lane (its own queue and workers,
    /// which a backlog of the other tiers' analyses never holds up).
    pub priority_lane: bool,
    /// Charged per filing a bulk import stores (seed 002: basic $5 per 100 filings,
    /// professional $20 per 1,000, enterprise custom: no fee); `None`: the tier may not
    /// bulk import (demo).
    pub bulk_import_fee: Option<Money>,
}

impl UserTier {
    pub fn policy(&self) -> TierPolicy {
        let usd = |micros: i64| Money::from_micros(micros);
        match self {
            UserTier::Demo => TierPolicy {
                requests_per_hour: Some(10),
                requests_per_day: Some(50),
                concurrent_analyses: Some(1),
                history_years: Some(2),
                sp500_only: true,
                cached_filings_only: true,
                filing_access_fee: Money::ZERO,
                analysis_fee: usd(20_000),
                chat_turn_fee: usd(10_000),
                monthly_credits: Money::ZERO,
                priority_lane: false,
                bulk_import_fee: None,
            },
            UserTier::Basic => TierPolicy {
                requests_per_hour: Some(100),
                requests_per_day: Some(1_000),
                concurrent_analyses: Some(3),
                history_years: Some(5),
                sp500_only: false,
                cached_filings_only: false,
                filing_access_fee: usd(100_000),
                analysis_fee: usd(20_000),
                chat_turn_fee: usd(10_000),
                monthly_credits: usd(5_000_000),
                priority_lane: false,
                bulk_import_fee: Some(usd(50_000)),
            },
            UserTier::Professional => TierPolicy {
                requests_per_hour: Some(1_000),
                requests_per_day: Some(10_000),
                concurrent_analyses: Some(10),
                history_years: Some(10),
                sp500_only: false,
                cached_filings_only: false,
                filing_access_fee: usd(50_000),
                analysis_fee: usd(15_000),
                chat_turn_fee: usd(5_000),
                monthly_credits: usd(25_000_000),
                priority_lane: true,
                bulk_import_fee: Some(usd(20_000)),
            },
            UserTier::Enterprise => TierPolicy {
                requests_per_hour: None,
                requests_per_day: None,
                concurrent_analyses: None,
                history_years: None,
                sp500_only: false,
                cached_filings_only: false,
                filing_access_fee: Money::ZERO,
                analysis_fee: Money::ZERO,
                chat_turn_fee: Money::ZERO,
                monthly_credits: Money::ZERO,
                priority_lane: true,
                bulk_import_fee: Some(Money::ZERO),
            },
        }
    }
}

impl TierPolicy {
    /// Why the tier may not bulk import, naming the tier that lifts it; `None` when it may.
    pub fn bulk_import_refusal(&self) -> Option<String> {
        self.bulk_import_fee.is_none().then(|| {
            "your tier cannot bulk import filings (demo users get the pre-cached S&P 500 set); \
             the basic tier and above can ($5 per 100 filings basic, $20 per 1,000 professional)"
                .to_owned()
        })
    }

    /// Why a bulk import reaching back to fiscal `year` is outside the tier's years,
    /// naming the tiers that cover more; `None` when it is covered.
    pub fn bulk_years_refusal(&self, year: i32, today: chrono::NaiveDate) -> Option<String> {
        let earliest = self.earliest_fiscal_year(today)?;
        (year < earliest).then(|| {
            format!(
                "your tier covers fiscal {earliest} on and this import reaches back to {year}; \
                 the professional tier covers the last 10 years and enterprise every year"
            )
        })
    }

    /// The earliest fiscal year the tier covers, counting the current year and the
    /// `history_years` before it (demo in 2026: fiscal 2024 on); `None` is all history.
    pub fn earliest_fiscal_year(&self, today: chrono::NaiveDate) -> Option<i32> {
        use chrono::Datelike;
        self.history_years
            .map(|years| today.year().saturating_sub(i32::try_from(years).unwrap_or(i32::MAX)))
    }
}

impl TierPolicy {
    /// Why a request of a tier served from the demo set only ([`Self::cached_filings_only`])
    /// cannot be served: `what` (a filing, in words) is not among the pre-cached filings,
    /// and which tier lifts the limit. The same words from the API and the fetcher.
    pub fn outside_cached_set(&self, what: &str, today: chrono::NaiveDate) -> String {
        let from = self
            .earliest_fiscal_year(today)
            .map(|y| format!(" (fiscal {y} on)"))
            .unwrap_or_default();
        format!(
            "demo users get the pre-cached S&P 500 filings of the last two years (10-K and 10-Q{from}), \
             and {what} is not among them; the basic tier and above fetch any filing from EDGAR"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_grow_more_generous() {
        let hourly: Vec<Option<u32>> = [
            UserTier::Demo,
            UserTier::Basic,
            UserTier::Professional,
            UserTier::Enterprise,
        ]
        .iter()
        .map(|t| t.policy().requests_per_hour)
        .collect();
        assert_eq!(hourly, [Some(10), Some(100), Some(1000), None]);
        assert_eq!(UserTier::Demo.policy().requests_per_day, Some(50));
        assert_eq!(UserTier::Basic.policy().filing_access_fee.micros(), 100_000);
        assert_eq!(UserTier::Professional.policy().analysis_fee.to_string(), "$0.015");
        assert!(UserTier::Demo.policy().sp500_only);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(UserTier::Demo.policy().earliest_fiscal_year(today), Some(2024));
        assert_eq!(UserTier::Professional.policy().earliest_fiscal_year(today), Some(2016));
        assert_eq!(UserTier::Enterprise.policy().earliest_fiscal_year(today), None);
    }

    #[test]
    fn bulk_import_prices_are_seed_002s_per_filing() {
        // $5 per 100 filings and $20 per 1,000, in micro-dollars per filing.
        assert_eq!(
            UserTier::Basic.policy().bulk_import_fee,
            Some(Money::from_micros(50_000))
        );
        assert_eq!(
            UserTier::Professional.policy().bulk_import_fee,
            Some(Money::from_micros(20_000))
        );
        assert_eq!(UserTier::Enterprise.policy().bulk_import_fee, Some(Money::ZERO));
        assert_eq!(UserTier::Demo.policy().bulk_import_fee, None);
        let why = UserTier::Demo.policy().bulk_import_refusal().unwrap();
        assert!(why.contains("basic tier"), "{why}");
        assert!(UserTier::Basic.policy().bulk_import_refusal().is_none());
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let why = UserTier::Basic.policy().bulk_years_refusal(2020, today).unwrap();
        assert!(why.contains("fiscal 2021 on") && why.contains("professional"), "{why}");
        assert!(UserTier::Basic.policy().bulk_years_refusal(2021, today).is_none());
        assert!(UserTier::Enterprise.policy().bulk_years_refusal(1994, today).is_none());
    }
}
