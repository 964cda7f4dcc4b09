//! Extraction on small hand-written documents (tests/fixtures/ and inline strings), one concern each.

use sluice_filing_sections::{
    detect_form, document_text, extract, items_for, FilingSections, FilingType, Section, SectionError, SectionStatus,
};

const TENK_IXBRL: &str = include_str!("fixtures/tenk_ixbrl.html");
const TENK_2003: &str = include_str!("fixtures/tenk_2003.html");
const TENK_1998: &str = include_str!("fixtures/tenk_1998.txt");
const TENQ: &str = include_str!("fixtures/tenq.html");
const TWENTYF: &str = include_str!("fixtures/twentyf.html");
const S1: &str = include_str!("fixtures/s1.html");

fn sections(doc: &str, form: FilingType) -> FilingSections {
    extract(doc, form).unwrap()
}

fn section<'a>(s: &'a FilingSections, item: &str) -> &'a Section {
    s.get(item)
        .unwrap_or_else(|| panic!("no section {item} in {:?}", s.0.keys()))
}

fn assert_no_markup(text: &str) {
    for bad in ["<", ">", "ix:", "&#", "&nbsp;", "\u{a0}"] {
        assert!(!text.contains(bad), "found {bad:?} in {text:?}");
    }
}

/// The section's source offsets point at its heading in `document_text`.
fn assert_source_points_at_heading(doc: &str, s: &Section) {
    let src = s.source.as_ref().unwrap();
    let text = document_text(doc);
    let slice: String = text.chars().skip(src.start).take(src.end - src.start).collect();
    let first_word = src.heading.split_whitespace().next().unwrap();
    assert!(
        slice.starts_with(first_word),
        "section {} slice starts {:?}",
        s.item,
        &slice[..slice.len().min(80)]
    );
    assert!(
        slice.contains(s.text.as_str()),
        "section {} text is not inside its slice",
        s.item
    );
}

#[test]
fn inline_xbrl_10k_items_are_found_after_the_table_of_contents() {
    let s = sections(TENK_IXBRL, FilingType::TenK);
    assert_eq!(s.len(), 5);
    let keys: Vec<&str> = s.0.keys().map(String::as_str).collect();
    assert_eq!(keys, ["1", "1A", "7", "7A", "8"]);

    let business = section(&s, "1");
    assert_eq!(business.status, SectionStatus::Found);
    assert_eq!(business.title, "Business");
    // Text wrapped in ix:nonNumeric / ix:nonFraction survives.
    assert!(business
        .text
        .starts_with("Acme Widgets designs and sells industrial widgets to customers in forty-two countries."));
    assert!(business.text.contains("employed 1,250 people"));
    assert!(business.text.ends_with("fourth quarter."), "{:?}", business.text);

    let risk = section(&s, "1A");
    assert_eq!(risk.status, SectionStatus::Found);
    assert_eq!(risk.source.as_ref().unwrap().heading, "Item 1A. Risk Factors");
    assert!(risk.text.starts_with("The Company’s business, financial condition"));
    assert!(risk.text.contains("macroeconomic conditions"));
    // The paragraph cut by a page break comes back whole, without the footer in between.
    assert!(
        risk.text.contains("Demand for widgets is cyclical and a downturn"),
        "{:?}",
        risk.text
    );
    assert!(
        risk.text.ends_with("while an alternative source is qualified."),
        "{:?}",
        risk.text
    );

    let mda = section(&s, "7");
    assert_eq!(mda.status, SectionStatus::Found);
    assert_eq!(
        mda.title,
        "Management's Discussion and Analysis of Financial Condition and Results of Operations"
    );
    assert!(mda.text.starts_with("The following discussion"));
    assert!(mda
        .text
        .contains("Years ended | 2024 | 2023\nNet sales | $1,080 | $1,000\nOperating income (loss) | 120 | (15)"));
    assert!(mda.text.ends_with("39.5% in 2023."));

    for s in s.iter() {
        assert_no_markup(&s.text);
        assert!(!s.text.contains("Form 10-K |"), "page footer in {}", s.item);
        assert!(!s.text.contains("Item 9"), "{} runs into Item 9", s.item);
        assert_source_points_at_heading(TENK_IXBRL, s);
    }
    // Not the table of contents: every section starts after it.
    let toc = document_text(TENK_IXBRL).find("TABLE OF CONTENTS").unwrap();
    assert!(s.iter().all(|s| s.source.as_ref().unwrap().start > toc));
}

#[test]
fn not_applicable_and_incorporated_by_reference_keep_the_statement() {
    let s = sections(TENK_IXBRL, FilingType::TenK);
    let market = section(&s, "7A");
    assert_eq!(market.status, SectionStatus::NotApplicable);
    assert_eq!(market.text, "Not applicable.");
    let fs = section(&s, "8");
    assert_eq!(fs.status, SectionStatus::IncorporatedByReference);
    assert!(fs
        .text
        .starts_with("The financial statements required by this Item are incorporated herein by reference"));
    assert!(fs.text.ends_with("filed as Exhibit 13.1."));
}

#[test]
fn hidden_inline_xbrl_header_does_not_appear() {
    let text = document_text(TENK_IXBRL);
    assert!(!text.contains("HIDDENFACTFALSE"));
    assert!(!text.contains("0000999999"));
    assert!(!text.contains("acme-20240930"), "title or schema ref leaked");
    assert!(text.starts_with("UNITED STATES SECURITIES AND EXCHANGE COMMISSION\nFORM 10-K"));
    assert_no_markup(&text);
    assert_eq!(detect_form(TENK_IXBRL), Some(FilingType::TenK));
}

#[test]
fn page_numbers_and_running_footers_are_removed() {
    let text = document_text(TENK_IXBRL);
    assert!(!text.contains("Acme Widgets, Inc. | 2024 Form 10-K"));
    assert!(
        !text.lines().any(|l| l.trim() == "5"),
        "bare page number left in:\n{text}"
    );
    let old = document_text(TENK_2003);
    for n in ["i", "1", "4", "6", "9"] {
        assert!(!old.lines().any(|l| l.trim() == n), "page number {n} left in:\n{old}");
    }
}

#[test]
fn filings_before_item_1a_report_it_absent() {
    let s = sections(TENK_2003, FilingType::TenK);
    for item in ["1A", "7A"] {
        let sec = section(&s, item);
        assert_eq!(sec.status, SectionStatus::Absent, "{item}");
        assert!(sec.text.is_empty() && sec.source.is_none());
    }
    let business = section(&s, "1");
    assert_eq!(business.status, SectionStatus::Found);
    assert_eq!(business.source.as_ref().unwrap().heading, "ITEM 1. BUSINESS");
    assert!(business.text.starts_with("Oldco Industries manufactures valves"));
    assert!(business.text.ends_with("North America."));
    let mda = section(&s, "7");
    assert_eq!(mda.status, SectionStatus::Found);
    // &#146; is windows-1252's right quote.
    assert!(mda
        .source
        .as_ref()
        .unwrap()
        .heading
        .starts_with("ITEM 7 - MANAGEMENT’S DISCUSSION"));
    assert!(mda.text.starts_with("Net sales for 2003 were $412 million"));
    assert!(mda.text.ends_with("$38 million."));
    let fs = section(&s, "8");
    assert_eq!(fs.status, SectionStatus::Found);
    assert!(fs.text.contains("Net sales | $412.0 | $388.7"));
    for sec in s.iter() {
        assert_no_markup(&sec.text);
    }
}

/// One 10-K per heading spelling, each with a Risk Factors and an MD&A section.
fn tenk_with(risk_heading: &str, risk_body: &str, mda_heading: &str) -> String {
    format!(
        "<html><body><p>TABLE OF CONTENTS</p><table>\
         <tr><td>Item 1A.</td><td>Risk Factors</td><td>3</td></tr>\
         <tr><td>Item 7.</td><td>Management’s Discussion and Analysis</td><td>9</td></tr></table>\
         <div>{risk_heading}</div><div>{risk_body}</div>\
         <div>Item 1B. Unresolved Staff Comments</div><div>None.</div>\
         <div>{mda_heading}</div><div>Revenue rose because customers bought more widgets this year.</div>\
         <div>Item 8. Financial Statements and Supplementary Data</div><div>See the statements below.</div>\
         </body></html>"
    )
}

#[test]
fn heading_variants_are_recognised() {
    let body = "Our suppliers are concentrated in one region and a disruption there would hurt results.";
    let risk_headings = [
        "ITEM 1A: RISK FACTORS",
        "Item 1A. Risk Factors",
        "Item 1A — Risk Factors",
        "Item 1A &#8212; Risk Factors",
        "ITEM 1A RISK FACTORS",
        "Item&#160;1A.&#160;&#160;Risk&#160;Factors",
        "<span>Item</span><span>&#160;1</span><span>A.</span> <b>Risk</b> <i>Factors</i>",
        "<b>ITEM 1A.</b></div><div><b>RISK FACTORS</b>",
        "<table><tr><td>Item 1A.</td><td>Risk Factors</td></tr></table>",
        "item 1a. risk factors",
        "Part I, Item 1A. Risk Factors",
        "ITEM 1A.",
    ];
    for h in risk_headings {
        let doc = tenk_with(h, body, "Item 7. Management’s Discussion and Analysis");
        let s = sections(&doc, FilingType::TenK);
        let risk = section(&s, "1A");
        assert_eq!(risk.status, SectionStatus::Found, "{h}");
        assert_eq!(risk.text, body, "{h}");
    }
    let mda_headings = [
        "Item 7. Management’s Discussion and Analysis of Financial Condition and Results of Operations",
        "Item 7. Management's Discussion and Analysis of Financial Condition and Results of Operations",
        "ITEM 7. MANAGEMENTS DISCUSSION AND ANALYSIS OF FINANCIAL CONDITION AND RESULTS OF OPERATIONS",
        "ITEM 7. MANAGEMENT&rsquo;S DISCUSSION &amp; ANALYSIS",
        "Item 7: Management&#8217;s Discussion and Analysis of Results of Operations and Financial Condition",
        "Item 7 — MD&amp;A",
    ];
    for h in mda_headings {
        let doc = tenk_with("Item 1A. Risk Factors", body, h);
        let s = sections(&doc, FilingType::TenK);
        let mda = section(&s, "7");
        assert_eq!(mda.status, SectionStatus::Found, "{h}");
        assert_eq!(
            mda.text, "Revenue rose because customers bought more widgets this year.",
            "{h}"
        );
    }
}

#[test]
fn statements_of_inapplicability_are_not_applicable() {
    for statement in [
        "None.",
        "Not applicable.",
        "NOT APPLICABLE",
        "Smaller reporting companies are not required to provide the information required by this item.",
        "As a smaller reporting company, we are not required to provide the information required by this Item.",
    ] {
        let s = sections(
            &tenk_with("Item 1A. Risk Factors", statement, "Item 7. MD&amp;A"),
            FilingType::TenK,
        );
        let risk = section(&s, "1A");
        assert_eq!(risk.status, SectionStatus::NotApplicable, "{statement}");
        assert_eq!(risk.text, statement);
    }
    // Statement on the heading's own line.
    let s = sections(
        &tenk_with("Item 1A. Risk Factors. Not applicable.", "", "Item 7. MD&amp;A"),
        FilingType::TenK,
    );
    assert_eq!(section(&s, "1A").status, SectionStatus::NotApplicable);
    assert_eq!(section(&s, "1A").text, "Not applicable.");
}

#[test]
fn cross_references_in_body_text_do_not_start_sections() {
    let body = "Item 7 of this report discusses liquidity. Investors should also read Part II, Item 8.";
    let doc = tenk_with(
        "Item 1A. Risk Factors",
        &format!("Risks exist.</div><div>{body}"),
        "Item 7. MD&amp;A",
    );
    let s = sections(&doc, FilingType::TenK);
    assert_eq!(section(&s, "1A").text, format!("Risks exist.\n{body}"));
    assert_eq!(
        section(&s, "7").text,
        "Revenue rose because customers bought more widgets this year."
    );
}

#[test]
fn ten_q_uses_parts_to_tell_items_apart() {
    let check = |doc: &str| {
        let s = sections(doc, FilingType::TenQ);
        assert_eq!(s.0.keys().map(String::as_str).collect::<Vec<_>>(), ["I-2", "II-1A"]);
        let mda = section(&s, "I-2");
        assert_eq!(mda.status, SectionStatus::Found);
        assert_eq!(
            mda.text,
            "Net sales for the quarter increased 4% year over year, driven by services growth. Operating expenses were flat."
        );
        let risk = section(&s, "II-1A");
        assert_eq!(risk.status, SectionStatus::Found);
        assert!(risk
            .text
            .starts_with("In addition to the risks described in the annual report, a new tariff regime"));
        assert!(!risk.text.contains("Legal") && !risk.text.contains("Net sales"));
        assert_source_points_at_heading(doc, risk);
    };
    check(TENQ);
    // Without any PART headings the restart of item numbers marks Part II.
    let no_parts = TENQ
        .replace("<tr><td>PART I — FINANCIAL INFORMATION</td></tr>", "")
        .replace("<tr><td>PART II — OTHER INFORMATION</td></tr>", "")
        .replace("<p><b>PART I — FINANCIAL INFORMATION</b></p>", "")
        .replace("<p><b>PART II — OTHER INFORMATION</b></p>", "");
    assert!(!no_parts.contains("PART I"));
    check(&no_parts);
}

#[test]
fn twenty_f_items_and_sub_item_3d() {
    let s = sections(TWENTYF, FilingType::TwentyF);
    assert_eq!(s.0.keys().map(String::as_str).collect::<Vec<_>>(), ["3D", "4", "5"]);
    let risk = section(&s, "3D");
    assert_eq!(risk.status, SectionStatus::Found);
    assert_eq!(risk.source.as_ref().unwrap().heading, "D. Risk Factors");
    assert!(risk
        .text
        .starts_with("Our business is exposed to currency fluctuations"));
    assert!(!risk.text.contains("Globex"));
    let info = section(&s, "4");
    assert_eq!(info.title, "Information on the Company");
    assert!(info.text.contains("incorporated in the Netherlands"));
    assert!(!info.text.contains("None."), "4A must end item 4");
    assert_eq!(
        section(&s, "5").text,
        "Revenue grew 12% to EUR 800 million, led by demand for lithography optics."
    );
}

#[test]
fn s1_has_the_document_and_its_risk_factors() {
    let s = sections(S1, FilingType::S1);
    assert_eq!(
        s.0.keys().map(String::as_str).collect::<Vec<_>>(),
        ["document", "risk_factors"]
    );
    let doc = section(&s, "document");
    assert_eq!(doc.status, SectionStatus::Found);
    assert_eq!(doc.text, document_text(S1));
    let risk = section(&s, "risk_factors");
    assert_eq!(risk.status, SectionStatus::Found);
    assert!(risk
        .text
        .starts_with("Investing in our common stock involves a high degree of risk."));
    assert!(risk.text.ends_with("difficult to predict."), "{:?}", risk.text);
    assert!(!risk.text.contains("history of losses"), "took the summary");
    // Without a Risk Factors heading the S-1 still has its document.
    let s = sections("<p>Prospectus</p><p>We sell shares.</p>", FilingType::S1);
    assert_eq!(section(&s, "risk_factors").status, SectionStatus::Absent);
}

#[test]
fn whole_document_forms() {
    let doc = "<html><body><p>FORM 8-K</p><p>Item 2.02 Results of Operations and Financial Condition</p>\
               <p>On May 1 the Company announced results.</p></body></html>";
    for form in [FilingType::EightK, FilingType::Def14A] {
        let s = sections(doc, form);
        assert_eq!(s.len(), 1);
        let d = section(&s, "document");
        assert_eq!(d.status, SectionStatus::Found);
        assert_eq!(
            d.text,
            "FORM 8-K\nItem 2.02 Results of Operations and Financial Condition\nOn May 1 the Company announced results."
        );
        let src = d.source.as_ref().unwrap();
        assert_eq!((src.start, src.end), (0, d.text.chars().count()));
    }
    assert_eq!(items_for(FilingType::EightK), [("document", "Current Report")]);
}

#[test]
fn plain_text_filings_with_page_markers() {
    let s = sections(TENK_1998, FilingType::TenK);
    let business = section(&s, "1");
    assert_eq!(business.status, SectionStatus::Found);
    assert_eq!(
        business.text,
        "Acme Text Corp. publishes trade directories for the\nhardware industry.  Directories are sold by subscription."
    );
    let mda = section(&s, "7");
    assert_eq!(mda.status, SectionStatus::Found);
    assert!(mda
        .source
        .as_ref()
        .unwrap()
        .heading
        .ends_with("AND RESULTS OF OPERATIONS"));
    assert!(mda.text.starts_with("Revenues rose 3% in 1998"), "{:?}", mda.text);
    assert_eq!(section(&s, "8").status, SectionStatus::IncorporatedByReference);
    assert_eq!(section(&s, "1A").status, SectionStatus::Absent);
}

#[test]
fn json_is_an_object_keyed_by_item() {
    let s = sections(TENK_IXBRL, FilingType::TenK);
    let json = serde_json::to_value(&s).unwrap();
    let obj = json.as_object().unwrap();
    assert_eq!(obj.len(), 5);
    assert_eq!(obj["7A"]["status"], "not_applicable");
    assert_eq!(obj["8"]["status"], "incorporated_by_reference");
    assert_eq!(obj["1A"]["status"], "found");
    assert_eq!(obj["1A"]["item"], "1A");
    assert!(obj["1A"]["source"]["start"].as_u64().unwrap() > 0);
    let back: FilingSections = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
    let old = serde_json::to_value(sections(TENK_2003, FilingType::TenK)).unwrap();
    assert_eq!(old["1A"]["status"], "absent");
    assert_eq!(old["1A"]["text"], "");
    assert!(old["1A"]["source"].is_null());
}

#[test]
fn edge_inputs() {
    let s = sections("", FilingType::TenK);
    assert_eq!(s.len(), 5);
    assert!(s.iter().all(|s| s.status == SectionStatus::Absent));
    let s = sections("", FilingType::EightK);
    assert_eq!(section(&s, "document").status, SectionStatus::Absent);
    assert!(matches!(
        extract("%PDF-1.4\n...", FilingType::TenK),
        Err(SectionError::NotText(_))
    ));
    assert!(extract("PK\u{3}\u{4}\0\0binary", FilingType::TenK).is_err());
    // Unclosed tags, stray cells and a lone "Item" do not panic.
    for junk in [
        "<table><td>Item",
        "Item",
        "<div>Item 1A.",
        "Item 1A.\nItem 7.",
        "<tr><td>PART",
        "Items 1, and",
    ] {
        for form in [FilingType::TenK, FilingType::TenQ, FilingType::TwentyF, FilingType::S1] {
            let _ = extract(junk, form).unwrap();
        }
    }
}

/// A paragraph of ordinary prose, long enough (>500 letters) to count as a section's real text.
fn prose(topic: &str) -> String {
    format!(
        "The {topic} risk could harm the Company. Demand for the Company's products depends on customers \
         continuing to buy widgets, and a slowdown in industrial production, a change in trade policy, a \
         failure of a key supplier, a cyber attack on the Company's systems, the loss of key employees or \
         adverse movements in currency exchange rates could each reduce net sales, compress gross margins \
         and lower the price of the Company's stock, perhaps for a long time and by a large amount."
    )
}

#[test]
fn continued_headings_and_running_headers_do_not_cut_sections() {
    for repeat in [
        "Item 1A. Risk Factors (continued)",
        "Item 1A. Risk Factors",
        "ITEM 1A. RISK FACTORS — Continued",
    ] {
        let doc = format!(
            "<html><body><div>Item 1A. Risk Factors</div><div>{}</div><hr style=\"page-break-after:always\"/>\
             <div>{repeat}</div><div>{}</div><div>Item 1B. Unresolved Staff Comments</div><div>None.</div>\
             <div>Item 7. MD&amp;A</div><div>Sales rose.</div></body></html>",
            prose("first"),
            prose("second")
        );
        let s = sections(&doc, FilingType::TenK);
        let risk = section(&s, "1A");
        assert!(risk.text.starts_with("The first risk"), "{repeat}");
        assert!(
            risk.text.contains("The second risk"),
            "{repeat}: cut at the repeated heading"
        );
        assert!(risk.text.ends_with("by a large amount."), "{repeat}");
    }
}

#[test]
fn layout_table_around_the_whole_document() {
    let doc = format!(
        "<html><body><table><tr><td width=\"5%\"></td><td>\
         <p>Item 1A. | Risk Factors | 4</p>\
         <p>ITEM 1A. RISK FACTORS</p><p>{}</p><p>ITEM 1B. UNRESOLVED STAFF COMMENTS</p><p>None.</p>\
         </td></tr></table></body></html>",
        prose("layout")
    );
    let s = sections(&doc, FilingType::TenK);
    let risk = section(&s, "1A");
    assert_eq!(risk.status, SectionStatus::Found);
    assert_eq!(risk.text, prose("layout"));
}

#[test]
fn combined_and_run_in_headings() {
    let doc = format!(
        "<p>Items 1 and 2. Business and Properties</p><p>We make widgets in two plants.</p>\
         <p><b>Item 1A. Risk Factors.</b> {}</p><p>Item 3. Legal Proceedings</p><p>None.</p>",
        prose("run-in")
    );
    let s = sections(&doc, FilingType::TenK);
    let business = section(&s, "1");
    assert_eq!(business.status, SectionStatus::Found);
    assert_eq!(business.text, "We make widgets in two plants.");
    let risk = section(&s, "1A");
    assert_eq!(risk.source.as_ref().unwrap().heading, "Item 1A. Risk Factors");
    assert_eq!(risk.text, prose("run-in"));
}

#[test]
fn truncated_documents_never_panic() {
    for doc in [TENK_IXBRL, TENK_2003, TENK_1998, TENQ, TWENTYF, S1] {
        let cuts = doc.char_indices().map(|(i, _)| i).step_by(89);
        for cut in cuts {
            for form in FilingType::ALL {
                let s = extract(&doc[..cut], form).unwrap();
                assert_eq!(s.len(), items_for(form).len());
            }
        }
    }
}
