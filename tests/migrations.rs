//! The migration runner against a real PostgreSQL: concurrent runners apply each
//! migration exactly once; a changed applied migration is refused.

use sluice_core::db;
use sluice_core::migrate::{self, MigrateError, Migration};
use sluice_tests::empty_database;

#[tokio::test]
async fn concurrent_runners_apply_each_migration_exactly_once() {
    let settings = empty_database().await;
    let migrations = migrate::embedded().unwrap();
    let mut runners = Vec::new();
    for _ in 0..4 {
        let (settings, migrations) = (settings.clone(), migrations.clone());
        runners.push(tokio::spawn(async move {
            let pool = db::connect(&settings).await.unwrap();
            let mut client = pool.get().await.unwrap();
            migrate::run(&mut client, &migrations).await.unwrap()
        }));
    }
    let mut applied: Vec<i32> = Vec::new();
    for r in runners {
        applied.extend(r.await.unwrap());
    }
    applied.sort();
    let expected: Vec<i32> = migrations.iter().map(|m| m.version).collect();
    assert_eq!(applied, expected, "every migration applied by exactly one runner");

    let pool = db::connect(&settings).await.unwrap();
    let client = pool.get().await.unwrap();
    let recorded: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded as usize, migrations.len());
    assert!(client.query_one("SELECT count(*) FROM kpis", &[]).await.is_ok());
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused_by_name() {
    let settings = empty_database().await;
    let pool = db::connect(&settings).await.unwrap();
    let mut client = pool.get().await.unwrap();
    let mut migrations = migrate::embedded().unwrap();
    migrate::run(&mut client, &migrations).await.unwrap();

    let first = &migrations[0];
    migrations[0] = Migration::parse(
        &format!("{:04}_{}.sql", first.version, first.name),
        "SELECT 1; -- edited",
    )
    .unwrap();
    match migrate::run(&mut client, &migrations).await {
        Err(MigrateError::Changed { version, name, .. }) => {
            assert_eq!((version, name.as_str()), (1, "messaging"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A failing migration leaves nothing half-applied.
    migrations = migrate::embedded().unwrap();
    migrations.push(
        Migration::parse(
            "9999_broken.sql",
            "CREATE TABLE half (id int); SELECT no_such_column FROM half;",
        )
        .unwrap(),
    );
    assert!(matches!(
        migrate::run(&mut client, &migrations).await,
        Err(MigrateError::Failed { version: 9999, .. })
    ));
    let half = client
        .query_opt("SELECT 1 FROM pg_tables WHERE tablename = 'half'", &[])
        .await
        .unwrap();
    assert!(half.is_none());
}
