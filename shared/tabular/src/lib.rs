//! Pure spreadsheet logic for the CSV files people upload: dataset schemas, header matching,
//! encodings and delimiters, and value normalisation (dates, numbers, text, empty markers).
//!
//! No I/O: `ingest-validator` uses it to check a header before anyone spends work, and
//! `etl-transformer` to turn each record into canonical text for PostgreSQL `COPY`.

mod company;
mod encoding;
mod fold;
mod header;
mod limits;
mod row;
mod schema;
mod values;

pub use company::company_key;
pub use encoding::{check_readable, decode_field, sniff_delimiter, strip_bom, EncodingError, TextEncoding};
pub use header::{map_header, normalise_header, HeaderError, HeaderMapping};
pub use limits::{human_bytes, LineLimitError, DEFAULT_MAX_RECORD_BYTES, MAX_HEADER_BYTES};
pub use row::{is_blank_record, normalise_row, normalise_value, FieldProblem, NormaliseSettings, NormalisedRow};
pub use schema::{schema, ColumnSpec, ColumnType, DatasetSchema, UnitRule};
pub use values::{
    is_empty_marker, parse_date, parse_decimal, parse_integer, DateOrder, Decimal, InvalidDateOrder, NumberCell,
    UnitMark, ValueError,
};

pub use sluice_messages::Dataset;
