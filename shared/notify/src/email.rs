//! Each kind of e-mail in words, and the MIME message SES sends. Plain text: it reads
//! the same in every client and carries no tracking.

use crate::NotificationKind;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;
use sluice_messages::{Money, Payload};

/// What one e-mail says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    pub kind: NotificationKind,
    pub subject: String,
    pub text: String,
}

/// Links an e-mail may carry, made by the notifier (I/O) before the words are written.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The rejects file of a partial load (a presigned GET, it expires).
    pub rejects_url: Option<String>,
    /// How long `rejects_url` works, in words ("7 days").
    pub rejects_valid_for: Option<String>,
}

/// The words of the e-mail `payload` calls for as `kind` (see [`crate::kinds::kind_of`]).
pub fn render(kind: NotificationKind, payload: &Payload, links: &Links) -> Option<EmailContent> {
    let (subject, text) = match (kind, payload) {
        (NotificationKind::UploadFailed, Payload::UploadChecked(u)) => (
            format!("Upload refused: {}", u.key),
            format!(
                "The upload {key} was refused and nothing was loaded.\n\nWhy: {reason}\n\n\
                 Correct the file and upload it again.",
                key = u.key,
                reason = u.reason.as_deref().unwrap_or("the checks did not pass"),
            ),
        ),
        (NotificationKind::UploadFailed, Payload::DatasetLoaded(l)) => (
            format!("Load failed: {}", l.key),
            format!(
                "Loading {key} into {dataset} failed and nothing was changed (data version {id}).\n\n\
                 Why: {reason}",
                key = l.key,
                dataset = l.dataset,
                id = l.data_version_id.0,
                reason = l
                    .failure_reason
                    .as_deref()
                    .unwrap_or("see the data version for details"),
            ),
        ),
        (NotificationKind::LoadPartial, Payload::DatasetLoaded(l)) => {
            let c = &l.counts;
            let mut text = format!(
                "{key} was loaded into {dataset} with rows left out (data version {id}).\n\n\
                 Inserted {ins}, updated {upd}, unchanged {unch}, rejected {rej}, stale {stale}.\n",
                key = l.key,
                dataset = l.dataset,
                id = l.data_version_id.0,
                ins = c.inserted,
                upd = c.updated,
                unch = c.unchanged,
                rej = c.rejected,
                stale = c.stale,
            );
            match &links.rejects_url {
                Some(url) => text.push_str(&format!(
                    "\nThe rejected rows and why each was rejected{valid}:\n{url}\n",
                    valid = links
                        .rejects_valid_for
                        .as_deref()
                        .map(|v| format!(" (this link works for {v})"))
                        .unwrap_or_default(),
                )),
                None => text.push_str("\nThe rejects file is listed with the data version.\n"),
            }
            (format!("Load partial: {} ({} rows rejected)", l.key, c.rejected), text)
        }
        (NotificationKind::AnalysisCompleted, Payload::AnalysisCompleted(a)) => (
            format!("Analysis ready: {} of {}", a.kind.as_str(), a.accession.as_str()),
            format!(
                "Your {kind} analysis of filing {acc} is ready (task {task}, analysis {analysis}).\n\
                 Charged: {charged}.\n\nRead it with GET /v1/analyses/{analysis} or in the web app.",
                kind = a.kind.as_str(),
                acc = a.accession.as_str(),
                task = a.task_id,
                analysis = a.analysis_id,
                charged = a.charged,
            ),
        ),
        (NotificationKind::AnalysisFailed, Payload::AnalysisFailed(a)) => (
            format!("Analysis failed: {}", a.kind.as_str()),
            format!(
                "Your {kind} analysis (task {task}) failed and nothing was charged.\n\nWhy: {reason}",
                kind = a.kind.as_str(),
                task = a.task_id,
                reason = a.reason,
            ),
        ),
        (NotificationKind::FeedbackP0, Payload::FeedbackTriaged(t)) => (
            format!("P0 feedback: {}", one_line(&t.summary, 80)),
            format!(
                "A feedback ticket was triaged P0 ({category}, from {source}).\n\n{summary}\n\n\
                 Ticket {id}: GET /v1/tickets/{id} or the Feedback board.",
                category = t.category,
                source = t.source.as_str(),
                summary = t.summary,
                id = t.ticket_id,
            ),
        ),
        (NotificationKind::KpiAlert, Payload::KpiAlert(a)) => (
            format!("KPI alert ({}): {} {}", a.severity.as_str(), a.company, a.indicator),
            format!(
                "{message}\n\nCompany: {company}\nIndicator: {indicator}\nPeriod: {period}\nValue: {value}\n\
                 Rule: {condition} {threshold} ({severity})\n\nAlert {id}: GET /v1/alerts",
                message = a.message,
                company = a.company,
                indicator = a.indicator,
                period = a.period,
                value = a.value,
                condition = a.condition,
                threshold = a.threshold,
                severity = a.severity.as_str(),
                id = a.alert_id,
            ),
        ),
        _ => return None,
    };
    // Names in subjects come from uploads and tickets: one line, never a header break.
    let subject = one_line(&subject, 200);
    Some(EmailContent { kind, subject, text })
}

/// The low-balance e-mail.
pub fn low_balance(balance: Money, threshold: Money) -> EmailContent {
    EmailContent {
        kind: NotificationKind::LowBalance,
        subject: format!("Your Sluice credit balance is low: {balance}"),
        text: format!(
            "Your credit balance is {balance}, under {threshold}.\n\n\
             Top up with POST /v1/billing/checkout (or Account in the web app); your tier's \
             monthly credits arrive on the first of the month.",
        ),
    }
}

fn one_line(text: &str, max: usize) -> String {
    let line: String = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The footer every e-mail carries: why it came and the one link that stops this kind.
pub fn footer(kind: NotificationKind, unsubscribe_url: &str) -> String {
    format!(
        "\n\n--\nYou receive this because e-mail about {what} is on for your Sluice account \
         (GET/PUT /v1/me/notifications).\nStop these e-mails: {unsubscribe_url}\n",
        what = kind.describe(),
    )
}

#[derive(Debug, thiserror::Error)]
#[error("the e-mail could not be written: {0}")]
pub struct MimeError(String);

/// The whole message as SES's raw content: text, footer, and `List-Unsubscribe` with
/// RFC 8058 one-click (`List-Unsubscribe-Post`), so mail clients offer the same link.
pub fn mime(from: &str, to: &str, content: &EmailContent, unsubscribe_url: &str) -> Result<Vec<u8>, MimeError> {
    let body = format!("{}{}", content.text, footer(content.kind, unsubscribe_url));
    MessageBuilder::new()
        .from(("Sluice", from))
        .to(to)
        .subject(content.subject.as_str())
        .header("List-Unsubscribe", Raw::new(format!("<{unsubscribe_url}>")))
        .header("List-Unsubscribe-Post", Raw::new("List-Unsubscribe=One-Click"))
        .header("X-Sluice-Notification", Raw::new(content.kind.as_str()))
        .text_body(body)
        .write_to_vec()
        .map_err(|e| MimeError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_carries_the_unsubscribe_headers_and_footer() {
        let content = low_balance(Money::from_micros(1_000_000), Money::from_micros(5_000_000));
        let raw = mime(
            "alerts@example.com",
            "ana@example.com",
            &content,
            "https://api.example.com/v1/unsubscribe?token=abc",
        )
        .unwrap();
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.contains("List-Unsubscribe: <https://api.example.com/v1/unsubscribe?token=abc>"),
            "{text}"
        );
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(text.contains("X-Sluice-Notification: low_balance"));
        assert!(
            text.contains("To: <ana@example.com>") || text.contains("To: ana@example.com"),
            "{text}"
        );
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let mut upload: sluice_messages::Envelope = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../messages/tests/golden/v1/upload_checked.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        if let Payload::UploadChecked(u) = &mut upload.payload {
            u.key = "uploads/kpis/a.csv\r\nBcc: everyone@example.com".into();
        }
        let content = render(NotificationKind::UploadFailed, &upload.payload, &Links::default()).unwrap();
        assert!(
            !content.subject.contains('\r') && !content.subject.contains('\n'),
            "{}",
            content.subject
        );
        let raw = String::from_utf8(mime("a@example.com", "b@example.com", &content, "https://x/u").unwrap()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
    }

    #[test]
    fn one_line_clips_long_summaries() {
        assert_eq!(one_line("a  b\nc", 10), "a b c");
        assert_eq!(one_line(&"x".repeat(100), 10).chars().count(), 10);
    }
}
