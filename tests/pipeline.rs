//! The first pipeline end to end: a CSV put in S3 becomes an S3 notification on
//! the uploads queue, ingest-validator checks it and queues it on the ETL FIFO
//! queue, etl-transformer loads it into PostgreSQL and announces it on SNS. Every
//! hop is the real handler against moto and PostgreSQL through the real SDK.

use sluice_core::ConfigSource;
use sluice_messages::{Envelope, LoadStatus, Payload, UploadVerdict};
use sluice_tests::TestStack;

const MESSY_KPIS: &str = "\u{feff}Fondo;Empresa;Fecha;Cuarto;Tipo;Indicador;Unidad;Valor\r\n\
Fondo I;Acme;31/03/2026;Q1;Real;Ventas;EUR;1.234,50\r\n\
Fondo I;Acme;31/03/2026;Q1;Real;EBITDA;EUR;(120,00)\r\n\
\r\n\
Fondo I;Beta Labs;15 de marzo de 2026;Q1;Presupuesto;Ventas;€;2.000\r\n\
Fondo I;Gamma;31/02/2026;Q1;Real;Ventas;EUR;abc\r\n\
Fondo I;Acme;2026-03-31;Q1;Real;Ventas;EUR;1.300,00\r\n\
;;;;;;;\r\n\
Fondo I;;30/06/2026;Q2;Real;Ventas;EUR;5\r\n\
Fondo I;\"Delta\r\nRobotics\";30/06/2026;Q2;;Margen;%;12,5%\r\n";

fn kpi_rows(rows: Vec<tokio_postgres::Row>) -> Vec<(String, String, Option<String>, String, String, i32)> {
    rows.into_iter()
        .map(|r| {
            (
                r.get(0),
                r.get::<_, chrono::NaiveDate>(1).to_string(),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
            )
        })
        .collect()
}

const KPIS_SQL: &str =
    "SELECT empresa, fecha, tipo, indicador, valor::text, version FROM kpis ORDER BY empresa, fecha, indicador";

#[tokio::test]
async fn a_messy_kpi_csv_becomes_rows_rejects_a_report_and_an_event() {
    let stack = TestStack::start().await;
    stack
        .upload(
            "uploads/kpis/KPIs Q1 2026.csv",
            MESSY_KPIS,
            &[("uploaded-by", "ana@fund.example")],
        )
        .await;
    stack.settle().await;

    let rows = kpi_rows(stack.query(KPIS_SQL).await);
    assert_eq!(
        rows,
        vec![
            (
                "Acme".into(),
                "2026-03-31".into(),
                Some("Real".into()),
                "EBITDA".into(),
                "-120".into(),
                1
            ),
            // The later row of the same key wins (1.300,00 over 1.234,50).
            (
                "Acme".into(),
                "2026-03-31".into(),
                Some("Real".into()),
                "Ventas".into(),
                "1300".into(),
                1
            ),
            (
                "Beta Labs".into(),
                "2026-03-15".into(),
                Some("Presupuesto".into()),
                "Ventas".into(),
                "2000".into(),
                1
            ),
            (
                "Delta\r\nRobotics".into(),
                "2026-06-30".into(),
                None,
                "Margen".into(),
                "12.5".into(),
                1
            ),
        ]
    );

    let v = &stack
        .query(
            "SELECT status, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rows_stale, rows_superseded,
                    imported_by, file_name, rejects_key, change_report_key FROM data_versions",
        )
        .await[0];
    assert_eq!(v.get::<_, &str>(0), "partial");
    let counts: Vec<i32> = (1..=6).map(|i| v.get(i)).collect();
    assert_eq!(counts, [4, 0, 0, 2, 0, 1]);
    assert_eq!(v.get::<_, &str>(7), "ana@fund.example");
    assert_eq!(v.get::<_, &str>(8), "KPIs Q1 2026.csv");

    // The rejects file names each bad row (by its line in the file), column, value and reason.
    let rejects_key: String = v.get(9);
    let rejects = String::from_utf8(stack.get_object(&rejects_key).await.expect("rejects file")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "row,column,value,reason");
    assert!(lines.iter().any(|l| l.starts_with("6,Fecha,31/02/2026,")), "{rejects}");
    assert!(lines.iter().any(|l| l.starts_with("6,Valor,abc,")), "{rejects}");
    assert!(
        lines.iter().any(|l| l.starts_with("9,Empresa,,required value missing")),
        "{rejects}"
    );
    assert_eq!(lines.len(), 4, "{rejects}");

    let report: serde_json::Value =
        serde_json::from_slice(&stack.get_object(v.get::<_, &str>(10)).await.expect("change report")).unwrap();
    assert_eq!(report["counts"]["inserted"], 4);
    assert_eq!(report["superseded_rows"], serde_json::json!([2]));

    // Two announcements: the upload was checked and queued, then it loaded.
    let events = stack.published().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(verdicts(&events), [UploadVerdict::Queued], "{events:?}");
    let Some(Payload::DatasetLoaded(loaded)) = events
        .iter()
        .map(|e| &e.payload)
        .find(|p| matches!(p, Payload::DatasetLoaded(_)))
    else {
        panic!("{events:?}")
    };
    assert_eq!(loaded.status, LoadStatus::Partial);
    assert_eq!(
        (loaded.counts.inserted, loaded.counts.rejected, loaded.counts.superseded),
        (4, 2, 1)
    );
    assert_eq!(loaded.rejects_key.as_deref(), Some(rejects_key.as_str()));
    assert_eq!(loaded.uploaded_by.as_deref(), Some("ana@fund.example"));
}

#[tokio::test]
async fn the_same_file_again_changes_nothing_and_a_redelivery_changes_nothing() {
    let stack = TestStack::start().await;
    stack.upload("uploads/kpis/q1.csv", MESSY_KPIS, &[]).await;
    stack.settle().await;
    let before = stack
        .query("SELECT kpi_id, version, updated_at::text FROM kpis ORDER BY kpi_id")
        .await;
    assert_eq!(stack.published().await.len(), 2, "checked, then loaded");

    // The same bytes under another name: recorded as a duplicate, not loaded again.
    stack.upload("uploads/kpis/q1 (copy).csv", MESSY_KPIS, &[]).await;
    stack.settle().await;
    let versions = stack
        .query("SELECT status, duplicate_of FROM data_versions ORDER BY version_id")
        .await;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].get::<_, &str>(0), "duplicate");
    assert_eq!(versions[1].get::<_, Option<i64>>(1), Some(1));
    assert_eq!(stack.queue_depth(&stack.resources.etl.url).await, 0);

    // The ETL message delivered again (SQS only deduplicates for 5 minutes).
    let load = sluice_messages::DatasetUploaded {
        data_version_id: sluice_messages::DataVersionId(1),
        dataset: sluice_messages::Dataset::Kpis,
        bucket: stack.resources.bucket.clone(),
        key: "uploads/kpis/q1.csv".into(),
        version_id: None,
        etag: String::new(),
        size_bytes: MESSY_KPIS.len() as u64,
        checksum: sluice_messages::Sha256Digest::parse(
            &stack
                .query("SELECT checksum FROM data_versions WHERE version_id = 1")
                .await[0]
                .get::<_, String>(0),
        )
        .unwrap(),
        source_modified_at: chrono::Utc::now(),
        uploaded_by: None,
        column_map: Default::default(),
        date_order: None,
    };
    let outcome = stack
        .functions
        .etl
        .load(&load, &sluice_messages::CorrelationId::new())
        .await
        .unwrap();
    assert_eq!(outcome, etl_transformer::LoadOutcome::AlreadyLoaded);

    let after = stack
        .query("SELECT kpi_id, version, updated_at::text FROM kpis ORDER BY kpi_id")
        .await;
    let snapshot = |rows: &[tokio_postgres::Row]| -> Vec<(i64, i32, String)> {
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
    };
    assert_eq!(snapshot(&before), snapshot(&after));
    // The only news is the copy's verdict: a duplicate; nothing loaded again.
    let events = stack.published().await;
    assert_eq!(verdicts(&events), [UploadVerdict::Duplicate], "{events:?}");
    assert_eq!(events.len(), 1, "{events:?}");
}

#[tokio::test]
async fn an_edited_file_updates_exactly_the_edited_rows() {
    let stack = TestStack::start().await;
    let v1 = "empresa,fecha,tipo,indicador,valor\nAcme,2026-03-31,Real,Ventas,100\nAcme,2026-03-31,Real,EBITDA,10\nBeta,2026-03-31,Real,Ventas,50\n";
    let v2 = "empresa,fecha,tipo,indicador,valor\nAcme,2026-03-31,Real,Ventas,100\nAcme,2026-03-31,Real,EBITDA,12\nBeta,2026-03-31,Real,Ventas,50\nBeta,2026-06-30,Real,Ventas,70\n";
    stack.upload("uploads/kpis/kpis.csv", v1, &[]).await;
    stack.settle().await;
    stack.upload("uploads/kpis/kpis.csv", v2, &[]).await;
    stack.settle().await;

    let rows = kpi_rows(stack.query(KPIS_SQL).await);
    let versions: Vec<(String, String, i32)> = rows.iter().map(|r| (r.0.clone(), r.3.clone(), r.5)).collect();
    assert_eq!(
        versions,
        vec![
            ("Acme".into(), "EBITDA".into(), 2),
            ("Acme".into(), "Ventas".into(), 1),
            ("Beta".into(), "Ventas".into(), 1),
            ("Beta".into(), "Ventas".into(), 1),
        ]
    );
    let v = &stack
        .query("SELECT status, rows_inserted, rows_updated, rows_unchanged, change_report_key FROM data_versions ORDER BY version_id DESC LIMIT 1")
        .await[0];
    assert_eq!(v.get::<_, &str>(0), "success");
    assert_eq!((v.get::<_, i32>(1), v.get::<_, i32>(2), v.get::<_, i32>(3)), (1, 1, 2));
    let report: serde_json::Value =
        serde_json::from_slice(&stack.get_object(v.get::<_, &str>(4)).await.unwrap()).unwrap();
    assert_eq!(report["changes"].as_array().map(Vec::len), Some(1));
    // Decimals are exact text in the report (a JSON number would be read as a double).
    assert_eq!(report["changes"][0]["before"]["valor"], "10");
    assert_eq!(report["changes"][0]["after"]["valor"], "12");
}

#[tokio::test]
async fn an_older_file_never_overwrites_a_row_written_by_a_newer_one() {
    let stack = TestStack::start().await;
    let newer = "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,200\nBeta,2026-03-31,Ventas,50\n";
    stack.upload("uploads/kpis/newer.csv", newer, &[]).await;
    stack.settle().await;

    // Someone's older copy arrives later: check it, then load it as of a time before the newer file.
    let older = "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,150\nBeta,2026-03-31,Ventas,50\nGamma,2026-03-31,Ventas,9\n";
    stack.upload("uploads/kpis/older.csv", older, &[]).await;
    let ingest = &stack.sources()[0];
    ingest.poll_once().await.unwrap();
    let queued = stack.take_messages(&stack.resources.etl.url).await;
    let envelope = sluice_messages::Envelope::from_json(queued[0].body().unwrap()).unwrap();
    let Payload::DatasetUploaded(mut upload) = envelope.payload else {
        panic!()
    };
    upload.source_modified_at -= chrono::Duration::hours(1);
    let outcome = stack
        .functions
        .etl
        .load(&upload, &envelope.correlation_id)
        .await
        .unwrap();
    let etl_transformer::LoadOutcome::Loaded { counts, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (counts.stale, counts.unchanged, counts.inserted, counts.updated),
        (1, 1, 1, 0)
    );

    let acme = stack
        .query("SELECT valor::text, version FROM kpis WHERE empresa = 'Acme'")
        .await;
    assert_eq!(
        (acme[0].get::<_, String>(0), acme[0].get::<_, i32>(1)),
        ("200".into(), 1)
    );
}

#[tokio::test]
async fn a_load_that_fails_midway_leaves_the_tables_as_they_were() {
    let stack = TestStack::start().await;
    stack
        .upload(
            "uploads/kpis/v1.csv",
            "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,100\n",
            &[],
        )
        .await;
    stack.settle().await;
    let snapshot = || async {
        stack
            .query("SELECT string_agg(kpis::text, '|' ORDER BY kpi_id) FROM kpis")
            .await
            .into_iter()
            .map(|r| r.get::<_, Option<String>>(0))
            .collect::<Vec<_>>()
    };
    let before = snapshot().await;

    // PostgreSQL fails the upsert part-way through the second file's rows.
    stack
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.empresa = 'Boom' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON kpis FOR EACH ROW EXECUTE FUNCTION boom();",
        )
        .await
        .unwrap();
    let v2 = "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,111\nBeta,2026-03-31,Ventas,5\nBoom,2026-03-31,Ventas,1\nZeta,2026-03-31,Ventas,2\n";
    stack.upload("uploads/kpis/v2.csv", v2, &[]).await;
    let sources = stack.sources();
    sources[0].poll_once().await.unwrap();
    let attempt = sources[1].poll_once().await.unwrap();
    assert_eq!(
        (attempt.received, attempt.failed),
        (1, 1),
        "the load fails and is left for a retry"
    );

    assert_eq!(snapshot().await, before, "no row of the failed load is visible");
    let status = stack
        .query("SELECT status FROM data_versions ORDER BY version_id DESC LIMIT 1")
        .await;
    assert_eq!(status[0].get::<_, &str>(0), "pending");
    assert!(
        stack
            .published()
            .await
            .iter()
            .all(|e| !matches!(&e.payload, Payload::DatasetLoaded(l) if l.data_version_id.0 != 1)),
        "the failed load announces nothing"
    );

    // Fixed, the retried message loads the whole file once.
    stack
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute("DROP TRIGGER boom ON kpis")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    stack.settle().await;
    let loaded = stack
        .query("SELECT status, rows_inserted, rows_updated FROM data_versions ORDER BY version_id DESC LIMIT 1")
        .await;
    assert_eq!(loaded[0].get::<_, &str>(0), "success");
    assert_eq!((loaded[0].get::<_, i32>(1), loaded[0].get::<_, i32>(2)), (3, 1));
}

#[tokio::test]
async fn a_refused_file_is_recorded_with_its_reason_and_nothing_is_queued() {
    let stack = TestStack::start_with(ConfigSource::from_pairs([("MAX_UPLOAD_BYTES", "200")])).await;
    stack
        .upload(
            "uploads/kpis/no-dates.csv",
            "empresa,indicador,valor\nAcme,Ventas,1\n",
            &[],
        )
        .await;
    stack
        .upload("uploads/prices/aapl.csv", "ticker,close\nAAPL,1\n", &[])
        .await;
    stack
        .upload(
            "uploads/kpis/big.csv",
            format!(
                "empresa,fecha,indicador,valor\n{}",
                "Acme,2026-01-31,Ventas,1\n".repeat(20)
            ),
            &[],
        )
        .await;
    stack
        .upload(
            "uploads/kpis/book.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00binary".to_vec(),
            &[],
        )
        .await;
    stack.settle().await;

    let rows = stack
        .query("SELECT file_name, status, failure_reason FROM data_versions ORDER BY file_name")
        .await;
    let refused: Vec<(String, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused.iter().all(|(_, status, _)| status == "failed"), "{refused:?}");
    let reason = |file: &str| {
        refused
            .iter()
            .find(|r| r.0 == file)
            .map(|r| r.2.clone())
            .unwrap_or_default()
    };
    assert!(reason("no-dates.csv").contains("fecha"), "{}", reason("no-dates.csv"));
    assert!(reason("aapl.csv").contains("prices"), "{}", reason("aapl.csv"));
    assert!(reason("big.csv").contains("limit"), "{}", reason("big.csv"));
    assert!(
        reason("book.xlsx").to_lowercase().contains("unreadable"),
        "{}",
        reason("book.xlsx")
    );
    assert_eq!(stack.queue_depth(&stack.resources.etl.url).await, 0);
    assert_eq!(stack.query("SELECT count(*) FROM kpis").await[0].get::<_, i64>(0), 0);
    // Each refusal is announced (the uploader sees why); nothing is loaded.
    let events = stack.published().await;
    assert_eq!(verdicts(&events), [UploadVerdict::Refused; 4], "{events:?}");
    assert_eq!(events.len(), 4, "{events:?}");
}

#[tokio::test]
async fn a_file_with_an_unclosed_quote_fails_with_its_reason_and_the_next_upload_loads() {
    let stack = TestStack::start().await;
    // A good row, then a quote that never closes: the rest of the file (3 MiB of line
    // breaks) would be one record, held whole in memory.
    let mut poison = b"empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,100\n\"".to_vec();
    poison.extend(std::iter::repeat_n(b'\n', 3 * 1024 * 1024));
    stack.upload("uploads/kpis/poison.csv", poison, &[]).await;
    stack.settle().await;

    let v = stack
        .query("SELECT status, failure_reason, rows_inserted FROM data_versions ORDER BY version_id")
        .await;
    assert_eq!(v.len(), 1);
    let reason: String = v[0].get(1);
    assert_eq!(v[0].get::<_, &str>(0), "failed", "{reason}");
    assert!(
        reason.contains("line 3 is longer than 1 MiB") && reason.contains("quote"),
        "{reason}"
    );
    assert_eq!(stack.query("SELECT count(*) FROM kpis").await[0].get::<_, i64>(0), 0);
    // A terminal outcome: no retries, nothing for the dead-letter queue, the failure announced.
    assert_eq!(stack.queue_depth(&stack.resources.etl.url).await, 0);
    assert_eq!(stack.queue_depth(&stack.resources.etl.dlq_url).await, 0);
    let failed = stack.published().await;
    assert!(
        failed.iter().any(|e| matches!(&e.payload,
            Payload::DatasetLoaded(l) if l.status == LoadStatus::Failed && l.failure_reason.as_deref() == Some(reason.as_str()))),
        "{failed:?}"
    );

    // The dataset is not blocked: the next upload loads.
    stack
        .upload(
            "uploads/kpis/fixed.csv",
            "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,100\n",
            &[],
        )
        .await;
    stack.settle().await;
    let v = stack
        .query("SELECT status, rows_inserted FROM data_versions ORDER BY version_id DESC LIMIT 1")
        .await;
    assert_eq!((v[0].get::<_, &str>(0), v[0].get::<_, i32>(1)), ("success", 1));
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dlq_with_its_reason() {
    let stack = TestStack::start().await;
    stack
        .clients
        .sqs
        .send_message()
        .queue_url(&stack.resources.etl.url)
        .message_body("{\"schema_version\": 1, \"not\": \"an envelope\"}")
        .message_group_id("kpis")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .unwrap();
    stack.settle().await;
    assert_eq!(stack.queue_depth(&stack.resources.etl.url).await, 0);
    let dead = stack.take_messages(&stack.resources.etl.dlq_url).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]
        .message_attributes()
        .and_then(|a| a.get("sluice-failure-reason"))
        .and_then(|v| v.string_value())
        .unwrap_or_default();
    assert!(reason.contains("not a DatasetUploaded"), "{reason}");
    assert_eq!(
        dead[0].body(),
        Some("{\"schema_version\": 1, \"not\": \"an envelope\"}")
    );
}

/// The verdicts among announced events, in order.
fn verdicts(events: &[Envelope]) -> Vec<UploadVerdict> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::UploadChecked(c) => Some(c.verdict),
            _ => None,
        })
        .collect()
}
