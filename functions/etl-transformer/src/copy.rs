//! PostgreSQL COPY text format: tab-separated, `\N` for NULL, backslash escapes. Pure.

/// Appends one field, escaped, to a COPY row being built.
pub fn push_field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.extend_from_slice(b"\\N"),
        Some(v) => {
            for &b in v.as_bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    other => out.push(other),
                }
            }
        }
    }
}

/// Appends a whole row: fields joined by tabs, ended by a newline.
pub fn push_row<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = Option<&'a str>>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        push_field(out, field);
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_copy_would_misread() {
        let mut out = Vec::new();
        push_row(
            &mut out,
            [Some("a\tb"), None, Some("line1\nline2\r"), Some("C:\\dir"), Some("")],
        );
        assert_eq!(out, b"a\\tb\t\\N\tline1\\nline2\\r\tC:\\\\dir\t\n");
    }

    #[test]
    fn a_literal_backslash_n_is_not_null() {
        let mut out = Vec::new();
        push_field(&mut out, Some("\\N"));
        assert_eq!(out, b"\\\\N");
    }
}
