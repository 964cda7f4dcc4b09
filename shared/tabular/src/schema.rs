//! The columns of each dataset. Column names are PostgreSQL column names; aliases are the
//! headers people actually write (English and Spanish), matched after `normalise_header`.

use sluice_messages::Dataset;

/// The type of a column, which decides how its values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Text { max_len: usize },
    Date,
    Integer,
    Decimal { precision: u8, scale: u8 },
}

impl ColumnType {
    /// The PostgreSQL type of a column of this type, e.g. `varchar(255)` or `numeric(15,2)`.
    pub fn sql_type(&self) -> String {
        match self {
            Self::Text { max_len } => format!("varchar({max_len})"),
            Self::Date => "date".to_owned(),
            Self::Integer => "integer".to_owned(),
            Self::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
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

const fn decimal(precision: u8, scale: u8) -> ColumnType {
    ColumnType::Decimal { precision, scale }
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
            decimal(15, 2),
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
            decimal(20, 2),
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
            decimal(15, 2),
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
            decimal(15, 2),
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
        col("algorithm_score", decimal(5, 4), &["score", "scoring", "puntuacion"]),
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
    fn sql_types_render_for_postgres() {
        let s = schema(Dataset::Dealflow);
        assert_eq!(
            s.column("algorithm_score").map(|c| c.ty.sql_type()).as_deref(),
            Some("numeric(5,4)")
        );
        assert_eq!(
            s.column("company").map(|c| c.ty.sql_type()).as_deref(),
            Some("varchar(255)")
        );
        assert_eq!(ColumnType::Date.sql_type(), "date");
        assert_eq!(ColumnType::Integer.sql_type(), "integer");
        assert_eq!(s.column_names().next(), Some("company"));
    }
}
