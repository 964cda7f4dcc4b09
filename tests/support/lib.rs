//! The integration test harness. Each test gets its own PostgreSQL database (a
//! copy of a template with the migrations applied) and its own uniquely named
//! bucket, queues and topic in the moto server, so tests run in parallel and never
//! see each other's data. Handlers are the real libraries with the real AWS SDK.

use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use sluice_core::{db, migrate, Clock, ConfigSource, DbSettings, Pool};
use sluice_local::pump::EventSource;
use sluice_local::resources::{QueueTiming, StackNames, StackResources};
use sluice_local::{Clients, Functions};
use sluice_messages::Envelope;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::OnceCell;

pub use sluice_local;

pub mod browser;
pub mod filings;
pub mod market;
pub mod sse;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh 2048-bit RSA private key (PKCS#1 DER, what jsonwebtoken signs with), made by
/// `openssl`; `None` where openssl is not installed.
pub fn rsa_test_key() -> Option<Vec<u8>> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("openssl genrsa 2048 2>/dev/null | openssl rsa -traditional -outform DER 2>/dev/null")
        .output()
        .ok()?;
    (output.status.success() && !output.stdout.is_empty()).then_some(output.stdout)
}

/// `../shared/fixtures/<rel>` beside the checkout, when it exists.
pub fn fixture(rel: &str) -> Option<PathBuf> {
    let path = repo_root().join("../shared/fixtures").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: fixture {rel} is not present beside the checkout");
        None
    }
}

/// Values from `.local/services.env` (written by scripts/services.sh), with the
/// same defaults the script uses.
fn services_env() -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ("DATABASE_URL", "postgres://sluice@127.0.0.1:54329/sluice"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Ok(text) = std::fs::read_to_string(repo_root().join(".local/services.env")) {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                env.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
    }
    env
}

async fn reachable(env: &HashMap<String, String>) -> bool {
    // host:port of postgres://user@host:port/db (services.sh's own port may be moved).
    let pg_addr = env
        .get("DATABASE_URL")
        .and_then(|u| u.rsplit_once('@'))
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or("127.0.0.1:54329")
        .to_owned();
    let pg = tokio::net::TcpStream::connect(pg_addr).await.is_ok();
    let moto = env
        .get("AWS_ENDPOINT_URL")
        .map(|u| u.trim_start_matches("http://").to_owned())
        .map(|addr| async move { tokio::net::TcpStream::connect(addr).await.is_ok() });
    pg && match moto {
        Some(f) => f.await,
        None => false,
    }
}

/// Starts PostgreSQL and moto when they are not running (make test starts them first).
async fn ensure_services() -> HashMap<String, String> {
    let env = services_env();
    if !reachable(&env).await {
        let status = tokio::process::Command::new("flock")
            .arg(repo_root().join(".local-services.lock"))
            .arg(repo_root().join("scripts/services.sh"))
            .arg("start")
            .status()
            .await
            .expect("scripts/services.sh could not be run");
        assert!(status.success(), "scripts/services.sh start failed");
    }
    services_env()
}

struct Shared {
    env: HashMap<String, String>,
    admin: DbSettings,
    template: String,
}

static SHARED: OnceCell<Shared> = OnceCell::const_new();

/// Once per test binary: services up, the template database migrated.
async fn shared() -> &'static Shared {
    SHARED
        .get_or_init(|| async {
            let env = ensure_services().await;
            let url = &env["DATABASE_URL"];
            let pg = tokio_postgres::Config::from_str(url).expect("DATABASE_URL");
            let admin = DbSettings::from_pg_config(pg, &ConfigSource::default()).expect("db settings");
            let migrations = migrate::embedded().expect("embedded migrations");
            let fingerprint: String = migrations
                .iter()
                .map(|m| m.checksum.as_str())
                .collect::<Vec<_>>()
                .join("");
            let template = format!("sluice_tmpl_{}", &sha_hex(&fingerprint)[..12]);
            let pool = db::connect(&admin.with_dbname("postgres"))
                .await
                .expect("admin connection");
            let client = pool.get().await.expect("admin client");
            // One binary at a time creates the template.
            client
                .execute("SELECT pg_advisory_lock(4242)", &[])
                .await
                .expect("lock");
            let exists = client
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
                .await
                .expect("pg_database")
                .is_some();
            if !exists {
                client
                    .batch_execute(&format!("CREATE DATABASE {template}"))
                    .await
                    .expect("create template");
                let tpool = db::connect(&admin.with_dbname(&template))
                    .await
                    .expect("template connection");
                let mut tclient = tpool.get().await.expect("template client");
                migrate::run(&mut tclient, &migrations).await.expect("migrate template");
                drop(tclient);
                tpool.close();
            }
            // Databases of earlier runs that nobody uses any more.
            let stale = client
                .query(
                    "SELECT datname FROM pg_database d WHERE datname LIKE 'sluice_test_%'
                     AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
                    &[],
                )
                .await
                .expect("list test databases");
            for row in stale {
                let name: String = row.get(0);
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await;
            }
            client
                .execute("SELECT pg_advisory_unlock(4242)", &[])
                .await
                .expect("unlock");
            Shared { env, admin, template }
        })
        .await
}

fn sha_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Settings of a test database (for connections outside its pool, such as a `LISTEN`).
pub async fn database_settings(name: &str) -> DbSettings {
    shared().await.admin.with_dbname(name)
}

/// A fresh database of its own, migrated.
pub async fn fresh_database() -> (Pool, String) {
    let shared = shared().await;
    let name = unique("sluice_test_");
    let admin = db::connect(&shared.admin.with_dbname("postgres"))
        .await
        .expect("admin connection");
    admin
        .get()
        .await
        .expect("admin client")
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", shared.template))
        .await
        .expect("create test database");
    admin.close();
    let pool = db::connect(&shared.admin.with_dbname(&name))
        .await
        .expect("test database");
    (pool, name)
}

/// An empty database (no migrations), for the migration runner's own tests.
pub async fn empty_database() -> DbSettings {
    let shared = shared().await;
    let name = unique("sluice_test_");
    let admin = db::connect(&shared.admin.with_dbname("postgres"))
        .await
        .expect("admin connection");
    admin
        .get()
        .await
        .expect("admin client")
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    admin.close();
    shared.admin.with_dbname(&name)
}

pub async fn clients() -> Clients {
    let shared = shared().await;
    let sdk = sluice_core::aws::loader()
        .endpoint_url(&shared.env["AWS_ENDPOINT_URL"])
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "sluice-tests"))
        .load()
        .await;
    Clients::from_sdk(&sdk)
}

/// Every envelope published on an events topic so far, read (and removed) from the
/// SQS queue subscribed to it; two empty receives in a row end the read.
pub async fn read_topic_tap(sqs: &aws_sdk_sqs::Client, tap_url: &str) -> Vec<Envelope> {
    let mut out = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(tap_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive tap");
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        for m in messages {
            let sns: serde_json::Value = serde_json::from_str(m.body().unwrap_or_default()).expect("SNS JSON");
            let inner = sns["Message"].as_str().expect("SNS Message");
            out.push(Envelope::from_json(inner).expect("an envelope on the topic"));
            if let Some(r) = m.receipt_handle() {
                let _ = sqs.delete_message().queue_url(tap_url).receipt_handle(r).send().await;
            }
        }
    }
    out
}

/// One test's stack: its database, its resources, every function built as the runner
/// builds it (each by its own constructor).
pub struct TestStack {
    pub pool: Pool,
    pub database: String,
    pub clients: Clients,
    pub resources: StackResources,
    pub functions: Functions,
    /// The settings the functions were built with.
    pub config: ConfigSource,
}

impl TestStack {
    pub async fn start() -> Self {
        Self::start_with(ConfigSource::default()).await
    }

    /// `config` adds function settings (e.g. a small MAX_UPLOAD_BYTES).
    pub async fn start_with(config: ConfigSource) -> Self {
        Self::start_at(config, Clock::system()).await
    }

    /// A stack whose functions read `clock` (data of a fixed era, judged as of its time).
    pub async fn start_at(config: ConfigSource, clock: Clock) -> Self {
        // Tokens are verified with the tests' secret, unless a test sets its own.
        let config = match config.optional::<String>("LOCAL_JWT_SECRET") {
            Ok(Some(_)) => config,
            _ => config.with("LOCAL_JWT_SECRET", String::from_utf8_lossy(TEST_JWT_SECRET)),
        };
        // The unsubscribe links' key, in the settings every function of the test gets.
        let config = match config.optional::<String>("NOTIFY_SIGNING_SECRET") {
            Ok(Some(_)) => config,
            _ => config.with("NOTIFY_SIGNING_SECRET", "sluice-tests-unsubscribe-key"),
        };
        let (pool, database) = fresh_database().await;
        let clients = clients().await;
        // Short visibility and few receives: retries and redrive happen within a test.
        let timing = QueueTiming {
            visibility_timeout: Duration::from_secs(1),
            max_receive_count: 2,
        };
        let names = StackNames {
            prefix: unique("t"),
            uploads_timing: timing,
            etl_timing: timing,
        };
        let resources = clients
            .provisioner()
            .provision(&names)
            .await
            .expect("provision moto resources");
        let db = database_settings(&database).await;
        let functions = Functions::build(&config, &resources, &db, &clients, clock)
            .await
            .expect("function config");
        Self {
            pool,
            database,
            clients,
            resources,
            functions,
            config,
        }
    }

    pub async fn upload(&self, key: &str, body: impl Into<Vec<u8>>, metadata: &[(&str, &str)]) {
        let mut put = self
            .clients
            .s3
            .put_object()
            .bucket(&self.resources.bucket)
            .key(key)
            .body(ByteStream::from(body.into()));
        for (k, v) in metadata {
            put = put.metadata(*k, *v);
        }
        put.send().await.expect("put object");
    }

    pub async fn get_object(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .clients
            .s3
            .get_object()
            .bucket(&self.resources.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(out.body.collect().await.ok()?.into_bytes().to_vec())
    }

    /// The event source mappings, as the local runner runs them (no long-poll wait).
    pub fn sources(&self) -> Vec<EventSource> {
        self.functions.event_sources(&self.resources, &self.clients, 0)
    }

    /// Runs every event source until all queues stay empty: the pipeline at rest.
    pub async fn settle(&self) {
        let sources = self.sources();
        let mut idle_rounds = 0;
        for _ in 0..200 {
            let mut received = 0;
            for s in &sources {
                received += s.poll_once().await.expect("poll").received;
            }
            if received == 0 {
                idle_rounds += 1;
                if idle_rounds >= 3 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            } else {
                idle_rounds = 0;
            }
        }
        panic!("the pipeline did not settle");
    }

    /// Every message published on the events topic so far (read off the tap queue).
    pub async fn published(&self) -> Vec<Envelope> {
        read_topic_tap(&self.clients.sqs, &self.resources.events_tap_url).await
    }

    pub async fn queue_depth(&self, url: &str) -> i64 {
        queue_depth(&self.clients.sqs, url).await
    }

    /// Takes the messages waiting on a queue without handling them.
    pub async fn take_messages(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        take_messages(&self.clients.sqs, url).await
    }

    pub async fn query(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.pool.get().await.expect("client").query(sql, &[]).await.expect(sql)
    }
}

/// Acme's KPIs over three quarters (EBITDA halves in June, the tracker raises its alerts,
/// and is at 55 % of its budget; cash falls by 3,000 a quarter) and Beta's one figure,
/// in two funds (the portfolio reports' tests).
pub const ACME_BETA_KPIS: &str = "Fondo;Empresa;Fecha;Tipo;Indicador;Unidad;Valor
Fondo I;Acme;31/12/2025;Real;EBITDA;EUR;1.000
Fondo I;Acme;31/12/2025;Real;Caja;EUR;15.000
Fondo I;Acme;31/03/2026;Real;EBITDA;EUR;1.100
Fondo I;Acme;31/03/2026;Real;Caja;EUR;12.000
Fondo I;Acme;30/06/2026;Real;EBITDA;EUR;550
Fondo I;Acme;30/06/2026;Presupuesto;EBITDA;EUR;1.000
Fondo I;Acme;30/06/2026;Real;Caja;EUR;9.000,50
Fondo II;Beta;30/06/2026;Real;Ventas;EUR;300
";

/// Messages on a queue, visible or in flight.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> i64 {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|k| attrs.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0))
    .sum()
}

/// Takes (receives and deletes) up to 10 messages waiting on a queue without handling them.
pub async fn take_messages(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let messages = got.messages.unwrap_or_default();
    for m in &messages {
        if let Some(r) = m.receipt_handle() {
            let _ = sqs.delete_message().queue_url(url).receipt_handle(r).send().await;
        }
    }
    messages
}

/// The secret the test stacks verify tokens with.
pub const TEST_JWT_SECRET: &[u8] = b"sluice-tests-only-secret";

/// A bearer token as `make token` makes them.
pub fn token(user: &str, tier: &str, team: bool) -> String {
    sluice_local::issue_token(TEST_JWT_SECRET, user, tier, team, 1).expect("token")
}

/// Serves `router` on a free loopback port, as the runner serves it; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// An instance over a test stack's configuration, database and moto, as the runner
/// gives one to each function (for tests of what every function shares).
pub async fn instance_of(stack: &TestStack, service: &'static str) -> sluice_core::Instance {
    let mut cfg = stack.config.clone();
    for (k, v) in sluice_local::function_env(&stack.resources) {
        cfg = cfg.with(k, v);
    }
    sluice_core::Instance::new(
        service,
        cfg,
        stack.clients.sdk.clone(),
        database_settings(&stack.database).await,
        stack.pool.clone(),
    )
}

impl TestStack {
    /// Serves the HTTP API's router as the local runner does; returns its base URL.
    pub async fn serve_api(&self) -> String {
        serve(self.functions.api.clone()).await
    }
}
