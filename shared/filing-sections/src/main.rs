//! `filing-sections [--form 10-K] FILE`: prints the sections of a filing as pretty JSON, keyed by
//! item. Without `--form` (or with an empty one) the form the document declares is used, else 10-K.
//! `--text` prints the plain-text rendering the sections are cut from (their offsets point into it).

use sluice_filing_sections::{detect_form, document_text, extract, FilingType};
use std::process::ExitCode;

const USAGE: &str = "usage: filing-sections [--form 10-K|10-Q|20-F|8-K|DEF 14A|S-1] [--text] FILE";

#[derive(Debug, PartialEq)]
struct Args {
    form: Option<FilingType>,
    text: bool,
    file: String,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Args { form, text, file: path } = match parse_args(&args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("filing-sections: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("filing-sections: cannot read {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let document = sluice_filing_sections::decode_document(&bytes);
    if text {
        println!("{}", document_text(&document));
        return ExitCode::SUCCESS;
    }
    let detected = detect_form(&document);
    let form = match (form, detected) {
        (Some(asked), Some(found)) if asked != found => {
            eprintln!("filing-sections: warning: {path} declares itself a {found}; splitting it as a {asked} as asked");
            asked
        }
        (Some(asked), _) => asked,
        (None, found) => found.unwrap_or(FilingType::TenK),
    };
    let sections = match extract(&document, form) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("filing-sections: {path}: {e}");
            return ExitCode::from(1);
        }
    };
    match serde_json::to_string_pretty(&sections) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("filing-sections: cannot encode the result: {e}");
            ExitCode::from(1)
        }
    }
}

/// `Ok(None)` asks for help; the form is `None` when not given or empty (`make sections` passes
/// `--form ""` when FORM is blank).
fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut form = None;
    let mut text = false;
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let form_value = if arg == "--form" || arg == "-f" {
            Some(it.next().ok_or("--form needs a value")?.as_str())
        } else {
            arg.strip_prefix("--form=")
        };
        if let Some(v) = form_value {
            if !v.trim().is_empty() {
                form = Some(FilingType::parse(v).map_err(|e| e.to_string())?);
            }
        } else if arg == "--text" {
            text = true;
        } else if arg == "-h" || arg == "--help" {
            return Ok(None);
        } else if arg.starts_with('-') && arg.len() > 1 {
            return Err(format!("unknown option {arg}"));
        } else if file.replace(arg.clone()).is_some() {
            return Err("expected exactly one FILE".to_string());
        }
    }
    let file = file.ok_or("missing FILE")?;
    Ok(Some(Args { form, text, file }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_arguments() {
        assert_eq!(
            parse_args(&args(&["--form", "10-q", "f.htm"])).unwrap(),
            Some(Args {
                form: Some(FilingType::TenQ),
                text: false,
                file: "f.htm".to_string()
            })
        );
        assert_eq!(
            parse_args(&args(&["--form", "", "f.htm"])).unwrap(),
            Some(Args {
                form: None,
                text: false,
                file: "f.htm".to_string()
            })
        );
        assert_eq!(
            parse_args(&args(&["--form=DEF 14A", "--text", "f.htm"])).unwrap(),
            Some(Args {
                form: Some(FilingType::Def14A),
                text: true,
                file: "f.htm".to_string()
            })
        );
        assert_eq!(parse_args(&args(&["--help"])).unwrap(), None);
        assert!(parse_args(&args(&[])).is_err());
        assert!(parse_args(&args(&["--form", "10-X", "f"])).is_err());
        assert!(parse_args(&args(&["a", "b"])).is_err());
        assert!(parse_args(&args(&["--bogus", "a"])).is_err());
        assert!(parse_args(&args(&["--form"])).is_err());
    }

    #[test]
    fn decodes_windows_1252() {
        assert_eq!(
            sluice_filing_sections::decode_document(b"Management\x92s"),
            "Management\u{2019}s"
        );
        assert_eq!(
            sluice_filing_sections::decode_document("Management’s".as_bytes()),
            "Management’s"
        );
    }
}
