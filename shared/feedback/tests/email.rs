//! Raw e-mails as an SES receipt rule writes them (this crate's own fixtures).

mod common;

use common::{own, time};
use sluice_feedback::{parse_email, EmailError, FeedbackSource};

fn parse(name: &str) -> sluice_feedback::FeedbackReceived {
    let key = format!("inbound-email/{name}");
    parse_email(&own(&format!("email/{name}")), &key).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn multipart_alternative_quoted_printable_reply() {
    let item = parse("multipart_alternative_qp.eml");
    assert_eq!(item.source, FeedbackSource::Email);
    assert_eq!(item.external_id, "CAF=qp-7731@mail.example.com");
    assert_eq!(item.revision, item.external_id);
    assert_eq!(item.author.as_deref(), Some("Ana Lima <ana.lima@example.com>"));
    assert_eq!(item.subject.as_deref(), Some("Re: Quarterly KPI import"));
    assert_eq!(item.language.as_deref(), Some("pt-BR"));
    assert_eq!(item.received_at, time("2024-01-08T14:03:05Z"));
    assert_eq!(item.link.as_deref(), Some("inbound-email/multipart_alternative_qp.eml"));
    // The plain part: quoted-printable decoded, the Gmail quote and the sign-off gone.
    assert_eq!(
        item.text,
        "The KPI import rejected our Q4 file again — the “Revenue” column is there, but the importer says it’s missing.\n\nCould you check?"
    );
}

#[test]
fn base64_iso_8859_1_text() {
    let item = parse("latin1_base64.eml");
    assert_eq!(item.external_id, "20240109083000.4711@example.fr");
    assert_eq!(item.author.as_deref(), Some("René François <rene@example.fr>"));
    assert_eq!(item.subject.as_deref(), Some("Problème d'export"));
    assert_eq!(item.language.as_deref(), Some("fr"));
    assert_eq!(item.received_at, time("2024-01-09T07:30:00Z"));
    assert_eq!(
        item.text,
        "Bonjour,\n\nL'export Excel échoue dès que le fichier dépasse 5 Mo.\nMerci de votre aide."
    );
}

#[test]
fn html_only_body_loses_quote_signature_and_markup() {
    let item = parse("html_only.eml");
    assert_eq!(
        item.author.as_deref(),
        Some("Tom Becker <tom.becker@northwind.example>")
    );
    assert_eq!(item.language, None);
    assert_eq!(
        item.text,
        "Hello,\n\nThe SEC filing page shows \"Loading…\" forever for AAPL & MSFT.\n\nScreenshot attached."
    );
}

#[test]
fn reply_with_signature_and_mobile_footer() {
    let item = parse("reply_with_signature.eml");
    assert_eq!(item.author.as_deref(), Some("Kim, Lee <lee.kim@example.org>"));
    assert_eq!(item.received_at, time("2024-01-10T22:45:00Z"));
    assert_eq!(
        item.text,
        "Honestly the price alerts arrive 20 minutes late, which makes them useless\nfor us.\nPlease make them real time."
    );
}

#[test]
fn outlook_forward_with_a_note_keeps_the_note() {
    let item = parse("outlook_forward.eml");
    assert_eq!(item.language.as_deref(), Some("en-US"));
    assert_eq!(item.subject.as_deref(), Some("FW: Dashboard export issue"));
    assert_eq!(
        item.text,
        "Forwarding a client complaint: the dashboard PDF export cuts off the last column."
    );
}

#[test]
fn a_bare_forward_without_message_id_or_date() {
    let raw = own("email/forward_without_ids.eml");
    let item = parse_email(&raw, "inbound-email/abc").unwrap_or_else(|e| panic!("{e}"));
    // The forwarded message is the feedback.
    assert_eq!(item.text, "Prices for Nordic tickers show USD instead of SEK.");
    // No Message-ID: a digest of the bytes, the same every time.
    assert!(
        item.external_id.starts_with("sha256:") && item.external_id.len() == 7 + 64,
        "{}",
        item.external_id
    );
    assert_eq!(item.revision, item.external_id);
    // No Date: when SES received it.
    assert_eq!(item.received_at, time("2024-01-12T11:00:05Z"));
}

#[test]
fn refusals() {
    assert!(matches!(
        parse_email(&own("email/auto_reply.eml"), "inbound-email/ooo"),
        Err(EmailError::AutoSubmitted(_))
    ));
    assert!(matches!(parse_email(b"", "k"), Err(EmailError::NotAnEmail(_))));
    assert!(matches!(
        parse_email(b"just some bytes\n", "k"),
        Err(EmailError::NotAnEmail(_))
    ));
    let undated = b"From: a@example.com\r\nMessage-ID: <x@y>\r\n\r\nHello there\r\n";
    assert_eq!(parse_email(undated, "k"), Err(EmailError::MissingDate));
    let quote_only = b"From: a@example.com\r\nDate: Mon, 8 Jan 2024 10:00:00 +0000\r\n\r\n> old text\r\n";
    assert_eq!(parse_email(quote_only, "k"), Err(EmailError::NoText));
}
