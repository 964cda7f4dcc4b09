//! Streams a spreadsheet once, row by row, without holding it in memory: valid rows
//! become COPY text chunks for the staging table, bad fields become reject lines,
//! and the bytes read are hashed to prove the file is the one ingest checked.
//! Synchronous on purpose: it runs on a blocking thread fed by the S3 stream.

use crate::copy::push_row;
use sha2::{Digest, Sha256};
use sluice_messages::{Dataset, Sha256Digest};
use sluice_tabular::{
    company_key, decode_field, is_blank_record, map_header, normalise_row, schema, sniff_delimiter, strip_bom,
    DateOrder, LineLimitError, NormaliseSettings, MAX_HEADER_BYTES,
};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::rc::Rc;

#[derive(Debug, Clone)]
pub struct ParseSettings {
    pub dataset: Dataset,
    pub overrides: BTreeMap<String, String>,
    pub date_order: DateOrder,
    /// Size of the COPY chunks handed over, which bounds memory with the channel depth.
    pub chunk_bytes: usize,
    /// The longest data record accepted: one record is held whole while it is read.
    pub max_record_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSummary {
    pub staged_rows: u64,
    pub rejected_rows: u64,
    pub blank_rows: u64,
    pub extra_columns: Vec<String>,
    pub ignored_columns: Vec<String>,
    pub checksum: Sha256Digest,
    pub bytes_read: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The file itself is wrong: retrying will not help.
    #[error("{0}")]
    Header(String),
    /// A line or record over its size limit: refused, retrying will not help.
    #[error(transparent)]
    TooLong(#[from] LineLimitError),
    #[error("reading the file failed: {0}")]
    Read(#[from] std::io::Error),
    #[error("writing the rejects file failed: {0}")]
    Rejects(String),
    /// The consumer of the chunks went away (the load was abandoned).
    #[error("the load was abandoned")]
    Cancelled,
}

/// What the readers between the file and a parsed record may hold: the `BufReader`
/// and the CSV reader's own buffer.
const READ_AHEAD_BYTES: u64 = 256 * 1024 + 128 * 1024;

/// The I/O error [`HashingReader`] stops with when the record being read has grown past
/// its cap: the CSV reader would otherwise keep the whole rest of the file in one record.
#[derive(Debug, thiserror::Error)]
#[error("record over its size limit")]
struct RecordTooLong;

/// Hashes every byte read and notes where lines end, so a rejected row can be
/// named by the line a person sees in an editor (the CSV reader's own line count
/// skips blank lines). Refuses to read further once the record being parsed (it starts
/// at `record_start`) is longer than `max_unread` bytes: that bounds the memory of the
/// record and of `line_ends`.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    line_ends: Rc<RefCell<VecDeque<u64>>>,
    record_start: Rc<Cell<u64>>,
    max_unread: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = (self.record_start.get() + self.max_unread).saturating_sub(self.bytes);
        if room == 0 && !buf.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, RecordTooLong));
        }
        let take = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..take])?;
        self.hasher.update(&buf[..n]);
        let mut ends = self.line_ends.borrow_mut();
        ends.extend(
            buf[..n]
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| self.bytes + i as u64),
        );
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Turns record byte offsets into 1-based line numbers. Only the line ends not yet
/// passed are kept: at most what the readers have buffered ahead.
struct LineCounter {
    line_ends: Rc<RefCell<VecDeque<u64>>>,
    lines_before: u64,
}

impl LineCounter {
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut ends = self.line_ends.borrow_mut();
        // A record "starts" at the line end before it when lines end in CRLF or blank lines precede it.
        while ends.front().is_some_and(|&end| end <= offset) {
            ends.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }
}

/// The columns of the staging table, in COPY order (see `plan`).
pub fn staged_columns(dataset: Dataset) -> Vec<&'static str> {
    let mut cols = vec!["row_no"];
    cols.extend(schema(dataset).columns.iter().map(|c| c.name));
    cols.push("extra");
    if dataset == Dataset::Companies {
        cols.push("company_key");
    }
    cols
}

pub fn parse_into<R: Read, W: Write>(
    input: R,
    settings: &ParseSettings,
    emit: &mut dyn FnMut(Vec<u8>) -> Result<(), ()>,
    rejects: &mut csv::Writer<W>,
) -> Result<ParseSummary, ParseError> {
    let dataset_schema = schema(settings.dataset);
    let line_ends = Rc::new(RefCell::new(VecDeque::new()));
    let mut lines = LineCounter {
        line_ends: line_ends.clone(),
        lines_before: 0,
    };
    let record_start = Rc::new(Cell::new(0u64));
    let max_record = settings.max_record_bytes as u64;
    let hashing_reader = HashingReader {
        inner: input,
        hasher: Sha256::new(),
        bytes: 0,
        line_ends,
        record_start: record_start.clone(),
        max_unread: max_record.max(MAX_HEADER_BYTES as u64) + READ_AHEAD_BYTES,
    };
    let mut hashing = BufReader::with_capacity(256 * 1024, hashing_reader);
    // The first line decides the delimiter; it is then read again by the CSV reader.
    let mut first_line = Vec::new();
    (&mut hashing)
        .take(MAX_HEADER_BYTES as u64)
        .read_until(b'\n', &mut first_line)?;
    if first_line.len() == MAX_HEADER_BYTES && !first_line.ends_with(b"\n") {
        return Err(LineLimitError::Header {
            limit: MAX_HEADER_BYTES,
        }
        .into());
    }
    let delimiter = sniff_delimiter(strip_bom(&first_line));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(128 * 1024)
        .from_reader(std::io::Cursor::new(first_line).chain(hashing));

    let mut record = csv::ByteRecord::new();
    let header_too_long = || LineLimitError::Header {
        limit: MAX_HEADER_BYTES,
    };
    if !read_record(&mut reader, &mut record, header_too_long)? {
        return Err(ParseError::Header("the file has no header row".into()));
    }
    if reader.position().byte() >= MAX_HEADER_BYTES as u64 {
        return Err(header_too_long().into());
    }
    record_start.set(reader.position().byte());
    let header: Vec<String> = record
        .iter()
        .enumerate()
        .map(|(i, f)| decode_field(if i == 0 { strip_bom(f) } else { f }).into_owned())
        .collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mapping =
        map_header(dataset_schema, &header_refs, &settings.overrides).map_err(|e| ParseError::Header(e.to_string()))?;
    let norm = NormaliseSettings::for_delimiter(delimiter, settings.date_order);
    let name_index = dataset_schema.columns.iter().position(|c| c.name == "company_name");

    rejects
        .write_record(["row", "column", "value", "reason"])
        .map_err(|e| ParseError::Rejects(e.to_string()))?;
    let mut summary = ParseSummary {
        staged_rows: 0,
        rejected_rows: 0,
        blank_rows: 0,
        extra_columns: mapping.extras.iter().map(|(_, h)| h.clone()).collect(),
        ignored_columns: mapping.ignored.clone(),
        checksum: Sha256Digest::from_bytes([0; 32]),
        bytes_read: 0,
    };
    let mut chunk = Vec::with_capacity(settings.chunk_bytes + 4096);
    loop {
        let too_long = || LineLimitError::Record {
            line: lines.line_at(record_start.get()),
            limit: settings.max_record_bytes,
        };
        if !read_record(&mut reader, &mut record, too_long)? {
            break;
        }
        let start = record.position().map(|p| p.byte()).unwrap_or(0);
        let row_no = lines.line_at(start);
        let end = reader.position().byte();
        record_start.set(end);
        if end - start > max_record {
            return Err(LineLimitError::Record {
                line: row_no,
                limit: settings.max_record_bytes,
            }
            .into());
        }
        let decoded: Vec<Cow<'_, str>> = record.iter().map(decode_field).collect();
        let fields: Vec<&str> = decoded.iter().map(|c| c.as_ref()).collect();
        if is_blank_record(&fields) {
            summary.blank_rows += 1;
            continue;
        }
        match normalise_row(dataset_schema, &mapping, &fields, &norm) {
            Ok(row) => {
                let row_no_text = row_no.to_string();
                let extra = serde_json::Value::Object(row.extras).to_string();
                let key = name_index.and_then(|i| row.values[i].as_deref()).map(company_key);
                let mut all: Vec<Option<&str>> = Vec::with_capacity(row.values.len() + 3);
                all.push(Some(&row_no_text));
                all.extend(row.values.iter().map(|v| v.as_deref()));
                all.push(Some(&extra));
                if settings.dataset == Dataset::Companies {
                    all.push(key.as_deref());
                }
                push_row(&mut chunk, all);
                summary.staged_rows += 1;
                if chunk.len() >= settings.chunk_bytes {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(settings.chunk_bytes + 4096));
                    emit(full).map_err(|_| ParseError::Cancelled)?;
                }
            }
            Err(problems) => {
                summary.rejected_rows += 1;
                for p in problems {
                    rejects
                        .write_record([row_no.to_string().as_str(), &p.column, &p.raw, &p.reason])
                        .map_err(|e| ParseError::Rejects(e.to_string()))?;
                }
            }
        }
    }
    if !chunk.is_empty() {
        emit(chunk).map_err(|_| ParseError::Cancelled)?;
    }
    rejects.flush().map_err(|e| ParseError::Rejects(e.to_string()))?;
    // Drain whatever the CSV reader did not need (a trailing partial line) so the hash covers every byte.
    let mut rest = reader.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    let (_, hashing) = rest.into_inner();
    let inner = hashing.into_inner();
    summary.checksum = Sha256Digest::from_bytes(inner.hasher.finalize().into());
    summary.bytes_read = inner.bytes;
    Ok(summary)
}

/// The next record; a record [`HashingReader`] stopped is refused as `too_long` says.
fn read_record<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    too_long: impl FnOnce() -> LineLimitError,
) -> Result<bool, ParseError> {
    reader.read_byte_record(record).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<RecordTooLong>()) => {
            ParseError::TooLong(too_long())
        }
        csv::ErrorKind::Io(io) => ParseError::Read(io),
        other => ParseError::Read(std::io::Error::other(format!("{other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dataset: Dataset, file: &[u8]) -> (Result<ParseSummary, ParseError>, String, String) {
        parse_reader(dataset, file)
    }

    fn parse_reader(dataset: Dataset, file: impl Read) -> (Result<ParseSummary, ParseError>, String, String) {
        let settings = ParseSettings {
            dataset,
            overrides: BTreeMap::new(),
            date_order: DateOrder::DayFirst,
            chunk_bytes: 64,
            max_record_bytes: 1024,
        };
        let mut copied = Vec::new();
        let mut rejects = csv::Writer::from_writer(Vec::new());
        let result = parse_into(
            file,
            &settings,
            &mut |c| {
                copied.extend(c);
                Ok(())
            },
            &mut rejects,
        );
        let rejects = String::from_utf8(rejects.into_inner().unwrap()).unwrap();
        (result, String::from_utf8(copied).unwrap(), rejects)
    }

    #[test]
    fn messy_kpis_become_copy_rows_and_rejects() {
        let file = "\u{feff}Fondo;Empresa;Fecha;Tipo;Indicador;Unidad;Valor\r\n\
                    F1;Acme;31/03/2026;Real;Ventas;EUR;1.234,50\r\n\
                    \r\n\
                    ;;;;;;\r\n\
                    F1;Acme;31/02/2026;Real;Ventas;EUR;abc\r\n\
                    F1;\"Beta\r\nLabs\";15 de marzo de 2026;;EBITDA;%;(12,5)\r\n";
        let (summary, copied, rejects) = parse(Dataset::Kpis, file.as_bytes());
        let summary = summary.unwrap();
        assert_eq!(
            (summary.staged_rows, summary.rejected_rows, summary.blank_rows),
            (2, 1, 1)
        );
        let lines: Vec<&str> = copied.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("2\tF1\tAcme\t2026-03-31\t"), "{}", lines[0]);
        assert!(lines[0].contains("\t1234.5\t"), "{}", lines[0]);
        assert!(lines[1].contains("Beta\\r\\nLabs\t2026-03-15"), "{}", lines[1]);
        assert!(lines[1].contains("\t-12.5\t"), "{}", lines[1]);
        // Both bad fields of row 5 are reported with the raw value.
        assert!(rejects.contains("5,Fecha,31/02/2026,"), "{rejects}");
        assert!(rejects.contains("5,Valor,abc,"), "{rejects}");
        // The row after a quoted line break is numbered by the line it starts on.
        assert!(lines[1].starts_with("6\t"), "{}", lines[1]);
        assert_eq!(summary.bytes_read, file.len() as u64);
        let expected = Sha256Digest::from_bytes(Sha256::digest(file.as_bytes()).into());
        assert_eq!(summary.checksum, expected);
    }

    #[test]
    fn staged_rows_carry_exact_values_their_units_and_period_ends() {
        let file = "Empresa;Fecha;Indicador;Valor\nAcme;T1 2026;Margen;42,5%\nAcme;marzo 2026;LTV/CAC;2,3456\n";
        let (summary, copied, _) = parse(Dataset::Kpis, file.as_bytes());
        assert_eq!(summary.unwrap().staged_rows, 2);
        let lines: Vec<&str> = copied.lines().collect();
        // row_no, fondo, empresa, fecha, cuarto, tipo, indicador, unidad, valor, data_source, extra
        assert_eq!(lines[0], "2\t\\N\tAcme\t2026-03-31\t\\N\t\\N\tMargen\t%\t42.5\t\\N\t{}");
        assert_eq!(
            lines[1],
            "3\t\\N\tAcme\t2026-03-31\t\\N\t\\N\tLTV/CAC\t\\N\t2.3456\t\\N\t{}"
        );
    }

    #[test]
    fn windows_1252_file_decodes() {
        let file = b"empresa,fecha,indicador,valor\nCompa\xf1\xeda,2026-01-31,Ventas,10\n";
        let (summary, copied, _) = parse(Dataset::Kpis, file);
        assert_eq!(summary.unwrap().staged_rows, 1);
        assert!(copied.contains("Compañía"), "{copied}");
    }

    #[test]
    fn companies_rows_carry_their_key_and_extras() {
        let file = b"name,city,founded_at,Unnamed: 0,status\n\"Acme, Inc.\",Madrid,2019-05-01,7,acquired\n";
        let (summary, copied, _) = parse(Dataset::Companies, file);
        let summary = summary.unwrap();
        assert_eq!(summary.ignored_columns, vec!["Unnamed: 0".to_string()]);
        assert!(copied.trim_end().ends_with("\tacme"), "{copied}");
        assert!(copied.contains(r#"{"status":"acquired"}"#), "{copied}");
    }

    #[test]
    fn header_problems_are_reported_as_such() {
        let (result, _, _) = parse(Dataset::Kpis, b"foo,bar\n1,2\n");
        assert!(matches!(result, Err(ParseError::Header(_))));
        let (result, _, _) = parse(Dataset::Kpis, b"");
        assert!(matches!(result, Err(ParseError::Header(_))));
    }

    /// Newlines without end after a header: what an unclosed quote turns into one record.
    struct Newlines {
        left: usize,
        pulled: Rc<Cell<usize>>,
    }

    impl Read for Newlines {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.left);
            buf[..n].fill(b'\n');
            self.left -= n;
            self.pulled.set(self.pulled.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn an_unclosed_quote_is_refused_without_reading_the_rest_of_the_file() {
        let pulled = Rc::new(Cell::new(0));
        let file = std::io::Cursor::new(b"empresa,fecha,indicador,valor\nAcme,2026-01-31,Ventas,1\n\"".to_vec()).chain(
            Newlines {
                left: 8 * 1024 * 1024,
                pulled: pulled.clone(),
            },
        );
        let (result, _, _) = parse_reader(Dataset::Kpis, file);
        match result {
            Err(ParseError::TooLong(LineLimitError::Record { line: 3, limit: 1024 })) => {}
            other => panic!("{other:?}"),
        }
        // The record is held no further than its cap and the readers' buffers.
        assert!(
            pulled.get() <= 1024 + MAX_HEADER_BYTES + READ_AHEAD_BYTES as usize,
            "read {} bytes",
            pulled.get()
        );
    }

    #[test]
    fn a_record_over_the_cap_is_refused_and_one_within_it_loads() {
        let long = |len: usize| {
            format!(
                "empresa,fecha,indicador,valor,nota\nA,2026-01-31,X,1,\nA,2026-01-31,Y,2,\"{}\"\n",
                "x".repeat(len)
            )
        };
        let (result, copied, _) = parse(Dataset::Kpis, long(1000).as_bytes());
        assert_eq!(result.unwrap().staged_rows, 2);
        assert!(copied.contains(&"x".repeat(1000)));
        let (result, _, _) = parse(Dataset::Kpis, long(1100).as_bytes());
        match result {
            Err(e @ ParseError::TooLong(LineLimitError::Record { line: 3, .. })) => {
                assert!(e.to_string().contains("line 3 is longer than 1 KiB"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_header_over_its_cap_is_refused() {
        // One line, no line end: the header would be the whole file.
        let wide = format!("empresa,fecha,indicador,valor,{}", "x".repeat(MAX_HEADER_BYTES));
        let (result, _, _) = parse(Dataset::Kpis, wide.as_bytes());
        assert!(
            matches!(result, Err(ParseError::TooLong(LineLimitError::Header { .. }))),
            "{result:?}"
        );
        // A quoted line break keeps the header record going past the cap.
        let quoted = format!(
            "empresa,fecha,indicador,valor,\"{}\"\nA,2026-01-31,X,1\n",
            "\n".repeat(MAX_HEADER_BYTES)
        );
        let (result, _, _) = parse(Dataset::Kpis, quoted.as_bytes());
        assert!(
            matches!(result, Err(ParseError::TooLong(LineLimitError::Header { .. }))),
            "{result:?}"
        );
        let within = format!(
            "empresa,fecha,indicador,valor,{}\nA,2026-01-31,X,1\n",
            "x".repeat(60_000)
        );
        let (result, _, _) = parse(Dataset::Kpis, within.as_bytes());
        assert_eq!(result.unwrap().staged_rows, 1);
    }

    #[test]
    fn staged_columns_match_copy_rows() {
        let (_, copied, _) = parse(Dataset::Kpis, b"empresa,fecha,indicador\nA,2026-01-31,X\n");
        let fields = copied.lines().next().unwrap().split('\t').count();
        assert_eq!(fields, staged_columns(Dataset::Kpis).len());
    }
}
