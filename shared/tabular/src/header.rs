//! Matching a file's header row to a dataset's columns.

use crate::fold::{collapse_non_alphanumeric, fold};
use crate::schema::{schema, DatasetSchema};
use sluice_messages::Dataset;
use std::collections::BTreeMap;

/// Canonical form of a header for matching: "  Fecha de Fundación " -> "fecha_de_fundacion".
///
/// Trims, strips a leading BOM, folds case and accents, turns every run of non-alphanumeric
/// characters into one `_` and trims `_` from both ends.
pub fn normalise_header(raw: &str) -> String {
    collapse_non_alphanumeric(&fold(clean_header(raw)), '_')
}

/// The header text as written, minus surrounding whitespace and a BOM.
fn clean_header(raw: &str) -> &str {
    raw.trim().trim_start_matches('\u{feff}').trim()
}

/// pandas writes its index as "Unnamed: 0" (and "Unnamed: 0_level_0" for multi-indexes).
fn is_pandas_junk(normalised: &str) -> bool {
    normalised
        .strip_prefix("unnamed_")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// How the columns of one file map to a dataset's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMapping {
    /// One entry per file column, in file order: `Some(index into schema.columns)` or `None`.
    pub columns: Vec<Option<usize>>,
    /// File columns that map to no schema column: (file column index, header text trimmed).
    pub extras: Vec<(usize, String)>,
    /// Headers of dropped columns: empty headers and pandas index columns ("Unnamed: 0").
    pub ignored: Vec<String>,
    /// The header text of every file column, trimmed, in file order (for problem reports).
    pub headers: Vec<String>,
}

impl HeaderMapping {
    /// The file column that feeds schema column `schema_index`, if any.
    pub fn file_column(&self, schema_index: usize) -> Option<usize> {
        self.columns.iter().position(|c| *c == Some(schema_index))
    }
}

/// Why a header cannot be loaded as a dataset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the file has no header row (no column names)")]
    Empty,
    #[error("{} file is missing required column(s): {}", dataset.as_str(), describe_missing(*dataset, missing))]
    MissingRequired {
        dataset: Dataset,
        missing: Vec<&'static str>,
    },
    #[error(
        "headers {} all map to column `{column}`; keep one, or map the others elsewhere with an override",
        quote_list(headers)
    )]
    Ambiguous { column: &'static str, headers: Vec<String> },
    #[error("a column override maps to `{target}`, which is not a column of this dataset")]
    UnknownTarget { target: String },
}

/// "`company_name` (also accepted: company, empresa, …)" for each missing column.
fn describe_missing(dataset: Dataset, missing: &[&'static str]) -> String {
    let s = schema(dataset);
    missing
        .iter()
        .map(|name| match s.column(name) {
            Some(c) if !c.aliases.is_empty() => format!("`{name}` (also accepted: {})", c.aliases.join(", ")),
            _ => format!("`{name}`"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn quote_list(items: &[String]) -> String {
    items.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
}

/// Index of the column whose name or an alias normalises to `normalised`.
fn match_column(schema: &DatasetSchema, normalised: &str) -> Option<usize> {
    schema.columns.iter().position(|c| {
        normalise_header(c.name) == normalised || c.aliases.iter().any(|a| normalise_header(a) == normalised)
    })
}

/// Maps a file's header to `schema`.
///
/// `overrides` maps a file header to a schema column name (or alias), both compared after
/// `normalise_header`; overrides win over aliases, and an alias match on a column that an
/// override already feeds becomes an extra. Overrides for headers the file lacks are ignored,
/// but every override must name a column of the dataset.
pub fn map_header(
    schema: &DatasetSchema,
    header: &[&str],
    overrides: &BTreeMap<String, String>,
) -> Result<HeaderMapping, HeaderError> {
    if header.iter().all(|h| clean_header(h).is_empty()) {
        return Err(HeaderError::Empty);
    }

    let mut override_targets: BTreeMap<String, usize> = BTreeMap::new();
    for (file_header, target) in overrides {
        let index = match_column(schema, &normalise_header(target))
            .ok_or_else(|| HeaderError::UnknownTarget { target: target.clone() })?;
        override_targets.insert(normalise_header(file_header), index);
    }

    let headers: Vec<String> = header.iter().map(|h| clean_header(h).to_owned()).collect();
    let mut ignored = Vec::new();
    // (file column, schema column, set by an override?)
    let mut matched: Vec<(usize, usize, bool)> = Vec::new();
    let mut unmatched: Vec<usize> = Vec::new();
    for (i, text) in headers.iter().enumerate() {
        let norm = normalise_header(text);
        if let Some(&index) = override_targets.get(&norm).filter(|_| !norm.is_empty()) {
            matched.push((i, index, true));
        } else if norm.is_empty() || is_pandas_junk(&norm) {
            ignored.push(text.clone());
        } else if let Some(index) = match_column(schema, &norm) {
            matched.push((i, index, false));
        } else {
            unmatched.push(i);
        }
    }

    let mut columns: Vec<Option<usize>> = vec![None; headers.len()];
    for (index, spec) in schema.columns.iter().enumerate() {
        let feeding: Vec<(usize, bool)> = matched
            .iter()
            .filter(|m| m.1 == index)
            .map(|&(file_col, _, by_override)| (file_col, by_override))
            .collect();
        let overridden: Vec<usize> = feeding.iter().filter(|f| f.1).map(|f| f.0).collect();
        let winners: Vec<usize> = if overridden.is_empty() {
            feeding.iter().map(|f| f.0).collect()
        } else {
            overridden
        };
        match winners.as_slice() {
            [] => {}
            [only] => columns[*only] = Some(index),
            many => {
                return Err(HeaderError::Ambiguous {
                    column: spec.name,
                    headers: many.iter().map(|&i| headers[i].clone()).collect(),
                })
            }
        }
        // Alias matches beaten by an override are kept as extras rather than lost.
        unmatched.extend(feeding.iter().map(|f| f.0).filter(|i| !winners.contains(i)));
    }
    unmatched.sort_unstable();

    let missing: Vec<&'static str> = schema
        .columns
        .iter()
        .enumerate()
        .filter(|(index, c)| c.required && !columns.contains(&Some(*index)))
        .map(|(_, c)| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(HeaderError::MissingRequired {
            dataset: schema.dataset,
            missing,
        });
    }

    let extras = unmatched.into_iter().map(|i| (i, headers[i].clone())).collect();
    Ok(HeaderMapping {
        columns,
        extras,
        ignored,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_overrides() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn mapped_names(schema: &DatasetSchema, mapping: &HeaderMapping) -> Vec<Option<&'static str>> {
        mapping
            .columns
            .iter()
            .map(|c| c.map(|i| schema.columns[i].name))
            .collect()
    }

    #[test]
    fn normalise_header_folds_case_accents_and_punctuation() {
        assert_eq!(normalise_header("  Fecha de Fundación "), "fecha_de_fundacion");
        assert_eq!(normalise_header("\u{feff}Empresa"), "empresa");
        assert_eq!(normalise_header("EMPRESA "), "empresa");
        assert_eq!(normalise_header("Año  Fundación"), "ano_fundacion");
        assert_eq!(normalise_header("funding_total_usd"), "funding_total_usd");
        assert_eq!(normalise_header("Pre-Money (€)"), "pre_money");
        assert_eq!(normalise_header("__a__b__"), "a_b");
        assert_eq!(normalise_header("Unnamed: 0"), "unnamed_0");
        assert_eq!(normalise_header("  "), "");
        assert_eq!(normalise_header("Nº empleados"), "no_empleados");
    }

    #[test]
    fn header_with_bom_accents_and_odd_spacing_maps() {
        let s = schema(Dataset::Companies);
        let header = [
            "\u{feff}  EMPRESA ",
            "Fecha de Fundación",
            "Sitio   Web",
            "Nº Empleados",
            "Financiación Total",
        ];
        let m = map_header(s, &header, &no_overrides()).unwrap();
        assert_eq!(
            mapped_names(s, &m),
            [
                Some("company_name"),
                Some("founding_date"),
                Some("website_url"),
                None,
                Some("funding_total")
            ]
        );
        assert_eq!(m.extras, [(3, "Nº Empleados".to_owned())]);
        assert_eq!(m.headers[0], "EMPRESA");
        assert!(m.ignored.is_empty());
    }

    #[test]
    fn kpi_header_in_spanish_maps() {
        let s = schema(Dataset::Kpis);
        let header = [
            "Fondo",
            "Compañía",
            "Periodo",
            "Trimestre",
            "Escenario",
            "Métrica",
            "Moneda",
            "Importe",
        ];
        let m = map_header(s, &header, &no_overrides()).unwrap();
        assert_eq!(
            mapped_names(s, &m),
            [
                Some("fondo"),
                Some("empresa"),
                Some("fecha"),
                Some("cuarto"),
                Some("tipo"),
                Some("indicador"),
                Some("unidad"),
                Some("valor")
            ]
        );
        assert!(m.extras.is_empty());
    }

    #[test]
    fn missing_required_lists_columns_and_aliases() {
        let s = schema(Dataset::Kpis);
        let err = map_header(s, &["Empresa", "Valor"], &no_overrides()).unwrap_err();
        assert_eq!(
            err,
            HeaderError::MissingRequired {
                dataset: Dataset::Kpis,
                missing: vec!["fecha", "indicador"]
            }
        );
        let msg = err.to_string();
        assert!(msg.starts_with("kpis file is missing required column(s): "), "{msg}");
        assert!(
            msg.contains("`fecha` (also accepted: date, period, periodo, month, mes"),
            "{msg}"
        );
        assert!(
            msg.contains("`indicador` (also accepted: indicator, kpi, metric"),
            "{msg}"
        );
        assert!(!msg.contains("`empresa`"), "{msg}");
    }

    #[test]
    fn override_maps_an_unknown_header() {
        let s = schema(Dataset::Dealflow);
        let header = ["Nombre Comercial", "Ronda"];
        assert!(matches!(
            map_header(s, &header, &no_overrides()),
            Err(HeaderError::MissingRequired { .. })
        ));
        let m = map_header(s, &header, &overrides(&[("nombre comercial", "Company")])).unwrap();
        assert_eq!(mapped_names(s, &m), [Some("company"), Some("funding_round")]);
    }

    #[test]
    fn override_wins_over_alias_and_demotes_the_alias_match_to_extra() {
        let s = schema(Dataset::Companies);
        let header = ["Empresa", "Nombre comercial", "Ciudad"];
        let m = map_header(s, &header, &overrides(&[("NOMBRE COMERCIAL", "company_name")])).unwrap();
        assert_eq!(mapped_names(s, &m), [None, Some("company_name"), Some("city")]);
        assert_eq!(m.extras, [(0, "Empresa".to_owned())]);
        assert_eq!(m.file_column(0), Some(1));
    }

    #[test]
    fn override_can_redirect_a_header_that_has_an_alias() {
        let s = schema(Dataset::Companies);
        // "Location" is a city alias; the uploader says it is the description.
        let m = map_header(s, &["Name", "Location"], &overrides(&[("location", "description")])).unwrap();
        assert_eq!(mapped_names(s, &m), [Some("company_name"), Some("description")]);
    }

    #[test]
    fn override_target_may_be_an_alias() {
        let s = schema(Dataset::Companies);
        let m = map_header(s, &["Razón", "x"], &overrides(&[("razon", "Empresa")])).unwrap();
        assert_eq!(mapped_names(s, &m), [Some("company_name"), None]);
    }

    #[test]
    fn override_to_unknown_column_is_rejected() {
        let s = schema(Dataset::Companies);
        let err = map_header(s, &["Name"], &overrides(&[("ticker", "symbol")])).unwrap_err();
        assert_eq!(
            err,
            HeaderError::UnknownTarget {
                target: "symbol".to_owned()
            }
        );
        assert!(err.to_string().contains("`symbol`"));
    }

    #[test]
    fn two_headers_for_one_column_are_ambiguous() {
        let s = schema(Dataset::Companies);
        let err = map_header(s, &["Empresa", "City", "Company"], &no_overrides()).unwrap_err();
        assert_eq!(
            err,
            HeaderError::Ambiguous {
                column: "company_name",
                headers: vec!["Empresa".to_owned(), "Company".to_owned()]
            }
        );
        assert!(err.to_string().contains("`Empresa`, `Company`"));
    }

    #[test]
    fn two_overrides_to_one_column_are_ambiguous() {
        let s = schema(Dataset::Companies);
        let o = overrides(&[("a", "city"), ("b", "city")]);
        let err = map_header(s, &["Name", "A", "B"], &o).unwrap_err();
        assert_eq!(
            err,
            HeaderError::Ambiguous {
                column: "city",
                headers: vec!["A".to_owned(), "B".to_owned()]
            }
        );
    }

    #[test]
    fn extras_keep_original_header_and_pandas_junk_is_ignored() {
        let s = schema(Dataset::Dealflow);
        let header = [
            "Unnamed: 0",
            "Company",
            "",
            "  Notas internas ",
            "Unnamed: 5_level_0",
            "Unnamed",
        ];
        let m = map_header(s, &header, &no_overrides()).unwrap();
        assert_eq!(mapped_names(s, &m), [None, Some("company"), None, None, None, None]);
        assert_eq!(m.extras, [(3, "Notas internas".to_owned()), (5, "Unnamed".to_owned())]);
        assert_eq!(m.ignored, ["Unnamed: 0", "", "Unnamed: 5_level_0"]);
    }

    #[test]
    fn override_rescues_a_pandas_named_column() {
        let s = schema(Dataset::Companies);
        let m = map_header(
            s,
            &["Unnamed: 0", "Unnamed: 1"],
            &overrides(&[("Unnamed: 1", "company_name")]),
        )
        .unwrap();
        assert_eq!(mapped_names(s, &m), [None, Some("company_name")]);
        assert_eq!(m.ignored, ["Unnamed: 0"]);
    }

    #[test]
    fn empty_header_is_rejected() {
        let s = schema(Dataset::Companies);
        assert_eq!(map_header(s, &[], &no_overrides()), Err(HeaderError::Empty));
        assert_eq!(
            map_header(s, &["", " ", "\u{feff}"], &no_overrides()),
            Err(HeaderError::Empty)
        );
        assert!(HeaderError::Empty.to_string().contains("no header"));
    }

    #[test]
    fn only_junk_headers_is_missing_required() {
        let s = schema(Dataset::Companies);
        let err = map_header(s, &["Unnamed: 0", "foo"], &no_overrides()).unwrap_err();
        assert!(matches!(err, HeaderError::MissingRequired { missing, .. } if missing == ["company_name"]));
    }

    #[test]
    fn every_column_name_and_alias_maps_to_its_column() {
        for dataset in Dataset::ALL {
            let s = schema(dataset);
            let required: Vec<&str> = s.columns.iter().filter(|c| c.required).map(|c| c.name).collect();
            for (index, c) in s.columns.iter().enumerate() {
                for alias in std::iter::once(&c.name).chain(c.aliases) {
                    let upper = alias.to_uppercase();
                    let mut header: Vec<&str> = required.iter().copied().filter(|r| *r != c.name).collect();
                    header.push(&upper);
                    let m = map_header(s, &header, &no_overrides()).unwrap();
                    assert_eq!(m.columns.last(), Some(&Some(index)), "{dataset}: {alias}");
                }
            }
        }
    }
}
