//! The physical limit: the same file, parsed by the loader's own normaliser (not timed),
//! reduced to the rows a load into an empty table ends with (superseded rows dropped, the
//! last row of each key kept), then one plain `COPY kpis (...) FROM STDIN` into an empty
//! `kpis` of a fresh migrated database (same indexes and constraints), or with `--template DB`
//! into a copy of a preloaded one (the table-size series). Only the COPY is timed.

use crate::parsed::parse_file;
use crate::stack::BenchDb;
use anyhow::{bail, Context};
use bytes::BytesMut;
use futures::SinkExt;
use serde::Serialize;
use sluice_bench::rows::{superseded, write_table_rows, StagedLayout};
use sluice_core::ConfigSource;
use sluice_messages::Dataset;
use sluice_tabular::schema;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;
use tokio::io::AsyncReadExt;

/// What the loader would set as `source_modified_at` (the file's S3 LastModified).
const SOURCE_MODIFIED_AT: &str = "2024-06-01 00:00:00+00";
const CHUNK_BYTES: usize = 256 * 1024;

#[derive(Debug, Serialize)]
pub struct CopyReport {
    pub bench: &'static str,
    pub file: String,
    /// Rows the COPY wrote (the rows a load into an empty table inserts).
    pub rows: u64,
    pub staged_rows: u64,
    pub rejected: u64,
    pub superseded: u64,
    pub copy_bytes: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
    /// Untimed in the figure: the parse that produced the rows.
    pub parse_s: f64,
    /// SQL run on the bench database after the migrations (`--prepare`, experiments only).
    pub prepare: Option<String>,
    /// The preloaded database the COPY's database is a copy of (`--template`).
    pub template: Option<String>,
}

/// The rows a load of `file` into an empty table ends with, as `COPY` text in a temp file.
pub struct CleanRows {
    pub file: tempfile::NamedTempFile,
    pub rows: u64,
    pub staged_rows: u64,
    pub rejected: u64,
    pub superseded: u64,
    pub parse_s: f64,
}

/// Parses `file` with the loader's normaliser and keeps the last row of each key.
pub fn clean_rows(file: &Path) -> anyhow::Result<CleanRows> {
    let parsed = parse_file(file)?;
    let layout = StagedLayout::for_dataset(Dataset::Kpis);
    let open = |f: &tempfile::NamedTempFile| -> anyhow::Result<_> {
        Ok(BufReader::with_capacity(
            1 << 20,
            f.reopen().context("reopening a temp file")?,
        ))
    };
    let skip = superseded(open(&parsed.staged)?, &layout)?;
    let table_rows = tempfile::NamedTempFile::new().context("temp file")?;
    let rows = {
        let mut out = BufWriter::with_capacity(1 << 20, table_rows.reopen()?);
        let n = write_table_rows(open(&parsed.staged)?, &mut out, &layout, &skip, SOURCE_MODIFIED_AT)?;
        out.flush()?;
        n
    };
    Ok(CleanRows {
        file: table_rows,
        rows,
        staged_rows: parsed.summary.staged_rows,
        rejected: parsed.summary.rejected_rows,
        superseded: skip.len() as u64,
        parse_s: parsed.seconds,
    })
}

pub async fn run(file: &Path, prepare: Option<&str>, template: Option<&str>) -> anyhow::Result<CopyReport> {
    let clean = clean_rows(file)?;
    let layout = StagedLayout::for_dataset(Dataset::Kpis);
    let (table_rows, rows) = (&clean.file, clean.rows);
    let copy_bytes = std::fs::metadata(table_rows.path())?.len();

    let db = BenchDb::create_from(&ConfigSource::from_env(), "copy", prepare, template).await?;
    let result = timed_copy(&db, table_rows.path(), &layout).await;
    db.drop_db().await;
    let (copied, seconds) = result?;
    if copied != rows {
        bail!("COPY wrote {copied} rows, expected {rows}");
    }
    Ok(CopyReport {
        bench: "copy",
        file: file.display().to_string(),
        rows,
        staged_rows: clean.staged_rows,
        rejected: clean.rejected,
        superseded: clean.superseded,
        copy_bytes,
        seconds,
        rows_per_s: rows as f64 / seconds,
        parse_s: clean.parse_s,
        prepare: prepare.map(str::to_owned),
        template: template.map(str::to_owned),
    })
}

pub async fn timed_copy(db: &BenchDb, rows: &Path, layout: &StagedLayout) -> anyhow::Result<(u64, f64)> {
    let client = db.pool.get().await?;
    let statement = format!(
        "COPY {} ({}, source_modified_at) FROM STDIN",
        schema(Dataset::Kpis).table,
        layout.table_columns.join(", ")
    );
    let mut input = tokio::fs::File::open(rows).await?;
    let started = Instant::now();
    let sink = client.copy_in::<_, bytes::Bytes>(&statement).await?;
    futures::pin_mut!(sink);
    loop {
        let mut chunk = BytesMut::with_capacity(CHUNK_BYTES);
        while chunk.len() < CHUNK_BYTES {
            if input.read_buf(&mut chunk).await? == 0 {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        sink.send(chunk.freeze()).await?;
    }
    let copied = sink.finish().await?;
    Ok((copied, started.elapsed().as_secs_f64()))
}
