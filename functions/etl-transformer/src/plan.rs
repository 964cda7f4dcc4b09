//! The SQL of one load, generated once from the dataset's schema. Pure.
//!
//! A load stages every valid row with COPY into a temporary table, then works set
//! by set: drop rows superseded by a later row with the same key, classify what
//! would be stale or unchanged, sample the changes, then update the changed rows and
//! insert the new ones, each in one statement.

use sluice_messages::Dataset;
use sluice_tabular::{schema, ColumnType};

pub const STAGE: &str = "stage_rows";

#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub table: &'static str,
    pub create_stage: String,
    pub copy_stage: String,
    /// Collects the keys that occur more than once (rows affected = how many keys).
    pub find_superseded: String,
    /// `$1` = how many row numbers to return -> (count, first row numbers); only run
    /// when `find_superseded` found keys, which most files have none of.
    pub drop_superseded: String,
    /// `$1` = file's LastModified, `$2` = how many row numbers -> (stale, unchanged, first stale rows)
    pub classify: String,
    /// `$1` = file's LastModified, `$2` = limit -> (row_no, before, after)
    pub sample_changes: String,
    /// Keeps other writers of the table out until commit (readers are not blocked),
    /// so what `classify` saw is what `update_changed` and `insert_new` change.
    pub lock_table: String,
    /// `$1` = file's LastModified, `$2` = data_version_id; rows affected = updated
    pub update_changed: String,
    /// `$1` = file's LastModified, `$2` = data_version_id; rows affected = inserted
    pub insert_new: String,
}

impl LoadPlan {
    pub fn for_dataset(dataset: Dataset) -> Self {
        let s = schema(dataset);
        let table = s.table;
        let values: Vec<&str> = s.columns.iter().map(|c| c.name).collect();
        // What a row is compared on: every value column plus the extra JSON.
        let mut compared = values.clone();
        compared.push("extra");
        // (column, may be NULL) of the natural key.
        let key: Vec<(&str, bool)> = if dataset == Dataset::Companies {
            vec![("company_key", false)]
        } else {
            s.key
                .iter()
                .map(|k| (*k, s.columns.iter().any(|c| c.name == *k && !c.required)))
                .collect()
        };
        let mut staged = vec!["row_no".to_owned()];
        staged.extend(values.iter().map(|v| v.to_string()));
        staged.push("extra".into());
        let mut stage_cols = vec!["row_no bigint NOT NULL".to_owned()];
        stage_cols.extend(s.columns.iter().map(|c| format!("{} {}", c.name, c.ty.sql_type())));
        stage_cols.push("extra jsonb NOT NULL".into());
        if dataset == Dataset::Companies {
            staged.push("company_key".into());
            stage_cols.push("company_key text NOT NULL".into());
        }
        let mut written: Vec<&str> = values.clone();
        written.push("extra");
        if dataset == Dataset::Companies {
            written.push("company_key");
        }

        // NULL-able key parts compare with IS NOT DISTINCT FROM (the unique
        // constraints are NULLS NOT DISTINCT); equality parts let PostgreSQL hash-join.
        let key_match = |a: &str, b: &str| {
            key.iter()
                .map(|(k, nullable)| {
                    if *nullable {
                        format!("{a}.{k} IS NOT DISTINCT FROM {b}.{k}")
                    } else {
                        format!("{a}.{k} = {b}.{k}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let tuple = |alias: &str| {
            compared
                .iter()
                .map(|c| format!("{alias}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let differs = format!("(({}) IS DISTINCT FROM ({}))", tuple("t"), tuple("s"));
        // Decimals go into the change report as text: a JSON number is read as a double,
        // which would round the digits the table keeps.
        let is_decimal = |c: &str| matches!(s.column(c).map(|c| c.ty), Some(ColumnType::Decimal { .. }));
        let json_of = |alias: &str| {
            compared
                .iter()
                .map(|c| {
                    if is_decimal(c) {
                        format!("'{c}', {alias}.{c}::text")
                    } else {
                        format!("'{c}', {alias}.{c}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let key_list = key.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");

        Self {
            table,
            create_stage: format!("CREATE TEMP TABLE {STAGE} ({}) ON COMMIT DROP", stage_cols.join(", ")),
            copy_stage: format!("COPY {STAGE} ({}) FROM STDIN", staged.join(", ")),
            find_superseded: format!(
                "CREATE TEMP TABLE superseded_keys ON COMMIT DROP AS
                 SELECT {key_list}, max(row_no) AS row_no FROM {STAGE} GROUP BY {key_list} HAVING count(*) > 1"
            ),
            drop_superseded: format!(
                "WITH gone AS (
                     DELETE FROM {STAGE} s USING superseded_keys k WHERE {} AND s.row_no < k.row_no RETURNING s.row_no
                 )
                 SELECT count(*), coalesce((array_agg(row_no ORDER BY row_no))[1:$1::int], '{{}}') FROM gone",
                key_match("s", "k")
            ),
            classify: format!(
                "SELECT count(*) FILTER (WHERE t.source_modified_at > $1 AND {differs}),
                        count(*) FILTER (WHERE NOT {differs}),
                        coalesce((array_agg(s.row_no ORDER BY s.row_no)
                                  FILTER (WHERE t.source_modified_at > $1 AND {differs}))[1:$2::int], '{{}}')
                 FROM {STAGE} s JOIN {table} t ON {}",
                key_match("t", "s")
            ),
            sample_changes: format!(
                "SELECT s.row_no, jsonb_build_object({}), jsonb_build_object({})
                 FROM {STAGE} s JOIN {table} t ON {}
                 WHERE t.source_modified_at <= $1 AND {differs}
                 ORDER BY s.row_no LIMIT $2",
                json_of("t"),
                json_of("s"),
                key_match("t", "s")
            ),
            lock_table: format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"),
            // Set-based UPDATE and anti-join INSERT rather than INSERT .. ON CONFLICT:
            // speculative insertion made the upsert the slowest step of a load (BENCHMARKS.md).
            update_changed: format!(
                "UPDATE {table} AS t SET {set}, version = t.version + 1, updated_at = now(),
                     source_modified_at = $1, data_version_id = $2
                 FROM {STAGE} s
                 WHERE {matched} AND t.source_modified_at <= $1 AND {differs}",
                set = written
                    .iter()
                    .map(|c| format!("{c} = s.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                matched = key_match("t", "s"),
            ),
            insert_new: format!(
                "INSERT INTO {table} ({cols}, source_modified_at, data_version_id)
                 SELECT {cols}, $1, $2 FROM {STAGE} s
                 WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {matched})",
                cols = written.join(", "),
                matched = key_match("t", "s"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpis_key_allows_a_blank_tipo() {
        let p = LoadPlan::for_dataset(Dataset::Kpis);
        assert!(p.classify.contains("t.empresa = s.empresa"));
        assert!(p.classify.contains("t.tipo IS NOT DISTINCT FROM s.tipo"));
        assert!(p.insert_new.contains("t.tipo IS NOT DISTINCT FROM s.tipo"));
    }

    #[test]
    fn decimals_are_staged_unbounded_and_reported_as_exact_text() {
        let has = |sql: &str, part: &str| assert!(sql.contains(part), "`{part}` not in {sql}");
        let p = LoadPlan::for_dataset(Dataset::Kpis);
        has(&p.create_stage, "valor numeric,");
        has(&p.sample_changes, "'valor', t.valor::text");
        has(&p.sample_changes, "'valor', s.valor::text");
        has(&p.sample_changes, "'unidad', s.unidad,");
        // Change detection compares values, not their text: 1300 is 1300.00.
        has(&p.classify, "t.valor");
        assert!(!p.classify.contains("::text"), "{}", p.classify);
        let d = LoadPlan::for_dataset(Dataset::Dealflow);
        has(&d.create_stage, "algorithm_score numeric(5,4)");
        has(&d.sample_changes, "'algorithm_score', t.algorithm_score::text");
    }

    #[test]
    fn companies_are_keyed_by_the_normalised_name() {
        let p = LoadPlan::for_dataset(Dataset::Companies);
        assert!(p.update_changed.contains("t.company_key = s.company_key"));
        assert!(p.create_stage.contains("company_key text NOT NULL"));
        assert!(p.copy_stage.ends_with("extra, company_key) FROM STDIN"));
    }

    #[test]
    fn stage_columns_follow_the_copy_order() {
        for d in Dataset::ALL {
            let p = LoadPlan::for_dataset(d);
            let copy_cols = p.copy_stage.matches(", ").count() + 1;
            let stage_cols = p.create_stage.matches(", ").count() + 1;
            assert_eq!(copy_cols, stage_cols, "{d}");
            assert_eq!(copy_cols, crate::parse::staged_columns(d).len(), "{d}");
        }
    }
}
