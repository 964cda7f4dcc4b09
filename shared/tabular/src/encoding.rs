//! Bytes to text: BOMs, encodings, delimiters, and refusing files that are not text at all.

use std::borrow::Cow;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The text encoding of a readable sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// UTF-8 starting with a BOM (what Excel writes for "CSV UTF-8").
    Utf8Bom,
    /// Not valid UTF-8; read as Windows-1252 (Excel's "CSV" on Spanish and English Windows).
    Windows1252,
}

/// Why a file cannot be read as CSV text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("the file is a zip archive (probably an Excel .xlsx workbook); save it as CSV and upload that")]
    Zip,
    #[error("the file is a legacy Excel .xls workbook; save it as CSV and upload that")]
    LegacyExcel,
    #[error("the file is gzip-compressed; upload the uncompressed CSV")]
    Gzip,
    #[error("the file is a PDF, not a CSV")]
    Pdf,
    #[error("the file is UTF-16 text; save it as \"CSV UTF-8\" and upload that")]
    Utf16,
    #[error("the file is binary, not text (control byte 0x{byte:02x} at offset {offset})")]
    Binary { offset: usize, byte: u8 },
}

/// Strips a UTF-8 BOM.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// UTF-8 if valid, else Windows-1252; never fails.
pub fn decode_field(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Control bytes that have no business in a CSV; tab, LF, CR, form feed and the DOS
/// end-of-file mark (0x1A) are tolerated because old exports contain them.
fn is_binary_control(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A)
}

/// Is this sample (the first bytes of a file) readable text, and in which encoding?
///
/// A sample cut in the middle of a UTF-8 character still counts as UTF-8.
pub fn check_readable(sample: &[u8]) -> Result<TextEncoding, EncodingError> {
    if sample.starts_with(b"PK\x03\x04") || sample.starts_with(b"PK\x05\x06") {
        return Err(EncodingError::Zip);
    }
    if sample.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(EncodingError::LegacyExcel);
    }
    if sample.starts_with(b"\x1F\x8B") {
        return Err(EncodingError::Gzip);
    }
    if sample.starts_with(b"%PDF-") {
        return Err(EncodingError::Pdf);
    }
    if sample.starts_with(b"\xFF\xFE") || sample.starts_with(b"\xFE\xFF") {
        return Err(EncodingError::Utf16);
    }
    if let Some(offset) = sample.iter().position(|&b| is_binary_control(b)) {
        return Err(EncodingError::Binary {
            offset,
            byte: sample[offset],
        });
    }
    let (has_bom, body) = match sample.strip_prefix(UTF8_BOM) {
        Some(rest) => (true, rest),
        None => (false, sample),
    };
    let utf8 = match std::str::from_utf8(body) {
        Ok(_) => true,
        // `error_len() == None`: only the last character is incomplete, cut off by sampling.
        Err(e) => e.error_len().is_none(),
    };
    Ok(match (utf8, has_bom) {
        (true, true) => TextEncoding::Utf8Bom,
        (true, false) => TextEncoding::Utf8,
        (false, _) => TextEncoding::Windows1252,
    })
}

/// Detects the delimiter of a header line (which may start with a BOM).
///
/// Counts `,`, `;` and tabs outside double quotes up to the first unquoted line end:
/// tab if there are more tabs than either, `;` only if strictly more than `,`, else `,`.
pub fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut tabs) = (0usize, 0usize, 0usize);
    let mut in_quotes = false;
    for &b in strip_bom(first_line) {
        match b {
            b'"' => in_quotes = !in_quotes,
            _ if in_quotes => {}
            b',' => commas += 1,
            b';' => semicolons += 1,
            b'\t' => tabs += 1,
            b'\n' | b'\r' => break,
            _ => {}
        }
    }
    if tabs > commas && tabs > semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_bom_only_strips_a_leading_bom() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBFa,b"), b"a,b");
        assert_eq!(strip_bom(b"a,b"), b"a,b");
        assert_eq!(strip_bom(b"a\xEF\xBB\xBF"), b"a\xEF\xBB\xBF");
        assert_eq!(strip_bom(b""), b"");
    }

    #[test]
    fn decode_field_falls_back_to_windows_1252() {
        assert_eq!(decode_field(b"Compa\xf1\xeda"), "Compañía");
        assert_eq!(decode_field(b"Fundaci\xf3n 5\x80"), "Fundación 5€");
        assert!(matches!(decode_field("Compañía".as_bytes()), Cow::Borrowed("Compañía")));
        assert_eq!(decode_field(b""), "");
    }

    #[test]
    fn sniff_counts_delimiters_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a,b,c"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc"), b'\t');
        // The semicolons are inside quotes, so this is a comma file.
        assert_eq!(sniff_delimiter(b"\"a;b;c\",\"d;e\",f"), b',');
        // The commas are inside quotes, so this is a semicolon file.
        assert_eq!(sniff_delimiter(b"\"Importe, EUR\";\"Fecha, fin\";x"), b';');
        assert_eq!(sniff_delimiter(b"\"a\"\"b,c\";d;e"), b';');
    }

    #[test]
    fn sniff_ties_and_edge_cases() {
        assert_eq!(sniff_delimiter(b"a;b,c"), b',', "a tie keeps the comma");
        assert_eq!(sniff_delimiter(b"a\tb;c,d"), b',', "tabs must beat both");
        assert_eq!(sniff_delimiter(b"a\tb\tc;d;e,f"), b';', "tab tied with ; loses");
        assert_eq!(sniff_delimiter(b"single"), b',');
        assert_eq!(sniff_delimiter(b""), b',');
        assert_eq!(sniff_delimiter(b"\xEF\xBB\xBFEmpresa;Fecha;Valor"), b';');
        assert_eq!(sniff_delimiter(b"a;b\r\nc,d,e,f"), b';', "only the first line counts");
        assert_eq!(
            sniff_delimiter(b"\"a\nb\";c\nd,e,f"),
            b';',
            "a quoted line break is not the end"
        );
    }

    #[test]
    fn check_readable_detects_text_encodings() {
        assert_eq!(
            check_readable(b"Empresa,Fecha\nAcme,2024-01-01\n"),
            Ok(TextEncoding::Utf8)
        );
        assert_eq!(check_readable("Compañía;Año\r\n".as_bytes()), Ok(TextEncoding::Utf8));
        assert_eq!(check_readable(b"\xEF\xBB\xBFEmpresa;Fecha"), Ok(TextEncoding::Utf8Bom));
        assert_eq!(check_readable(b"Compa\xf1\xeda;A\xf1o"), Ok(TextEncoding::Windows1252));
        assert_eq!(check_readable(b""), Ok(TextEncoding::Utf8));
        assert_eq!(check_readable(b"a\tb\x0c\x1a"), Ok(TextEncoding::Utf8));
    }

    #[test]
    fn check_readable_accepts_a_sample_cut_inside_a_character() {
        let text = "Compañía".as_bytes();
        let cut = &text[..text.len() - 1];
        assert_eq!(check_readable(cut), Ok(TextEncoding::Utf8));
    }

    #[test]
    fn check_readable_refuses_binary_files() {
        assert_eq!(check_readable(b"PK\x03\x04\x14\x00\x06\x00"), Err(EncodingError::Zip));
        assert!(EncodingError::Zip.to_string().contains(".xlsx"));
        assert_eq!(
            check_readable(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00"),
            Err(EncodingError::LegacyExcel)
        );
        assert_eq!(check_readable(b"\x1F\x8B\x08\x00"), Err(EncodingError::Gzip));
        assert_eq!(check_readable(b"%PDF-1.7\n"), Err(EncodingError::Pdf));
        assert_eq!(
            check_readable(b"a,b\x00c"),
            Err(EncodingError::Binary { offset: 3, byte: 0 })
        );
        assert_eq!(
            check_readable(b"\x01\x02"),
            Err(EncodingError::Binary { offset: 0, byte: 1 })
        );
    }

    #[test]
    fn check_readable_refuses_utf16() {
        assert_eq!(check_readable(b"\xFF\xFEa\x00,\x00b\x00"), Err(EncodingError::Utf16));
        assert_eq!(check_readable(b"\xFE\xFF\x00a\x00,"), Err(EncodingError::Utf16));
        // UTF-16 without a BOM is caught by its NUL bytes.
        assert!(matches!(
            check_readable(b"a\x00,\x00b\x00"),
            Err(EncodingError::Binary { byte: 0, .. })
        ));
        assert!(EncodingError::Utf16.to_string().contains("UTF-8"));
    }
}
