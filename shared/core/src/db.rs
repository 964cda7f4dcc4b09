//! The PostgreSQL pool: one small pool per Lambda instance, created at init.
//!
//! Aurora Serverless v2 at minimum capacity 0 pauses; the first connection after a
//! pause fails while it resumes (up to ~15 s), so [`connect`] retries with backoff
//! for `connect_deadline` (30 s by default) before giving up.

use crate::config::{ConfigError, ConfigSource};
use crate::secrets::Secrets;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::SslMode;

pub use deadpool_postgres::{Client, Pool, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database credentials could not be read: {0}")]
    Secret(#[from] crate::secrets::SecretError),
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    #[error("database unreachable after {waited:?}: {last}")]
    Unreachable { waited: Duration, last: String },
    #[error("pool could not be built: {0}")]
    Build(String),
    #[error("no connection from the pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
}

impl DbError {
    /// Connection trouble is worth retrying; a constraint or syntax error is not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Pool(_) => true,
            Self::Postgres(e) => {
                e.is_closed()
                    || e.code().is_none_or(|c| {
                        c.code().starts_with("08")
                            || c.code().starts_with("57P")
                            || c.code() == "40001"
                            || c.code() == "40P01"
                    })
            }
            _ => false,
        }
    }
}

/// A value PostgreSQL refuses (class 22) or a violated constraint (class 23):
/// the same input will be refused again, so retrying is pointless.
pub fn is_permanent(e: &tokio_postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23"))
}

/// How connections are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP: only for the local cluster on 127.0.0.1.
    Disable,
    /// TLS with the server certificate verified against the Mozilla roots, the
    /// built-in Amazon RDS authorities or `DATABASE_CA_FILE`, and its host name checked.
    VerifyFull,
}

impl FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(Self::Disable),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(format!("`{other}` is not disable or verify-full")),
        }
    }
}

#[derive(Clone)]
pub struct DbSettings {
    pub pg: tokio_postgres::Config,
    pub tls: TlsMode,
    pub ca_file: Option<String>,
    pub pool_size: usize,
    pub connect_deadline: Duration,
}

impl std::fmt::Debug for DbSettings {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSettings")
            .field("hosts", &self.pg.get_hosts())
            .field("dbname", &self.pg.get_dbname())
            .field("user", &self.pg.get_user())
            .field("tls", &self.tls)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl DbSettings {
    /// `DATABASE_URL` locally; in AWS `DATABASE_HOST`, `DATABASE_PORT`, `DATABASE_NAME`
    /// with the credentials as secrets (`DATABASE_USER`, `DATABASE_PASSWORD`: in AWS
    /// fields of the cluster's managed secret, `DATABASE_USER_SECRET_ARN=<arn>#username`).
    pub async fn load(cfg: &ConfigSource, secrets: &Secrets) -> Result<Self, DbError> {
        let pg = match cfg.optional::<String>("DATABASE_URL")? {
            Some(url) => tokio_postgres::Config::from_str(&url).map_err(|_| ConfigError::Invalid {
                key: "DATABASE_URL".into(),
                reason: "not a PostgreSQL connection string".into(),
            })?,
            None => {
                let user = secrets.required(cfg, "DATABASE_USER").await?;
                let password = secrets.required(cfg, "DATABASE_PASSWORD").await?;
                let mut pg = tokio_postgres::Config::new();
                pg.host(&cfg.required::<String>("DATABASE_HOST")?)
                    .port(cfg.or("DATABASE_PORT", 5432u16)?)
                    .dbname(&cfg.or("DATABASE_NAME", "sluice".to_owned())?)
                    .user(user.expose())
                    .password(password.expose());
                pg
            }
        };
        Self::from_pg_config(pg, cfg)
    }

    pub fn from_pg_config(mut pg: tokio_postgres::Config, cfg: &ConfigSource) -> Result<Self, DbError> {
        // In Lambda the database is across a network: TLS, verified, always.
        let tls: TlsMode = if cfg.in_aws() {
            match cfg.or("DATABASE_TLS", TlsMode::VerifyFull)? {
                TlsMode::VerifyFull => TlsMode::VerifyFull,
                TlsMode::Disable => {
                    return Err(ConfigError::Invalid {
                        key: "DATABASE_TLS".into(),
                        reason: "disable is for a loopback database; in AWS only verify-full".into(),
                    }
                    .into())
                }
            }
        } else {
            cfg.or("DATABASE_TLS", TlsMode::Disable)?
        };
        if tls == TlsMode::VerifyFull {
            pg.ssl_mode(SslMode::Require);
        }
        pg.connect_timeout(Duration::from_secs(cfg.or("DATABASE_CONNECT_TIMEOUT_SECS", 5u64)?));
        pg.application_name(&cfg.or("DATABASE_APPLICATION_NAME", "sluice".to_owned())?);
        Ok(Self {
            pg,
            tls,
            ca_file: cfg.optional("DATABASE_CA_FILE")?,
            pool_size: cfg.or("DATABASE_POOL_SIZE", 4usize)?,
            connect_deadline: Duration::from_secs(cfg.or("DATABASE_CONNECT_DEADLINE_SECS", 30u64)?),
        })
    }

    /// A copy whose sessions act as `role` (the startup option `-c role=...`, what
    /// `SET ROLE` does): the local stack and the tests run each function under its own
    /// role of [`roles`] with the one local login, as AWS does with a login per role.
    pub fn acting_as(&self, role: roles::DatabaseRole) -> Self {
        let mut copy = self.clone();
        copy.pg.options(format!("-c role={}", role.name()));
        copy
    }

    /// A copy whose sessions cancel any statement running longer than `timeout` (the
    /// startup option `-c statement_timeout=...`, added to any other), with a pool of
    /// `pool_size`: what Ask Sluice's tools read through.
    pub fn with_statement_timeout(&self, timeout: Duration, pool_size: usize) -> Self {
        let mut copy = self.clone();
        let limit = format!("-c statement_timeout={}", timeout.as_millis().max(1));
        let options = match self.pg.get_options() {
            Some(existing) if !existing.trim().is_empty() => format!("{existing} {limit}"),
            _ => limit,
        };
        copy.pg.options(options);
        copy.pool_size = pool_size;
        copy
    }

    /// A copy pointing at another database of the same server (tests use one database each).
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut copy = self.clone();
        copy.pg.dbname(dbname);
        copy
    }
}

/// The database role of each function of template.yaml (migration 0017): each is granted
/// only what its function's code issues. In AWS each is a login with its own secret
/// (given by `sluice-local migrate`); the master user only migrates.
pub mod roles {
    /// One of the functions' roles: the only names a role can have, so a role name is
    /// never built from input.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DatabaseRole(&'static str);

    impl DatabaseRole {
        pub const fn name(self) -> &'static str {
            self.0
        }

        /// The setting that holds the role's password for the migrator (a secret:
        /// `<NAME>_SECRET_ARN=<arn>#password` in AWS), e.g. `SLUICE_HTTP_API_DB_PASSWORD`.
        pub fn password_setting(self) -> String {
            format!("{}_DB_PASSWORD", self.0.to_ascii_uppercase())
        }
    }

    impl std::fmt::Display for DatabaseRole {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    pub const INGEST_VALIDATOR: DatabaseRole = DatabaseRole("sluice_ingest_validator");
    pub const ETL_TRANSFORMER: DatabaseRole = DatabaseRole("sluice_etl_transformer");
    pub const FILING_FETCHER: DatabaseRole = DatabaseRole("sluice_filing_fetcher");
    pub const LLM_ANALYZER: DatabaseRole = DatabaseRole("sluice_llm_analyzer");
    pub const PRICE_UPDATER: DatabaseRole = DatabaseRole("sluice_price_updater");
    /// The events queue's consumer (SseNotifierFunction).
    pub const SSE_NOTIFIER: DatabaseRole = DatabaseRole("sluice_sse_notifier");
    /// The internet-facing event stream (SseStreamFunction).
    pub const SSE_STREAM: DatabaseRole = DatabaseRole("sluice_sse_stream");
    pub const HTTP_API: DatabaseRole = DatabaseRole("sluice_http_api");
    /// The monthly credits schedule.
    pub const ACCOUNT_WORKER: DatabaseRole = DatabaseRole("sluice_account_worker");
    /// The KPI tracker and deal-flow scorer (after each load).
    pub const PORTFOLIO_ANALYST: DatabaseRole = DatabaseRole("sluice_portfolio_analyst");
    /// E-mail and outbound webhooks (the events topic's notifications subscription).
    pub const NOTIFIER: DatabaseRole = DatabaseRole("sluice_notifier");

    pub const ALL: [DatabaseRole; 11] = [
        INGEST_VALIDATOR,
        ETL_TRANSFORMER,
        FILING_FETCHER,
        LLM_ANALYZER,
        PRICE_UPDATER,
        SSE_NOTIFIER,
        SSE_STREAM,
        HTTP_API,
        ACCOUNT_WORKER,
        PORTFOLIO_ANALYST,
        NOTIFIER,
    ];
}

/// The Amazon RDS certificate authorities, built into every function: Aurora's
/// certificates chain to them, and they are not among the Mozilla roots.
const RDS_CA_BUNDLE: &[u8] = include_bytes!("../certs/rds-ca-bundle.pem");

fn rustls_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig, DbError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in ca_certificates(RDS_CA_BUNDLE)? {
        roots
            .add(cert)
            .map_err(|e| DbError::Tls(format!("unusable RDS CA certificate: {e}")))?;
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| DbError::Tls(format!("cannot read DATABASE_CA_FILE: {e}")))?;
        for cert in ca_certificates(&pem)? {
            roots
                .add(cert)
                .map_err(|e| DbError::Tls(format!("unusable CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The certificates of a PEM bundle (`DATABASE_CA_FILE`); one without any is refused.
fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, DbError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DbError::Tls(format!("bad certificate in DATABASE_CA_FILE: {e}")))?;
    if certs.is_empty() {
        return Err(DbError::Tls("DATABASE_CA_FILE holds no certificate".into()));
    }
    Ok(certs)
}

/// Builds the pool and waits (with backoff) until one connection succeeds.
pub async fn connect(settings: &DbSettings) -> Result<Pool, DbError> {
    let pool = pool(settings)?;
    wait_until_reachable(&pool, settings.connect_deadline).await?;
    Ok(pool)
}

/// Builds the pool without connecting: its connections are opened when first needed.
pub fn pool(settings: &DbSettings) -> Result<Pool, DbError> {
    let manager_config = deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    };
    let manager = match settings.tls {
        TlsMode::Disable => {
            deadpool_postgres::Manager::from_config(settings.pg.clone(), tokio_postgres::NoTls, manager_config)
        }
        TlsMode::VerifyFull => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(rustls_config(settings.ca_file.as_deref())?);
            deadpool_postgres::Manager::from_config(settings.pg.clone(), tls, manager_config)
        }
    };
    Pool::builder(manager)
        .max_size(settings.pool_size.max(1))
        .build()
        .map_err(|e| DbError::Build(e.to_string()))
}

async fn wait_until_reachable(pool: &Pool, deadline: Duration) -> Result<(), DbError> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match pool.get().await {
            Ok(_) => return Ok(()),
            Err(e) => {
                let waited = started.elapsed();
                if waited + delay > deadline {
                    return Err(DbError::Unreachable {
                        waited,
                        last: e.to_string(),
                    });
                }
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "database not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
        }
    }
}

/// A connection of its own, outside the pool, for `LISTEN`: its asynchronous messages
/// (notifications, notices) arrive on the returned channel, which closes when the
/// connection ends. Same TLS as the pool; one attempt (the caller decides how to retry).
pub async fn dedicated(
    settings: &DbSettings,
) -> Result<
    (
        tokio_postgres::Client,
        tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::AsyncMessage>,
    ),
    DbError,
> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = match settings.tls {
        TlsMode::Disable => {
            let (client, connection) = settings.pg.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(forward_messages(connection, tx));
            client
        }
        TlsMode::VerifyFull => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(rustls_config(settings.ca_file.as_deref())?);
            let (client, connection) = settings.pg.connect(tls).await?;
            tokio::spawn(forward_messages(connection, tx));
            client
        }
    };
    Ok((client, rx))
}

async fn forward_messages<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    tx: tokio::sync::mpsc::UnboundedSender<tokio_postgres::AsyncMessage>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    while let Some(message) = futures::StreamExt::next(&mut messages).await {
        match message {
            Ok(m) => {
                if tx.send(m).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "dedicated database connection ended");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_modes_parse_and_debug_hides_password() {
        let cfg = ConfigSource::from_pairs([("DATABASE_TLS", "verify-full")]);
        let pg = tokio_postgres::Config::from_str("postgres://u:hunter2@db.example/sluice").unwrap();
        let s = DbSettings::from_pg_config(pg, &cfg).unwrap();
        assert_eq!(s.tls, TlsMode::VerifyFull);
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!("require".parse::<TlsMode>().is_err());
    }

    #[test]
    fn in_lambda_the_database_is_reached_over_verified_tls_only() {
        let pg = || tokio_postgres::Config::from_str("postgres://u@db.example/sluice").unwrap();
        let lambda = ConfigSource::from_pairs([("AWS_LAMBDA_FUNCTION_NAME", "sluice-http-api")]);
        assert_eq!(
            DbSettings::from_pg_config(pg(), &lambda).unwrap().tls,
            TlsMode::VerifyFull,
            "the default in AWS"
        );
        let err = DbSettings::from_pg_config(pg(), &lambda.clone().with("DATABASE_TLS", "disable")).unwrap_err();
        assert!(err.to_string().contains("DATABASE_TLS"), "{err}");
        let local = ConfigSource::from_pairs([("DATABASE_TLS", "disable")]);
        assert_eq!(DbSettings::from_pg_config(pg(), &local).unwrap().tls, TlsMode::Disable);
    }

    #[test]
    fn the_built_in_rds_authorities_are_all_usable() {
        let certs = ca_certificates(RDS_CA_BUNDLE).unwrap();
        assert!(certs.len() >= 80, "{} certificates", certs.len());
        let mut roots = rustls::RootCertStore::empty();
        assert_eq!(roots.add_parsable_certificates(certs.clone()), (certs.len(), 0));
    }

    #[test]
    fn rustls_config_builds_with_and_without_ca_file() {
        assert!(rustls_config(None).is_ok());
        assert!(matches!(
            rustls_config(Some("/nonexistent/ca.pem")),
            Err(DbError::Tls(_))
        ));
    }

    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUYes9MU2USm+a3tkK58n47ALOL+QwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOc2x1aWNlIHRlc3QgQ0EwIBcNMjYxMjA1MDMxODMwWhgPMjEy
NjExMTEwMzE4MzBaMBkxFzAVBgNVBAMMDnNsdWljZSB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEcoFdHll1FhKJ2ym1epfKOfdQN/Kp+vXzwUjUfPkc
ZUsaJbPQVoU9b3AYcY+yeBJMw1qq1wymejEHRZws0JIBKKNTMFEwHQYDVR0OBBYE
FCoPzwvo+I8CxZTrthHmyIps9ahzMB8GA1UdIwQYMBaAFCoPzwvo+I8CxZTrthHm
yIps9ahzMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgU1RNxuIr
2bZfOwD5RZ9yNuQM0UBLEIz8NTKeEo2F0/4CIQD6GmnygfdR8cn/55BgbJrvhyZ1
MMt+WCJ2mtXok7UOXw==
-----END CERTIFICATE-----
";

    #[test]
    fn a_ca_bundle_is_read_certificate_by_certificate() {
        let bundle = format!("# RDS bundle\n{TEST_CA}\n{TEST_CA}");
        let certs = ca_certificates(bundle.as_bytes()).unwrap();
        assert_eq!(certs.len(), 2);
        let mut roots = rustls::RootCertStore::empty();
        assert_eq!(roots.add_parsable_certificates(certs), (2, 0));
        assert!(matches!(ca_certificates(b"no pem here"), Err(DbError::Tls(_))));
        let cut = &TEST_CA[..TEST_CA.len() - 40];
        assert!(matches!(ca_certificates(cut.as_bytes()), Err(DbError::Tls(_))));
        let dir = std::env::temp_dir().join(format!("sluice-ca-{}.pem", std::process::id()));
        std::fs::write(&dir, TEST_CA).unwrap();
        let built = rustls_config(dir.to_str());
        let _ = std::fs::remove_file(&dir);
        assert!(built.is_ok());
    }

    #[tokio::test]
    async fn unreachable_database_gives_up_after_the_deadline() {
        // Port 9 on loopback: nothing listens, connections are refused at once.
        let cfg = ConfigSource::from_pairs([("DATABASE_CONNECT_DEADLINE_SECS", "1")]);
        let pg = tokio_postgres::Config::from_str("postgres://u@127.0.0.1:9/none").unwrap();
        let s = DbSettings::from_pg_config(pg, &cfg).unwrap();
        match connect(&s).await {
            Err(DbError::Unreachable { .. }) => {}
            other => panic!("expected Unreachable, got {:?}", other.map(|_| ())),
        }
    }
}
