//! The real spreadsheets in ../shared/fixtures/vc_csv load through the whole
//! pipeline, with a header mapping where their columns differ from Sluice's, and
//! every rejected row explained. Skipped when the fixtures are not beside the checkout.

use sluice_tests::{fixture, TestStack};
use std::collections::BTreeSet;

/// Counts the data records of a CSV file (what a person would call its rows).
fn data_rows(bytes: &[u8]) -> u64 {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes)
        .byte_records()
        .count() as u64
}

struct Loaded {
    status: String,
    inserted: i32,
    rejected: i32,
    superseded: i32,
    rejects: Option<String>,
}

async fn load(stack: &TestStack, key: &str, bytes: &[u8], metadata: &[(&str, &str)]) -> Loaded {
    stack.upload(key, bytes.to_vec(), metadata).await;
    stack.settle().await;
    let r = &stack
        .query("SELECT status, rows_inserted, rows_rejected, rows_superseded, rejects_key, failure_reason FROM data_versions ORDER BY version_id DESC LIMIT 1")
        .await[0];
    let status: String = r.get(0);
    assert!(
        status == "success" || status == "partial",
        "{status}: {:?}",
        r.get::<_, Option<String>>(5)
    );
    let rejects = match r.get::<_, Option<String>>(4) {
        Some(k) => Some(String::from_utf8(stack.get_object(&k).await.expect("rejects file")).unwrap()),
        None => None,
    };
    Loaded {
        status,
        inserted: r.get(1),
        rejected: r.get(2),
        superseded: r.get(3),
        rejects,
    }
}

/// Every rejected row is in the rejects file with a column, a value and a reason.
fn assert_rejects_explained(loaded: &Loaded) {
    let Some(text) = &loaded.rejects else {
        assert_eq!(loaded.rejected, 0);
        return;
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert!(!record[3].trim().is_empty(), "a reject without a reason: {record:?}");
        rows.insert(record[0].parse::<u64>().unwrap());
    }
    assert_eq!(
        rows.len() as i32,
        loaded.rejected,
        "one reject entry (or more) per rejected row"
    );
}

#[tokio::test]
async fn kaggle_startups_load_as_companies() {
    let Some(path) = fixture("vc_csv/kaggle-startup-success__startup_data.csv") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let stack = TestStack::start().await;
    // Its dates are month-first (m/d/yyyy); its headers match the companies aliases.
    let loaded = load(
        &stack,
        "uploads/companies/startup_data.csv",
        &bytes,
        &[("date-order", "mdy")],
    )
    .await;
    assert_eq!(
        (loaded.inserted + loaded.rejected + loaded.superseded) as u64,
        data_rows(&bytes),
        "every row is loaded, rejected or superseded ({})",
        loaded.status
    );
    assert_rejects_explained(&loaded);
    assert!(loaded.inserted > 900, "{}", loaded.inserted);

    // A row checked by hand against the file: dates read month-first, extras kept.
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let first = reader.records().next().unwrap().unwrap();
    let row = &stack
        .query(&format!(
            "SELECT founding_date::text, city, extra->>'status', funding_total::text FROM companies WHERE company_name = '{}'",
            first[col("name")].replace('\'', "''")
        ))
        .await[0];
    let (month, rest) = first[col("founded_at")].split_once('/').unwrap();
    let (day, year) = rest.split_once('/').unwrap();
    assert_eq!(row.get::<_, String>(0), format!("{year}-{month:0>2}-{day:0>2}"));
    assert_eq!(row.get::<_, String>(1), &first[col("city")]);
    assert_eq!(row.get::<_, String>(2), &first[col("status")]);
    // The amount as written: no scale added, no digit lost.
    assert_eq!(row.get::<_, String>(3), &first[col("funding_total_usd")]);
}

#[tokio::test]
async fn crunchbase_acquisitions_load_as_dealflow_with_a_header_mapping() {
    let Some(path) = fixture("vc_csv/crunchbase2015__acquisitions_excerpt_3000rows.csv") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let stack = TestStack::start().await;
    let mapping =
        "acquired_at=date_of_first_contact; company_category_list=industry; company_country_code=headquarters";
    let loaded = load(
        &stack,
        "uploads/dealflow/acquisitions.csv",
        &bytes,
        &[("column-map", mapping)],
    )
    .await;
    assert_eq!(
        (loaded.inserted + loaded.rejected + loaded.superseded) as u64,
        data_rows(&bytes)
    );
    assert_rejects_explained(&loaded);

    // The first data row, by hand: mapped columns and the rest kept as extra data.
    let row = &stack
        .query(
            "SELECT date_of_first_contact::text, industry, headquarters, extra->>'acquirer_name', extra->>'price_currency_code'
             FROM dealflow WHERE company = '003.RU'",
        )
        .await[0];
    assert_eq!(row.get::<_, String>(0), "2012-07-23");
    assert_eq!(row.get::<_, String>(1), "Consumer Electronics|Electronics|Internet");
    assert_eq!(row.get::<_, String>(2), "RUS");
    assert_eq!(row.get::<_, String>(3), "Media Saturn");
    assert_eq!(row.get::<_, String>(4), "USD");
}
