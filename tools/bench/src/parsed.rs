//! The file parsed with the loader's own normaliser (`etl_transformer::parse::parse_into`),
//! outside any timing, into a temp file of staged COPY rows.

use anyhow::Context;
use etl_transformer::parse::{parse_into, ParseSettings, ParseSummary};
use sluice_messages::Dataset;
use sluice_tabular::DateOrder;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

/// The settings the loader uses for a `kpis` upload without options (EtlConfig defaults).
pub fn settings() -> ParseSettings {
    ParseSettings {
        dataset: Dataset::Kpis,
        overrides: BTreeMap::new(),
        date_order: DateOrder::DayFirst,
        chunk_bytes: 256 * 1024,
        max_record_bytes: sluice_tabular::DEFAULT_MAX_RECORD_BYTES,
    }
}

pub struct Parsed {
    pub staged: tempfile::NamedTempFile,
    pub summary: ParseSummary,
    pub seconds: f64,
}

/// Parses `file` into staged COPY rows written to `out`.
fn parse_to(file: &Path, out: &mut dyn Write) -> anyhow::Result<ParseSummary> {
    let input = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut rejects = csv::Writer::from_writer(std::io::sink());
    let mut failed: Option<std::io::Error> = None;
    let mut emit = |chunk: Vec<u8>| {
        out.write_all(&chunk).map_err(|e| {
            failed = Some(e);
        })
    };
    let result = parse_into(input, &settings(), &mut emit, &mut rejects);
    if let Some(e) = failed {
        return Err(e).context("writing the staged rows");
    }
    Ok(result?)
}

pub fn parse_file(file: &Path) -> anyhow::Result<Parsed> {
    let staged = tempfile::NamedTempFile::new().context("temp file")?;
    let mut out = BufWriter::with_capacity(1 << 20, staged.reopen()?);
    let started = Instant::now();
    let summary = parse_to(file, &mut out)?;
    out.flush()?;
    Ok(Parsed {
        staged,
        summary,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Parse only (rows discarded): the CPU cost of the normaliser on one thread.
pub fn parse_only(file: &Path) -> anyhow::Result<(ParseSummary, f64)> {
    let started = Instant::now();
    let summary = parse_to(file, &mut std::io::sink())?;
    Ok((summary, started.elapsed().as_secs_f64()))
}
