//! A KPI spreadsheet as portfolio companies really send them, at any size: `;`-delimited,
//! UTF-8 with a BOM, CRLF line ends, Spanish headers, dates in several spellings, decimal
//! commas with thousands dots, currency marks, percentages, accounting negatives, empty
//! markers, quoted fields, blank lines, a few rows that must be rejected and a few
//! corrections of earlier rows (superseded by the later row with the same key).
//!
//! Deterministic for a seed, and streamed: nothing but the current company's pending
//! corrections is held in memory.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::io::{self, Write};

pub const HEADER: &str = "Fondo;Empresa;Fecha;Cuarto;Tipo;Indicador;Unidad;Valor";

/// Months of history per company (2020-01 .. 2024-12).
const MONTHS: u32 = 60;
const FIRST_YEAR: i32 = 2020;
const TIPOS: [&str; 2] = ["Real", "Presupuesto"];
const MESES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const FONDOS: [&str; 12] = [
    "Iberia I",
    "Iberia II",
    "Norte Tech",
    "Inversión Sur",
    "Atlántico III",
    "Seed Fund I",
    "Crecimiento",
    "Fondo Verde",
    "Impacto II",
    "Deep Tech I",
    "Mediterráneo",
    "Horizonte IV",
];
const STEMS_A: [&str; 30] = [
    "Lume", "Vant", "Nubi", "Quir", "Alta", "Brio", "Cora", "Dena", "Eco", "Fara", "Gala", "Hexa", "Iber", "Jara",
    "Kora", "Luna", "Mira", "Nova", "Orba", "Pira", "Quan", "Rava", "Sola", "Tera", "Ulma", "Vela", "Xeno", "Yuma",
    "Zafi", "Bara",
];
const STEMS_B: [&str; 30] = [
    "tech", "data", "soft", "labs", "bio", "pay", "grid", "link", "mind", "flow", "wise", "logic", "net", "med",
    "food", "sun", "verde", "mar", "sens", "bot", "cloud", "ia", "fin", "go", "hub", "kit", "line", "ops", "vía",
    "rama",
];
const LEGAL: [&str; 6] = [" SL", " SA", " S.L.", " Labs SL", " Tecnologías", " España SL"];
const EMPTY_MARKERS: [&str; 6] = ["-", "n/a", "", "N/D", "—", "#N/A"];

#[derive(Clone, Copy)]
enum Kind {
    Money { min: f64, max: f64, negative: f64 },
    Percent,
    Count { min: u32, max: u32 },
}

struct Indicator {
    name: &'static str,
    unit: &'static str,
    kind: Kind,
}

const fn money(name: &'static str, min: f64, max: f64, negative: f64) -> Indicator {
    Indicator {
        name,
        unit: "EUR",
        kind: Kind::Money { min, max, negative },
    }
}

const INDICATORS: [Indicator; 12] = [
    money("Ingresos", 1e4, 5e6, 0.0),
    money("EBITDA", 1e3, 2e6, 0.35),
    money("Caja", 5e4, 2e7, 0.0),
    money("Burn rate", 1e4, 8e5, 0.0),
    money("ARR", 1e5, 3e7, 0.0),
    money("MRR", 1e4, 2.5e6, 0.0),
    money("CAC", 50.0, 5e3, 0.0),
    money("Resultado", 1e3, 3e6, 0.45),
    Indicator {
        name: "Margen bruto",
        unit: "%",
        kind: Kind::Percent,
    },
    Indicator {
        name: "Churn",
        unit: "%",
        kind: Kind::Percent,
    },
    Indicator {
        name: "Empleados",
        unit: "FTE",
        kind: Kind::Count { min: 3, max: 900 },
    },
    Indicator {
        name: "Clientes",
        unit: "uds",
        kind: Kind::Count { min: 10, max: 90_000 },
    },
];

/// Rows one company contributes at most (every month, indicator and tipo).
pub const ROWS_PER_COMPANY: u64 = MONTHS as u64 * INDICATORS.len() as u64 * TIPOS.len() as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Data records written (valid, bad and corrections; blank lines are extra).
    pub rows: u64,
    pub seed: u64,
}

/// What was written, so a load can be checked against it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GenStats {
    pub rows: u64,
    pub companies: u64,
    /// Rows with an impossible date or a value that is not a number.
    pub bad_rows: u64,
    /// Later rows repeating an earlier row's key (a correction): the earlier one is superseded.
    pub duplicate_rows: u64,
    /// Empty lines (the CSV reader skips them).
    pub empty_lines: u64,
    /// Lines of empty fields only (`;;;;;;;`): counted as blank rows, neither loaded nor rejected.
    pub blank_records: u64,
    /// Distinct keys among the valid rows: what a load into an empty table inserts.
    pub expected_rows: u64,
    pub bytes: u64,
}

struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Company {
    name: String,
    fondo: &'static str,
    /// Names with a double quote must be quoted; a few others are quoted anyway.
    always_quoted: bool,
}

fn company(index: u64) -> Company {
    let a = STEMS_A[(index % 30) as usize];
    let b = STEMS_B[((index / 30) % 30) as usize];
    let round = index / 900;
    let stem = if round == 0 {
        format!("{a}{b}")
    } else {
        format!("{a}{b} {}", round + 1)
    };
    let (name, always_quoted) = match index % 53 {
        11 => (format!("Grupo \"{stem}\" SA"), true),
        29 => (format!("{stem} & Asociados, S.L."), false),
        _ => (
            format!("{stem}{}", LEGAL[(index % LEGAL.len() as u64) as usize]),
            index % 97 == 3,
        ),
    };
    Company {
        name,
        fondo: FONDOS[((index * 7) % FONDOS.len() as u64) as usize],
        always_quoted,
    }
}

fn quote(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `1234567` cents -> `12.345,67` (or without the thousands dots / the decimals).
fn es_number(cents: u64, thousands: bool, decimals: bool) -> String {
    let (int, frac) = if decimals {
        (cents / 100, Some(cents % 100))
    } else {
        ((cents + 50) / 100, None)
    };
    let digits = int.to_string();
    let mut out = String::with_capacity(digits.len() + 6);
    for (i, ch) in digits.chars().enumerate() {
        if thousands && i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(ch);
    }
    if let Some(frac) = frac {
        out.push_str(&format!(",{frac:02}"));
    }
    out
}

fn value(rng: &mut StdRng, kind: Kind) -> String {
    match kind {
        Kind::Money { min, max, negative } => {
            let v = (rng.gen_range(min.ln()..max.ln())).exp();
            let cents = (v * 100.0).round() as u64;
            let style = rng.gen::<f64>();
            let text = if style < 0.80 {
                es_number(cents, true, true)
            } else if style < 0.90 {
                es_number(cents, false, true)
            } else {
                es_number(cents, true, false)
            };
            let text = match rng.gen_range(0..100) {
                0..=3 => format!("{text} €"),
                4..=6 => format!("€{text}"),
                _ => text,
            };
            if rng.gen_bool(negative) {
                if rng.gen_bool(0.5) {
                    format!("({text})")
                } else {
                    format!("-{text}")
                }
            } else {
                text
            }
        }
        Kind::Percent => {
            let tenths: u32 = rng.gen_range(0..1000);
            let text = format!("{},{}", tenths / 10, tenths % 10);
            match rng.gen_range(0..10) {
                0..=6 => format!("{text}%"),
                7..=8 => text,
                _ => format!("{text}0 %"),
            }
        }
        Kind::Count { min, max } => {
            let n = rng.gen_range(min..=max) as u64;
            es_number(n * 100, rng.gen_bool(0.7), false)
        }
    }
}

fn date(rng: &mut StdRng, year: i32, month: u32) -> String {
    let day = days_in_month(year, month);
    match rng.gen_range(0..100) {
        0..=77 => format!("{day:02}/{month:02}/{year}"),
        78..=92 => format!("{year}-{month:02}-{day:02}"),
        93..=96 => format!("{day} de {} de {year}", MESES[(month - 1) as usize]),
        _ => format!("{day}/{month}/{year}"),
    }
}

fn quarter(rng: &mut StdRng, year: i32, month: u32) -> String {
    let q = (month - 1) / 3 + 1;
    match rng.gen_range(0..20) {
        0..=15 => format!("Q{q} {year}"),
        16..=18 => format!("{q}T {year}"),
        _ => format!("T{q}-{:02}", year % 100),
    }
}

fn maybe_empty(rng: &mut StdRng, p: f64, text: String) -> String {
    if rng.gen_bool(p) {
        EMPTY_MARKERS[rng.gen_range(0..EMPTY_MARKERS.len())].to_owned()
    } else {
        text
    }
}

/// The fields of one row before the line is assembled.
struct Row {
    fondo: String,
    empresa: String,
    fecha: String,
    cuarto: String,
    tipo: &'static str,
    indicador: &'static str,
    unidad: String,
    valor: String,
}

fn write_row<W: Write>(out: &mut W, row: &Row, rng: &mut StdRng) -> io::Result<()> {
    let valor = if rng.gen_bool(0.03) {
        quote(&row.valor)
    } else {
        row.valor.clone()
    };
    let fondo = if rng.gen_bool(0.01) {
        quote(&row.fondo)
    } else {
        row.fondo.clone()
    };
    write!(
        out,
        "{fondo};{};{};{};{};{};{};{valor}\r\n",
        row.empresa, row.fecha, row.cuarto, row.tipo, row.indicador, row.unidad
    )
}

/// Writes the whole file to `out` (buffer it: many small writes).
pub fn generate<W: Write>(out: W, options: GenOptions) -> io::Result<GenStats> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut out = Counting { inner: out, bytes: 0 };
    let mut stats = GenStats::default();
    out.write_all("\u{feff}".as_bytes())?;
    out.write_all(HEADER.as_bytes())?;
    out.write_all(b"\r\n")?;

    // Every row reserved so far, corrections included.
    let mut reserved: u64 = 0;
    let mut index: u64 = 0;
    'companies: while reserved < options.rows {
        let c = company(index);
        index += 1;
        stats.companies += 1;
        let mut corrections: Vec<Row> = Vec::new();
        'months: for m in 0..MONTHS {
            let (year, month) = (FIRST_YEAR + (m / 12) as i32, m % 12 + 1);
            for indicator in &INDICATORS {
                for tipo in TIPOS {
                    if reserved >= options.rows {
                        break 'months;
                    }
                    reserved += 1;
                    if rng.gen_bool(0.0002) {
                        if rng.gen_bool(0.5) {
                            out.write_all(b"\r\n")?;
                            stats.empty_lines += 1;
                        } else {
                            out.write_all(b";;;;;;;\r\n")?;
                            stats.blank_records += 1;
                        }
                    }
                    let empresa = if c.always_quoted || rng.gen_bool(0.01) {
                        quote(&c.name)
                    } else if rng.gen_bool(0.005) {
                        format!(" {} ", c.name)
                    } else {
                        c.name.clone()
                    };
                    let mut row = Row {
                        fondo: maybe_empty(&mut rng, 0.003, c.fondo.to_owned()),
                        empresa,
                        fecha: date(&mut rng, year, month),
                        cuarto: quarter(&mut rng, year, month),
                        tipo,
                        indicador: indicator.name,
                        unidad: maybe_empty(&mut rng, 0.002, indicator.unit.to_owned()),
                        valor: String::new(),
                    };
                    let v = value(&mut rng, indicator.kind);
                    row.cuarto = maybe_empty(&mut rng, 0.003, row.cuarto);
                    row.valor = maybe_empty(&mut rng, 0.005, v);
                    if rng.gen_bool(0.001) {
                        stats.bad_rows += 1;
                        if rng.gen_bool(0.5) {
                            row.fecha = format!("{}/02/{year}", rng.gen_range(30..=31));
                        } else {
                            row.valor = ["abc", "#¡VALOR!"][rng.gen_range(0..2)].to_owned();
                        }
                    } else if reserved < options.rows && rng.gen_bool(0.0005) {
                        // A correction later in the file: same key, a new value.
                        reserved += 1;
                        stats.duplicate_rows += 1;
                        corrections.push(Row {
                            fondo: c.fondo.to_owned(),
                            empresa: c.name.clone(),
                            fecha: format!("{year}-{month:02}-{:02}", days_in_month(year, month)),
                            cuarto: row.cuarto.clone(),
                            tipo,
                            indicador: indicator.name,
                            unidad: indicator.unit.to_owned(),
                            valor: value(&mut rng, indicator.kind),
                        });
                    }
                    write_row(&mut out, &row, &mut rng)?;
                    stats.rows += 1;
                }
            }
        }
        for row in &corrections {
            let quoted = Row {
                empresa: if c.always_quoted {
                    quote(&row.empresa)
                } else {
                    row.empresa.clone()
                },
                fondo: row.fondo.clone(),
                fecha: row.fecha.clone(),
                cuarto: row.cuarto.clone(),
                tipo: row.tipo,
                indicador: row.indicador,
                unidad: row.unidad.clone(),
                valor: row.valor.clone(),
            };
            write_row(&mut out, &quoted, &mut rng)?;
            stats.rows += 1;
        }
        if reserved >= options.rows {
            break 'companies;
        }
    }
    out.flush()?;
    stats.bytes = out.bytes;
    stats.expected_rows = stats.rows - stats.bad_rows - stats.duplicate_rows;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_spanish_way() {
        assert_eq!(es_number(123_456_789, true, true), "1.234.567,89");
        assert_eq!(es_number(123_456_789, false, true), "1234567,89");
        assert_eq!(es_number(123_456_789, true, false), "1.234.568");
        assert_eq!(es_number(5, true, true), "0,05");
        assert_eq!(es_number(100_000, true, false), "1.000");
    }

    #[test]
    fn company_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..5000).map(|i| company(i).name).collect();
        assert_eq!(names.len(), 5000);
    }

    #[test]
    fn same_seed_same_file() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let options = GenOptions { rows: 3000, seed: 7 };
        let sa = generate(&mut a, options).unwrap();
        let sb = generate(&mut b, options).unwrap();
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_eq!(sa.rows, 3000);
        assert_eq!(sa.bytes, a.len() as u64);
        assert!(a.starts_with("\u{feff}Fondo;Empresa;".as_bytes()));
        assert!(a.ends_with(b"\r\n"));
    }

    /// The loader's own parser reads the file as the stats say: bad rows rejected, blank
    /// records skipped, and the valid rows reduce to `expected_rows` distinct keys.
    #[test]
    fn the_loader_reads_what_was_written() {
        use crate::rows::{superseded, StagedLayout};
        use etl_transformer::parse::{parse_into, ParseSettings};
        use sluice_messages::Dataset;
        use sluice_tabular::DateOrder;

        let mut file = Vec::new();
        let stats = generate(&mut file, GenOptions { rows: 60_000, seed: 3 }).unwrap();
        assert!(
            stats.bad_rows > 20 && stats.duplicate_rows > 10 && stats.blank_records > 0,
            "{stats:?}"
        );
        let settings = ParseSettings {
            dataset: Dataset::Kpis,
            overrides: Default::default(),
            date_order: DateOrder::DayFirst,
            chunk_bytes: 64 * 1024,
            max_record_bytes: sluice_tabular::DEFAULT_MAX_RECORD_BYTES,
        };
        let mut staged = Vec::new();
        let mut rejects = csv::Writer::from_writer(Vec::new());
        let summary = parse_into(
            file.as_slice(),
            &settings,
            &mut |c| {
                staged.extend(c);
                Ok(())
            },
            &mut rejects,
        )
        .unwrap();
        let rejects = String::from_utf8(rejects.into_inner().unwrap()).unwrap();
        assert_eq!(summary.rejected_rows, stats.bad_rows, "{rejects}");
        assert_eq!(summary.blank_rows, stats.blank_records);
        assert_eq!(summary.staged_rows, stats.rows - stats.bad_rows);
        let gone = superseded(staged.as_slice(), &StagedLayout::for_dataset(Dataset::Kpis)).unwrap();
        assert_eq!(gone.len() as u64, stats.duplicate_rows);
        assert_eq!(summary.staged_rows - gone.len() as u64, stats.expected_rows);
        // Messiness that must survive normalisation.
        let text = String::from_utf8(staged).unwrap();
        assert!(text.contains("\tGrupo \""), "quoted names keep their quotes");
        assert!(text.contains("\t-"), "negative values");
        assert!(text.contains("\t\\N\t"), "empty markers become NULL");
    }
}
