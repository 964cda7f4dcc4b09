//! The web app (web/) in Debian's headless chromium against a local stack (the runner's
//! HTTP front and its event sources, running as `make up` runs them): sign in on the local
//! screen, read the account, upload a KPI spreadsheet from the Uploads page and follow it
//! live until it is loaded, download its rejects, see the KPI chart drawn with the loaded
//! points, see the KPI alert the load raised and make a report on the Portfolio page, turn
//! an e-mail kind off on the Account page, make and edit a watchlist on the Market page,
//! ask the chat and search on the Ask page for a team document's passage and open its
//! citation, and no
//! serious accessibility violation on any page (axe-core). Skips, saying
//! why, only when chromium cannot be installed. Screenshots: target/web-app-screenshots.

use sluice_messages::{CorrelationId, Envelope, FeedbackReceived, FeedbackSource, Payload, Producer};
use sluice_tests::browser::Browser;
use sluice_tests::repo_root;
use sluice_tests::sse::EventsStack;
use std::collections::BTreeMap;

/// Two actual values, one budget and one impossible date (31 February): a partial load,
/// one reject. June's sales are 19 % under budget: the seeded rule (more than 15 % under
/// budget, info) raises an alert.
const KPI_CSV: &str = "empresa;fecha;tipo;indicador;valor\n\
    Acme;31/03/2026;Real;Ventas;1.300,50\n\
    Acme;30/06/2026;Real;Ventas;1.450,00\n\
    Acme;30/06/2026;Presupuesto;Ventas;1.800,00\n\
    Acme;31/02/2026;Real;Ventas;1\n";

#[tokio::test]
async fn every_page_works_in_a_real_browser() {
    let Some(browser) = Browser::find().await else {
        return;
    };
    // EDGAR played by the fake over the repository's small mirror (SLXH's 10-K), so an
    // analysis requested on the Filings page is fetched, split and analysed by the pumps.
    let mirror = tempfile::tempdir().expect("mirror dir");
    let mirrored = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/edgar-mirror.sh"))
        .arg(mirror.path())
        .status()
        .expect("scripts/edgar-mirror.sh");
    assert!(mirrored.success(), "scripts/edgar-mirror.sh failed");
    let edgar = sluice_fakes::edgar::start(sluice_fakes::edgar::FakeEdgarConfig::new(mirror.path()))
        .await
        .expect("fake EDGAR");
    let s = EventsStack::start(
        sluice_core::ConfigSource::default()
            .with("EDGAR_USER_AGENT", "Sluice Tests tests@sluice.invalid")
            .with("EDGAR_WWW_BASE_URL", &edgar.base_url)
            .with("EDGAR_DATA_BASE_URL", &edgar.base_url)
            .with("EDGAR_BACKOFF_MS", "20"),
    )
    .await;
    // The event sources run as the runner runs them, until the test ends.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pumps: Vec<_> = s
        .stack
        .functions
        .event_sources(&s.stack.resources, &s.stack.clients, 1)
        .into_iter()
        .map(|source| tokio::spawn(source.run(stopped.clone())))
        .collect();
    // A customer's complaint, triaged by the pumps into a ticket on the Feedback board.
    let complaint = Envelope::new(
        Producer::IngestValidator,
        CorrelationId::new(),
        Payload::FeedbackReceived(FeedbackReceived {
            source: FeedbackSource::Standard,
            external_id: "web-1".into(),
            revision: "1".into(),
            author: Some("customer@example.com".into()),
            rating: None,
            subject: Some("Export broken".into()),
            text: "The CSV export crashes every time since the update; we cannot send our report.".into(),
            language: None,
            received_at: chrono::Utc::now(),
            link: None,
        }),
    );
    s.stack
        .clients
        .sqs
        .send_message()
        .queue_url(&s.stack.resources.feedback.url)
        .message_body(complaint.to_json())
        .message_group_id(complaint.fifo_group_id())
        .message_deduplication_id(complaint.deduplication_id())
        .send()
        .await
        .expect("feedback queued");
    // A team document under knowledge/, indexed by the pumps before the browser asks.
    s.stack
        .upload(
            "knowledge/notes/lisbon.md",
            "# Lisbon office\n\nThe Lisbon office opened in March with 42 engineers working on payments.\n",
            &[("title", "Lisbon office note")],
        )
        .await;
    let mut indexed = false;
    for _ in 0..600 {
        let rows = s
            .stack
            .query(
                "SELECT count(*) FROM knowledge_documents
                 WHERE s3_key = 'knowledge/notes/lisbon.md' AND status = 'indexed'",
            )
            .await;
        if rows[0].get::<_, i64>(0) > 0 {
            indexed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(indexed, "the knowledge document was not indexed");
    // Tickers Sluice follows, for the watchlist made on the Market page.
    s.stack
        .query("INSERT INTO tickers (ticker, name) VALUES ('AAPL', 'Apple Inc.'), ('MSFT', 'Microsoft Corp.') ON CONFLICT DO NOTHING")
        .await;
    let screenshots = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"))
        .join("web-app-screenshots");
    let mut child = browser.run(
        "web-app.mjs",
        &[
            ("PAGE_URL", format!("{}/", s.url)),
            ("USER_ID", "web-ana".into()),
            // Enterprise: every fiscal year is in its history, so the fixture's filing
            // stays requestable whatever today's date is.
            ("TIER", "enterprise".into()),
            ("FILING", "SLXH 10-K 2025 risk_factors".into()),
            ("KPI_CSV", KPI_CSV.into()),
            ("ASK_QUESTION", "how many engineers in the Lisbon office".into()),
            ("SCREENSHOTS", screenshots.display().to_string()),
        ],
    );
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Some(line) = lines.next_line().await.expect("read node's output") {
        eprintln!("{line}");
        if let Some((what, rest)) = line.split_once(' ') {
            seen.entry(what.to_owned()).or_default().push(rest.to_owned());
        }
    }
    let status = child.wait().await.expect("node");
    let _ = stop.send(true);
    for pump in pumps {
        let _ = pump.await;
    }
    assert!(
        status.success(),
        "the browser run failed (its stderr says where): {seen:?}"
    );
    let one = |what: &str| seen.get(what).and_then(|v| v.first()).cloned().unwrap_or_default();

    // The Account page shows GET /v1/me: the tier chosen at sign-in and the tier's credits.
    let me = one("ME");
    assert!(me.starts_with("enterprise $"), "{me}");

    // The upload went from the page to S3 and through the pipeline, followed live.
    let upload = one("UPLOAD");
    assert!(upload.starts_with("loaded "), "{upload}");
    assert!(
        upload.contains("loaded (partial): 3 inserted") && upload.contains("1 rejected"),
        "{upload}"
    );
    let rows = s
        .stack
        .query("SELECT status, imported_by, s3_path FROM data_versions ORDER BY version_id")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), "partial");
    // The presigned PUT carried the uploader, as the signature required.
    assert_eq!(rows[0].get::<_, Option<&str>>(1), Some("web-ana"));
    assert!(rows[0].get::<_, &str>(2).ends_with("uploads/kpis/web-kpis.csv"));
    let kpis = s.stack.query("SELECT count(*) FROM kpis").await;
    assert_eq!(kpis[0].get::<_, i64>(0), 3);
    // The rejects link of the page downloads the rejected row with its reason.
    let rejects = one("REJECTS");
    assert!(rejects.starts_with("200 ") && rejects.contains("reason"), "{rejects}");

    // The KPI chart is drawn with the three loaded points (two actual, one budget), and
    // the variance table has the two dates.
    assert_eq!(one("CHART"), "3");
    assert_eq!(one("BUDGET"), "2");

    // The analysis requested on the Filings page was fetched from (fake) EDGAR, analysed
    // and shown once its task completed, followed live.
    let analysis = one("ANALYSIS");
    assert!(analysis.starts_with("completed "), "{analysis}");
    let tasks = s
        .stack
        .query("SELECT status FROM tasks WHERE user_id = 'web-ana'")
        .await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].get::<_, &str>(0), "completed");
    assert!(edgar.stats.total() > 0, "the filing was not fetched from EDGAR");

    // The ticket's status changed on the board is stored, with the user as the actor.
    assert_eq!(one("TICKET"), "in_progress");
    let tickets = s
        .stack
        .query("SELECT status FROM tickets WHERE external_id = 'web-1'")
        .await;
    assert_eq!(tickets[0].get::<_, &str>(0), "in_progress");

    // The Ask page found the team document's passage and opened its citation.
    let ask = one("ASK");
    assert!(ask.starts_with(|c: char| c.is_ascii_digit() && c != '0'), "{ask}");
    assert!(ask.contains("Lisbon office note"), "{ask}");
    assert!(ask.contains("42 engineers"), "{ask}");

    // The tracker's alert for June's sales under budget reached the Portfolio page live.
    let alert = one("ALERT");
    assert!(alert.starts_with("1 "), "{alert}");
    assert!(
        alert.contains("Acme") && alert.contains("Ventas") && alert.contains("info"),
        "{alert}"
    );
    // A report made from the page covers the one company, with its sentences.
    let report = one("REPORT");
    assert!(report.starts_with("1 ") && report.contains("Acme"), "{report}");
    let reports = s.stack.query("SELECT requested_by FROM portfolio_reports").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].get::<_, &str>(0), "web-ana");

    // The e-mail kind turned off on the Account page is stored as muted.
    assert!(one("NOTIFY").contains("off"), "{}", one("NOTIFY"));
    let muted = s
        .stack
        .query("SELECT muted FROM notification_preferences WHERE user_id = 'web-ana'")
        .await;
    assert_eq!(muted.len(), 1);
    assert_eq!(muted[0].get::<_, Vec<String>>(0), vec!["kpi_alert".to_owned()]);

    // The watchlist made on the Market page, then edited to one ticker, is stored so.
    assert_eq!(one("WATCHLIST"), "AAPL");
    let items = s
        .stack
        .query(
            "SELECT i.ticker FROM watchlists w JOIN watchlist_items i USING (watchlist_id)
             WHERE w.user_id = 'web-ana' AND w.name = 'Tech' ORDER BY i.position",
        )
        .await;
    assert_eq!(
        items.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(),
        ["AAPL"]
    );

    // The chat answered the same question, streamed: no model here, so it says so and
    // gives the document's passage with its citation.
    let chat = one("CHAT");
    assert!(chat.starts_with("done "), "{chat}");
    assert!(!chat.starts_with("done 0 "), "no citation: {chat}");
    assert!(
        chat.contains("Lisbon office note") && chat.contains("42 engineers"),
        "{chat}"
    );
    assert!(chat.contains("No language model"), "{chat}");

    // No serious or critical accessibility violation on any page.
    let axe = seen.get("AXE").cloned().unwrap_or_default();
    assert_eq!(axe.len(), 9, "sign-in and eight pages: {axe:?}");
    for page in &axe {
        assert!(page.ends_with(" ok"), "{page}");
    }
    // Usable 375 px wide: nothing wider than the window.
    for narrow in seen.get("NARROW").cloned().unwrap_or_default() {
        let width: u32 = narrow
            .rsplit(' ')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or(u32::MAX);
        assert!(width <= 375, "{narrow}");
    }
}

/// Signed in through Cognito (the page's `auth.mode` as in AWS, Cognito's token endpoint
/// played on the page's origin): an expired id token is refreshed before the first call, an
/// id token the API refuses is refreshed and the call retried, and a refused refresh token
/// ends the session with a sign-in screen that says so.
#[tokio::test]
async fn a_cognito_session_outlives_its_id_token() {
    let Some(browser) = Browser::find().await else {
        return;
    };
    let s = EventsStack::start(sluice_core::ConfigSource::default()).await;
    let mut child = browser.run(
        "cognito-refresh.mjs",
        &[("PAGE_URL", format!("{}/", s.url)), ("USER_ID", "refresh-ana".into())],
    );
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Some(line) = lines.next_line().await.expect("read node's output") {
        eprintln!("{line}");
        if let Some((what, rest)) = line.split_once(' ') {
            seen.entry(what.to_owned()).or_default().push(rest.to_owned());
        }
    }
    let status = child.wait().await.expect("node");
    assert!(
        status.success(),
        "the browser run failed (its stderr says where): {seen:?}"
    );
    let one = |what: &str| seen.get(what).and_then(|v| v.first()).cloned().unwrap_or_default();
    // Each case asked Cognito once, with the refresh_token grant of the app's client.
    assert_eq!(
        seen.get("TOKEN").cloned().unwrap_or_default(),
        vec!["refresh_token web-client refresh-1".to_owned(); 3]
    );
    assert_eq!(one("EXPIRED"), "professional");
    assert_eq!(one("REJECTED"), "professional");
    assert!(one("REVOKED").contains("Your session ended"), "{}", one("REVOKED"));
}
