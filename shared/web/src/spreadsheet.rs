//! Text that goes into a CSV a person opens in a spreadsheet. A cell beginning with `=`,
//! `+`, `-` or `@` is run as a formula by Excel, LibreOffice and Sheets (CSV injection),
//! so such text gets a leading `'`; numbers (`-0.015`) are left as they are.

use std::borrow::Cow;

/// `text`, defused if a spreadsheet would take it for a formula. Quoting is the CSV
/// writer's job, not this one's.
pub fn cell(text: &str) -> Cow<'_, str> {
    let formula_like = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_like && text.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(cell("+1+cmd"), "'+1+cmd");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("-0.015"), "-0.015");
        assert_eq!(cell("+5"), "+5");
        assert_eq!(cell("1300.50"), "1300.50");
        assert_eq!(cell(""), "");
    }
}
