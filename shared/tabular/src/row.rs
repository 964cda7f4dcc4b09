//! Normalising one record into canonical text for PostgreSQL `COPY`.

use crate::header::HeaderMapping;
use crate::schema::{ColumnType, DatasetSchema, UnitRule};
use crate::values::{normalise_text, parse_date, parse_decimal, parse_integer, DateOrder, UnitMark, ValueError};
use serde_json::{Map, Value};
use std::fmt;

/// How to read the values of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NormaliseSettings {
    pub date_order: DateOrder,
    /// `,` is the decimal separator (files saved by Spanish Excel, which also uses `;`).
    pub decimal_comma: bool,
}

impl NormaliseSettings {
    /// A `;`-delimited file is a decimal-comma file; anything else uses `.`.
    pub fn for_delimiter(delimiter: u8, date_order: DateOrder) -> Self {
        Self {
            date_order,
            decimal_comma: delimiter == b';',
        }
    }
}

/// One record, ready to load.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalisedRow {
    /// One per schema column, in schema order; canonical text for `COPY` (ISO dates, canonical
    /// decimals, integers); `None` is NULL.
    pub values: Vec<Option<String>>,
    /// Extra columns: original header -> trimmed raw value (non-empty values only). A header
    /// that occurs twice gets " (n)" appended, n being its 1-based file column.
    pub extras: Map<String, Value>,
}

/// One thing wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The file header as written (trimmed); empty for a problem with the whole record.
    pub column: String,
    pub raw: String,
    pub reason: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.column, self.reason)
        }
    }
}

/// Normalises one value for a column of type `ty`; empty markers are `None`. A unit mark that
/// belongs in another column ([`UnitRule::Column`]) is only kept or checked by
/// [`normalise_row`].
pub fn normalise_value(ty: ColumnType, raw: &str, settings: &NormaliseSettings) -> Result<Option<String>, ValueError> {
    normalise_cell(ty, raw, settings).map(|cell| cell.text)
}

/// A normalised cell, and the unit mark it carried with the column that mark goes to.
struct Cell {
    text: Option<String>,
    mark: Option<(UnitMark, &'static str)>,
}

fn normalise_cell(ty: ColumnType, raw: &str, settings: &NormaliseSettings) -> Result<Cell, ValueError> {
    let text = match ty {
        ColumnType::Text { max_len } => normalise_text(raw, max_len)?,
        ColumnType::Date => parse_date(raw, settings.date_order)?.map(|d| d.format("%Y-%m-%d").to_string()),
        ColumnType::Integer => parse_integer(raw, settings.decimal_comma)?.map(|n| n.to_string()),
        ColumnType::Decimal {
            integer_digits,
            scale,
            unit,
        } => {
            let Some(number) = parse_decimal(raw, settings.decimal_comma, integer_digits, scale)? else {
                return Ok(Cell { text: None, mark: None });
            };
            let mark = match (unit, number.mark) {
                (UnitRule::Currency(currency), Some(mark)) if !mark.agrees_with(currency) => {
                    return Err(ValueError::NotInCurrency {
                        raw: raw.trim().to_owned(),
                        mark,
                        currency,
                    });
                }
                (UnitRule::Column(unit_column), Some(mark)) => Some((mark, unit_column)),
                _ => None,
            };
            return Ok(Cell {
                text: Some(number.value.into_text()),
                mark,
            });
        }
    };
    Ok(Cell { text, mark: None })
}

/// Is the record blank (all fields empty after trim)? Such records are skipped, not rejected.
pub fn is_blank_record(fields: &[&str]) -> bool {
    fields.iter().all(|f| f.trim().is_empty())
}

/// Normalises one record (`fields`: decoded, in file order) and returns every problem of the
/// record, not just the first. Missing trailing fields count as empty; surplus fields are a
/// problem.
pub fn normalise_row(
    schema: &DatasetSchema,
    mapping: &HeaderMapping,
    fields: &[&str],
    settings: &NormaliseSettings,
) -> Result<NormalisedRow, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let width = mapping.columns.len();
    if fields.len() > width {
        problems.push(FieldProblem {
            column: String::new(),
            raw: fields[width..].join(" | "),
            reason: format!("row has {} fields, header has {width}", fields.len()),
        });
    }

    let header_of = |file_col: usize, fallback: &str| {
        mapping
            .headers
            .get(file_col)
            .map_or_else(|| fallback.to_owned(), Clone::clone)
    };
    let mut values: Vec<Option<String>> = vec![None; schema.columns.len()];
    let mut seen = vec![false; schema.columns.len()];
    // (schema column, file column, mark, unit column) of values whose unit goes to a unit column.
    let mut marked: Vec<(usize, usize, UnitMark, &'static str)> = Vec::new();
    for (file_col, target) in mapping.columns.iter().enumerate() {
        let Some((index, spec)) = target.and_then(|i| schema.columns.get(i).map(|spec| (i, spec))) else {
            continue;
        };
        seen[index] = true;
        let raw = fields.get(file_col).copied().unwrap_or("");
        let problem = |reason: String| FieldProblem {
            column: header_of(file_col, spec.name),
            raw: raw.to_owned(),
            reason,
        };
        match normalise_cell(spec.ty, raw, settings) {
            Ok(Cell { text: None, .. }) if spec.required => problems.push(problem("required value missing".to_owned())),
            Ok(cell) => {
                values[index] = cell.text;
                if let Some((mark, unit_name)) = cell.mark {
                    marked.push((index, file_col, mark, unit_name));
                }
            }
            Err(e) => problems.push(problem(e.to_string())),
        }
    }
    // After every column, as the unit column may come after the value in the file.
    for (index, file_col, mark, unit_name) in marked {
        // A schema test checks that every unit column exists.
        let Some(unit_index) = schema.column_index(unit_name) else {
            continue;
        };
        // Names are only built for a problem: this runs for many rows of a large file.
        let unit_column = || {
            mapping
                .file_column(unit_index)
                .map_or_else(|| unit_name.to_owned(), |c| header_of(c, unit_name))
        };
        let raw = fields.get(file_col).copied().unwrap_or("");
        let error = match (values[unit_index].as_deref(), mark.unit()) {
            (Some(unit), _) if mark.agrees_with(unit) => None,
            (Some(unit), _) => Some(ValueError::UnitConflict {
                raw: raw.trim().to_owned(),
                mark,
                unit_column: unit_column(),
                unit: unit.to_owned(),
            }),
            (None, Some(unit)) => {
                values[unit_index] = Some(unit.to_owned());
                None
            }
            (None, None) => Some(ValueError::AmbiguousCurrency {
                raw: raw.trim().to_owned(),
                unit_column: unit_column(),
            }),
        };
        if let Some(error) = error {
            problems.push(FieldProblem {
                column: header_of(file_col, schema.columns[index].name),
                raw: raw.to_owned(),
                reason: error.to_string(),
            });
        }
    }
    // Only reachable with a mapping that skipped `map_header`'s required-column check.
    for (spec, _) in schema
        .columns
        .iter()
        .zip(&seen)
        .filter(|(spec, seen)| spec.required && !**seen)
    {
        problems.push(FieldProblem {
            column: spec.name.to_owned(),
            raw: String::new(),
            reason: "required value missing".to_owned(),
        });
    }

    let mut extras = Map::new();
    for (file_col, header) in &mapping.extras {
        let cleaned: String = fields
            .get(*file_col)
            .map(|f| f.chars().filter(|&c| c != '\0').collect())
            .unwrap_or_default();
        let value = cleaned.trim();
        if value.is_empty() {
            continue;
        }
        let key = if extras.contains_key(header) {
            format!("{header} ({})", file_col + 1)
        } else {
            header.clone()
        };
        extras.insert(key, Value::String(value.to_owned()));
    }

    if problems.is_empty() {
        Ok(NormalisedRow { values, extras })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::map_header;
    use crate::schema::schema;
    use sluice_messages::Dataset;
    use std::collections::BTreeMap;

    fn mapping(dataset: Dataset, header: &[&str]) -> HeaderMapping {
        map_header(schema(dataset), header, &BTreeMap::new()).unwrap()
    }

    fn value<'a>(dataset: Dataset, row: &'a NormalisedRow, column: &str) -> Option<&'a str> {
        let index = schema(dataset).column_index(column).unwrap();
        row.values[index].as_deref()
    }

    const DMY_COMMA: NormaliseSettings = NormaliseSettings {
        date_order: DateOrder::DayFirst,
        decimal_comma: true,
    };
    const MDY_DOT: NormaliseSettings = NormaliseSettings {
        date_order: DateOrder::MonthFirst,
        decimal_comma: false,
    };

    #[test]
    fn settings_follow_the_delimiter() {
        assert!(NormaliseSettings::for_delimiter(b';', DateOrder::DayFirst).decimal_comma);
        assert!(!NormaliseSettings::for_delimiter(b',', DateOrder::DayFirst).decimal_comma);
        assert!(!NormaliseSettings::for_delimiter(b'\t', DateOrder::MonthFirst).decimal_comma);
        assert_eq!(
            NormaliseSettings::for_delimiter(b'\t', DateOrder::MonthFirst).date_order,
            DateOrder::MonthFirst
        );
    }

    #[test]
    fn a_spanish_kpi_row_normalises() {
        let m = mapping(
            Dataset::Kpis,
            &["Fondo", "Empresa", "Fecha", "Indicador", "Tipo", "Valor", "Comentario"],
        );
        let fields = [
            "Fondo I",
            " Acme SL ",
            "31/03/2024",
            "Ingresos",
            "actual",
            "1.234.567,891",
            "revisado",
        ];
        let row = normalise_row(schema(Dataset::Kpis), &m, &fields, &DMY_COMMA).unwrap();
        assert_eq!(
            row.values,
            [
                Some("Fondo I".to_owned()),
                Some("Acme SL".to_owned()),
                Some("2024-03-31".to_owned()),
                None,
                Some("actual".to_owned()),
                Some("Ingresos".to_owned()),
                None,
                Some("1234567.891".to_owned()),
                None,
            ]
        );
        assert_eq!(
            row.extras.get("Comentario"),
            Some(&Value::String("revisado".to_owned()))
        );
    }

    #[test]
    fn a_us_companies_row_normalises() {
        let header = [
            "name",
            "city",
            "founded_at",
            "funding_total_usd",
            "employees",
            "homepage_url",
        ];
        let m = mapping(Dataset::Companies, &header);
        let fields = [
            "Acme, Inc.",
            "San Diego",
            "1/31/2007",
            "$1,500,000",
            "1,200",
            "https://acme.example",
        ];
        let row = normalise_row(schema(Dataset::Companies), &m, &fields, &MDY_DOT).unwrap();
        let v = |c| value(Dataset::Companies, &row, c);
        assert_eq!(v("company_name"), Some("Acme, Inc."));
        assert_eq!(v("founding_date"), Some("2007-01-31"));
        assert_eq!(v("funding_total"), Some("1500000"));
        assert_eq!(v("headcount"), Some("1200"));
        assert_eq!(v("website_url"), Some("https://acme.example"));
        assert_eq!(v("description"), None);
        assert!(row.extras.is_empty());
    }

    #[test]
    fn all_problems_of_a_row_are_reported_at_once() {
        let m = mapping(
            Dataset::Companies,
            &["Empresa", "Fecha de fundación", "Empleados", "Financiación"],
        );
        let fields = ["N/A", "31/02/2024", "12,5", "abc"];
        let problems = normalise_row(schema(Dataset::Companies), &m, &fields, &DMY_COMMA).unwrap_err();
        assert_eq!(
            problems,
            [
                FieldProblem {
                    column: "Empresa".into(),
                    raw: "N/A".into(),
                    reason: "required value missing".into()
                },
                FieldProblem {
                    column: "Fecha de fundación".into(),
                    raw: "31/02/2024".into(),
                    reason: "31/02/2024 is not a calendar date".into()
                },
                FieldProblem {
                    column: "Empleados".into(),
                    raw: "12,5".into(),
                    reason: "`12,5` is not a whole number".into()
                },
                FieldProblem {
                    column: "Financiación".into(),
                    raw: "abc".into(),
                    reason: "`abc` is not a number".into()
                },
            ]
        );
        assert_eq!(
            problems[1].to_string(),
            "Fecha de fundación: 31/02/2024 is not a calendar date"
        );
    }

    #[test]
    fn a_row_with_too_many_fields_is_a_problem() {
        let m = mapping(Dataset::Dealflow, &["Company", "Stage"]);
        let problems = normalise_row(
            schema(Dataset::Dealflow),
            &m,
            &["Acme", "Seed", "extra", "more"],
            &MDY_DOT,
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [FieldProblem {
                column: String::new(),
                raw: "extra | more".into(),
                reason: "row has 4 fields, header has 2".into()
            }]
        );
        assert_eq!(problems[0].to_string(), "row has 4 fields, header has 2");
    }

    #[test]
    fn too_many_fields_is_reported_with_the_other_problems() {
        let m = mapping(Dataset::Dealflow, &["Company", "Score"]);
        let problems = normalise_row(schema(Dataset::Dealflow), &m, &["", "10", "x"], &MDY_DOT).unwrap_err();
        let reasons: Vec<&str> = problems.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "row has 3 fields, header has 2",
                "required value missing",
                "`10` has too many digits before the decimal point (at most 1)"
            ]
        );
    }

    #[test]
    fn missing_trailing_fields_are_empty() {
        let m = mapping(Dataset::Dealflow, &["Company", "Stage", "Ronda", "Notas"]);
        let row = normalise_row(schema(Dataset::Dealflow), &m, &["Acme"], &MDY_DOT).unwrap();
        assert_eq!(value(Dataset::Dealflow, &row, "company"), Some("Acme"));
        assert_eq!(value(Dataset::Dealflow, &row, "stage"), None);
        assert!(row.extras.is_empty());
        // A required column past the end of a short record is missing, not skipped.
        let m = mapping(Dataset::Dealflow, &["Stage", "Company"]);
        let problems = normalise_row(schema(Dataset::Dealflow), &m, &["Seed"], &MDY_DOT).unwrap_err();
        assert_eq!(problems[0].column, "Company");
        assert_eq!(problems[0].reason, "required value missing");
    }

    #[test]
    fn extras_keep_trimmed_non_empty_values_under_the_original_header() {
        let m = mapping(
            Dataset::Dealflow,
            &["Company", " Notas ", "Unnamed: 2", "Tags", "Notas", "Vacío"],
        );
        let fields = ["Acme", "  llamar en Q3  ", "17", "b2b\0", "otra", "   "];
        let row = normalise_row(schema(Dataset::Dealflow), &m, &fields, &MDY_DOT).unwrap();
        let expected: Map<String, Value> = [("Notas", "llamar en Q3"), ("Tags", "b2b"), ("Notas (5)", "otra")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        assert_eq!(row.extras, expected);
    }

    #[test]
    fn every_column_type_reaches_canonical_text() {
        let s = NormaliseSettings::default();
        assert_eq!(
            normalise_value(ColumnType::Text { max_len: 5 }, " ab ", &s),
            Ok(Some("ab".into()))
        );
        assert_eq!(
            normalise_value(ColumnType::Date, "1/2/2024", &s),
            Ok(Some("2024-02-01".into()))
        );
        assert_eq!(normalise_value(ColumnType::Integer, "-12", &s), Ok(Some("-12".into())));
        let decimal = ColumnType::Decimal {
            integer_digits: 1,
            scale: Some(4),
            unit: UnitRule::Dropped,
        };
        assert_eq!(normalise_value(decimal, "0.1234", &s), Ok(Some("0.1234".into())));
        assert!(matches!(
            normalise_value(decimal, "0.12345", &s),
            Err(ValueError::TooManyDecimals { max: 4, .. })
        ));
        for ty in [
            ColumnType::Text { max_len: 5 },
            ColumnType::Date,
            ColumnType::Integer,
            decimal,
        ] {
            assert_eq!(normalise_value(ty, " n/a ", &s), Ok(None), "{ty:?}");
        }
        assert_eq!(
            normalise_value(ColumnType::Text { max_len: 2 }, "abc", &s),
            Err(ValueError::TooLong { max_len: 2 })
        );
    }

    #[test]
    fn text_too_long_is_a_problem() {
        let m = mapping(Dataset::Kpis, &["Empresa", "Fecha", "Indicador", "Trimestre"]);
        let fields = ["Acme", "2024-03", "ARR", "Q1 2024 (revisado)"];
        let problems = normalise_row(schema(Dataset::Kpis), &m, &fields, &DMY_COMMA).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].reason, "text longer than 10 characters");
    }

    /// (unidad, valor) of a `;` KPI row with these two cells, or the reasons it is rejected.
    fn kpi_unit(unidad: &str, valor: &str) -> Result<(Option<String>, Option<String>), Vec<String>> {
        let m = mapping(Dataset::Kpis, &["Empresa", "Fecha", "Indicador", "Unidad", "Valor"]);
        let fields = ["Acme", "31/03/2026", "Ventas", unidad, valor];
        match normalise_row(schema(Dataset::Kpis), &m, &fields, &DMY_COMMA) {
            Ok(row) => Ok((
                value(Dataset::Kpis, &row, "unidad").map(str::to_owned),
                value(Dataset::Kpis, &row, "valor").map(str::to_owned),
            )),
            Err(problems) => Err(problems.iter().map(ToString::to_string).collect()),
        }
    }

    fn kept(unidad: &str, valor: &str) -> (Option<String>, Option<String>) {
        (Some(unidad.to_owned()), Some(valor.to_owned()))
    }

    /// (unidad, valor) as written -> (unidad, valor) stored, for rows that load.
    fn assert_kept(cases: &[(&str, &str, &str, &str)]) {
        for &(unidad, valor, stored_unidad, stored_valor) in cases {
            assert_eq!(
                kpi_unit(unidad, valor),
                Ok(kept(stored_unidad, stored_valor)),
                "{unidad:?} {valor:?}"
            );
        }
    }

    #[test]
    fn a_value_s_unit_fills_an_empty_unit_column() {
        assert_kept(&[
            ("", "42,5%", "%", "42.5"),
            ("", "€1.234,56", "EUR", "1234.56"),
            ("", "1.234,56 €", "EUR", "1234.56"),
            ("", "EUR 1.234,56", "EUR", "1234.56"),
            ("", "1.234,56 EUR", "EUR", "1234.56"),
            ("", "$1.000", "USD", "1000"),
            ("", "US$ 7", "USD", "7"),
            ("", "5 usd", "USD", "5"),
            ("", "£3,25", "GBP", "3.25"),
            ("", "(€120)", "EUR", "-120"),
            // An empty marker in the unit column is an empty unit.
            ("n/a", "12%", "%", "12"),
            (" - ", "€5", "EUR", "5"),
        ]);
    }

    #[test]
    fn a_value_without_a_mark_leaves_the_unit_as_given() {
        assert_kept(&[
            ("x", "2,5", "x", "2.5"),
            ("EUR", "1.000", "EUR", "1000"),
            ("%", "12,5", "%", "12.5"),
        ]);
        assert_eq!(kpi_unit("", "2,3456"), Ok((None, Some("2.3456".to_owned()))));
        assert_eq!(kpi_unit("USD", "-"), Ok((Some("USD".to_owned()), None)));
        assert_eq!(kpi_unit("", ""), Ok((None, None)));
    }

    #[test]
    fn a_unit_column_that_agrees_with_the_mark_is_kept_as_written() {
        assert_kept(&[
            ("%", "42,5%", "%", "42.5"),
            ("EUR", "€5", "EUR", "5"),
            ("eur", "5 EUR", "eur", "5"),
            ("€", "EUR 5", "€", "5"),
            ("k€", "1.500 €", "k€", "1500"),
            ("Miles de euros", "€1.500", "Miles de euros", "1500"),
            ("MXN", "$1.500", "MXN", "1500"),
            ("USD", "$1.500", "USD", "1500"),
            ("JPY", "¥100", "JPY", "100"),
            ("CNY", "¥100", "CNY", "100"),
        ]);
    }

    #[test]
    fn a_unit_column_that_says_something_else_rejects_the_row() {
        for (unidad, valor, reason) in [
            ("USD", "€5", "`€5` is in EUR but Unidad is `USD`"),
            ("EUR", "12%", "`12%` is a percentage but Unidad is `EUR`"),
            ("%", "$5", "`$5` is in dollars but Unidad is `%`"),
            ("MXN", "USD 5", "`USD 5` is in USD but Unidad is `MXN`"),
            ("FTE", "£5", "`£5` is in GBP but Unidad is `FTE`"),
            ("USD/EUR", "€5", "`€5` is in EUR but Unidad is `USD/EUR`"),
            ("EUR", "¥5", "`¥5` is in yen or yuan but Unidad is `EUR`"),
        ] {
            assert_eq!(kpi_unit(unidad, valor), Err(vec![format!("Valor: {reason}")]));
        }
    }

    #[test]
    fn a_yen_sign_without_a_unit_is_rejected_rather_than_guessed() {
        assert_eq!(
            kpi_unit("", "¥100"),
            Err(vec![
                "Valor: `¥100`: ¥ is both yen and yuan; write JPY or CNY in Unidad".to_owned()
            ])
        );
        // Without a unit column in the file the message names the column to add.
        let m = mapping(Dataset::Kpis, &["Empresa", "Fecha", "Indicador", "Valor"]);
        let problems = normalise_row(
            schema(Dataset::Kpis),
            &m,
            &["Acme", "31/03/2026", "Ventas", "¥100"],
            &DMY_COMMA,
        )
        .unwrap_err();
        assert_eq!(
            problems[0].reason,
            "`¥100`: ¥ is both yen and yuan; write JPY or CNY in unidad"
        );
    }

    #[test]
    fn the_unit_column_may_come_after_the_value_or_not_at_all() {
        let m = mapping(Dataset::Kpis, &["Valor", "Empresa", "Fecha", "Indicador", "Unidad"]);
        let row = normalise_row(
            schema(Dataset::Kpis),
            &m,
            &["42,5%", "Acme", "31/03/2026", "Margen", ""],
            &DMY_COMMA,
        )
        .unwrap();
        assert_eq!(value(Dataset::Kpis, &row, "unidad"), Some("%"));
        let problems = normalise_row(
            schema(Dataset::Kpis),
            &m,
            &["€5", "Acme", "31/03/2026", "Margen", "USD"],
            &DMY_COMMA,
        )
        .unwrap_err();
        assert_eq!(problems[0].column, "Valor");
        assert_eq!(problems[0].raw, "€5");

        let m = mapping(Dataset::Kpis, &["Empresa", "Fecha", "Indicador", "Valor"]);
        let row = normalise_row(
            schema(Dataset::Kpis),
            &m,
            &["Acme", "31/03/2026", "Ventas", "€1.234,56"],
            &DMY_COMMA,
        )
        .unwrap();
        assert_eq!(value(Dataset::Kpis, &row, "unidad"), Some("EUR"));
    }

    #[test]
    fn a_unit_problem_is_reported_with_the_row_s_other_problems() {
        let m = mapping(Dataset::Kpis, &["Empresa", "Fecha", "Indicador", "Unidad", "Valor"]);
        let problems = normalise_row(
            schema(Dataset::Kpis),
            &m,
            &["Acme", "31/02/2026", "Ventas", "USD", "€5"],
            &DMY_COMMA,
        )
        .unwrap_err();
        let reasons: Vec<&str> = problems.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "31/02/2026 is not a calendar date",
                "`€5` is in EUR but Unidad is `USD`"
            ]
        );
    }

    #[test]
    fn a_usd_column_rejects_other_currencies_and_percentages() {
        let m = mapping(Dataset::Dealflow, &["Company", "Deal size"]);
        let deal = |raw: &str| {
            normalise_row(schema(Dataset::Dealflow), &m, &["Acme", raw], &MDY_DOT)
                .map(|row| value(Dataset::Dealflow, &row, "deal_size_usd").map(str::to_owned))
        };
        assert_eq!(deal("$1,500,000.5"), Ok(Some("1500000.5".to_owned())));
        assert_eq!(deal("USD 2,000"), Ok(Some("2000".to_owned())));
        assert_eq!(deal("2000"), Ok(Some("2000".to_owned())));
        let reason = |raw: &str| deal(raw).unwrap_err()[0].to_string();
        assert_eq!(reason("€5"), "Deal size: `€5` is in EUR but this column holds USD");
        assert_eq!(
            reason("5%"),
            "Deal size: `5%` is a percentage but this column holds USD"
        );
        assert_eq!(reason("£5"), "Deal size: `£5` is in GBP but this column holds USD");
    }

    #[test]
    fn amounts_without_a_unit_column_keep_their_digits_and_drop_the_mark() {
        let m = mapping(Dataset::Companies, &["name", "funding_total_usd"]);
        let row = normalise_row(schema(Dataset::Companies), &m, &["Acme", "€1,375,000.125"], &MDY_DOT).unwrap();
        assert_eq!(value(Dataset::Companies, &row, "funding_total"), Some("1375000.125"));
    }

    #[test]
    fn a_score_with_a_fifth_decimal_is_rejected_not_rounded() {
        let m = mapping(Dataset::Dealflow, &["Company", "Score"]);
        let score = |raw: &str| normalise_row(schema(Dataset::Dealflow), &m, &["Acme", raw], &MDY_DOT);
        let row = score("0.8765").unwrap();
        assert_eq!(value(Dataset::Dealflow, &row, "algorithm_score"), Some("0.8765"));
        assert_eq!(
            score("0.87654").unwrap_err()[0].reason,
            "`0.87654` has too many decimals (at most 4; values are never rounded)"
        );
    }

    #[test]
    fn month_and_quarter_periods_become_their_last_day() {
        let m = mapping(Dataset::Kpis, &["Empresa", "Fecha", "Indicador"]);
        for (raw, expected) in [
            ("marzo 2026", "2026-03-31"),
            ("mar-26", "2026-03-31"),
            ("03/2026", "2026-03-31"),
            ("T1 2026", "2026-03-31"),
            ("Q1 2026", "2026-03-31"),
            ("1T26", "2026-03-31"),
            ("2026-Q1", "2026-03-31"),
            ("1Q 2026", "2026-03-31"),
            ("31 de marzo de 2026", "2026-03-31"),
            ("1 de marzo de 2026", "2026-03-01"),
            ("T2 2026", "2026-06-30"),
        ] {
            let row = normalise_row(schema(Dataset::Kpis), &m, &["Acme", raw, "Ventas"], &DMY_COMMA)
                .unwrap_or_else(|p| panic!("{raw}: {p:?}"));
            assert_eq!(value(Dataset::Kpis, &row, "fecha"), Some(expected), "{raw}");
        }
    }

    #[test]
    fn blank_records_are_detected() {
        assert!(is_blank_record(&[]));
        assert!(is_blank_record(&["", "  ", "\t"]));
        assert!(!is_blank_record(&["", "x"]));
        assert!(!is_blank_record(&["-"]));
    }
}
