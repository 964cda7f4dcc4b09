//! Finding 8: every function connects as its own database role (migration 0017), granted
//! only what its code issues. Every TestStack builds each function acting as its role
//! (`Stack::instance`), so the whole integration suite runs under them; these tests pin
//! the refusals that matter and the login the migrator gives each role.

use sluice_core::db::roles::{self, DatabaseRole};
use sluice_core::{db, migrate, Secret};
use sluice_tests::{database_settings, fresh_database, TestStack};

/// The SQLSTATE of `sql` run as `role` in `database`; `None` when it succeeded.
async fn outcome_as(database: &str, role: DatabaseRole, sql: &str) -> Option<String> {
    let settings = database_settings(database).await.acting_as(role);
    let (client, _messages) = db::dedicated(&settings).await.expect("connect acting as the role");
    match client.batch_execute(sql).await {
        Ok(()) => None,
        Err(e) => Some(e.code().map(|c| c.code().to_owned()).unwrap_or_else(|| e.to_string())),
    }
}

const DENIED: Option<&str> = Some("42501");

#[tokio::test]
async fn the_streams_role_reads_events_and_nothing_of_accounts_tickets_or_credits() {
    let (_pool, database) = fresh_database().await;
    for table in [
        "user_accounts",
        "tickets",
        "usage_transactions",
        "tasks",
        "processing_logs",
        "analyses",
        "outbox",
        "processed_messages",
    ] {
        assert_eq!(
            outcome_as(&database, roles::SSE_STREAM, &format!("SELECT count(*) FROM {table}"))
                .await
                .as_deref(),
            DENIED,
            "the stream's role must not read {table}"
        );
    }
    assert_eq!(
        outcome_as(&database, roles::SSE_STREAM, "INSERT INTO events (message_id, user_id, type, payload, correlation_id, producer, occurred_at) VALUES (gen_random_uuid(), 'u', 't', '{}', 'c', 'p', now())")
            .await
            .as_deref(),
        DENIED,
        "the stream only reads events"
    );
    assert_eq!(
        outcome_as(&database, roles::SSE_STREAM, "SELECT count(*) FROM events").await,
        None
    );
    assert_eq!(
        outcome_as(
            &database,
            roles::SSE_STREAM,
            "DELETE FROM stream_leases WHERE false; SELECT count(*) FROM stream_tickets"
        )
        .await,
        None
    );
}

#[tokio::test]
async fn a_role_is_refused_what_its_function_never_does() {
    let (_pool, database) = fresh_database().await;
    let refused = [
        (roles::SSE_NOTIFIER, "SELECT count(*) FROM user_accounts"),
        (roles::INGEST_VALIDATOR, "SELECT count(*) FROM kpis"),
        (roles::ETL_TRANSFORMER, "SELECT count(*) FROM user_accounts"),
        // The fetcher charges a bulk import's filings (insert only): it never rewrites the ledger.
        (roles::FILING_FETCHER, "UPDATE usage_transactions SET amount_micros = 0"),
        (roles::FILING_FETCHER, "DELETE FROM bulk_imports"),
        (
            roles::FILING_FETCHER,
            "INSERT INTO bulk_imports SELECT * FROM bulk_imports",
        ),
        (roles::PRICE_UPDATER, "SELECT count(*) FROM tickets"),
        (roles::LLM_ANALYZER, "SELECT count(*) FROM request_windows"),
        (roles::HTTP_API, "SELECT count(*) FROM stream_tickets"),
        (roles::HTTP_API, "DELETE FROM user_accounts"),
        (roles::HTTP_API, "UPDATE usage_transactions SET amount_micros = 0"),
        (roles::LLM_ANALYZER, "DELETE FROM usage_transactions"),
    ];
    for (role, sql) in refused {
        assert_eq!(
            outcome_as(&database, role, sql).await.as_deref(),
            DENIED,
            "{role} must be refused `{sql}`"
        );
    }
    // No function's role may change the schema.
    for role in roles::ALL {
        assert_eq!(
            outcome_as(&database, role, "CREATE TABLE intruder (x int)")
                .await
                .as_deref(),
            DENIED,
            "{role} must not create tables"
        );
    }
}

const KPIS: &str =
    "Fondo;Empresa;Fecha;Cuarto;Tipo;Indicador;Unidad;Valor\nFondo I;Acme;31/03/2026;Q1;Real;Ventas;EUR;10\n";

#[tokio::test]
async fn an_upload_is_validated_loaded_and_announced_under_the_functions_roles() {
    // ingest, ETL, publisher and notifier each acting as their role (TestStack builds them so).
    let stack = TestStack::start().await;
    stack
        .upload("uploads/kpis/roles.csv", KPIS, &[("uploaded-by", "ana@fund.example")])
        .await;
    stack.settle().await;
    let status = stack.query("SELECT status FROM data_versions").await;
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].get::<_, String>(0), "success");
    assert_eq!(stack.query("SELECT 1 FROM kpis").await.len(), 1);
    assert!(
        !stack.query("SELECT 1 FROM events").await.is_empty(),
        "the load's event is stored"
    );
}

#[tokio::test]
async fn the_functions_really_act_as_their_roles() {
    // Grants belong to one database: taking the ETL's INSERT on kpis away here stops its
    // load, which it would not if it connected as the (superuser) login.
    let stack = TestStack::start().await;
    stack.query("REVOKE INSERT ON kpis FROM sluice_etl_transformer").await;
    stack
        .upload("uploads/kpis/roles.csv", KPIS, &[("uploaded-by", "ana@fund.example")])
        .await;
    stack.settle().await;
    assert!(stack.query("SELECT 1 FROM kpis").await.is_empty());
    assert!(stack
        .query("SELECT 1 FROM data_versions WHERE status = 'success'")
        .await
        .is_empty());
}

#[tokio::test]
async fn the_migrator_gives_a_role_a_login_with_only_a_scram_verifier_stored() {
    let (pool, database) = fresh_database().await;
    let client = pool.get().await.expect("client");
    let password = Secret::new(uuid::Uuid::new_v4().simple().to_string());
    migrate::grant_login(&client, roles::SSE_STREAM, &password)
        .await
        .expect("grant login");
    let row = client
        .query_one(
            "SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = $1",
            &[&roles::SSE_STREAM.name()],
        )
        .await
        .expect("pg_authid");
    assert!(row.get::<_, bool>(0));
    let stored: String = row.get(1);
    assert!(stored.starts_with("SCRAM-SHA-256$"), "{stored}");
    assert!(!stored.contains(password.expose()));

    // The login itself (not a superuser acting as it) is held to the role's grants.
    let mut settings = database_settings(&database).await;
    settings.pg.user(roles::SSE_STREAM.name()).password(password.expose());
    let (login, _messages) = db::dedicated(&settings).await.expect("log in as the stream's role");
    let who: String = login
        .query_one("SELECT current_user::text", &[])
        .await
        .expect("current_user")
        .get(0);
    assert_eq!(who, roles::SSE_STREAM.name());
    let refused = login
        .query("SELECT * FROM user_accounts", &[])
        .await
        .expect_err("refused");
    assert_eq!(refused.code().map(|c| c.code()), Some("42501"));
}

#[test]
fn the_template_gives_each_role_its_own_secret_and_no_function_the_master_login() {
    let template = std::fs::read_to_string(sluice_tests::repo_root().join("template.yaml")).expect("template.yaml");
    for role in roles::ALL {
        assert_eq!(
            template.matches(&format!("\"username\": \"{role}\"")).count(),
            1,
            "one secret for {role}"
        );
    }
    // The master login is the migrator's alone (and an output for `make migrate` by hand):
    // every other function logs in as its role.
    let mut section = String::new();
    let mut holders = std::collections::BTreeSet::new();
    for line in template.lines() {
        // Top-level sections (`Outputs:`) and their entries (`  Name:`) name where a line is.
        let indent = line.len() - line.trim_start().len();
        if indent <= 2 && line.ends_with(':') && !line.trim().is_empty() {
            section = line.trim().trim_end_matches(':').to_owned();
        }
        if line.contains("MasterUserSecret") {
            holders.insert(section.clone());
        }
    }
    assert_eq!(
        holders.into_iter().collect::<Vec<_>>(),
        ["DatabaseSecretArn", "MigratorFunction"],
        "who may use the master login"
    );
}
