//! The header (and unquoted rows) of a real public startup dataset, when the fixtures are
//! checked out beside the workspace. Skips when they are not.

use sluice_tabular::{
    check_readable, map_header, normalise_row, schema, sniff_delimiter, strip_bom, Dataset, DateOrder,
    NormaliseSettings, TextEncoding,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/vc_csv/kaggle-startup-success__startup_data.csv"
);

/// The first `n` lines, or `None` (with a note) when the fixture is absent.
fn first_lines(n: usize) -> Option<Vec<String>> {
    let Ok(file) = std::fs::File::open(FIXTURE) else {
        eprintln!("skipping: {FIXTURE} not found");
        return None;
    };
    let lines = BufReader::new(file)
        .lines()
        .take(n)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Some(lines)
}

#[test]
fn kaggle_startup_header_maps_to_companies() {
    let Some(lines) = first_lines(1) else { return };
    let line = lines[0].trim_end_matches('\r');
    assert_eq!(check_readable(line.as_bytes()), Ok(TextEncoding::Utf8));
    let delimiter = sniff_delimiter(line.as_bytes());
    assert_eq!(delimiter, b',');
    let text = std::str::from_utf8(strip_bom(line.as_bytes())).unwrap();
    let header: Vec<&str> = text.split(char::from(delimiter)).collect();

    let s = schema(Dataset::Companies);
    let mapping = map_header(s, &header, &BTreeMap::new()).unwrap();
    let target = |file_header: &str| {
        let i = header.iter().position(|h| *h == file_header).unwrap();
        mapping.columns[i].map(|c| s.columns[c].name)
    };
    assert_eq!(target("name"), Some("company_name"));
    assert_eq!(target("city"), Some("city"));
    assert_eq!(target("founded_at"), Some("founding_date"));
    assert_eq!(target("funding_total_usd"), Some("funding_total"));
    assert_eq!(target("last_funding_at"), Some("last_funding_date"));
    assert_eq!(target("state_code"), None);
    assert!(mapping.ignored.iter().any(|h| h == "Unnamed: 0"));
    assert!(mapping.extras.iter().any(|(_, h)| h == "category_code"));
}

#[test]
fn kaggle_startup_unquoted_rows_normalise() {
    let Some(lines) = first_lines(200) else { return };
    let header: Vec<&str> = lines[0].trim_end_matches('\r').split(',').collect();
    let s = schema(Dataset::Companies);
    let mapping = map_header(s, &header, &BTreeMap::new()).unwrap();
    let settings = NormaliseSettings::for_delimiter(b',', DateOrder::MonthFirst);
    let name = s.column_index("company_name").unwrap();
    let founded = s.column_index("founding_date").unwrap();

    let mut checked = 0;
    for line in lines.iter().skip(1).filter(|l| !l.contains('"')) {
        let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        let row = normalise_row(s, &mapping, &fields, &settings).unwrap_or_else(|p| panic!("{line}: {p:?}"));
        assert!(row.values[name].is_some());
        let date = row.values[founded].as_deref().unwrap_or("");
        assert!(date.is_empty() || (date.len() == 10 && &date[4..5] == "-"), "{date}");
        assert!(row.extras.contains_key("status"));
        checked += 1;
    }
    assert!(checked > 100, "only {checked} unquoted rows");
}
