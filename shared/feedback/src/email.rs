//! Raw MIME e-mail (what an SES receipt rule writes under `inbound-email/`), and the
//! stripping of quoted replies and signatures from the text used for analysis.

use crate::text::{before_signature, has_text, is_signature_delimiter, language_tag, normalise_text, single_line};
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, PartType};
use sha2::{Digest, Sha256};
use sluice_messages::{FeedbackReceived, FeedbackSource};
use sluice_text::{html_to_text, HtmlOptions};

/// An HTML body as its reader sees it, without what it quotes: in HTML mail, quoting is
/// markup (`<blockquote>`, `gmail_quote`, ...), not `>` lines.
const HTML_MAIL: HtmlOptions = HtmlOptions {
    drop_quotes: true,
    ..HtmlOptions::MESSAGE
};

/// Why an e-mail gives no feedback item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("not an e-mail message: {0}")]
    NotAnEmail(String),
    #[error("the message has neither a Date nor a dated Received header")]
    MissingDate,
    #[error("the message has no text once quoted replies and signatures are removed")]
    NoText,
    #[error("an automatic message (Auto-Submitted: {0}), not feedback")]
    AutoSubmitted(String),
}

/// Parses a raw e-mail into one item: external id and revision the Message-ID (or
/// `sha256:<hex>` of the raw bytes when there is none, so the same file gives the same id),
/// author the From address (`Name <address>`), the subject, the text of the first text
/// body (plain text preferred; HTML converted, its quotes dropped) with quoted replies and
/// signatures stripped ([`strip_quoted_and_signature`]), language from `Content-Language`,
/// received time from `Date` (else the newest `Received` header), link the S3 key.
/// Messages marked `Auto-Submitted` (out-of-office replies, bounces) are refused.
pub fn parse_email(raw: &[u8], s3_key: &str) -> Result<FeedbackReceived, EmailError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| EmailError::NotAnEmail("no header or body".into()))?;
    if message.from().is_none() && message.date().is_none() && message.message_id().is_none() {
        return Err(EmailError::NotAnEmail("no From, Date or Message-ID header".into()));
    }
    if let Some(auto) = message.header_raw("Auto-Submitted").map(str::trim) {
        if !auto.is_empty() && !auto.eq_ignore_ascii_case("no") {
            return Err(EmailError::AutoSubmitted(auto.chars().take(40).collect()));
        }
    }
    let received_at = message
        .date()
        .filter(|date| date.is_valid())
        .and_then(|date| DateTime::<Utc>::from_timestamp(date.to_timestamp(), 0))
        .or_else(|| {
            message
                .received_all()
                .filter_map(|received| received.date.as_ref())
                .filter(|date| date.is_valid())
                .find_map(|date| DateTime::<Utc>::from_timestamp(date.to_timestamp(), 0))
        })
        .ok_or(EmailError::MissingDate)?;

    let body = message
        .text_bodies()
        .find_map(|part| {
            let text = match &part.body {
                PartType::Text(text) => text.to_string(),
                PartType::Html(html) => html_to_text(html, &HTML_MAIL),
                _ => return None,
            };
            let stripped = strip_quoted_and_signature(&text);
            (!stripped.is_empty()).then_some(stripped)
        })
        .ok_or(EmailError::NoText)?;

    let external_id = match message.message_id().map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => id.chars().take(998).collect(),
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let author = message.from().and_then(|from| from.first()).and_then(|addr| {
        let name = addr.name().and_then(single_line);
        let address = addr.address().and_then(single_line);
        match (name, address) {
            (Some(name), Some(address)) if name != address => Some(format!("{name} <{address}>")),
            (name, address) => address.or(name),
        }
    });
    let language = message.header("Content-Language").and_then(|value| {
        let first = value
            .as_text_list()
            .and_then(|list| list.first().map(|tag| tag.to_string()))
            .or_else(|| value.as_text().map(str::to_owned))?;
        first.split(',').next().and_then(language_tag)
    });
    let key = s3_key.trim();
    Ok(FeedbackReceived {
        source: FeedbackSource::Email,
        revision: external_id.clone(),
        external_id,
        author,
        rating: None,
        subject: message.subject().and_then(single_line),
        text: body,
        language,
        received_at,
        link: (!key.is_empty()).then(|| key.to_owned()),
    })
}

/// The new text of a message, without what it quotes or how it signs off:
///
/// - everything from a reply header on: `On <date>, <name> wrote:` (also wrapped over two
///   or three lines, and the French, German, Spanish, Italian, Dutch and Portuguese forms),
///   Outlook's `-----Original Message-----` and its `From:` / `Sent:` / `To:` / `Subject:`
///   block (with or without the `____` rule above it), `---------- Forwarded message`
///   and `Begin forwarded message:`;
/// - lines quoted with `>`;
/// - everything from the signature delimiter (`-- `, or `--` without the space) or a mobile
///   footer ("Sent from my iPhone", "Get Outlook for iOS") on;
/// - a closing sign-off ("Thanks,", "Best regards,", ...) when only a few short lines (a
///   name, a title, a phone number) follow it.
///
/// A message that is only a forward keeps the forwarded text (it is what was sent to us).
/// A stripping step that would leave nothing is not applied, except that quoted-only text
/// gives an empty string. The result is normalised ([`normalise_text`]).
pub fn strip_quoted_and_signature(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.split('\n').collect();
    let mut current: &[&str] = &lines;
    // A forward of a forward: follow at most a few levels.
    for _ in 0..4 {
        match find_quote_start(current) {
            None => return finish(current),
            Some((start, kind)) => {
                let own = finish(&current[..start]);
                if !own.is_empty() || kind == QuoteKind::Reply {
                    return own;
                }
                current = &current[forwarded_body_start(current, start)..];
            }
        }
    }
    finish(current)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteKind {
    /// `On ... wrote:`: what follows is an older message of the conversation.
    Reply,
    /// A forwarded or Outlook-quoted original: used when nothing precedes it.
    Forward,
}

/// Removes `>` lines and the signature, then normalises.
fn finish(lines: &[&str]) -> String {
    let unquoted: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    let mut kept = before_signature(&unquoted, |line| is_signature_delimiter(line) || is_mail_footer(line));
    if let Some(cut) = sign_off_start(kept) {
        if has_text(&kept[..cut]) {
            kept = &kept[..cut];
        }
    }
    normalise_text(&kept.join("\n"))
}

/// The first line where quoted material starts, and what kind it is.
fn find_quote_start(lines: &[&str]) -> Option<(usize, QuoteKind)> {
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if is_reply_header(lines, i) {
            return Some((i, QuoteKind::Reply));
        }
        let lower = trimmed.to_lowercase();
        let dashes_around = |marker: &str| {
            lower.starts_with("--") && lower.trim_matches(|c: char| c == '-' || c.is_whitespace()) == marker
        };
        if dashes_around("original message")
            || dashes_around("forwarded message")
            || lower.starts_with("begin forwarded message")
        {
            return Some((i, QuoteKind::Forward));
        }
        if trimmed.len() >= 10
            && trimmed.chars().all(|c| c == '_')
            && next_text_line(lines, i + 1).is_some_and(|j| is_header_block(lines, j))
        {
            return Some((i, QuoteKind::Forward));
        }
        if is_header_block(lines, i) {
            return Some((i, QuoteKind::Forward));
        }
    }
    None
}

fn next_text_line(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| !lines[j].trim().is_empty())
}

/// Reply header prefixes and suffixes by language (the date and name between vary).
const REPLY_OPENINGS: &[&str] = &["on ", "le ", "am ", "el ", "il ", "op ", "em "];
const REPLY_ENDINGS: &[&str] = &[
    "wrote:",
    "a écrit :",
    "a écrit:",
    "schrieb:",
    "escribió:",
    "ha scritto:",
    "geschreven:",
    "schreef:",
    "escreveu:",
];

/// `On <date>, <name> wrote:`, possibly wrapped over up to three lines.
fn is_reply_header(lines: &[&str], i: usize) -> bool {
    let first = lines[i].trim().trim_start_matches('*').to_lowercase();
    if !REPLY_OPENINGS.iter().any(|opening| first.starts_with(opening)) {
        return false;
    }
    let mut joined = first;
    for (offset, line) in lines[i..].iter().take(3).enumerate() {
        if offset > 0 {
            let next = line.trim();
            if next.is_empty() {
                return false;
            }
            joined.push(' ');
            joined.push_str(&next.to_lowercase());
        }
        let end = joined.trim_end_matches('*').trim_end();
        if REPLY_ENDINGS.iter().any(|ending| end.ends_with(ending)) {
            return true;
        }
    }
    false
}

/// An Outlook-style header block: `From:` then, within the next few lines, `Sent:`/`Date:`
/// and `To:`/`Subject:` (also bold, `*From:*`, as plain-text conversions write them).
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let field = |line: &str, names: &[&str]| {
        let line = line.trim().trim_start_matches('*').to_lowercase();
        names.iter().any(|name| line.starts_with(name))
    };
    if !field(lines[i], &["from:", "de :", "de:", "von:", "van:", "da:"]) {
        return false;
    }
    let window = &lines[i + 1..(i + 6).min(lines.len())];
    window.iter().any(|l| {
        field(
            l,
            &[
                "sent:",
                "date:",
                "envoyé :",
                "envoyé:",
                "gesendet:",
                "enviado:",
                "verzonden:",
                "inviato:",
            ],
        )
    }) && window.iter().any(|l| {
        field(
            l,
            &[
                "to:",
                "subject:",
                "à :",
                "à:",
                "an:",
                "para:",
                "aan:",
                "a:",
                "objet :",
                "betreff:",
                "asunto:",
                "onderwerp:",
                "oggetto:",
            ],
        )
    })
}

/// Where the forwarded message's own text starts: after its header lines.
fn forwarded_body_start(lines: &[&str], marker: usize) -> usize {
    let mut i = marker + 1;
    // Skip blank lines, then the header block up to the first blank line after it.
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let looks_like_header = |line: &str| {
        let line = line.trim().trim_start_matches('*');
        line.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty() && name.len() <= 20 && name.chars().all(|c| c.is_alphabetic() || c == '-' || c == ' ')
        })
    };
    if i < lines.len() && (looks_like_header(lines[i]) || is_header_block(lines, i)) {
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
    }
    i.min(lines.len())
}

/// The footers mobile and webmail clients add below a message.
fn is_mail_footer(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    const FOOTERS: &[&str] = &[
        "sent from my ",
        "sent from mail for windows",
        "sent from outlook",
        "sent from yahoo mail",
        "sent from gmail",
        "sent from proton mail",
        "sent from protonmail",
        "sent with proton mail",
        "get outlook for ",
        "envoyé de mon ",
        "von meinem ",
        "enviado desde mi ",
        "inviato da ",
    ];
    lower.len() < 100 && FOOTERS.iter().any(|footer| lower.starts_with(footer))
}

const SIGN_OFFS: &[&str] = &[
    "thanks",
    "thank you",
    "thanks a lot",
    "thanks again",
    "thanks in advance",
    "many thanks",
    "thx",
    "cheers",
    "best",
    "all the best",
    "best regards",
    "best wishes",
    "kind regards",
    "kindest regards",
    "warm regards",
    "warmest regards",
    "regards",
    "with regards",
    "sincerely",
    "yours sincerely",
    "yours truly",
    "yours faithfully",
    "respectfully",
    "take care",
    "mit freundlichen grüßen",
    "viele grüße",
    "beste grüße",
    "cordialement",
    "bien cordialement",
    "saludos",
    "un saludo",
    "atentamente",
    "cordiali saluti",
    "met vriendelijke groet",
    "atenciosamente",
    "obrigado",
    "obrigada",
    "gracias",
    "merci",
    "danke",
    "grazie",
    "cordialmente",
];

/// A sign-off line near the end: after it at most four non-blank lines, each short.
fn sign_off_start(lines: &[&str]) -> Option<usize> {
    let last = lines.iter().rposition(|line| !line.trim().is_empty())?;
    let earliest = last.saturating_sub(5);
    (earliest..=last).find(|&i| {
        let tail = &lines[i + 1..=last];
        is_sign_off(lines[i])
            && tail.iter().filter(|line| !line.trim().is_empty()).count() <= 4
            && tail.iter().all(|line| line.trim().chars().count() <= 60)
    })
}

fn is_sign_off(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    let bare = lower.trim_end_matches([',', '.', '!', ' ']);
    if SIGN_OFFS.contains(&bare) {
        return true;
    }
    // "Thanks, Jane" / "Cheers - Tom": a sign-off and a short name on one line.
    SIGN_OFFS.iter().any(|sign_off| {
        bare.strip_prefix(sign_off)
            .and_then(|rest| rest.strip_prefix([',', '-', '–']))
            .is_some_and(|name| {
                let words = name.split_whitespace().count();
                (1..=3).contains(&words) && !name.contains(['.', '?', ':'])
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gmail_reply_loses_the_quote() {
        let text = "The export still fails for me.\n\nOn Tue, Jan 2, 2024 at 9:15 AM Support <help@acme.io>\nwrote:\n> Could you try again?\n> Thanks";
        assert_eq!(strip_quoted_and_signature(text), "The export still fails for me.");
    }

    #[test]
    fn quoted_lines_inside_the_text_are_removed() {
        let text = "> you said it works\nIt does not.\n> anything else?\nNo.";
        assert_eq!(strip_quoted_and_signature(text), "It does not.\nNo.");
    }

    #[test]
    fn signatures_and_sign_offs_are_removed() {
        let text = "Charts are blank since the update.\n\nBest regards,\nJane Doe\nHead of Research, Acme\n+1 555 0100";
        assert_eq!(strip_quoted_and_signature(text), "Charts are blank since the update.");
        let text = "Please add dark mode.\n\nSent from my iPhone";
        assert_eq!(strip_quoted_and_signature(text), "Please add dark mode.");
        let text = "Login loops.\n-- \nJohn\nhttps://john.example";
        assert_eq!(strip_quoted_and_signature(text), "Login loops.");
        let text = "Login loops.\r\n--\r\nJohn\r\nhttps://john.example";
        assert_eq!(strip_quoted_and_signature(text), "Login loops.");
        let text = "Great tool, thanks, Jane";
        assert_eq!(strip_quoted_and_signature(text), "Great tool, thanks, Jane");
        let text = "Love it.\nThanks, Jane";
        assert_eq!(strip_quoted_and_signature(text), "Love it.");
    }

    #[test]
    fn a_message_that_is_only_a_sign_off_keeps_it() {
        assert_eq!(strip_quoted_and_signature("Thanks!"), "Thanks!");
    }

    #[test]
    fn an_outlook_block_is_cut() {
        let text = "See below, same problem here.\n\n________________________________\nFrom: Jane <jane@acme.io>\nSent: Monday, January 8, 2024 10:12 AM\nTo: support@sluice.dev\nSubject: Broken\n\nIt is broken.";
        assert_eq!(strip_quoted_and_signature(text), "See below, same problem here.");
        let text = "FYI\n\n-----Original Message-----\nFrom: A\nSent: today\nTo: B\nSubject: x\n\nold";
        assert_eq!(strip_quoted_and_signature(text), "FYI");
    }

    #[test]
    fn a_bare_forward_keeps_the_forwarded_text() {
        let text = "\n---------- Forwarded message ---------\nFrom: Client <c@x.io>\nDate: Mon, 8 Jan 2024\nSubject: Bug\nTo: <a@y.io>\n\nThe PDF export crashes.\n\nThanks,\nClient";
        assert_eq!(strip_quoted_and_signature(text), "The PDF export crashes.");
    }

    #[test]
    fn a_quote_only_reply_is_empty() {
        assert_eq!(strip_quoted_and_signature("On Mon, Jan 1, 2024, Bob wrote:\n> hi"), "");
        assert_eq!(strip_quoted_and_signature("> hi\n> there"), "");
    }
}
