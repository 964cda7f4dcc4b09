//! Whose an event is: the one rule the live stream (sse-notifier) and the notifications
//! (notifier: e-mail and outbound webhooks) both follow, so nobody is told of an event
//! they cannot see. Pure.

use crate::Payload;

/// The user an event belongs to, or `None` for a team-wide event.
///
/// - Analyses (requested, completed, failed), filing requests and bulk imports: the user who asked.
/// - Spreadsheet uploads (checked, queued) and loads: team-wide. `uploaded_by` names the uploader as S3
///   saw them (an e-mail or an IAM principal), not a user id of the user pool, and the
///   loaded tables are team data (the HTTP API shows data versions to team members).
/// - Market-data jobs, progress and summaries, and the demo prefill's filings: team-wide.
/// - Feedback (received, triaged): team-wide (tickets are the team's).
/// - KPI alerts: team-wide (portfolio data is the team's).
pub fn owner(payload: &Payload) -> Option<&str> {
    match payload {
        Payload::AnalysisCompleted(m) => Some(&m.user_id),
        Payload::AnalysisFailed(m) => Some(&m.user_id),
        Payload::AnalysisRequested(m) => Some(&m.user_id),
        Payload::FilingRequested(m) => Some(&m.user_id),
        Payload::BulkFilingRequested(m) => Some(&m.user_id),
        Payload::BulkImportProgress(m) => Some(&m.user_id),
        Payload::UploadChecked(_)
        | Payload::DatasetUploaded(_)
        | Payload::DatasetLoaded(_)
        | Payload::PriceJobRequested(_)
        | Payload::FilingPrefillRequested(_)
        | Payload::PriceRefreshProgress(_)
        | Payload::PriceRefreshSummary(_)
        | Payload::FeedbackReceived(_)
        | Payload::FeedbackTriaged(_)
        | Payload::KpiAlert(_) => None,
    }
}

/// Who may see an event of `owner` (see [`owner`]): its user, or every team member
/// when it is team-wide.
pub fn may_see(owner: Option<&str>, user_id: &str, team_member: bool) -> bool {
    match owner {
        Some(user) => user == user_id,
        None => team_member,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Envelope;

    fn golden(name: &str) -> Envelope {
        let path = format!("{}/tests/golden/v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
        Envelope::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn analyses_belong_to_their_user_loads_and_prices_to_the_team() {
        assert_eq!(owner(&golden("analysis_completed").payload), Some("analyst-7"));
        assert_eq!(owner(&golden("analysis_failed").payload), Some("analyst-7"));
        assert_eq!(owner(&golden("dataset_loaded").payload), None);
        assert_eq!(owner(&golden("price_refresh_summary").payload), None);
        assert_eq!(owner(&golden("price_refresh_progress").payload), None);
        assert_eq!(owner(&golden("feedback_triaged").payload), None);
        assert_eq!(owner(&golden("kpi_alert").payload), None);
    }

    #[test]
    fn users_see_their_own_events_and_members_the_team_ones() {
        assert!(may_see(Some("ana"), "ana", false));
        assert!(!may_see(Some("ana"), "bob", true));
        assert!(may_see(None, "ana", true));
        assert!(!may_see(None, "bob", false));
    }
}
