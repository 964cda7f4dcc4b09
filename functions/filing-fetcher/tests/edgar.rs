//! The EDGAR client against the fake EDGAR serving a temporary mirror built by
//! `scripts/edgar-mirror.sh`: the fictional company always, Apple and Tesla when
//! the recorded SEC fixtures sit beside the checkout (tests about them skip otherwise).

use filing_fetcher::edgar::{
    find_ticker, parse_company_tickers, parse_submissions, parse_submissions_page, select_filing, BaseUrl, EdgarClient,
    EdgarConfig, EdgarError, UserAgent,
};
use sluice_core::ConfigSource;
use sluice_fakes::edgar::{start, FakeEdgar, FakeEdgarConfig};
use sluice_messages::{AccessionNumber, Cik, FilingSelector, FilingType, Ticker};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const UA: &str = "Sluice Research ops@example.com";
const SLXH_CIK: &str = "0009999999";
const SLXH_10K: &str = "0009999999-26-000004";
const SLXH_10Q: &str = "0009999999-26-000021";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> Option<PathBuf> {
    let dir = root().join("../shared/fixtures/sec");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: no SEC fixtures at {}", dir.display());
        None
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

struct Env {
    _dir: tempfile::TempDir,
    mirror: PathBuf,
    fake: FakeEdgar,
}

/// A fresh mirror and a fake serving it.
async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    let built = Command::new("bash")
        .arg(root().join("scripts/edgar-mirror.sh"))
        .arg(&mirror)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        println!("edgar-mirror.sh did not run; copying data/edgar-mirror only");
        copy_dir(&root().join("data/edgar-mirror"), &mirror);
    }
    let fake = start(FakeEdgarConfig::new(&mirror)).await.unwrap();
    Env {
        _dir: dir,
        mirror,
        fake,
    }
}

fn config(fake: &FakeEdgar) -> EdgarConfig {
    let mut c = EdgarConfig::new(UserAgent::parse(UA).unwrap()).with_base_url(BaseUrl::parse(&fake.base_url).unwrap());
    c.backoff_base = Duration::from_millis(10);
    c.timeout = Duration::from_secs(10);
    c
}

fn client(fake: &FakeEdgar) -> EdgarClient {
    EdgarClient::new(config(fake)).unwrap()
}

fn cik(raw: &str) -> Cik {
    Cik::parse(raw).unwrap()
}

fn accession(raw: &str) -> AccessionNumber {
    AccessionNumber::parse(raw).unwrap()
}

#[tokio::test]
async fn resolves_tickers_to_ciks() {
    let env = env().await;
    let edgar = client(&env.fake);
    let slxh = edgar.resolve_ticker(&Ticker::parse("slxh").unwrap()).await.unwrap();
    assert_eq!(slxh.cik.as_str(), SLXH_CIK);
    assert_eq!(slxh.title, "Sluice Example Holdings, Inc.");
    let missing = edgar.resolve_ticker(&Ticker::parse("ZZZZZ").unwrap()).await;
    assert!(matches!(missing, Err(EdgarError::NotFound { .. })), "{missing:?}");
    if fixtures().is_some() {
        let all = edgar.company_tickers().await.unwrap();
        assert!(all.len() > 9_000, "{}", all.len());
        let aapl = find_ticker(&all, &Ticker::parse("AAPL").unwrap()).unwrap();
        assert_eq!(aapl.cik.as_str(), "0000320193");
    }
    // Every request declared the configured User-Agent and accepted compression.
    let agents = env.fake.stats.user_agents();
    assert!(!agents.is_empty());
    assert!(agents.iter().all(|a| a.as_deref() == Some(UA)), "{agents:?}");
    for enc in env.fake.stats.accept_encodings() {
        let enc = enc.unwrap_or_default();
        assert!(enc.contains("gzip") && enc.contains("deflate"), "{enc}");
    }
}

#[tokio::test]
async fn the_fictional_company_s_filings_are_found_and_downloaded() {
    let env = env().await;
    let edgar = client(&env.fake);
    let slxh = cik(SLXH_CIK);
    let subs = edgar.submissions(&slxh).await.unwrap();
    assert_eq!(subs.name, "Sluice Example Holdings, Inc.");
    assert_eq!(subs.tickers, ["SLXH"]);
    assert_eq!((subs.filings.len(), subs.skipped_rows, subs.pages.len()), (2, 0, 0));

    let tenk = subs
        .select(FilingType::TenK, &FilingSelector::FiscalYear(2025))
        .unwrap();
    assert_eq!(tenk.accession.as_str(), SLXH_10K);
    assert_eq!(tenk.primary_document, "slxh-20251231.htm");
    assert!(tenk.inline_xbrl);
    let tenq = select_filing(&subs.filings, FilingType::TenQ, &FilingSelector::FiscalYear(2026)).unwrap();
    assert_eq!(tenq.accession.as_str(), SLXH_10Q);
    assert!(subs
        .select(FilingType::TenK, &FilingSelector::FiscalYear(2026))
        .is_none());
    let by_acc = FilingSelector::Accession(accession(SLXH_10Q));
    assert!(
        subs.select(FilingType::TenK, &by_acc).is_none(),
        "the form must match too"
    );

    for (entry, folder) in [(tenk, "000999999926000004"), (tenq, "000999999926000021")] {
        let body = edgar
            .document(&slxh, &entry.accession, &entry.primary_document)
            .await
            .unwrap();
        let path = env.mirror.join(format!(
            "Archives/edgar/data/9999999/{folder}/{}",
            entry.primary_document
        ));
        assert_eq!(body.as_ref(), std::fs::read(path).unwrap().as_slice());
    }
    let path = "/Archives/edgar/data/9999999/000999999926000004/slxh-20251231.htm";
    assert_eq!(env.fake.stats.requests_to(path), 1);
}

#[tokio::test]
async fn apple_pages_are_loaded_only_when_needed() {
    let Some(fx) = fixtures() else { return };
    let env = env().await;
    let edgar = client(&env.fake);
    let apple = cik("320193");
    let page = "/submissions/CIK0000320193-submissions-001.json";

    let found = edgar
        .find_filing(&apple, FilingType::TenK, &FilingSelector::FiscalYear(2024))
        .await
        .unwrap();
    let tenk = found.filing.unwrap();
    assert_eq!(tenk.accession.as_str(), "0000320193-24-000123");
    assert_eq!(tenk.primary_document, "aapl-20240928.htm");
    assert_eq!(found.submissions.pending_pages().len(), 1);
    assert_eq!(env.fake.stats.requests_to(page), 0, "recent had it: no page fetched");

    let by_acc = FilingSelector::Accession(accession("0000320193-25-000073"));
    let tenq = edgar
        .find_filing(&apple, FilingType::TenQ, &by_acc)
        .await
        .unwrap()
        .filing
        .unwrap();
    assert_eq!(tenq.primary_document, "aapl-20250628.htm");

    // An old filing is looked for in the older page, which the mirror lacks.
    let old = edgar
        .find_filing(&apple, FilingType::TenK, &FilingSelector::FiscalYear(2005))
        .await;
    assert!(matches!(old, Err(EdgarError::NotFound { .. })), "{old:?}");
    assert_eq!(env.fake.stats.requests_to(page), 1);
    let all = edgar.submissions(&apple).await;
    assert!(
        matches!(all, Err(EdgarError::NotFound { ref what }) if what.contains("submissions-001")),
        "{all:?}"
    );

    for (entry, file) in [
        (&tenk, "aapl-10-k-2024-11-01.html"),
        (&tenq, "aapl-10-q-2025-08-01.html"),
    ] {
        let body = edgar
            .document(&apple, &entry.accession, &entry.primary_document)
            .await
            .unwrap();
        assert_eq!(
            body.as_ref(),
            std::fs::read(fx.join("filings").join(file)).unwrap().as_slice()
        );
    }
}

#[tokio::test]
async fn tesla_s_page_is_merged() {
    let Some(fx) = fixtures() else { return };
    let env = env().await;
    let edgar = client(&env.fake);
    let main = parse_submissions(&std::fs::read(fx.join("submissions_CIK0001318605_tesla.json")).unwrap()).unwrap();
    let page = parse_submissions_page(
        &std::fs::read(fx.join("submissions_CIK0001318605-submissions-001_tesla_page.json")).unwrap(),
    )
    .unwrap();
    let all = edgar.submissions(&cik("1318605")).await.unwrap();
    assert_eq!(all.filings.len(), main.filings.len() + page.filings.len());
    assert_eq!(all.filings.len() + all.skipped_rows, 1000 + 720);
    assert_eq!((all.pages_loaded, all.pending_pages().len()), (1, 0));
    assert_eq!(
        env.fake
            .stats
            .requests_to("/submissions/CIK0001318605-submissions-001.json"),
        1
    );
    // Tesla's amended 10-Ks are never chosen by fiscal year.
    let fy2021 = all.select(FilingType::TenK, &FilingSelector::FiscalYear(2021)).unwrap();
    assert_eq!(fy2021.form, "10-K");
    // The page's 10-Ks are found too (fiscal 2012 is only in the page).
    let fy2012 = all.select(FilingType::TenK, &FilingSelector::FiscalYear(2012)).unwrap();
    assert!(page.filings.iter().any(|f| f.accession == fy2012.accession));
}

#[tokio::test]
async fn the_fixtures_parse_on_their_own() {
    let Some(fx) = fixtures() else { return };
    let read = |name: &str| std::fs::read(fx.join(name)).unwrap();
    let tickers = parse_company_tickers(&read("company_tickers.json")).unwrap();
    assert!(tickers.len() >= 9_600, "{}", tickers.len());
    let individual = parse_submissions(&read("submissions_CIK0001771340_individual.json")).unwrap();
    assert!(individual.tickers.is_empty());
    assert_eq!(individual.fiscal_year_end, None);
    assert_eq!(individual.filings.len() + individual.skipped_rows, 91);
    assert!(select_filing(&individual.filings, FilingType::TenK, &FilingSelector::FiscalYear(2024)).is_none());
    let apple = parse_submissions(&read("submissions_CIK0000320193_apple.json")).unwrap();
    let fy2024 = select_filing(&apple.filings, FilingType::TenK, &FilingSelector::FiscalYear(2024)).unwrap();
    assert_eq!(fy2024.accession.as_str(), "0000320193-24-000123");
    // Apple's fiscal year ends in September: its quarter ended 2025-12-27 is in fiscal 2026.
    let q = apple
        .select(FilingType::TenQ, &FilingSelector::FiscalYear(2025))
        .unwrap();
    assert_eq!(q.accession.as_str(), "0000320193-25-000073");
    let q = apple
        .select(FilingType::TenQ, &FilingSelector::FiscalYear(2026))
        .unwrap();
    assert_eq!(q.accession.as_str(), "0000320193-26-000006");
    let nosuchkey = String::from_utf8(read("submissions_404_CIK-000000001_NoSuchKey.xml")).unwrap();
    assert!(nosuchkey.contains("<Code>NoSuchKey</Code>"));
    assert!(matches!(
        parse_submissions(nosuchkey.as_bytes()),
        Err(EdgarError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_document_over_the_cap_is_refused() {
    let env = env().await;
    let mut cfg = config(&env.fake);
    cfg.max_document_bytes = 1_000;
    let edgar = EdgarClient::new(cfg).unwrap();
    let (slxh, acc) = (cik(SLXH_CIK), accession(SLXH_10K));
    // Compressed: no useful Content-Length, so the decoded bytes are counted.
    let zipped = edgar.document(&slxh, &acc, "slxh-20251231.htm").await;
    assert!(
        matches!(zipped, Err(EdgarError::TooLarge { limit: 1_000, .. })),
        "{zipped:?}"
    );
    // Plain: refused on Content-Length.
    env.fake.stats.set_gzip(false);
    let plain = edgar.document(&slxh, &acc, "slxh-20251231.htm").await;
    assert!(matches!(plain, Err(EdgarError::TooLarge { .. })), "{plain:?}");
    assert!(!plain.unwrap_err().is_retryable());
    assert_eq!(env.fake.stats.total(), 2, "not retried");
}

#[tokio::test]
async fn throttled_twice_then_served() {
    let env = env().await;
    let edgar = client(&env.fake);
    env.fake.stats.throttle_next(2);
    let subs = edgar.submissions_recent(&cik(SLXH_CIK)).await.unwrap();
    assert_eq!(subs.filings.len(), 2);
    assert_eq!((env.fake.stats.total(), env.fake.stats.throttled()), (3, 2));
}

#[tokio::test]
async fn persistent_503_is_a_retryable_error_after_max_attempts() {
    let env = env().await;
    let mut cfg = config(&env.fake);
    cfg.max_attempts = 3;
    let edgar = EdgarClient::new(cfg).unwrap();
    env.fake.stats.fail_next(u32::MAX);
    let err = edgar.company_tickers().await.unwrap_err();
    assert!(matches!(err, EdgarError::Unavailable { attempts: 3, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(env.fake.stats.total(), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retryable() {
    let env = env().await;
    let mut cfg = config(&env.fake);
    cfg.max_attempts = 2;
    cfg.timeout = Duration::from_millis(200);
    let edgar = EdgarClient::new(cfg).unwrap();
    env.fake.stats.set_delay(Some(Duration::from_secs(2)));
    let err = edgar.company_tickers().await.unwrap_err();
    assert!(matches!(err, EdgarError::Timeout { attempts: 2 }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn unknown_cik_and_document_are_not_found() {
    let env = env().await;
    let edgar = client(&env.fake);
    let err = edgar.submissions_recent(&cik("1")).await.unwrap_err();
    assert!(
        matches!(err, EdgarError::NotFound { ref what } if what.contains("CIK0000000001")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let err = edgar
        .document(&cik(SLXH_CIK), &accession(SLXH_10K), "missing.htm")
        .await
        .unwrap_err();
    assert!(matches!(err, EdgarError::NotFound { .. }), "{err:?}");
    assert_eq!(env.fake.stats.total(), 2, "a 404 is not retried");
    // A name from EDGAR's data that is not a plain file name never leaves the client.
    for bad in ["../submissions/CIK0009999999.json", "a/b.htm", ".."] {
        let err = edgar
            .document(&cik(SLXH_CIK), &accession(SLXH_10K), bad)
            .await
            .unwrap_err();
        assert!(matches!(err, EdgarError::InvalidName(_)), "{err:?}");
    }
    assert_eq!(env.fake.stats.total(), 2);
}

#[tokio::test]
async fn a_user_agent_is_required() {
    let env = env().await;
    let base = ConfigSource::from_pairs([("EDGAR_WWW_BASE_URL", env.fake.base_url.as_str())]);
    let err = EdgarConfig::load(&base).unwrap_err().to_string();
    assert!(err.contains("EDGAR_USER_AGENT"), "{err}");
    assert!(EdgarConfig::load(&base.clone().with("EDGAR_USER_AGENT", "sluice-bot/1.0")).is_err());
    let ok = EdgarConfig::load(&base.with("EDGAR_USER_AGENT", UA)).unwrap();
    assert_eq!(ok.user_agent.as_str(), UA);
    // And the fake, like the SEC, refuses a request that declares none.
    let plain = reqwest::Client::new();
    let answer = plain
        .get(format!("{}/files/company_tickers.json", env.fake.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    assert!(answer.text().await.unwrap().contains("Undeclared Automated Tool"));
    assert_eq!(env.fake.stats.forbidden(), 1);
}

#[tokio::test]
async fn forty_requests_never_put_more_than_ten_in_a_second() {
    let env = env().await;
    let edgar = client(&env.fake);
    let slxh = cik(SLXH_CIK);
    let begun = std::time::Instant::now();
    let requests = (0..40).map(|_| {
        let (edgar, slxh) = (edgar.clone(), slxh.clone());
        tokio::spawn(async move { edgar.submissions_recent(&slxh).await.map(|s| s.filings.len()) })
    });
    for done in futures::future::join_all(requests).await {
        assert_eq!(done.unwrap().unwrap(), 2);
    }
    assert_eq!(env.fake.stats.total(), 40);
    // Every request arrives after it started, so the n-th arrival is no earlier than the
    // n-th start, and the limiter lets the n-th start go no earlier than n / 10 seconds
    // in. A slow machine only makes arrivals later: this holds under any load.
    let mut arrivals = env.fake.stats.request_instants();
    arrivals.sort();
    for (n, arrived) in arrivals.iter().enumerate() {
        let earliest = Duration::from_secs((n / 10) as u64);
        let at = arrived.saturating_duration_since(begun);
        assert!(at >= earliest, "request {n} arrived {at:?} in, before {earliest:?}");
    }
}

#[tokio::test]
async fn the_fake_keeps_requests_inside_the_mirror() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = env().await;
    let addr = env.fake.base_url.trim_start_matches("http://").to_owned();
    for path in [
        "/files/../../../etc/passwd",
        "/submissions/..%2f..%2fetc%2fpasswd",
        "/Archives/edgar/data/..\\x",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {UA}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
        assert!(answer.contains("<Code>NoSuchKey</Code>"), "{path}: {answer}");
    }
}
