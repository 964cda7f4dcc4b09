//! The whole flow on an in-memory file, as ingest and ETL use the crate: check the bytes,
//! sniff the delimiter, map the header, normalise each record.

use sluice_tabular::{
    check_readable, company_key, decode_field, is_blank_record, map_header, normalise_row, schema, sniff_delimiter,
    strip_bom, Dataset, DateOrder, HeaderError, NormaliseSettings, TextEncoding,
};
use std::collections::BTreeMap;

/// Splits a simple (unquoted) delimited file into decoded records.
fn records(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    strip_bom(bytes)
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split(|&b| b == delimiter)
                .map(|f| decode_field(f).into_owned())
                .collect()
        })
        .collect()
}

#[test]
fn a_spanish_excel_kpi_file_in_windows_1252() {
    let file: &[u8] = b"Compa\xf1\xeda;Per\xedodo;M\xe9trica;Escenario;Importe;Notas\r\n\
        Acme S.L.;31/03/2024;Ingresos;actual;1.234,50 \x80;\r\n\
        ;;;;;\r\n\
        Acme S.L.;marzo 2024;EBITDA;budget;(12,5);revisar\r\n\
        Beta;31/02/2024;Caja;actual;abc;\r\n";
    assert_eq!(check_readable(file), Ok(TextEncoding::Windows1252));
    let delimiter = sniff_delimiter(file.split(|&b| b == b'\n').next().unwrap_or_default());
    assert_eq!(delimiter, b';');
    let settings = NormaliseSettings::for_delimiter(delimiter, DateOrder::DayFirst);
    assert!(settings.decimal_comma);

    let all = records(file, delimiter);
    let header: Vec<&str> = all[0].iter().map(String::as_str).collect();
    assert_eq!(header[0], "Compañía");
    let s = schema(Dataset::Kpis);
    let mapping = map_header(s, &header, &BTreeMap::new()).unwrap();
    assert_eq!(mapping.extras, [(5, "Notas".to_owned())]);

    let mut loaded = Vec::new();
    let mut rejected = Vec::new();
    for record in &all[1..] {
        let fields: Vec<&str> = record.iter().map(String::as_str).collect();
        if is_blank_record(&fields) {
            continue;
        }
        match normalise_row(s, &mapping, &fields, &settings) {
            Ok(row) => loaded.push(row),
            Err(problems) => rejected.push(problems),
        }
    }
    assert_eq!(loaded.len(), 2);
    let valor = s.column_index("valor").unwrap();
    let fecha = s.column_index("fecha").unwrap();
    assert_eq!(loaded[0].values[valor].as_deref(), Some("1234.5"));
    assert_eq!(loaded[1].values[valor].as_deref(), Some("-12.5"));
    // A month without a day is the month's last day.
    assert_eq!(loaded[1].values[fecha].as_deref(), Some("2024-03-31"));
    // The file has no unit column: the euro sign (0x80 in Windows-1252) gives the unit.
    let unidad = s.column_index("unidad").unwrap();
    assert_eq!(loaded[0].values[unidad].as_deref(), Some("EUR"));
    assert_eq!(loaded[1].values[unidad].as_deref(), None);
    assert_eq!(loaded[1].extras.get("Notas").and_then(|v| v.as_str()), Some("revisar"));
    assert_eq!(rejected.len(), 1);
    let reasons: Vec<&str> = rejected[0].iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(reasons, ["31/02/2024 is not a calendar date", "`abc` is not a number"]);
}

#[test]
fn a_utf8_bom_dealflow_file_with_a_broken_header() {
    let file = "\u{feff}Startup,Ronda,Sector\nAcme,Seed,SaaS\n".as_bytes();
    assert_eq!(check_readable(file), Ok(TextEncoding::Utf8Bom));
    let all = records(file, sniff_delimiter(file));
    let header: Vec<&str> = all[0].iter().map(String::as_str).collect();
    assert_eq!(header[0], "Startup", "the BOM is gone");
    assert!(map_header(schema(Dataset::Dealflow), &header, &BTreeMap::new()).is_ok());

    let err = map_header(schema(Dataset::Kpis), &header, &BTreeMap::new()).unwrap_err();
    assert!(matches!(&err, HeaderError::MissingRequired { missing, .. } if missing == &["fecha", "indicador"]));
}

#[test]
fn company_keys_join_spellings_of_one_company() {
    let spellings = ["Acme, Inc.", "ACME INC", "acme", "Acme Inc", " Acme  "];
    for name in spellings {
        assert_eq!(company_key(name), "acme", "{name}");
    }
    assert_eq!(
        company_key("Compañía Ibérica, S.L."),
        company_key("COMPANIA IBERICA SL")
    );
}
