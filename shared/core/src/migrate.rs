//! Numbered SQL migrations (`migrations/NNNN_name.sql`, embedded at build time),
//! applied under a PostgreSQL advisory lock so that concurrent runners apply each
//! exactly once. A migration already applied whose file has since changed is refused.

use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Arbitrary constant shared by every runner: the advisory lock that serialises them.
const LOCK_KEY: i64 = 0x51_1ce0_0001;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i32,
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration file `{0}` is not named NNNN_description.sql")]
    BadFileName(String),
    #[error("two migrations share version {0}")]
    DuplicateVersion(i32),
    #[error(
        "migration {version} ({name}) was applied with checksum {applied} but the file now has {current}: \
         applied migrations must never change; add a new migration instead"
    )]
    Changed {
        version: i32,
        name: String,
        applied: String,
        current: String,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Failed {
        version: i32,
        name: String,
        source: tokio_postgres::Error,
    },
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
}

impl Migration {
    pub fn parse(file_name: &str, sql: &str) -> Result<Self, MigrateError> {
        let stem = file_name
            .strip_suffix(".sql")
            .ok_or_else(|| MigrateError::BadFileName(file_name.into()))?;
        let (number, name) = stem
            .split_once('_')
            .ok_or_else(|| MigrateError::BadFileName(file_name.into()))?;
        let version: i32 = number
            .parse()
            .map_err(|_| MigrateError::BadFileName(file_name.into()))?;
        if name.is_empty() || version <= 0 {
            return Err(MigrateError::BadFileName(file_name.into()));
        }
        Ok(Self {
            version,
            name: name.into(),
            sql: sql.into(),
            checksum: hex::encode(Sha256::digest(sql.as_bytes())),
        })
    }
}

/// The migrations this build carries, in version order.
pub fn embedded() -> Result<Vec<Migration>, MigrateError> {
    let mut all = EMBEDDED
        .iter()
        .map(|(f, sql)| Migration::parse(f, sql))
        .collect::<Result<Vec<_>, _>>()?;
    all.sort_by_key(|m| m.version);
    if let Some(w) = all.windows(2).find(|w| w[0].version == w[1].version) {
        return Err(MigrateError::DuplicateVersion(w[0].version));
    }
    Ok(all)
}

/// Gives a function's role its login (migration 0017 makes the roles NOLOGIN). Only the
/// password's SCRAM-SHA-256 verifier is sent, so the password itself never reaches the
/// server or its statement log. Run by the migrator (`sluice-local migrate`).
pub async fn grant_login(
    client: &tokio_postgres::Client,
    role: crate::db::roles::DatabaseRole,
    password: &crate::Secret,
) -> Result<(), MigrateError> {
    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
    // ALTER ROLE takes no parameters: the role is one of a fixed set and the verifier is
    // base64 and `$`/`:`, quoted all the same.
    client
        .batch_execute(&format!(
            "ALTER ROLE {} WITH LOGIN PASSWORD '{}'",
            role.name(),
            verifier.replace('\'', "''")
        ))
        .await?;
    Ok(())
}

/// Gives each function's role the login of its password setting (`SLUICE_HTTP_API_DB_PASSWORD`,
/// in AWS `..._SECRET_ARN=<arn>#password`: the secret template.yaml makes for the function).
/// Returns the roles without one: they stay NOLOGIN (their function cannot connect in AWS;
/// the local stack needs none, its functions act as their roles through the one local login).
pub async fn grant_logins(
    client: &tokio_postgres::Client,
    cfg: &crate::ConfigSource,
    secrets: &crate::Secrets,
) -> Result<Vec<&'static str>, MigrateError> {
    let mut without = Vec::new();
    for role in crate::db::roles::ALL {
        match secrets.get(cfg, &role.password_setting()).await? {
            Some(password) => grant_login(client, role, &password).await?,
            None => without.push(role.name()),
        }
    }
    Ok(without)
}

/// Applies every migration not yet applied; returns the versions it applied.
pub async fn run(client: &mut tokio_postgres::Client, migrations: &[Migration]) -> Result<Vec<i32>, MigrateError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]).await?;
    let outcome = apply_locked(client, migrations).await;
    // Unlock whatever happened; a lost session releases it anyway.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await;
    outcome
}

async fn apply_locked(client: &mut tokio_postgres::Client, migrations: &[Migration]) -> Result<Vec<i32>, MigrateError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let applied: std::collections::HashMap<i32, String> = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for m in migrations {
        if let Some(sum) = applied.get(&m.version) {
            if *sum != m.checksum {
                return Err(MigrateError::Changed {
                    version: m.version,
                    name: m.name.clone(),
                    applied: sum.clone(),
                    current: m.checksum.clone(),
                });
            }
        }
    }
    let mut done = Vec::new();
    for m in migrations.iter().filter(|m| !applied.contains_key(&m.version)) {
        let tx = client.transaction().await?;
        let fail = |source| MigrateError::Failed {
            version: m.version,
            name: m.name.clone(),
            source,
        };
        tx.batch_execute(&m.sql).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = %m.name, "migration applied");
        done.push(m.version);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_must_be_numbered() {
        assert_eq!(Migration::parse("0002_spreadsheets.sql", "x").unwrap().version, 2);
        for bad in ["spreadsheets.sql", "0002.sql", "0002_x.txt", "abcd_x.sql", "0000_x.sql"] {
            assert!(Migration::parse(bad, "").is_err(), "{bad}");
        }
    }

    #[test]
    fn embedded_migrations_are_ordered_and_unique() {
        let all = embedded().unwrap();
        assert!(all.len() >= 2);
        assert!(all.windows(2).all(|w| w[0].version < w[1].version));
    }
}
