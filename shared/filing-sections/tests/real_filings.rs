//! Extraction on real EDGAR filings kept outside the repository (`../shared/fixtures/sec/`).
//! Each test skips, saying so, when its file is not there.

use sluice_filing_sections::{detect_form, document_text, extract, FilingSections, FilingType, Section, SectionStatus};
use std::path::PathBuf;
use std::time::Instant;

fn fixture(rel: &str) -> Option<String> {
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = repo_root.join("../shared/fixtures/sec").join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            eprintln!("skipping: {} not readable ({e})", path.display());
            None
        }
    }
}

fn section<'a>(s: &'a FilingSections, item: &str) -> &'a Section {
    s.get(item).unwrap_or_else(|| panic!("no section {item}"))
}

/// Found, with a plausible length, starting after its heading, free of markup and of other items.
fn assert_clean(s: &Section, min_chars: usize) {
    let n = s.text.chars().count();
    assert!(n >= min_chars, "{}: only {n} chars", s.item);
    for bad in [
        "<div",
        "<span",
        "<td",
        "</",
        "ix:",
        "&#",
        "style=",
        "contextRef",
        "\u{a0}",
    ] {
        assert!(!s.text.contains(bad), "{}: contains {bad:?}", s.item);
    }
    let head: String = s.text.chars().take(300).collect();
    assert!(
        !head.to_lowercase().starts_with("item"),
        "{}: starts with a heading: {head:?}",
        s.item
    );
    // Not the table of contents: a TOC slice would be a run of "Item N. | Title | page" lines.
    let toc_lines = s
        .text
        .lines()
        .take(10)
        .filter(|l| l.trim_start().starts_with("Item"))
        .count();
    assert!(toc_lines <= 1, "{}: begins like a table of contents: {head:?}", s.item);
    let page_footers = s
        .text
        .lines()
        .filter(|l| l.contains("| 2024 Form 10-K |") || l.contains("Form 10-Q |"));
    assert_eq!(page_footers.count(), 0, "{}: page footers left in", s.item);
}

#[test]
fn apple_10k_2024() {
    let Some(doc) = fixture("filings/aapl-10-k-2024-11-01.html") else {
        return;
    };
    assert_eq!(detect_form(&doc), Some(FilingType::TenK));
    let t0 = Instant::now();
    let s = extract(&doc, FilingType::TenK).unwrap();
    eprintln!("Apple 10-K ({} bytes): extracted in {:?}", doc.len(), t0.elapsed());

    for item in ["1", "1A", "7", "7A", "8"] {
        assert_eq!(section(&s, item).status, SectionStatus::Found, "item {item}");
    }
    let business = section(&s, "1");
    assert_clean(business, 10_000);
    assert!(business
        .text
        .starts_with("Company Background\nThe Company designs, manufactures and markets smartphones"));
    assert!(business.text.contains("iPhone® is the Company’s line of smartphones"));

    let risk = section(&s, "1A");
    assert_clean(risk, 20_000);
    assert_eq!(risk.source.as_ref().unwrap().heading, "Item 1A. Risk Factors");
    assert!(risk
        .text
        .starts_with("The Company’s business, reputation, results of operations, financial condition"));
    assert!(risk.text.contains("macroeconomic"));
    assert!(risk.text.contains("Macroeconomic and Industry Risks"));
    assert!(!risk.text.contains("Unresolved Staff Comments"), "runs into Item 1B");

    let mda = section(&s, "7");
    assert_clean(mda, 10_000);
    assert!(mda.text.starts_with(
        "The following discussion should be read in conjunction with the consolidated financial statements"
    ));
    assert!(mda.text.contains("net sales"));
    assert!(
        mda.text.contains("Total net sales | $391,035"),
        "segment table rendered as a row"
    );
    assert!(!mda
        .text
        .contains("Quantitative and Qualitative Disclosures About Market Risk\n"));

    let market = section(&s, "7A");
    assert_clean(market, 1_500);
    assert!(market
        .text
        .starts_with("The Company is exposed to economic risk from interest rates and foreign exchange rates."));
    assert!(market.text.contains("Foreign Exchange Rate Risk"));

    let fs = section(&s, "8");
    assert_clean(fs, 30_000);
    assert!(fs.text.starts_with("Index to Consolidated Financial Statements"));
    assert!(fs.text.contains("CONSOLIDATED BALANCE SHEETS"));
    assert!(fs.text.contains("Total net sales | 391,035 | 383,285 | 394,328"));
    assert!(fs
        .text
        .contains("Report of Independent Registered Public Accounting Firm"));
    assert!(
        !fs.text.contains("Changes in and Disagreements with Accountants"),
        "runs into Item 9"
    );

    // Sections follow the document's order, after the table of contents, and their offsets point at
    // their headings in the plain text.
    let text = document_text(&doc);
    assert!(
        !text.contains("dei:") && !text.contains("0000320193\n"),
        "hidden ix:header content leaked"
    );
    let chars: Vec<char> = text.chars().collect();
    let toc = text[..text.find("Item 1. | Business").unwrap()].chars().count();
    let mut last = toc;
    for item in ["1", "1A", "7", "7A", "8"] {
        let src = section(&s, item).source.clone().unwrap();
        assert!(src.start > last, "{item} starts at {} before {last}", src.start);
        let slice: String = chars[src.start..src.end].iter().collect();
        assert!(
            slice.starts_with(&format!("Item {item}.")),
            "{item}: {:?}",
            &slice[..40]
        );
        last = src.start;
    }
}

#[test]
fn apple_10q_2025_q3() {
    let Some(doc) = fixture("filings/aapl-10-q-2025-08-01.html") else {
        return;
    };
    assert_eq!(detect_form(&doc), Some(FilingType::TenQ));
    let t0 = Instant::now();
    let s = extract(&doc, FilingType::TenQ).unwrap();
    eprintln!("Apple 10-Q ({} bytes): extracted in {:?}", doc.len(), t0.elapsed());

    let mda = section(&s, "I-2");
    assert_eq!(mda.status, SectionStatus::Found);
    assert_clean(mda, 10_000);
    assert!(mda
        .text
        .starts_with("This Item and other sections of this Quarterly Report on Form 10-Q"));
    assert!(mda.text.contains("Total net sales | $94,036 | $85,777 | 10%"));
    assert!(mda.text.contains("Macroeconomic Conditions"));
    assert!(
        !mda.text.contains("CONDENSED CONSOLIDATED BALANCE SHEETS"),
        "took Part I Item 1"
    );

    // Apple's Q3 Item 1A only points at earlier filings' risk factors ("which are hereby
    // incorporated by reference into this Part II, Item 1A"), so that is its status.
    let risk = section(&s, "II-1A");
    assert_eq!(risk.status, SectionStatus::IncorporatedByReference);
    assert_clean(risk, 500);
    assert!(risk
        .text
        .starts_with("The Company’s business, reputation, results of operations"));
    assert!(risk
        .text
        .contains("hereby incorporated by reference into this Part II, Item 1A"));
    assert!(risk
        .text
        .ends_with("there have been no material changes to the Company’s risk factors since the 2024 Form 10-K."));

    // Part I Item 1 (financial statements) and Part II Item 1 (legal proceedings) are not II-1A.
    let text = document_text(&doc);
    let part2 = text.find("PART II — OTHER INFORMATION").unwrap();
    let legal = text.find("Item 1. Legal Proceedings").unwrap();
    let risk_start = risk.source.as_ref().unwrap().start;
    assert!(risk_start > text[..legal].chars().count() && legal > part2);
    assert!(!risk.text.contains("Epic Games") && !risk.text.contains("Net sales"));
}

#[test]
fn sgml_full_text_8k_2025() {
    let Some(doc) = fixture("fulltext_sgml/0001213900-25-032135_8-K_2025.txt") else {
        return;
    };
    assert_eq!(detect_form(&doc), Some(FilingType::EightK));
    let s = extract(&doc, FilingType::EightK).unwrap();
    assert_eq!(s.len(), 1);
    let d = section(&s, "document");
    assert_eq!(d.status, SectionStatus::Found);
    let t = &d.text;
    assert!(
        t.starts_with("UNITED STATES\nSECURITIES AND EXCHANGE COMMISSION"),
        "{:?}",
        &t[..100]
    );
    assert!(t.contains("Item 2.02 Results of Operations and Financial Condition."));
    assert!(t.contains("Item 4.02 Non-Reliance on Previously Issued Financial Statements"));
    // The press release exhibit is kept, labelled.
    assert!(t.contains("[EX-99.1: PRESS RELEASE]\nExhibit 99.1\nABVC BioPharma Announces 2024 Financial Results"));
    // No SGML header, tags, uuencoded graphic or XBRL attachments.
    for bad in [
        "<SEC-HEADER>",
        "ACCESSION NUMBER",
        "<DOCUMENT>",
        "<TYPE>",
        "begin 644",
        "M_]C_X",
        "<xs:schema",
        "link:label",
        "<",
    ] {
        assert!(!t.contains(bad), "document text contains {bad:?}");
    }
}

#[test]
fn sgml_full_text_8k_1998_plain_text() {
    let Some(doc) = fixture("fulltext_sgml/0001011438-98-000429_8-K_1998.txt") else {
        return;
    };
    let s = extract(&doc, FilingType::EightK).unwrap();
    let t = &section(&s, "document").text;
    assert!(t.starts_with("SECURITIES AND EXCHANGE COMMISSION"), "{:?}", &t[..100]);
    assert!(t.contains("AAMES CAPITAL CORPORATION"));
    assert!(!t.contains("PRIVACY-ENHANCED MESSAGE") && !t.contains("<PAGE>") && !t.contains("CONFORMED"));
}
