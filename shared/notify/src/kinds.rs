//! The kinds of e-mail Sluice sends, each of which a user can mute.

use sluice_messages::{LoadStatus, Payload, UploadVerdict};

/// One kind of e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    /// An upload refused by the checks, or a load that failed.
    UploadFailed,
    /// A load that left rows out (with the link to its rejects file).
    LoadPartial,
    AnalysisCompleted,
    AnalysisFailed,
    /// The credit balance fell under the threshold after a charge.
    LowBalance,
    /// A feedback ticket triaged P0 (drop everything): for the team.
    FeedbackP0,
    /// A KPI alert of a portfolio company: for the team.
    KpiAlert,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 7] = [
        Self::UploadFailed,
        Self::LoadPartial,
        Self::AnalysisCompleted,
        Self::AnalysisFailed,
        Self::LowBalance,
        Self::FeedbackP0,
        Self::KpiAlert,
    ];

    /// The name in preferences, the database and the unsubscribe token.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UploadFailed => "upload_failed",
            Self::LoadPartial => "load_partial",
            Self::AnalysisCompleted => "analysis_completed",
            Self::AnalysisFailed => "analysis_failed",
            Self::LowBalance => "low_balance",
            Self::FeedbackP0 => "feedback_p0",
            Self::KpiAlert => "kpi_alert",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// In words, for the preferences and unsubscribe pages.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::UploadFailed => "uploads refused or failed",
            Self::LoadPartial => "loads that left rows out",
            Self::AnalysisCompleted => "analyses completed",
            Self::AnalysisFailed => "analyses that failed",
            Self::LowBalance => "a low credit balance",
            Self::FeedbackP0 => "P0 feedback tickets",
            Self::KpiAlert => "new KPI alerts",
        }
    }
}

impl std::fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The e-mail an event calls for, if any (a low balance is judged apart: it depends on
/// the balance after the charge, see [`charges`]).
pub fn kind_of(payload: &Payload) -> Option<NotificationKind> {
    match payload {
        Payload::UploadChecked(u) if u.verdict == UploadVerdict::Refused => Some(NotificationKind::UploadFailed),
        Payload::DatasetLoaded(l) => match l.status {
            LoadStatus::Failed => Some(NotificationKind::UploadFailed),
            LoadStatus::Partial => Some(NotificationKind::LoadPartial),
            LoadStatus::Success => None,
        },
        Payload::AnalysisCompleted(_) => Some(NotificationKind::AnalysisCompleted),
        Payload::AnalysisFailed(_) => Some(NotificationKind::AnalysisFailed),
        Payload::FeedbackTriaged(t) if t.priority.eq_ignore_ascii_case("P0") => Some(NotificationKind::FeedbackP0),
        Payload::KpiAlert(_) => Some(NotificationKind::KpiAlert),
        _ => None,
    }
}

/// Whether an event charged a user's credits (then their balance is looked at).
pub fn charges(payload: &Payload) -> Option<&str> {
    match payload {
        Payload::AnalysisCompleted(c) if !c.charged.is_zero() => Some(&c.user_id),
        _ => None,
    }
}

/// What makes two events one e-mail: the event itself, except a ticket, which is told
/// of once however often it is triaged again.
pub fn dedup_key(payload: &Payload, message_id: &str) -> String {
    match payload {
        Payload::FeedbackTriaged(t) => format!("ticket:{}", t.ticket_id),
        _ => message_id.to_owned(),
    }
}

/// The event types a webhook endpoint may subscribe to: those the notifier's
/// subscription lets through (template.yaml's filter policy).
pub const WEBHOOK_EVENT_TYPES: [&str; 6] = [
    "UploadChecked",
    "DatasetLoaded",
    "AnalysisCompleted",
    "AnalysisFailed",
    "FeedbackTriaged",
    "KpiAlert",
];

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_messages::Envelope;

    fn golden(name: &str) -> Envelope {
        let path = format!("{}/../messages/tests/golden/v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
        Envelope::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("everything"), None);
    }

    #[test]
    fn events_map_to_kinds() {
        assert_eq!(
            kind_of(&golden("analysis_completed").payload),
            Some(NotificationKind::AnalysisCompleted)
        );
        assert_eq!(
            kind_of(&golden("analysis_failed").payload),
            Some(NotificationKind::AnalysisFailed)
        );
        assert_eq!(kind_of(&golden("kpi_alert").payload), Some(NotificationKind::KpiAlert));
        assert_eq!(kind_of(&golden("price_refresh_summary").payload), None);
        let mut loaded = golden("dataset_loaded");
        if let Payload::DatasetLoaded(l) = &mut loaded.payload {
            l.status = LoadStatus::Partial;
        }
        assert_eq!(kind_of(&loaded.payload), Some(NotificationKind::LoadPartial));
        if let Payload::DatasetLoaded(l) = &mut loaded.payload {
            l.status = LoadStatus::Success;
        }
        assert_eq!(kind_of(&loaded.payload), None);
        let mut triaged = golden("feedback_triaged");
        if let Payload::FeedbackTriaged(t) = &mut triaged.payload {
            t.priority = "P0".into();
        }
        assert_eq!(kind_of(&triaged.payload), Some(NotificationKind::FeedbackP0));
        if let Payload::FeedbackTriaged(t) = &mut triaged.payload {
            t.priority = "P2".into();
        }
        assert_eq!(kind_of(&triaged.payload), None);
    }
}
