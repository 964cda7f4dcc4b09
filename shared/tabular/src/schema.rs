//! The columns of each dataset. Column names are PostgreSQL column names; aliases are the
//! headers people actually write (English and Spanish), matched after `normalise_header`.

use sluice_messages::Dataset;

/// The type of a column, which decides how its values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Text {
        max_len: usize,
    },
    Date,
    Integer,
    /// An exact decimal, never rounded: at most `integer_digits` before the point (a bound
    /// against typos such as `1e40`) and, with a `scale`, at most that many after it (more is
    /// rejected). Without a scale every digit written is stored (`numeric`).
    Decimal {
        integer_digits: u8,
        scale: Option<u8>,
        unit: UnitRule,
    },
}

/// What happens to the unit a decimal value carries (`42,5%`, `€1.234,56`, `5 EUR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitRule {
    /// The dataset has nowhere to keep it: the mark is read past.
    Dropped,
    /// Kept in this column of the same row when that is empty, else checked against it: a
    /// row whose unit says something else is rejected.
    Column(&'static str),
    /// The column holds amounts in this currency: a value marked otherwise is rejected.
    Currency(&'static str),
}

impl ColumnType {
    /// The PostgreSQL type of a column of this type, e.g. `varchar(255)`, `numeric` or
    /// `numeric(5,4)`.
    pub fn sql_type(&self) -> String {
        match self {
            Self::Text { max_len } => format!("varchar({max_len})"),
            Self::Date => "date".to_owned(),
            Self::Integer => "integer".to_owned(),
            Self::Decimal { scale: None, .. } => "numeric".to_owned(),
            Self::Decimal {
                integer_digits,
                scale: Some(scale),
                ..
            } => format!("numeric({},{scale})", u16::from(*integer_digits) + u16::from(*scale)),
        }
    }
}

/// One column of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColumnType,
    pub required: bool,
    pub aliases: &'static [&'static str],
}

/// The columns of one dataset and the table they load into.
#[derive(Debug, PartialEq, Eq)]
pub struct DatasetSchema {
    pub dataset: Dataset,
    pub table: &'static str,
    pub columns: &'static [ColumnSpec],
    /// The columns that identify a row (the loader derives `company_key` from `company_name`).
    pub key: &'static [&'static str],
}

impl DatasetSchema {
    /// Index into `columns` of the column with this exact name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column with this exact name.
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Column names in schema order, e.g. for a `COPY table (...)` column list.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }
}

/// The schema of a dataset.
pub fn schema(dataset: Dataset) -> &'static DatasetSchema {
    match dataset {
        Dataset::Companies => &COMPANIES,
        Dataset::Kpis => &KPIS,
        Dataset::Dealflow => &DEALFLOW,
    }
}

const fn text(max_len: usize) -> ColumnType {
    ColumnType::Text { max_len }
}

/// A decimal stored with every digit written (`numeric`).
const fn exact(integer_digits: u8, unit: UnitRule) -> ColumnType {
    ColumnType::Decimal {
        integer_digits,
        scale: None,
        unit,
    }
}

/// A decimal with a fixed number of decimals (`numeric(p,s)`); more are rejected.
const fn fixed(integer_digits: u8, scale: u8) -> ColumnType {
    ColumnType::Decimal {
        integer_digits,
        scale: Some(scale),
        unit: UnitRule::Dropped,
    }
}

const fn col(name: &'static str, ty: ColumnType, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        required: false,
        aliases,
    }
}

const fn req(name: &'static str, ty: ColumnType, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        required: true,
        aliases,
    }
}

const DATA_SOURCE: ColumnSpec = col("data_source", text(50), &["source", "fuente", "origen"]);

static COMPANIES: DatasetSchema = DatasetSchema {
    dataset: Dataset::Companies,
    table: "companies",
    key: &["company_name"],
    columns: &[
        req(
            "company_name",
            text(255),
            &[
                "company",
                "empresa",
                "name",
                "nombre",
                "startup",
                "organization",
                "organisation",
                "company name",
                "razon social",
            ],
        ),
        col(
            "website_url",
            text(500),
            &[
                "website",
                "web",
                "url",
                "homepage_url",
                "homepage",
                "sitio web",
                "pagina web",
            ],
        ),
        col("city", text(100), &["ciudad", "location", "localidad", "hq city"]),
        col(
            "founding_date",
            ColumnType::Date,
            &[
                "founded",
                "founded_at",
                "founded date",
                "founding date",
                "fecha fundacion",
                "fecha de fundacion",
                "fundacion",
            ],
        ),
        col(
            "headcount",
            ColumnType::Integer,
            &[
                "employees",
                "empleados",
                "team size",
                "plantilla",
                "num employees",
                "fte",
            ],
        ),
        col(
            "funding_total",
            exact(13, UnitRule::Dropped),
            &[
                "funding_total_usd",
                "total funding",
                "total_funding",
                "funding",
                "financiacion total",
                "financiacion",
            ],
        ),
        col(
            "description",
            text(10000),
            &["descripcion", "about", "short description"],
        ),
        col("founders", text(2000), &["fundadores", "founder"]),
        col("investors", text(2000), &["inversores", "investor"]),
        col(
            "last_funding_date",
            ColumnType::Date,
            &["last_funding_at", "last funding date", "fecha ultima ronda"],
        ),
        col(
            "last_funding_type",
            text(50),
            &["last funding type", "last round", "tipo ultima ronda", "ultima ronda"],
        ),
        col(
            "linkedin_followers",
            ColumnType::Integer,
            &["linkedin", "seguidores linkedin"],
        ),
        col(
            "web_traffic",
            ColumnType::Integer,
            &["traffic", "monthly visits", "trafico web", "visitas"],
        ),
        DATA_SOURCE,
    ],
};

static KPIS: DatasetSchema = DatasetSchema {
    dataset: Dataset::Kpis,
    table: "kpis",
    key: &["empresa", "fecha", "indicador", "tipo"],
    columns: &[
        col("fondo", text(100), &["fund", "fondo de inversion", "vehicle"]),
        req(
            "empresa",
            text(255),
            &[
                "company",
                "company_name",
                "startup",
                "portfolio company",
                "compania",
                "compañia",
            ],
        ),
        req(
            "fecha",
            ColumnType::Date,
            &[
                "date",
                "period",
                "periodo",
                "month",
                "mes",
                "period end",
                "fecha periodo",
            ],
        ),
        col("cuarto", text(10), &["quarter", "trimestre", "q", "cuatrimestre"]),
        col("tipo", text(50), &["type", "kind", "scenario", "escenario"]),
        req(
            "indicador",
            text(100),
            &["indicator", "kpi", "metric", "metrica", "metric name", "concepto"],
        ),
        col("unidad", text(50), &["unit", "units", "unidades", "currency", "moneda"]),
        col(
            "valor",
            exact(18, UnitRule::Column("unidad")),
            &["value", "amount", "importe", "cantidad", "valor kpi"],
        ),
        DATA_SOURCE,
    ],
};

static DEALFLOW: DatasetSchema = DatasetSchema {
    dataset: Dataset::Dealflow,
    table: "dealflow",
    key: &["company", "funding_round", "date_of_first_contact"],
    columns: &[
        req(
            "company",
            text(255),
            &["company_name", "empresa", "startup", "name", "nombre", "compania"],
        ),
        col("status", text(50), &["estado", "deal status"]),
        col("stage", text(50), &["etapa", "fase", "pipeline stage"]),
        col(
            "funding_round",
            text(50),
            &["round", "ronda", "serie", "series", "round type"],
        ),
        col(
            "deal_size_usd",
            exact(13, UnitRule::Currency("USD")),
            &[
                "deal size",
                "deal_size",
                "ticket",
                "ticket size",
                "amount usd",
                "tamano ronda",
            ],
        ),
        col(
            "valuation",
            exact(13, UnitRule::Dropped),
            &["valoracion", "pre money", "post money valuation"],
        ),
        col(
            "industry",
            text(100),
            &["sector", "industria", "vertical", "category", "category_code"],
        ),
        col(
            "headquarters",
            text(100),
            &["hq", "sede", "location", "country", "pais"],
        ),
        col(
            "year_founded",
            ColumnType::Integer,
            &["founded year", "year", "ano fundacion", "año fundacion", "founded"],
        ),
        col(
            "contact_person",
            text(255),
            &["contact", "contacto", "owner", "responsable", "deal owner"],
        ),
        col(
            "date_of_first_contact",
            ColumnType::Date,
            &[
                "first contact",
                "first contact date",
                "primer contacto",
                "fecha primer contacto",
                "date first contact",
            ],
        ),
        col(
            "date_of_last_contact",
            ColumnType::Date,
            &[
                "last contact",
                "last contact date",
                "ultimo contacto",
                "fecha ultimo contacto",
            ],
        ),
        col(
            "reason_for_rejection",
            text(2000),
            &["rejection reason", "reason", "motivo rechazo", "motivo de rechazo"],
        ),
        col("algorithm_score", fixed(1, 4), &["score", "scoring", "puntuacion"]),
        DATA_SOURCE,
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::normalise_header;
    use std::collections::BTreeMap;

    #[test]
    fn every_dataset_has_a_schema_for_itself() {
        for dataset in Dataset::ALL {
            let s = schema(dataset);
            assert_eq!(s.dataset, dataset);
            assert_eq!(s.table, dataset.as_str());
        }
    }

    #[test]
    fn keys_name_existing_columns() {
        for dataset in Dataset::ALL {
            let s = schema(dataset);
            for key in s.key {
                assert!(s.column_index(key).is_some(), "{dataset}: key {key} is not a column");
            }
        }
    }

    #[test]
    fn column_names_are_already_normalised_and_unique() {
        for dataset in Dataset::ALL {
            let s = schema(dataset);
            let mut seen = std::collections::BTreeSet::new();
            for c in s.columns {
                assert_eq!(
                    normalise_header(c.name),
                    c.name,
                    "{dataset}: column {} is not normalised",
                    c.name
                );
                assert!(seen.insert(c.name), "{dataset}: column {} twice", c.name);
            }
        }
    }

    #[test]
    fn no_header_matches_two_columns_of_one_dataset() {
        for dataset in Dataset::ALL {
            let s = schema(dataset);
            let mut owner: BTreeMap<String, &str> = BTreeMap::new();
            for c in s.columns {
                for alias in std::iter::once(&c.name).chain(c.aliases) {
                    let norm = normalise_header(alias);
                    assert!(!norm.is_empty());
                    if let Some(prev) = owner.insert(norm.clone(), c.name) {
                        assert_eq!(prev, c.name, "{dataset}: `{norm}` matches both {prev} and {}", c.name);
                    }
                }
            }
        }
    }

    #[test]
    fn required_columns_are_as_specified() {
        let required = |d| {
            schema(d)
                .columns
                .iter()
                .filter(|c| c.required)
                .map(|c| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(required(Dataset::Companies), ["company_name"]);
        assert_eq!(required(Dataset::Kpis), ["empresa", "fecha", "indicador"]);
        assert_eq!(required(Dataset::Dealflow), ["company"]);
    }

    #[test]
    fn unit_columns_are_text_columns_of_the_same_dataset() {
        for dataset in Dataset::ALL {
            let s = schema(dataset);
            for c in s.columns {
                if let ColumnType::Decimal {
                    unit: UnitRule::Column(unit),
                    ..
                } = c.ty
                {
                    let target = s.column(unit).map(|u| u.ty);
                    assert!(
                        matches!(target, Some(ColumnType::Text { max_len }) if max_len >= 3),
                        "{dataset}: {} keeps its unit in {unit}, which is {target:?}",
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn value_columns_keep_every_digit_and_a_score_keeps_four_decimals() {
        let ty = |d, c| schema(d).column(c).map(|c| c.ty.sql_type());
        assert_eq!(ty(Dataset::Kpis, "valor").as_deref(), Some("numeric"));
        assert_eq!(ty(Dataset::Companies, "funding_total").as_deref(), Some("numeric"));
        assert_eq!(ty(Dataset::Dealflow, "deal_size_usd").as_deref(), Some("numeric"));
        assert_eq!(ty(Dataset::Dealflow, "valuation").as_deref(), Some("numeric"));
        assert_eq!(
            ty(Dataset::Dealflow, "algorithm_score").as_deref(),
            Some("numeric(5,4)")
        );
    }

    #[test]
    fn sql_types_render_for_postgres() {
        let s = schema(Dataset::Dealflow);
        assert_eq!(
            s.column("algorithm_score").map(|c| c.ty.sql_type()).as_deref(),
            Some("numeric(5,4)")
        );
        let wide = ColumnType::Decimal {
            integer_digits: 250,
            scale: Some(10),
            unit: UnitRule::Dropped,
        };
        assert_eq!(wide.sql_type(), "numeric(260,10)", "no u8 overflow");
        assert_eq!(
            s.column("company").map(|c| c.ty.sql_type()).as_deref(),
            Some("varchar(255)")
        );
        assert_eq!(ColumnType::Date.sql_type(), "date");
        assert_eq!(ColumnType::Integer.sql_type(), "integer");
        assert_eq!(s.column_names().next(), Some("company"));
    }
}
