//! A KPI file's values reach PostgreSQL as written: every digit kept, the unit a value
//! carries (`%`, `€`, `$`, `£`, `EUR`) kept in `unidad` or checked against it, and every
//! month-only or quarter-only date stored as the last day of its period, so one period has
//! one key. Through the real pipeline: S3, ingest-validator, the ETL queue, etl-transformer.

use sluice_tests::TestStack;

/// `;`-delimited, so `,` is the decimal separator (Spanish Excel).
const KPIS: &str = "Empresa;Fecha;Tipo;Indicador;Unidad;Valor\r\n\
Acme;31/03/2026;Real;LTV/CAC;x;2,3456\r\n\
Acme;31/03/2026;Real;Margen bruto;;42,5%\r\n\
Acme;31/03/2026;Real;Conversion;;0,000123\r\n\
Acme;marzo 2026;Real;Ventas;;€1.234,56\r\n\
Acme;mar-26;Real;Caja;;1.234,56 EUR\r\n\
Acme;03/2026;Real;ARR;;$12.000,5\r\n\
Acme;T1 2026;Real;Ventas UK;;£3,25\r\n\
Acme;Q1 2026;Real;Churn;%;1,75%\r\n\
Acme;1T26;Real;Deuda;EUR;EUR 9.876.543,210987\r\n\
Acme;2026-Q1;Real;Tesoreria;k€;1.500 €\r\n\
Acme;1Q 2026;Real;Crecimiento;;-0,5\r\n\
Acme;Q2 2026;Real;Ventas;;€2.000\r\n\
Acme;30/06/2026;Real;EBITDA;USD;€5\r\n\
Acme;30/06/2026;Real;Margen bruto;EUR;12%\r\n\
Acme;30/06/2026;Real;Ventas JP;;¥100\r\n\
Beta;31 de marzo de 2026;Real;Ventas;EUR;1.000\r\n\
Beta;marzo 2026;Real;Ventas;EUR;1.100\r\n";

type KpiRow = (String, String, String, Option<String>, Option<String>);

fn kpi(empresa: &str, fecha: &str, indicador: &str, unidad: Option<&str>, valor: &str) -> KpiRow {
    (
        empresa.to_owned(),
        fecha.to_owned(),
        indicador.to_owned(),
        unidad.map(str::to_owned),
        Some(valor.to_owned()),
    )
}

async fn kpi_rows(stack: &TestStack) -> Vec<KpiRow> {
    stack
        .query(
            "SELECT empresa, fecha::text, indicador, unidad, valor::text FROM kpis
             ORDER BY empresa COLLATE \"C\", fecha, indicador COLLATE \"C\"",
        )
        .await
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

#[tokio::test]
async fn kpi_values_keep_their_digits_their_units_and_their_period_end() {
    let stack = TestStack::start().await;
    stack.upload("uploads/kpis/fidelity.csv", KPIS, &[]).await;
    stack.settle().await;

    assert_eq!(
        kpi_rows(&stack).await,
        vec![
            kpi("Acme", "2026-03-31", "ARR", Some("USD"), "12000.5"),
            kpi("Acme", "2026-03-31", "Caja", Some("EUR"), "1234.56"),
            kpi("Acme", "2026-03-31", "Churn", Some("%"), "1.75"),
            kpi("Acme", "2026-03-31", "Conversion", None, "0.000123"),
            kpi("Acme", "2026-03-31", "Crecimiento", None, "-0.5"),
            kpi("Acme", "2026-03-31", "Deuda", Some("EUR"), "9876543.210987"),
            kpi("Acme", "2026-03-31", "LTV/CAC", Some("x"), "2.3456"),
            kpi("Acme", "2026-03-31", "Margen bruto", Some("%"), "42.5"),
            kpi("Acme", "2026-03-31", "Tesoreria", Some("k€"), "1500"),
            kpi("Acme", "2026-03-31", "Ventas", Some("EUR"), "1234.56"),
            kpi("Acme", "2026-03-31", "Ventas UK", Some("GBP"), "3.25"),
            kpi("Acme", "2026-06-30", "Ventas", Some("EUR"), "2000"),
            // `31 de marzo de 2026` and `marzo 2026` are one period: the later row wins.
            kpi("Beta", "2026-03-31", "Ventas", Some("EUR"), "1100"),
        ]
    );

    let v = &stack
        .query("SELECT status, rows_inserted, rows_rejected, rows_superseded, rejects_key FROM data_versions")
        .await[0];
    assert_eq!(v.get::<_, &str>(0), "partial");
    assert_eq!((v.get::<_, i32>(1), v.get::<_, i32>(2), v.get::<_, i32>(3)), (13, 3, 1));
    let rejects_key: String = v.get(4);
    let rejects = String::from_utf8(stack.get_object(&rejects_key).await.expect("rejects file")).unwrap();
    let mut reader = csv::Reader::from_reader(rejects.as_bytes());
    let rejected: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rejected,
        [
            ["14", "Valor", "€5", "`€5` is in EUR but Unidad is `USD`"],
            ["15", "Valor", "12%", "`12%` is a percentage but Unidad is `EUR`"],
            [
                "16",
                "Valor",
                "¥100",
                "`¥100`: ¥ is both yen and yuan; write JPY or CNY in Unidad"
            ],
        ]
    );
}

#[tokio::test]
async fn a_stored_row_changes_only_when_a_digit_or_the_unit_differs() {
    let stack = TestStack::start().await;
    // Rows as the loader wrote them at two decimals: `2,3456` became 2.35 and an `42,5%` lost its unit.
    stack
        .query(
            "INSERT INTO kpis (empresa, fecha, tipo, indicador, unidad, valor, source_modified_at) VALUES
             ('Acme', '2026-03-31', 'Real', 'Ventas', 'EUR', 1300.00::numeric(20, 2), now() - interval '1 day'),
             ('Acme', '2026-03-31', 'Real', 'LTV/CAC', 'x', 2.35::numeric(20, 2), now() - interval '1 day'),
             ('Acme', '2026-03-31', 'Real', 'Margen', NULL, 42.50::numeric(20, 2), now() - interval '1 day')",
        )
        .await;
    let file = "empresa,fecha,tipo,indicador,unidad,valor\n\
                Acme,2026-03-31,Real,Ventas,EUR,1300\n\
                Acme,2026-03-31,Real,LTV/CAC,x,2.3456\n\
                Acme,2026-03-31,Real,Margen,,42.5%\n";
    stack.upload("uploads/kpis/again.csv", file, &[]).await;
    stack.settle().await;

    let v = &stack
        .query("SELECT status, rows_inserted, rows_updated, rows_unchanged, change_report_key FROM data_versions")
        .await[0];
    assert_eq!(v.get::<_, &str>(0), "success");
    assert_eq!((v.get::<_, i32>(1), v.get::<_, i32>(2), v.get::<_, i32>(3)), (0, 2, 1));
    let rows: Vec<(String, Option<String>, String, i32)> = stack
        .query("SELECT indicador, unidad, valor::text, version FROM kpis ORDER BY indicador COLLATE \"C\"")
        .await
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            ("LTV/CAC".into(), Some("x".into()), "2.3456".into(), 2),
            ("Margen".into(), Some("%".into()), "42.5".into(), 2),
            // 1300 is 1300.00: the same value, so the row is left as it was.
            ("Ventas".into(), Some("EUR".into()), "1300.00".into(), 1),
        ]
    );

    // The change report shows decimals as exact text, not as floating-point numbers.
    let report: serde_json::Value =
        serde_json::from_slice(&stack.get_object(v.get::<_, &str>(4)).await.expect("change report")).unwrap();
    let changes = report["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2, "{report}");
    assert_eq!(changes[0]["before"]["valor"], "2.35");
    assert_eq!(changes[0]["after"]["valor"], "2.3456");
    assert_eq!(changes[1]["before"]["unidad"], serde_json::Value::Null);
    assert_eq!(changes[1]["after"]["unidad"], "%");
}
