//! From the loader's staged COPY rows (what `etl_transformer::parse::parse_into` emits) to
//! the rows a load into an empty table ends with: a later row with the same natural key
//! supersedes an earlier one (the loader keeps the last), and `row_no` is not a column of
//! the table. This is what the plain-`COPY` limit loads, so both load the same rows.

use etl_transformer::parse::staged_columns;
use sluice_messages::Dataset;
use sluice_tabular::schema;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, Write};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedLayout {
    /// Positions of the natural key's fields in a staged row.
    pub key: Vec<usize>,
    pub row_no: usize,
    /// Table columns, in the order of a staged row without `row_no`.
    pub table_columns: Vec<&'static str>,
}

impl StagedLayout {
    pub fn for_dataset(dataset: Dataset) -> Self {
        let staged = staged_columns(dataset);
        let key_names: Vec<&str> = if dataset == Dataset::Companies {
            vec!["company_key"]
        } else {
            schema(dataset).key.to_vec()
        };
        let position = |name: &str| staged.iter().position(|c| *c == name);
        Self {
            key: key_names.iter().filter_map(|k| position(k)).collect(),
            row_no: position("row_no").unwrap_or(0),
            table_columns: staged.iter().copied().filter(|c| *c != "row_no").collect(),
        }
    }

    fn key_of(&self, line: &[u8]) -> Vec<u8> {
        let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        let mut key = Vec::with_capacity(64);
        for &i in &self.key {
            // COPY text escapes tabs inside values, so a raw tab separates key parts unambiguously;
            // `\N` (NULL) equals `\N`, as the NULLS NOT DISTINCT constraints say.
            key.extend_from_slice(fields.get(i).copied().unwrap_or_default());
            key.push(b'\t');
        }
        key
    }
}

/// Line numbers (0-based) of the staged rows that a later row with the same key supersedes.
pub fn superseded<R: BufRead>(input: R, layout: &StagedLayout) -> io::Result<HashSet<u64>> {
    let mut last: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut gone = HashSet::new();
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line?;
        if let Some(earlier) = last.insert(layout.key_of(&line), n as u64) {
            gone.insert(earlier);
        }
    }
    Ok(gone)
}

/// Writes the staged rows not in `skip`, without `row_no`, each followed by `\t{suffix}`
/// (e.g. the `source_modified_at` the loader sets). Returns how many rows it wrote.
pub fn write_table_rows<R: BufRead, W: Write>(
    input: R,
    out: &mut W,
    layout: &StagedLayout,
    skip: &HashSet<u64>,
    suffix: &str,
) -> io::Result<u64> {
    let mut written = 0;
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line?;
        if skip.contains(&(n as u64)) {
            continue;
        }
        let mut first = true;
        for (i, field) in line.split(|&b| b == b'\t').enumerate() {
            if i == layout.row_no {
                continue;
            }
            if !first {
                out.write_all(b"\t")?;
            }
            out.write_all(field)?;
            first = false;
        }
        out.write_all(b"\t")?;
        out.write_all(suffix.as_bytes())?;
        out.write_all(b"\n")?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_row_of_a_key_is_kept_without_row_no() {
        let layout = StagedLayout::for_dataset(Dataset::Kpis);
        assert_eq!(
            layout.table_columns,
            [
                "fondo",
                "empresa",
                "fecha",
                "cuarto",
                "tipo",
                "indicador",
                "unidad",
                "valor",
                "data_source",
                "extra"
            ]
        );
        let staged = "2\tF\tAcme\t2024-01-31\t\\N\tReal\tARR\tEUR\t1\t\\N\t{}\n\
                      3\tF\tAcme\t2024-01-31\t\\N\t\\N\tARR\tEUR\t2\t\\N\t{}\n\
                      4\tF\tAcme\t2024-01-31\t\\N\tReal\tARR\tEUR\t3\t\\N\t{}\n\
                      5\tF\tAcme\t2024-01-31\t\\N\t\\N\tARR\tEUR\t4\t\\N\t{}\n";
        let skip = superseded(staged.as_bytes(), &layout).unwrap();
        assert_eq!(skip, HashSet::from([0, 1]));
        let mut out = Vec::new();
        let n = write_table_rows(staged.as_bytes(), &mut out, &layout, &skip, "2024-06-01 00:00:00+00").unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "F\tAcme\t2024-01-31\t\\N\tReal\tARR\tEUR\t3\t\\N\t{}\t2024-06-01 00:00:00+00\n\
             F\tAcme\t2024-01-31\t\\N\t\\N\tARR\tEUR\t4\t\\N\t{}\t2024-06-01 00:00:00+00\n"
        );
    }
}
