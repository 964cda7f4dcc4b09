//! What SES decided about a message it received, read from the message itself.
//!
//! The receipt rule (template.yaml, `ScanEnabled`) writes each message to S3 with SES's
//! verdicts added as headers at the top: `X-SES-Spam-Verdict` and `X-SES-Virus-Verdict`
//! (`PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED`) and `Authentication-Results: amazonses.com;
//! spf=...; dkim=...` (and `Received-SPF`). A sender can write the same headers into its
//! own message, below SES's, so only the topmost of each counts, and only SES's
//! `Authentication-Results`.

use mail_parser::{Message, MessageParser};

/// SES's verdicts on one message; `None` where SES said nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptVerdicts {
    /// `X-SES-Spam-Verdict`, upper case.
    pub spam: Option<String>,
    /// `X-SES-Virus-Verdict`, upper case.
    pub virus: Option<String>,
    /// SPF's result (`pass`, `fail`, `softfail`, `neutral`, `none`, ...), lower case.
    pub spf: Option<String>,
    /// DKIM's result, lower case: `pass` when any signature verified.
    pub dkim: Option<String>,
}

/// Why a received message is not feedback. The words are logged and recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailRefusal {
    #[error("SES did not scan the message (no {0} header)")]
    Unscanned(&'static str),
    #[error("SES judged the message spam (X-SES-Spam-Verdict: FAIL)")]
    Spam,
    #[error("SES found a virus in the message (X-SES-Virus-Verdict: FAIL)")]
    Virus,
    #[error("the sending server is not allowed to send for the sender's domain (SPF {0})")]
    Spf(String),
    #[error("the message's DKIM signature does not verify (DKIM {0})")]
    Dkim(String),
    #[error("{sender} sent more than {limit} messages this hour")]
    SenderLimit { sender: String, limit: u32 },
}

impl EmailRefusal {
    /// A short name for counting refusals by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unscanned(_) => "unscanned",
            Self::Spam => "spam",
            Self::Virus => "virus",
            Self::Spf(_) => "spf",
            Self::Dkim(_) => "dkim",
            Self::SenderLimit { .. } => "sender-limit",
        }
    }
}

impl ReceiptVerdicts {
    /// The first verdict that refuses the message: a missing spam or virus scan, or a
    /// `FAIL` of any of the four. `GRAY` and `PROCESSING_FAILED` pass (SES could not
    /// decide), as do SPF `softfail`/`neutral`/`none` and a message without DKIM.
    pub fn refusal(&self) -> Option<EmailRefusal> {
        let failed = |v: &Option<String>, word: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(word));
        if self.spam.is_none() {
            return Some(EmailRefusal::Unscanned("X-SES-Spam-Verdict"));
        }
        if self.virus.is_none() {
            return Some(EmailRefusal::Unscanned("X-SES-Virus-Verdict"));
        }
        if failed(&self.virus, "FAIL") {
            return Some(EmailRefusal::Virus);
        }
        if failed(&self.spam, "FAIL") {
            return Some(EmailRefusal::Spam);
        }
        if failed(&self.spf, "fail") {
            return Some(EmailRefusal::Spf("fail".into()));
        }
        if failed(&self.dkim, "fail") {
            return Some(EmailRefusal::Dkim("fail".into()));
        }
        None
    }
}

/// A received message as the intake screens it: SES's verdicts and who sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundMail {
    pub verdicts: ReceiptVerdicts,
    /// The `From` address, lower case (what the per-sender limit counts by).
    pub sender: Option<String>,
}

/// Reads SES's verdicts and the sender of a raw message. Never fails: what cannot be
/// read is `None` (and a message without verdicts is refused as unscanned).
pub fn screen_inbound(raw: &[u8]) -> InboundMail {
    let Some(message) = MessageParser::default().parse(raw) else {
        return InboundMail::default();
    };
    let top = |name: &str| topmost_header(&message, name);
    let mut verdicts = ReceiptVerdicts {
        spam: top("X-SES-Spam-Verdict")
            .and_then(|v| first_word(&v))
            .map(|v| v.to_ascii_uppercase()),
        virus: top("X-SES-Virus-Verdict")
            .and_then(|v| first_word(&v))
            .map(|v| v.to_ascii_uppercase()),
        spf: None,
        dkim: None,
    };
    if let Some(results) = top("Authentication-Results") {
        let (server, methods) = results.split_once(';').unwrap_or((results.as_str(), ""));
        // Only SES's own results; one a sender wrote is not evidence.
        if server
            .split_whitespace()
            .next()
            .is_some_and(|s| s.eq_ignore_ascii_case("amazonses.com"))
        {
            let results: Vec<(String, String)> = methods.split(';').filter_map(method_result).collect();
            let of = |method: &'static str| -> Vec<&str> {
                results
                    .iter()
                    .filter(|(m, _)| m == method)
                    .map(|(_, r)| r.as_str())
                    .collect()
            };
            verdicts.spf = of("spf").first().map(|r| (*r).to_owned());
            let dkim = of("dkim");
            verdicts.dkim = if dkim.contains(&"pass") {
                Some("pass".into())
            } else {
                dkim.first().map(|r| (*r).to_owned())
            };
        }
    }
    if verdicts.spf.is_none() {
        verdicts.spf = top("Received-SPF")
            .and_then(|v| first_word(&v))
            .map(|v| v.to_ascii_lowercase());
    }
    let sender = message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty());
    InboundMail { verdicts, sender }
}

/// The value of the first header of that name from the top, unfolded.
fn topmost_header(message: &Message<'_>, name: &str) -> Option<String> {
    let header = message
        .headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let raw = message
        .raw_message()
        .get(header.offset_start as usize..header.offset_end as usize)?;
    let text = String::from_utf8_lossy(raw);
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn first_word(value: &str) -> Option<String> {
    value
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .find(|w| !w.is_empty())
        .map(str::to_owned)
}

/// `spf=pass (comment) smtp.mailfrom=...` -> (`spf`, `pass`).
fn method_result(part: &str) -> Option<(String, String)> {
    let first = part.split_whitespace().next()?;
    let (method, result) = first.split_once('=')?;
    let result = result.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    Some((method.to_ascii_lowercase(), result.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers SES puts above a message it stored, with the given verdicts.
    fn received(spam: &str, virus: &str, spf: &str, dkim: &str, own_headers: &str) -> Vec<u8> {
        format!(
            "Return-Path: <ana@customer.example>\r\n\
             Received: from mail.customer.example by inbound-smtp.eu-west-1.amazonaws.com with SMTP id abc\r\n\
             X-SES-Spam-Verdict: {spam}\r\n\
             X-SES-Virus-Verdict: {virus}\r\n\
             Received-SPF: {spf} (spfCheck: domain of customer.example designates 192.0.2.1 as permitted sender)\r\n\
             \x20client-ip=192.0.2.1; envelope-from=ana@customer.example; helo=mail.customer.example;\r\n\
             Authentication-Results: amazonses.com;\r\n\
             \x20spf={spf} (spfCheck: domain of customer.example designates 192.0.2.1 as permitted sender)\r\n\
             \x20smtp.mailfrom=ana@customer.example;\r\n\
             \x20dkim={dkim} header.i=@customer.example;\r\n\
             \x20dmarc=pass header.from=customer.example;\r\n\
             X-SES-RECEIPT: AEFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n\
             {own_headers}\
             From: Ana Ruiz <Ana@Customer.example>\r\n\
             To: feedback@sluice.example\r\n\
             Subject: Export\r\n\
             Date: Mon, 16 Nov 2026 09:00:00 +0000\r\n\
             Message-ID: <m1@customer.example>\r\n\
             \r\n\
             The export button does nothing.\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_clean_message_passes_and_names_its_sender() {
        let mail = screen_inbound(&received("PASS", "PASS", "pass", "pass", ""));
        assert_eq!(
            mail.verdicts,
            ReceiptVerdicts {
                spam: Some("PASS".into()),
                virus: Some("PASS".into()),
                spf: Some("pass".into()),
                dkim: Some("pass".into()),
            }
        );
        assert_eq!(mail.verdicts.refusal(), None);
        assert_eq!(mail.sender.as_deref(), Some("ana@customer.example"));
    }

    #[test]
    fn each_failing_verdict_refuses() {
        let refusal = |raw: Vec<u8>| screen_inbound(&raw).verdicts.refusal();
        assert_eq!(
            refusal(received("FAIL", "PASS", "pass", "pass", "")),
            Some(EmailRefusal::Spam)
        );
        assert_eq!(
            refusal(received("PASS", "FAIL", "pass", "pass", "")),
            Some(EmailRefusal::Virus)
        );
        assert_eq!(
            refusal(received("PASS", "PASS", "fail", "pass", "")),
            Some(EmailRefusal::Spf("fail".into()))
        );
        assert_eq!(
            refusal(received("PASS", "PASS", "pass", "fail", "")),
            Some(EmailRefusal::Dkim("fail".into()))
        );
        // SES could not decide, or the sender's domain says little: not a failure.
        assert_eq!(
            refusal(received("GRAY", "PROCESSING_FAILED", "softfail", "none", "")),
            None
        );
    }

    #[test]
    fn a_message_ses_did_not_scan_is_refused() {
        let raw = b"From: a@b.example\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n\r\nHello\r\n";
        assert_eq!(
            screen_inbound(raw).verdicts.refusal(),
            Some(EmailRefusal::Unscanned("X-SES-Spam-Verdict"))
        );
        assert_eq!(
            screen_inbound(b"").verdicts.refusal(),
            Some(EmailRefusal::Unscanned("X-SES-Spam-Verdict"))
        );
    }

    #[test]
    fn verdicts_the_sender_wrote_below_ses_do_not_count() {
        let forged = "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n\
                      Authentication-Results: amazonses.com; spf=pass; dkim=pass\r\n";
        let mail = screen_inbound(&received("FAIL", "PASS", "fail", "fail", forged));
        assert_eq!(mail.verdicts.spam.as_deref(), Some("FAIL"));
        assert_eq!(mail.verdicts.spf.as_deref(), Some("fail"));
        assert_eq!(mail.verdicts.dkim.as_deref(), Some("fail"));
        // Results from another server are not SES's.
        let raw = b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n\
                    Authentication-Results: mx.attacker.example; spf=fail; dkim=fail\r\n\
                    From: a@b.example\r\n\r\nHi\r\n";
        let mail = screen_inbound(raw);
        assert_eq!((mail.verdicts.spf, mail.verdicts.dkim), (None, None));
    }

    #[test]
    fn one_verified_dkim_signature_is_enough() {
        let raw = b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n\
                    Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=a@b.example;\r\n\
                    \x20dkim=fail header.i=@old.example; dkim=pass header.i=@b.example;\r\n\
                    From: a@b.example\r\n\r\nHi\r\n";
        assert_eq!(screen_inbound(raw).verdicts.dkim.as_deref(), Some("pass"));
        assert_eq!(screen_inbound(raw).verdicts.refusal(), None);
    }

    #[test]
    fn refusals_have_kinds_and_reasons() {
        let limit = EmailRefusal::SenderLimit {
            sender: "ana@customer.example".into(),
            limit: 20,
        };
        assert_eq!(limit.kind(), "sender-limit");
        assert!(limit.to_string().contains("more than 20 messages this hour"));
        assert_eq!(EmailRefusal::Spam.kind(), "spam");
    }
}
