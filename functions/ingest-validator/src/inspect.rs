//! Checks a spreadsheet's first bytes before anyone spends work on it. Pure.

use sluice_messages::Dataset;
use sluice_tabular::{
    check_readable, decode_field, map_header, schema, sniff_delimiter, strip_bom, LineLimitError, MAX_HEADER_BYTES,
};
use std::collections::BTreeMap;

/// How much of the file is read to judge its encoding and header: the header must end
/// within it (the ETL refuses a longer one too).
pub const SAMPLE_BYTES: usize = MAX_HEADER_BYTES;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSummary {
    pub delimiter: u8,
    pub columns: usize,
    /// File columns the dataset has no column for (kept as extra data).
    pub extra_columns: Vec<String>,
}

/// Why a file is refused, in words the uploader can act on. `sample` is the first bytes of
/// a file of `file_bytes` bytes.
pub fn inspect(
    sample: &[u8],
    file_bytes: u64,
    dataset: Dataset,
    overrides: &BTreeMap<String, String>,
) -> Result<HeaderSummary, String> {
    check_readable(sample).map_err(|e| format!("unreadable file: {e}"))?;
    let body = strip_bom(sample);
    let first_line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let delimiter = sniff_delimiter(&body[..first_line_end]);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let read = reader
        .read_byte_record(&mut record)
        .map_err(|e| format!("header row cannot be read: {e}"))?;
    // A header still going at the end of a cut sample is cut too: it never ended within the cap.
    let cut = file_bytes > sample.len() as u64;
    if cut && reader.position().byte() >= body.len() as u64 {
        return Err(LineLimitError::Header {
            limit: MAX_HEADER_BYTES,
        }
        .to_string());
    }
    if !read || record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
        return Err("the file has no header row".into());
    }
    let decoded: Vec<String> = record.iter().map(|f| decode_field(f).into_owned()).collect();
    let header: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let mapping = map_header(schema(dataset), &header, overrides).map_err(|e| e.to_string())?;
    Ok(HeaderSummary {
        delimiter,
        columns: header.len(),
        extra_columns: mapping.extras.iter().map(|(_, h)| h.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file size no bigger than its sample: the sample is the whole file.
    const FULL: u64 = 0;

    #[test]
    fn a_header_that_does_not_end_within_the_sample_is_refused() {
        // The dataset's columns come first, so the cut header alone would map.
        let file = format!(
            "empresa,fecha,indicador,valor,{}\nAcme,2026-01-31,Ventas,1\n",
            "x".repeat(SAMPLE_BYTES)
        );
        let sample = &file.as_bytes()[..SAMPLE_BYTES];
        let err = inspect(sample, file.len() as u64, Dataset::Kpis, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("header row is longer than 64 KiB"), "{err}");
        // A quoted line break does not end it either.
        let file = format!("empresa,fecha,indicador,valor,\"{}\"\n", "\n".repeat(SAMPLE_BYTES));
        let sample = &file.as_bytes()[..SAMPLE_BYTES];
        assert!(inspect(sample, file.len() as u64, Dataset::Kpis, &BTreeMap::new()).is_err());
        // A short header followed by a long file is fine.
        let file = format!(
            "empresa,fecha,indicador,valor\n{}",
            "Acme,2026-01-31,Ventas,1\n".repeat(SAMPLE_BYTES / 10)
        );
        let sample = &file.as_bytes()[..SAMPLE_BYTES];
        assert!(inspect(sample, file.len() as u64, Dataset::Kpis, &BTreeMap::new()).is_ok());
    }

    #[test]
    fn spanish_header_with_bom_and_semicolons_maps_to_kpis() {
        let file = "\u{feff}Fondo;Empresa;Fecha;Cuarto;Tipo;Indicador;Unidad;Valor\r\nF1;Acme;31/03/2026;Q1;Real;Ventas;EUR;1.234,5\r\n";
        let s = inspect(file.as_bytes(), file.len() as u64, Dataset::Kpis, &BTreeMap::new()).unwrap();
        assert_eq!(s.delimiter, b';');
        assert_eq!(s.columns, 8);
        assert!(s.extra_columns.is_empty());
    }

    #[test]
    fn missing_key_column_is_named() {
        let err = inspect(b"empresa,valor\nAcme,1\n", FULL, Dataset::Kpis, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("fecha") && err.contains("indicador"), "{err}");
    }

    #[test]
    fn binary_and_empty_files_are_refused() {
        assert!(inspect(b"PK\x03\x04\x14\x00\x06\x00", FULL, Dataset::Kpis, &BTreeMap::new()).is_err());
        assert!(inspect(b"", FULL, Dataset::Kpis, &BTreeMap::new()).is_err());
        assert!(inspect(b"\n\n", FULL, Dataset::Kpis, &BTreeMap::new()).is_err());
    }

    #[test]
    fn overrides_rescue_an_unusual_header() {
        let mut map = BTreeMap::new();
        map.insert("acquired_at".to_string(), "date_of_first_contact".to_string());
        let s = inspect(
            b"company_name,acquired_at,price_amount\nX,2010-01-01,5\n",
            FULL,
            Dataset::Dealflow,
            &map,
        )
        .unwrap();
        assert_eq!(s.extra_columns, vec!["price_amount".to_string()]);
    }
}
