//! Technical indicators over a series of daily closes, oldest first. Pure: the caller
//! reads the bars. The formulas are listed in the README.
//!
//! Each function answers one value per close (`None` where the series is still too
//! short), so the answers line up with the bars they were computed from.

/// The trading days in a year, for annualising daily volatility.
pub const TRADING_DAYS: f64 = 252.0;

/// RSI's usual period (Wilder).
pub const RSI_PERIOD: usize = 14;

/// Simple daily returns: `close[t] / close[t-1] - 1` (`None` for the first close, or
/// after a close that is not above zero).
pub fn returns(closes: &[f64]) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(closes.len());
    for (i, close) in closes.iter().enumerate() {
        out.push(match i.checked_sub(1).map(|p| closes[p]) {
            Some(previous) if previous > 0.0 => Some(close / previous - 1.0),
            _ => None,
        });
    }
    out
}

/// Simple moving average: the mean of the last `window` closes.
pub fn sma(closes: &[f64], window: usize) -> Vec<Option<f64>> {
    let mut out = vec![None; closes.len()];
    if window == 0 {
        return out;
    }
    let mut sum = 0.0;
    for (i, close) in closes.iter().enumerate() {
        sum += close;
        if i >= window {
            sum -= closes[i - window];
        }
        if i + 1 >= window {
            out[i] = Some(sum / window as f64);
        }
    }
    out
}

/// Exponential moving average with `alpha = 2 / (window + 1)`, seeded with the SMA of
/// the first `window` closes: `ema[t] = alpha * close[t] + (1 - alpha) * ema[t-1]`.
pub fn ema(closes: &[f64], window: usize) -> Vec<Option<f64>> {
    let mut out = vec![None; closes.len()];
    if window == 0 || closes.len() < window {
        return out;
    }
    let alpha = 2.0 / (window as f64 + 1.0);
    let mut value = closes[..window].iter().sum::<f64>() / window as f64;
    out[window - 1] = Some(value);
    for (i, close) in closes.iter().enumerate().skip(window) {
        value = alpha * close + (1.0 - alpha) * value;
        out[i] = Some(value);
    }
    out
}

/// Wilder's relative strength index over `period` changes: the first average gain and
/// loss are the means of the first `period` changes, then
/// `avg[t] = (avg[t-1] * (period - 1) + x[t]) / period`; `RSI = 100 - 100 / (1 + gain / loss)`
/// (100 when there was no loss, 50 when the price did not move at all).
pub fn rsi(closes: &[f64], period: usize) -> Vec<Option<f64>> {
    let mut out = vec![None; closes.len()];
    if period == 0 || closes.len() <= period {
        return out;
    }
    let change = |i: usize| closes[i] - closes[i - 1];
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=period {
        let c = change(i);
        gain += c.max(0.0);
        loss += (-c).max(0.0);
    }
    gain /= period as f64;
    loss /= period as f64;
    let index = |gain: f64, loss: f64| {
        if loss == 0.0 {
            if gain == 0.0 {
                50.0
            } else {
                100.0
            }
        } else {
            100.0 - 100.0 / (1.0 + gain / loss)
        }
    };
    out[period] = Some(index(gain, loss));
    let p = period as f64;
    for (i, slot) in out.iter_mut().enumerate().skip(period + 1) {
        let c = change(i);
        gain = (gain * (p - 1.0) + c.max(0.0)) / p;
        loss = (loss * (p - 1.0) + (-c).max(0.0)) / p;
        *slot = Some(index(gain, loss));
    }
    out
}

/// Annualised volatility: the sample standard deviation (n - 1) of the daily returns
/// given, times the square root of 252. `None` with fewer than two returns.
pub fn annualised_volatility(daily_returns: &[f64]) -> Option<f64> {
    let n = daily_returns.len();
    if n < 2 {
        return None;
    }
    let mean = daily_returns.iter().sum::<f64>() / n as f64;
    let variance = daily_returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(variance.sqrt() * TRADING_DAYS.sqrt())
}

/// The return from one close to another: `last / first - 1`.
pub fn total_return(first: f64, last: f64) -> Option<f64> {
    (first > 0.0).then(|| last / first - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn returns_are_day_on_day() {
        let r = returns(&[100.0, 110.0, 99.0]);
        assert_eq!(r[0], None);
        assert!(close(r[1], 0.1));
        // 99 / 110 - 1 = -0.1
        assert!(close(r[2], -0.1));
        assert_eq!(total_return(100.0, 99.0).map(|r| (r * 1e9).round()), Some(-0.01e9));
        assert_eq!(total_return(0.0, 5.0), None);
    }

    #[test]
    fn moving_averages_by_hand() {
        let closes = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let s = sma(&closes, 3);
        assert_eq!(&s[..2], &[None, None]);
        // (1+2+3)/3, (2+3+4)/3, ...
        assert!(close(s[2], 2.0) && close(s[3], 3.0) && close(s[5], 5.0));
        // alpha = 2/4 = 0.5; seed = 2; 0.5*4 + 0.5*2 = 3; 0.5*5 + 0.5*3 = 4; 0.5*6 + 0.5*4 = 5.
        let e = ema(&closes, 3);
        assert_eq!(&e[..2], &[None, None]);
        assert!(close(e[2], 2.0) && close(e[3], 3.0) && close(e[4], 4.0) && close(e[5], 5.0));
        // Window 2: alpha 2/3, seed (10+10)/2 = 10; 2/3*13 + 1/3*10 = 12.
        let e = ema(&[10.0, 10.0, 13.0], 2);
        assert!(close(e[2], 12.0));
        assert!(sma(&closes, 7).iter().all(Option::is_none));
        assert!(ema(&closes, 0).iter().all(Option::is_none));
    }

    #[test]
    fn rsi_by_hand() {
        // Period 2. Changes: +2, -1, +3, -2.
        let closes = [10.0, 12.0, 11.0, 14.0, 12.0];
        let r = rsi(&closes, 2);
        assert_eq!(&r[..2], &[None, None]);
        // First averages: gain (2+0)/2 = 1, loss (0+1)/2 = 0.5; RS 2; RSI 100 - 100/3.
        assert!(close(r[2], 100.0 - 100.0 / 3.0));
        // gain (1*1 + 3)/2 = 2, loss (0.5*1 + 0)/2 = 0.25; RS 8; RSI 100 - 100/9.
        assert!(close(r[3], 100.0 - 100.0 / 9.0));
        // gain (2 + 0)/2 = 1, loss (0.25 + 2)/2 = 1.125; RS 8/9; RSI 100 - 100/(17/9).
        assert!(close(r[4], 100.0 - 900.0 / 17.0));
        assert!(close(rsi(&[1.0, 2.0, 3.0], 2)[2], 100.0));
        assert!(close(rsi(&[5.0, 5.0, 5.0], 2)[2], 50.0));
        assert!(rsi(&[1.0, 2.0], 2).iter().all(Option::is_none));
    }

    #[test]
    fn volatility_by_hand() {
        // Returns 0.01, -0.01, 0.02, 0.0: mean 0.005; squared deviations
        // 0.000025 + 0.000225 + 0.000225 + 0.000025 = 0.0005; / 3; sqrt; * sqrt(252).
        let v = annualised_volatility(&[0.01, -0.01, 0.02, 0.0]).unwrap();
        assert!((v - (0.0005f64 / 3.0).sqrt() * 252f64.sqrt()).abs() < 1e-12);
        assert!((v - 0.204939).abs() < 1e-6, "{v}");
        assert_eq!(annualised_volatility(&[0.01]), None);
    }
}
