//! The SQL of one load, generated once from the dataset's schema. Pure.
//!
//! A load stages every valid row with COPY into a temporary table, then works set
//! by set: drop rows superseded by a later row with the same key, match the staged rows
//! with the table once (by the natural key), classify what would be stale or unchanged,
//! sample the changes, then update the changed rows (by `ctid`, HOT) and insert the new
//! ones, each in one statement.

use sluice_messages::Dataset;
use sluice_tabular::{schema, ColumnType};

pub const STAGE: &str = "stage_rows";
pub const MATCH: &str = "stage_match";

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
    /// After `lock_table`: the one join of the staged rows with the table (by the natural
    /// key), kept as [`MATCH`]: for each staged row that has a row in the table, its
    /// `row_no`, the table row's `ctid` (`t_ctid`), whether the values differ (`t_differs`)
    /// and the row's `source_modified_at` (`t_modified`). The later steps read this instead
    /// of joining with the table again; the `ctid`s stay valid because the table is locked
    /// against other writers and nothing in the load writes to it before `update_changed`.
    /// Run it through [`LoadPlan::match_sql`], which picks the join for the file's size.
    pub match_rows: String,
    /// `$1` = file's LastModified, `$2` = how many row numbers
    /// -> (stale, unchanged, first stale rows, matched rows)
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

/// From this many staged rows on, the match is a hash join (see [`LoadPlan::match_sql`]).
pub const HASH_MATCH_MIN_ROWS: u64 = 20_000;

impl LoadPlan {
    /// The match for a file of `staged_rows` rows. A big file is matched by one hash join
    /// of the staged rows against a scan of the table: PostgreSQL estimates a hash join on
    /// the natural key from each column alone (`fecha` has 60 values, `indicador` 12), so
    /// it picks a merge join that sorts both sides by text (4x slower on a million rows,
    /// BENCHMARKS.md) or a million index probes instead. A small file keeps the planner's
    /// choice (index probes of the natural key, whatever the table's size).
    pub fn match_sql(&self, staged_rows: u64) -> String {
        if staged_rows >= HASH_MATCH_MIN_ROWS {
            format!(
                "SET LOCAL enable_mergejoin = off; SET LOCAL enable_nestloop = off; {};
                 SET LOCAL enable_mergejoin = on; SET LOCAL enable_nestloop = on",
                self.match_rows
            )
        } else {
            self.match_rows.clone()
        }
    }

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
        // Key columns are equal by the match, so a row differs by its other columns.
        let key_names: Vec<&str> = key.iter().map(|(k, _)| *k).collect();
        let differs = {
            let other: Vec<&&str> = compared.iter().filter(|c| !key_names.contains(c)).collect();
            let tuple = |alias: &str| {
                other
                    .iter()
                    .map(|c| format!("{alias}.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("(({}) IS DISTINCT FROM ({}))", tuple("t"), tuple("s"))
        };
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
            match_rows: format!(
                "CREATE TEMP TABLE {MATCH} ON COMMIT DROP AS
                 SELECT s.row_no, t.ctid AS t_ctid, {differs} AS t_differs, t.source_modified_at AS t_modified
                 FROM {STAGE} s JOIN {table} t ON {matched};
                 ANALYZE {MATCH}",
                matched = key_match("t", "s")
            ),
            classify: format!(
                "SELECT count(*) FILTER (WHERE t_differs AND t_modified > $1),
                        count(*) FILTER (WHERE NOT t_differs),
                        coalesce((array_agg(row_no ORDER BY row_no)
                                  FILTER (WHERE t_differs AND t_modified > $1))[1:$2::int], '{{}}'),
                        count(*)
                 FROM {MATCH}"
            ),
            sample_changes: format!(
                "SELECT s.row_no, jsonb_build_object({}), jsonb_build_object({})
                 FROM (SELECT * FROM {MATCH} WHERE t_differs AND t_modified <= $1 ORDER BY row_no LIMIT $2) m
                 JOIN {STAGE} s ON s.row_no = m.row_no
                 JOIN {table} t ON t.ctid = m.t_ctid
                 ORDER BY s.row_no",
                json_of("t"),
                json_of("s"),
            ),
            lock_table: format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"),
            // By `ctid` from the match: no second join on the natural key. Only the columns
            // outside the key are set, and none of them is indexed, so with the table's free
            // space (fillfactor, migration 0120) the new row versions are HOT updates that
            // leave every index alone.
            update_changed: format!(
                "UPDATE {table} AS t SET {set}, version = t.version + 1, updated_at = now(),
                     source_modified_at = $1, data_version_id = $2
                 FROM {MATCH} m JOIN {STAGE} s ON s.row_no = m.row_no
                 WHERE t.ctid = m.t_ctid AND m.t_differs AND m.t_modified <= $1",
                set = written
                    .iter()
                    .filter(|c| !key_names.contains(c))
                    .map(|c| format!("{c} = s.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            // The staged rows the match found no row for: no second join with the table.
            insert_new: format!(
                "INSERT INTO {table} ({cols}, source_modified_at, data_version_id)
                 SELECT {cols}, $1, $2 FROM {STAGE} s
                 WHERE NOT EXISTS (SELECT 1 FROM {MATCH} m WHERE m.row_no = s.row_no)",
                cols = written.join(", "),
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
        assert!(p.match_rows.contains("t.empresa = s.empresa"));
        assert!(p.match_rows.contains("t.tipo IS NOT DISTINCT FROM s.tipo"));
    }

    #[test]
    fn updates_leave_the_key_and_its_indexes_alone() {
        let p = LoadPlan::for_dataset(Dataset::Kpis);
        let set = p.update_changed.split(" FROM ").next().unwrap_or_default();
        for key in ["empresa", "fecha", "indicador", "tipo"] {
            assert!(!set.contains(&format!(" {key} = ")), "{key} is set: {set}");
        }
        assert!(set.contains("valor = s.valor"), "{set}");
        assert!(p.update_changed.contains("t.ctid = m.t_ctid"));
        // The new keys come from the match, not from a second join with the table.
        assert!(!p.insert_new.contains("kpis t"), "{}", p.insert_new);
    }

    #[test]
    fn big_files_are_matched_by_a_hash_join_small_ones_by_the_planner() {
        let p = LoadPlan::for_dataset(Dataset::Kpis);
        let big = p.match_sql(HASH_MATCH_MIN_ROWS);
        assert!(
            big.contains("enable_nestloop = off") && big.ends_with("enable_nestloop = on"),
            "{big}"
        );
        assert_eq!(p.match_sql(HASH_MATCH_MIN_ROWS - 1), p.match_rows);
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
        has(&p.match_rows, "t.valor");
        assert!(!p.match_rows.contains("::text"), "{}", p.match_rows);
        let d = LoadPlan::for_dataset(Dataset::Dealflow);
        has(&d.create_stage, "algorithm_score numeric(5,4)");
        has(&d.sample_changes, "'algorithm_score', t.algorithm_score::text");
    }

    #[test]
    fn companies_are_keyed_by_the_normalised_name() {
        let p = LoadPlan::for_dataset(Dataset::Companies);
        assert!(p.match_rows.contains("t.company_key = s.company_key"));
        // A respelt name is a change of the row, not of its key.
        assert!(p.update_changed.contains("company_name = s.company_name"));
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
