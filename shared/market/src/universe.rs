//! The universe of tickers: loading index constituents into `tickers`.
//!
//! The CSV has a header `ticker,name,cik,index` (lines starting with `#` are
//! comments); `index` names the index (e.g. `SP500`), several separated by `;`.
//! Loading is idempotent: a ticker already there gets its name and CIK refreshed
//! and the index added to its memberships; loading the same file twice changes nothing.

use deadpool_postgres::Pool;
use serde::Deserialize;
use sluice_messages::{Cik, Ticker};

#[derive(Debug, thiserror::Error)]
pub enum UniverseError {
    #[error("constituents file: {0}")]
    Csv(#[from] csv::Error),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UniverseLoad {
    pub inserted: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// (line, reason) of every line left out.
    pub rejected: Vec<(u64, String)>,
}

#[derive(Debug, Deserialize)]
struct Line {
    ticker: String,
    name: String,
    #[serde(default)]
    cik: Option<String>,
    #[serde(default)]
    index: Option<String>,
}

/// Upserts every constituent of `csv_reader` into `tickers`, in one transaction.
pub async fn load_constituents(pool: &Pool, csv_reader: impl std::io::Read) -> Result<UniverseLoad, UniverseError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(csv_reader);
    let mut rows = Vec::new();
    let mut load = UniverseLoad::default();
    let headers = reader.headers()?.clone();
    let mut raw = csv::StringRecord::new();
    loop {
        let record = match reader.read_record(&mut raw) {
            Ok(false) => break,
            Ok(true) => raw.deserialize::<Line>(Some(&headers)),
            Err(e) => Err(e),
        };
        let line = raw.position().map(|p| p.line()).unwrap_or(0);
        let parsed = record.map_err(|e| e.to_string()).and_then(|l| {
            let ticker = Ticker::parse(&l.ticker).map_err(|e| e.to_string())?;
            let cik = match l.cik.as_deref().filter(|c| !c.is_empty()) {
                Some(c) => Some(Cik::parse(c).map_err(|e| e.to_string())?),
                None => None,
            };
            if l.name.is_empty() {
                return Err("name is empty".to_owned());
            }
            let indexes: Vec<String> = l
                .index
                .unwrap_or_default()
                .split(';')
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty())
                .collect();
            Ok((ticker, l.name, cik, indexes))
        });
        match parsed {
            Ok(row) => rows.push(row),
            Err(reason) => load.rejected.push((line, reason)),
        }
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    for (ticker, name, cik, indexes) in rows {
        let row = tx
            .query_opt(
                "INSERT INTO tickers (ticker, name, cik, index_membership) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (ticker) DO UPDATE SET
                     name = EXCLUDED.name,
                     cik = COALESCE(EXCLUDED.cik, tickers.cik),
                     index_membership = ARRAY(SELECT DISTINCT unnest(tickers.index_membership || EXCLUDED.index_membership) ORDER BY 1),
                     updated_at = now()
                 WHERE tickers.name IS DISTINCT FROM EXCLUDED.name
                    OR tickers.cik IS DISTINCT FROM COALESCE(EXCLUDED.cik, tickers.cik)
                    OR NOT (tickers.index_membership @> EXCLUDED.index_membership)
                 RETURNING (xmax = 0) AS inserted",
                &[&ticker.as_str(), &name, &cik.as_ref().map(Cik::as_str), &indexes],
            )
            .await;
        match row? {
            Some(r) if r.get::<_, bool>(0) => load.inserted += 1,
            Some(_) => load.updated += 1,
            // No row returned: the WHERE found nothing to change.
            None => load.unchanged += 1,
        }
    }
    tx.commit().await?;
    Ok(load)
}
