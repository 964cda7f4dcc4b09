//! What an S3 notification says about an upload, parsed into domain terms. Pure.

use serde::Deserialize;
use sluice_messages::Dataset;
use std::collections::BTreeMap;

/// Uploads live under `uploads/<dataset>/...`.
pub const UPLOAD_PREFIX: &str = "uploads/";

/// One object-created notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadNotice {
    pub bucket: String,
    /// URL-decoded object key.
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    /// Orders the events of one key; part of what makes a notification unique.
    pub sequencer: Option<String>,
    /// When S3 saw the upload: with no sequencer (some emulators), it tells two uploads
    /// of the same bytes to the same key apart (a redelivery keeps it).
    pub event_time: Option<String>,
    pub principal: Option<String>,
}

impl UploadNotice {
    /// Stable identity of this upload event: a redelivered notification has the same one.
    pub fn idempotency_key(&self) -> String {
        format!(
            "s3://{}/{}@{}#{}",
            self.bucket,
            self.key,
            self.version_id.as_deref().or(self.etag.as_deref()).unwrap_or("-"),
            self.sequencer.as_deref().or(self.event_time.as_deref()).unwrap_or("-")
        )
    }

    /// The dataset named by the key's folder, or why there is none.
    pub fn dataset(&self) -> Result<Dataset, String> {
        let rest = self.key.strip_prefix(UPLOAD_PREFIX).unwrap_or(&self.key);
        match rest.split_once('/') {
            Some((folder, file)) if !file.is_empty() => Dataset::parse(folder).map_err(|e| {
                format!("{e}: upload spreadsheets under uploads/companies/, uploads/kpis/ or uploads/dealflow/")
            }),
            _ => Err("file is not inside a dataset folder (uploads/<companies|kpis|dealflow>/<file>)".into()),
        }
    }

    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }
}

/// An S3 event notification, read leniently: only what ingest needs is required
/// (emulators and older notification versions omit fields such as `userIdentity`).
#[derive(Debug, Clone, Deserialize)]
pub struct S3Notification {
    #[serde(rename = "Records")]
    pub records: Vec<S3NotificationRecord>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3NotificationRecord {
    #[serde(default)]
    pub event_name: Option<String>,
    #[serde(default)]
    pub event_time: Option<String>,
    #[serde(default)]
    pub user_identity: Option<S3Principal>,
    pub s3: S3Entity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Principal {
    #[serde(default)]
    pub principal_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    pub bucket: S3BucketRef,
    pub object: S3ObjectRef,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3BucketRef {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3ObjectRef {
    pub key: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub e_tag: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub sequencer: Option<String>,
}

/// What an SQS record from the uploads queue carries.
#[derive(Debug)]
pub enum Notification {
    Uploads(Vec<UploadNotice>),
    /// S3 sends `s3:TestEvent` when a notification is configured: nothing to do.
    Test,
}

/// Parses the body of an uploads-queue record (an S3 event notification).
pub fn parse_notification(body: &str) -> Result<Notification, String> {
    let mut value: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("body is not JSON: {e}"))?;
    // S3 -> SNS -> SQS (without raw delivery): the S3 event is the notification's Message.
    if value.get("Type").and_then(|t| t.as_str()) == Some("Notification") {
        let message = value.get("Message").and_then(|m| m.as_str()).unwrap_or_default();
        value = serde_json::from_str(message).map_err(|e| format!("SNS message is not JSON: {e}"))?;
    }
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Notification::Test);
    }
    let event: S3Notification = serde_json::from_value(value).map_err(|e| format!("body is not an S3 event: {e}"))?;
    let mut uploads = Vec::new();
    for record in &event.records {
        if let Some(notice) = notice_from_record(record)? {
            uploads.push(notice);
        }
    }
    Ok(Notification::Uploads(uploads))
}

/// `None` for events other than object creation (deletes, restores...).
pub fn notice_from_record(record: &S3NotificationRecord) -> Result<Option<UploadNotice>, String> {
    let created = record
        .event_name
        .as_deref()
        .is_some_and(|n| n.starts_with("ObjectCreated"));
    if !created {
        return Ok(None);
    }
    Ok(Some(UploadNotice {
        bucket: record.s3.bucket.name.clone(),
        key: decode_key(&record.s3.object.key)?,
        size: record.s3.object.size.unwrap_or(0).max(0) as u64,
        etag: record.s3.object.e_tag.clone().filter(|e| !e.is_empty()),
        version_id: record.s3.object.version_id.clone().filter(|v| !v.is_empty()),
        sequencer: record.s3.object.sequencer.clone().filter(|s| !s.is_empty()),
        event_time: record.event_time.clone(),
        principal: record.user_identity.as_ref().and_then(|u| u.principal_id.clone()),
    }))
}

/// S3 event keys are URL-encoded with `+` for spaces.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("object key `{raw}` is not valid UTF-8 once decoded"))
}

/// Per-upload instructions an uploader can attach as S3 object metadata
/// (`x-amz-meta-*`, which S3 restricts to ASCII).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadOptions {
    pub uploaded_by: Option<String>,
    /// `column-map: "founded_at=founding_date; name=company_name"`
    pub column_map: BTreeMap<String, String>,
    /// `date-order: mdy` for files written with month-first dates.
    pub date_order: Option<String>,
}

impl UploadOptions {
    pub fn from_metadata(metadata: &std::collections::HashMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| metadata.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut column_map = BTreeMap::new();
        if let Some(raw) = get("column-map") {
            for pair in raw.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()) {
                let (from, to) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("column-map entry `{pair}` is not `file column=dataset column`"))?;
                column_map.insert(from.trim().to_owned(), to.trim().to_owned());
            }
        }
        let date_order = match get("date-order") {
            Some(order) => {
                sluice_tabular::DateOrder::parse(&order).map_err(|e| format!("date-order: {e}"))?;
                Some(order.to_ascii_lowercase())
            }
            None => None,
        };
        Ok(Self {
            uploaded_by: get("uploaded-by"),
            column_map,
            date_order,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(key: &str) -> UploadNotice {
        UploadNotice {
            bucket: "b".into(),
            key: key.into(),
            size: 1,
            etag: Some("e".into()),
            version_id: None,
            sequencer: Some("s1".into()),
            event_time: None,
            principal: None,
        }
    }

    #[test]
    fn dataset_comes_from_the_folder() {
        assert_eq!(notice("uploads/kpis/q3.csv").dataset().unwrap(), Dataset::Kpis);
        assert_eq!(notice("uploads/Dealflow/x.csv").dataset().unwrap(), Dataset::Dealflow);
        assert!(notice("uploads/prices/x.csv").dataset().unwrap_err().contains("prices"));
        assert!(notice("uploads/kpis.csv").dataset().is_err());
        assert!(notice("uploads/kpis/").dataset().is_err());
    }

    #[test]
    fn an_s3_event_inside_an_sns_notification_is_read() {
        let s3 = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "knowledge/Board+memo.pdf", "size": 10}}}]});
        let sns = serde_json::json!({"Type": "Notification", "Message": s3.to_string()});
        match parse_notification(&sns.to_string()).expect("parsed") {
            Notification::Uploads(u) => assert_eq!(u[0].key, "knowledge/Board memo.pdf"),
            Notification::Test => panic!("not a test event"),
        }
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(
            decode_key("uploads/kpis/KPIs+Q3+%282026%29.csv").unwrap(),
            "uploads/kpis/KPIs Q3 (2026).csv"
        );
        assert_eq!(
            decode_key("uploads/kpis/Compa%C3%B1%C3%ADa.csv").unwrap(),
            "uploads/kpis/Compañía.csv"
        );
    }

    #[test]
    fn idempotency_key_separates_uploads_of_one_key() {
        let a = notice("uploads/kpis/q3.csv");
        let mut b = a.clone();
        b.sequencer = Some("s2".into());
        assert_ne!(a.idempotency_key(), b.idempotency_key());
        assert_eq!(a.idempotency_key(), a.clone().idempotency_key());
        // No sequencer (an emulator): the same bytes uploaded again at another time are
        // another upload; a redelivered notification (same time) is the same one.
        let mut first = a.clone();
        first.sequencer = None;
        first.event_time = Some("2026-11-20T10:00:00.000Z".into());
        let mut again = first.clone();
        again.event_time = Some("2026-11-20T10:05:00.000Z".into());
        assert_ne!(first.idempotency_key(), again.idempotency_key());
        assert_eq!(first.idempotency_key(), first.clone().idempotency_key());
    }

    #[test]
    fn test_events_and_deletes_are_not_uploads() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-20T10:00:00Z","Bucket":"b"}"#;
        assert!(matches!(parse_notification(test).unwrap(), Notification::Test));
        let delete = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
            "eventTime":"2026-11-20T10:00:00.000Z","eventName":"ObjectRemoved:Delete","userIdentity":{"principalId":"x"},
            "requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{},
            "s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"b","ownerIdentity":{"principalId":"x"},
            "arn":"arn:aws:s3:::b"},"object":{"key":"uploads/kpis/a.csv","sequencer":"1"}}}]}"#;
        let Notification::Uploads(u) = parse_notification(delete).unwrap() else {
            panic!()
        };
        assert!(u.is_empty());
        assert!(parse_notification("not json").is_err());
    }

    #[test]
    fn metadata_options_parse() {
        let meta = [
            (
                "column-map".to_string(),
                "founded_at=founding_date; name = company_name".to_string(),
            ),
            ("date-order".to_string(), "MDY".to_string()),
            ("uploaded-by".to_string(), "ana@fund.example".to_string()),
        ]
        .into_iter()
        .collect();
        let o = UploadOptions::from_metadata(&meta).unwrap();
        assert_eq!(o.column_map.get("name").map(String::as_str), Some("company_name"));
        assert_eq!(o.date_order.as_deref(), Some("mdy"));
        assert_eq!(o.uploaded_by.as_deref(), Some("ana@fund.example"));
        let bad = [("column-map".to_string(), "oops".to_string())].into_iter().collect();
        assert!(UploadOptions::from_metadata(&bad).is_err());
    }
}
