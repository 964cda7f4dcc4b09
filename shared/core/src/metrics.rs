//! CloudWatch Embedded Metric Format: one JSON line on stdout per flush, which
//! CloudWatch turns into metrics without any API call from the function.

use serde_json::{json, Map, Value};
use std::io::Write;

pub const NAMESPACE: &str = "Sluice";

#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
}

impl Unit {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Bytes => "Bytes",
        }
    }
}

/// Metrics of one unit of work with the same dimensions.
#[derive(Debug, Clone)]
pub struct MetricSet {
    dimensions: Vec<(String, String)>,
    values: Vec<(String, Unit, f64)>,
}

impl MetricSet {
    pub fn new(service: &str) -> Self {
        Self {
            dimensions: vec![("Service".into(), service.into())],
            values: Vec::new(),
        }
    }

    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    pub fn put(&mut self, name: &str, unit: Unit, value: f64) -> &mut Self {
        self.values.push((name.into(), unit, value));
        self
    }

    /// The EMF document for these metrics at `timestamp_ms`.
    pub fn to_emf(&self, timestamp_ms: i64) -> Value {
        let mut doc = Map::new();
        for (k, v) in &self.dimensions {
            doc.insert(k.clone(), Value::String(v.clone()));
        }
        for (name, _, value) in &self.values {
            doc.insert(name.clone(), json!(value));
        }
        let dims: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(n, u, _)| json!({"Name": n, "Unit": u.as_str()}))
            .collect();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dims], "Metrics": metrics}]
            }),
        );
        Value::Object(doc)
    }

    pub fn emit(&self) {
        if self.values.is_empty() {
            return;
        }
        let line = self.to_emf(chrono::Utc::now().timestamp_millis()).to_string();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_names_every_metric_and_dimension() {
        let mut m = MetricSet::new("etl-transformer").dimension("Dataset", "kpis");
        m.put("RowsInserted", Unit::Count, 3.0)
            .put("LoadTime", Unit::Milliseconds, 12.5);
        let doc = m.to_emf(1_700_000_000_000);
        assert_eq!(doc["Service"], "etl-transformer");
        assert_eq!(doc["RowsInserted"], 3.0);
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Sluice");
        assert_eq!(cw["Dimensions"][0], json!(["Service", "Dataset"]));
        assert_eq!(cw["Metrics"][1], json!({"Name": "LoadTime", "Unit": "Milliseconds"}));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
