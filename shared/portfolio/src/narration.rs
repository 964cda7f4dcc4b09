//! A report's narration (pure). A configured model is given the report's figures (and
//! nothing else) and asked for a few paragraphs about them; its answer is accepted only
//! when every number in it is one of those figures (or one of them rounded), so the
//! narration cannot invent a number. Otherwise, and when no model is configured, the
//! report keeps its extractive narrative (sentences made from the figures), labelled so.

use serde_json::{json, Value};

/// What a model is told. The figures follow in the prompt, as JSON.
pub const SYSTEM: &str = "You are a venture-capital portfolio analyst writing the narrative of a \
monthly portfolio report for the investment team. Write three to six short plain-text paragraphs \
(no headings, no lists, no markdown) about the companies' KPI trends, budget attainment, cash runway \
and open alerts. Use ONLY the figures given in the JSON below: every number you write must appear \
there exactly as given (you may round it); do not compute new figures, do not estimate, and write no \
other numbers (no quarter or item numbers). If a figure is missing, say it is not available.";

/// The most a narration may be (in tokens asked for).
pub const MAX_TOKENS: u32 = 900;

/// The figures a model is given: the report without its histories and extractive
/// sentences (every number it may use is here).
pub fn figures(report: &Value) -> Value {
    let companies: Vec<Value> = report["companies"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let trends: Vec<Value> = c["kpi_trends"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    json!({
                        "indicator": t["indicator"], "unit": t["unit"], "latest": t["latest"],
                        "change_on_the_quarter_pct": t["qoq_pct"], "change_on_the_year_pct": t["yoy_pct"],
                    })
                })
                .collect();
            let alerts: Vec<Value> = c["open_alerts"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|a| json!({ "indicator": a["indicator"], "period": a["period"], "severity": a["severity"], "message": a["message"] }))
                .collect();
            json!({
                "company": c["company"], "fund": c["fund"], "latest_period": c["latest_period"],
                "kpi_trends": trends, "budget_attainment": c["budget_attainment"],
                "cash_runway": c["cash_runway"], "open_alerts": alerts,
            })
        })
        .collect();
    json!({ "period": report["period"], "funds": report["funds"], "companies": companies })
}

/// The user prompt: the figures, as JSON.
pub fn prompt(figures: &Value) -> String {
    format!(
        "Figures of the report (JSON):\n{}\n\nWrite the report's narrative from these figures only.",
        serde_json::to_string_pretty(figures).unwrap_or_default()
    )
}

/// A number as written in a text: its value and how many decimals it was written with.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Written {
    value: f64,
    decimals: i32,
}

/// The numbers written in `text` (digits, with `,` as thousands separators and `.` as the
/// decimal point; a sign is ignored: "fell 50 %" and "-50" are the same figure).
fn numbers(text: &str) -> Vec<Written> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut token = String::new();
        while i < chars.len() {
            let c = chars[i];
            let between_digits =
                (c == ',' || c == '.') && !token.is_empty() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() || between_digits {
                token.push(c);
                i += 1;
            } else {
                break;
            }
        }
        let plain = token.replace(',', "");
        let decimals = plain.split_once('.').map_or(0, |(_, d)| d.len() as i32);
        if let Ok(value) = plain.parse::<f64>() {
            out.push(Written { value, decimals });
        }
    }
    out
}

fn collect(value: &Value, into: &mut Vec<f64>) {
    match value {
        Value::Number(n) => into.extend(n.as_f64().map(f64::abs)),
        Value::String(s) => into.extend(numbers(s).into_iter().map(|w| w.value)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect(v, into)),
        _ => {}
    }
}

/// The numbers of `text` that are not among `figures` (as given, or rounded to the
/// decimals the text writes them with). Empty: the text invented nothing.
pub fn unsupported_numbers(text: &str, figures: &Value) -> Vec<String> {
    let mut known = Vec::new();
    collect(figures, &mut known);
    numbers(text)
        .into_iter()
        .filter(|w| {
            let tolerance = 0.5 * 10f64.powi(-w.decimals) + 1e-9;
            !known.iter().any(|k| (k - w.value).abs() <= tolerance)
        })
        .map(|w| format!("{:.*}", w.decimals.max(0) as usize, w.value))
        .collect()
}

/// The label of a report nobody but its figures narrated.
pub fn extractive(reason: Option<&str>) -> Value {
    let mut label = json!({
        "kind": "extractive",
        "note": "sentences built from the figures in this report; no model was used",
    });
    if let Some(reason) = reason {
        label["model_not_used"] = json!(reason);
    }
    label
}

/// The label and text of a model's narration.
pub fn by_model(model: &str, text: &str) -> Value {
    json!({
        "kind": "model",
        "model": model,
        "note": "written by the model from the figures in this report only; every number in it was checked against them",
        "text": text.trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "period": "2026-11-01",
            "funds": [{"fund": "Fondo I", "companies": ["Acme"], "open_alerts": 2}],
            "companies": [{
                "company": "Acme", "fund": "Fondo I", "latest_period": "2026-06-30",
                "kpi_trends": [{"indicator": "EBITDA", "unit": "EUR", "latest": {"date": "2026-06-30", "value": "550"},
                                "qoq_pct": -50.0, "yoy_pct": null, "history": [{"date": "2025-01-31", "value": "77777"}]}],
                "budget_attainment": [{"indicator": "EBITDA", "actual": "550", "budget": "1000", "attainment_pct": 55.0}],
                "cash_runway": {"cash": "9000.5", "monthly_burn": 1008.39, "months": 8.9},
                "open_alerts": [],
                "narrative": {"kind": "extractive", "sentences": ["EBITDA was 550."]},
            }],
        })
    }

    #[test]
    fn the_figures_leave_out_histories_and_sentences() {
        let f = figures(&sample());
        let text = f.to_string();
        assert!(!text.contains("77777") && !text.contains("sentences"), "{text}");
        assert_eq!(f["companies"][0]["kpi_trends"][0]["change_on_the_quarter_pct"], -50.0);
        assert!(prompt(&f).contains("\"9000.5\""));
    }

    #[test]
    fn numbers_are_read_as_written() {
        let n = numbers("EBITDA of 1,008.39 fell 50 % to 550 on 2026-06-30, v2.");
        let values: Vec<f64> = n.iter().map(|w| w.value).collect();
        assert_eq!(values, [1008.39, 50.0, 550.0, 2026.0, 6.0, 30.0, 2.0]);
        assert_eq!(n[0].decimals, 2);
    }

    #[test]
    fn only_the_reports_figures_may_be_written_rounded_or_not() {
        let f = figures(&sample());
        let honest = "Acme's EBITDA fell 50 % on the quarter to 550 EUR (June 30, 2026), 55 % of its \
                      budget of 1,000. Its cash of 9,000.5 lasts 8.9 months at a burn of about 1,008 a month.";
        assert_eq!(unsupported_numbers(honest, &f), Vec::<String>::new());
        let invented = "Acme raised 2,500,000 and its EBITDA fell 50 %; revenue grew 17.5 %.";
        assert_eq!(unsupported_numbers(invented, &f), ["2500000", "17.5"]);
        // A history value is not among the figures given.
        assert_eq!(unsupported_numbers("It once made 77777.", &f), ["77777"]);
        assert!(unsupported_numbers("No figures at all.", &f).is_empty());
    }

    #[test]
    fn labels() {
        assert_eq!(extractive(None)["kind"], "extractive");
        assert_eq!(extractive(Some("down"))["model_not_used"], "down");
        let m = by_model("openai:x", " text ");
        assert_eq!((m["kind"].as_str(), m["text"].as_str()), (Some("model"), Some("text")));
    }
}
