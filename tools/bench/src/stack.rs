//! A database and a set of moto resources of the benchmark's own, so a run never sees
//! another's rows, and both are removed afterwards.

use anyhow::Context;
use sluice_core::{db, migrate, ConfigSource, DbSettings, Pool, Secrets};
use sluice_local::resources::{StackNames, StackResources};
use sluice_local::Clients;
use tracing::warn;

pub struct BenchDb {
    admin: Pool,
    pub name: String,
    pub pool: Pool,
    /// The settings of the bench database (for functions' instances).
    pub settings: DbSettings,
}

impl BenchDb {
    /// A fresh database `sluice_bench_<tag>_<pid>` on the `DATABASE_URL` server, migrated,
    /// then `prepare` run on it (an experiment's schema change; never in `make bench`).
    pub async fn create(cfg: &ConfigSource, tag: &str, prepare: Option<&str>) -> anyhow::Result<Self> {
        Self::create_from(cfg, tag, prepare, None).await
    }

    /// As [`BenchDb::create`], but a copy of `template` (a database made by
    /// [`create_preloaded`]: the table already holds rows) when one is given.
    pub async fn create_from(
        cfg: &ConfigSource,
        tag: &str,
        prepare: Option<&str>,
        template: Option<&str>,
    ) -> anyhow::Result<Self> {
        let base = DbSettings::load(cfg, &Secrets::from_config_only()).await?;
        let admin = db::connect(&base).await.context("connecting to DATABASE_URL")?;
        let name = format!("sluice_bench_{tag}_{}", std::process::id());
        {
            let client = admin.get().await?;
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
            client
                .batch_execute(&match template {
                    Some(t) => format!(
                        "CREATE DATABASE {name} TEMPLATE {} STRATEGY = FILE_COPY",
                        quote_ident(t)?
                    ),
                    None => format!("CREATE DATABASE {name}"),
                })
                .await
                .with_context(|| format!("creating database {name}"))?;
        }
        let made = Self {
            admin,
            name: name.clone(),
            pool: db::connect(&base.with_dbname(&name)).await?,
            settings: base.with_dbname(&name),
        };
        let migrated = async {
            let mut client = made.pool.get().await?;
            migrate::run(&mut client, &migrate::embedded()?).await?;
            if let Some(sql) = prepare {
                client.batch_execute(sql).await.context("--prepare")?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = migrated {
            made.drop_db().await;
            return Err(e.context("migrating the bench database"));
        }
        Ok(made)
    }

    /// Drops the database; a failure is only logged (nothing depends on it).
    pub async fn drop_db(self) {
        self.pool.close();
        let dropped = async {
            let client = self.admin.get().await?;
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .await?;
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = dropped {
            warn!(error = %e, database = %self.name, "could not drop the bench database");
        }
    }
}

fn quote_ident(name: &str) -> anyhow::Result<&str> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        anyhow::bail!("`{name}` is not a plain database name");
    }
    Ok(name)
}

/// (Re)creates the database `name`, migrated, whose `kpis` already holds `rows` rows of
/// companies no generated file uses (`Precargada N S.L.`, the generator's shape: 60 months
/// x 12 indicators x {Real, Presupuesto}), written as the table's own loads write them,
/// then `VACUUM ANALYZE`d. Used as the template of the bench databases of the table-size
/// series, so the rows are written once per `make bench`, not once per run.
pub async fn create_preloaded(cfg: &ConfigSource, name: &str, rows: u64) -> anyhow::Result<()> {
    let name = quote_ident(name)?;
    let base = DbSettings::load(cfg, &Secrets::from_config_only()).await?;
    let admin = db::connect(&base).await.context("connecting to DATABASE_URL")?;
    {
        let client = admin.get().await?;
        // Two calls: statements of one batch run in one transaction, which these refuse.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .with_context(|| format!("dropping database {name}"))?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("creating database {name}"))?;
    }
    let pool = db::connect(&base.with_dbname(name)).await?;
    let filled = async {
        let mut client = pool.get().await?;
        migrate::run(&mut client, &migrate::embedded()?).await?;
        insert_preload_rows(&client, rows).await?;
        client.batch_execute("VACUUM ANALYZE kpis").await?;
        anyhow::Ok(())
    }
    .await;
    pool.close();
    if let Err(e) = filled {
        let _ = admin
            .get()
            .await?
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        return Err(e);
    }
    Ok(())
}

/// Inserts `rows` rows into `kpis` of companies no generated file uses (`Precargada N S.L.`,
/// 1,440 rows each: 60 months x 12 indicators x {Real, Presupuesto}), as the table's own
/// loads write them.
pub async fn insert_preload_rows(client: &tokio_postgres::Client, rows: u64) -> anyhow::Result<()> {
    let rows = i64::try_from(rows)?;
    client
        .execute(
            "INSERT INTO kpis (fondo, empresa, fecha, cuarto, tipo, indicador, unidad, valor, data_source,
                               source_modified_at)
             SELECT 'Fondo Precarga ' || (n / 1440) % 7,
                    'Precargada ' || (n / 1440) || ' S.L.',
                    (date '2020-01-31' + make_interval(months => ((n / 24) % 60)::int))::date,
                    'Q' || (((n / 24) % 60) / 3 % 4 + 1) || '-' || (2020 + (n / 24) % 60 / 12),
                    CASE WHEN n % 2 = 0 THEN 'Real' ELSE 'Presupuesto' END,
                    'Indicador ' || (n / 2) % 12,
                    'EUR',
                    round((random() * 10000000)::numeric, 2),
                    'preload',
                    timestamptz '2024-01-01 00:00:00+00'
             FROM generate_series(0, $1::bigint - 1) AS n",
            &[&rows],
        )
        .await
        .context("preloading kpis")?;
    Ok(())
}

/// Drops a template made by [`create_preloaded`].
pub async fn drop_preloaded(cfg: &ConfigSource, name: &str) -> anyhow::Result<()> {
    let name = quote_ident(name)?;
    let base = DbSettings::load(cfg, &Secrets::from_config_only()).await?;
    let admin = db::connect(&base).await.context("connecting to DATABASE_URL")?;
    admin
        .get()
        .await?
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(())
}

pub struct BenchStack {
    pub clients: Clients,
    pub res: StackResources,
}

impl BenchStack {
    /// The resources of template.yaml under the prefix `bench-<pid>`.
    pub async fn create() -> anyhow::Result<Self> {
        let clients = Clients::from_env().await;
        let names = StackNames {
            prefix: format!("bench-{}", std::process::id()),
            ..Default::default()
        };
        let res = clients.provisioner().provision(&names).await?;
        Ok(Self { clients, res })
    }

    /// Removes every object version, the bucket, the queues and the topic (moto keeps
    /// objects in memory: six 70 MB uploads would otherwise stay there). Failures are logged.
    pub async fn teardown(self) {
        if let Err(e) = self.empty_bucket().await {
            warn!(error = %e, bucket = %self.res.bucket, "could not empty the bench bucket");
        }
        let s3 = &self.clients.s3;
        if let Err(e) = s3.delete_bucket().bucket(&self.res.bucket).send().await {
            warn!(error = %aws_sdk_s3::error::DisplayErrorContext(e), "could not delete the bench bucket");
        }
        let queues = [
            &self.res.uploads.url,
            &self.res.uploads.dlq_url,
            &self.res.etl.url,
            &self.res.etl.dlq_url,
            &self.res.events_tap_url,
        ];
        for url in queues {
            if let Err(e) = self.clients.sqs.delete_queue().queue_url(url).send().await {
                warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), queue = %url, "could not delete a bench queue");
            }
        }
        if let Err(e) = self
            .clients
            .sns
            .delete_topic()
            .topic_arn(&self.res.topic_arn)
            .send()
            .await
        {
            warn!(error = %aws_sdk_sns::error::DisplayErrorContext(e), "could not delete the bench topic");
        }
    }

    async fn empty_bucket(&self) -> anyhow::Result<()> {
        let s3 = &self.clients.s3;
        loop {
            let listed = s3
                .list_object_versions()
                .bucket(&self.res.bucket)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            let mut targets: Vec<(String, Option<String>)> = listed
                .versions()
                .iter()
                .filter_map(|v| v.key().map(|k| (k.to_owned(), v.version_id().map(str::to_owned))))
                .collect();
            targets.extend(
                listed
                    .delete_markers()
                    .iter()
                    .filter_map(|m| m.key().map(|k| (k.to_owned(), m.version_id().map(str::to_owned)))),
            );
            if targets.is_empty() {
                return Ok(());
            }
            for (key, version) in targets {
                s3.delete_object()
                    .bucket(&self.res.bucket)
                    .key(&key)
                    .set_version_id(version)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            }
        }
    }
}
