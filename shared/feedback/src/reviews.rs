//! App-store review exports uploaded under `uploads/reviews/`: App Store Connect's
//! `customerReviews` JSON and Google Play Console's reviews CSV.

use crate::json::{self, Object};
use crate::text::{feedback_text, language_tag, single_line, territory_language};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sluice_messages::{FeedbackReceived, FeedbackSource};
use std::collections::HashMap;

/// A whole export that cannot be read. Single bad rows are skipped, not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("the export is not JSON: {0}")]
    NotJson(String),
    #[error("the JSON is not an App Store Connect customerReviews response: {0}")]
    NotAppStoreReviews(String),
    #[error("the export is neither UTF-8 nor UTF-16 text: {0}")]
    Encoding(String),
    #[error("the CSV does not parse: {0}")]
    Csv(String),
    #[error("the CSV has no {0:?} column: not a Google Play reviews export")]
    MissingColumn(String),
}

/// What an export held: the reviews, and the rows left out with why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewExport {
    pub reviews: Vec<FeedbackReceived>,
    pub skipped: Vec<SkippedReview>,
}

/// A review left out: its 1-based position among the export's reviews (the CSV's data
/// rows after the header; the JSON's `data` entries), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedReview {
    pub position: u64,
    pub reason: String,
}

/// [`parse_app_store_export`], keeping only the reviews.
pub fn parse_app_store_reviews(body: &[u8]) -> Result<Vec<FeedbackReceived>, ReviewError> {
    parse_app_store_export(body).map(|export| export.reviews)
}

/// [`parse_google_play_export`], keeping only the reviews.
pub fn parse_google_play_reviews(body: &[u8]) -> Result<Vec<FeedbackReceived>, ReviewError> {
    parse_google_play_export(body).map(|export| export.reviews)
}

/// An App Store Connect API `customerReviews` response (`GET /v1/apps/{id}/customerReviews`,
/// or one review): `{"data": [{"type": "customerReviews", "id", "attributes": {"rating",
/// "title", "body", "reviewerNickname", "createdDate", "territory"}, "links": {"self"}}]}`.
/// The review id is the external id, `createdDate` the revision and the received time, the
/// storefront's language (when one clearly dominates) the language.
pub fn parse_app_store_export(body: &[u8]) -> Result<ReviewExport, ReviewError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    let entries: Vec<&Value> = match root.get("data") {
        Some(Value::Array(entries)) => entries.iter().collect(),
        Some(entry @ Value::Object(_)) => vec![entry],
        _ => return Err(ReviewError::NotAppStoreReviews("no data array".into())),
    };
    let mut export = ReviewExport::default();
    for (index, entry) in entries.into_iter().enumerate() {
        let position = index as u64 + 1;
        match app_store_review(entry) {
            Ok(review) => export.reviews.push(review),
            Err(reason) => export.skipped.push(SkippedReview { position, reason }),
        }
    }
    Ok(export)
}

fn app_store_review(entry: &Value) -> Result<FeedbackReceived, String> {
    let entry = entry.as_object().ok_or("the entry is not an object")?;
    let kind = json::text(entry, "type").unwrap_or_default();
    if kind != "customerReviews" {
        return Err(format!("type {kind:?} is not customerReviews"));
    }
    let id = json::text(entry, "id").ok_or("no id")?;
    let empty = Object::new();
    let attributes = json::obj(entry, "attributes").unwrap_or(&empty);
    let rating = match attributes.get("rating") {
        None | Some(Value::Null) => None,
        Some(value) => Some(stars(value).ok_or_else(|| format!("review {id}: rating {value} is not 1-5"))?),
    };
    let created = json::text(attributes, "createdDate").ok_or_else(|| format!("review {id}: no createdDate"))?;
    let created_at = crate::parse_time(&created).ok_or_else(|| format!("review {id}: createdDate {created:?}"))?;
    let text = feedback_text(json::text(attributes, "body").as_deref(), rating)
        .ok_or_else(|| format!("review {id}: no text and no rating"))?;
    Ok(FeedbackReceived {
        source: FeedbackSource::AppStore,
        external_id: id,
        revision: created,
        author: json::text(attributes, "reviewerNickname")
            .as_deref()
            .and_then(single_line),
        rating,
        subject: json::text(attributes, "title").as_deref().and_then(single_line),
        text,
        language: json::text(attributes, "territory")
            .as_deref()
            .and_then(territory_language)
            .map(str::to_owned),
        received_at: created_at,
        link: json::obj(entry, "links").and_then(|links| json::text(links, "self")),
    })
}

fn stars(value: &Value) -> Option<u8> {
    let n = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    u8::try_from(n).ok().filter(|r| (1..=5).contains(r))
}

/// The Google Play Console reviews export (`reviews_<package>_<yyyymm>.csv`, UTF-16LE with
/// a BOM as Google writes it; UTF-8 and UTF-16BE read too). Columns are found by their
/// header (`Package Name`, `Reviewer Language`, `Device`, `Review Submit Millis Since
/// Epoch`, `Review Last Update Millis Since Epoch`, `Star Rating`, `Review Title`, `Review
/// Text`, `Review Link`, and the `... Date and Time` forms), in any order.
///
/// The external id is the `reviewId` in the review link, or `package:submit-millis:device`
/// when there is no link; the revision and received time are the last update (else the
/// submission) time. Rows with neither text nor rating, or with a bad rating or time, are
/// skipped and counted.
pub fn parse_google_play_export(body: &[u8]) -> Result<ReviewExport, ReviewError> {
    let text = decode_export(body)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| ReviewError::Csv(e.to_string()))?.clone();
    let columns = PlayColumns::find(&header)?;
    let mut export = ReviewExport::default();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ReviewError::Csv(e.to_string()))?;
        let position = index as u64 + 1;
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        match columns.review(&record) {
            Ok(review) => export.reviews.push(review),
            Err(reason) => export.skipped.push(SkippedReview { position, reason }),
        }
    }
    Ok(export)
}

/// Text of an export: a BOM decides; without one, NUL bytes in the first pair reveal UTF-16.
fn decode_export(body: &[u8]) -> Result<String, ReviewError> {
    let (encoding, bom_len) = match encoding_rs::Encoding::for_bom(body) {
        Some(found) => found,
        None => match body {
            [first, 0, ..] if *first != 0 => (encoding_rs::UTF_16LE, 0),
            [0, second, ..] if *second != 0 => (encoding_rs::UTF_16BE, 0),
            _ => (encoding_rs::UTF_8, 0),
        },
    };
    let rest = body.get(bom_len..).unwrap_or_default();
    encoding
        .decode_without_bom_handling_and_without_replacement(rest)
        .map(|text| text.into_owned())
        .ok_or_else(|| ReviewError::Encoding(format!("malformed {}", encoding.name())))
}

struct PlayColumns {
    package: usize,
    language: Option<usize>,
    device: Option<usize>,
    submitted_millis: Option<usize>,
    submitted_at: Option<usize>,
    updated_millis: Option<usize>,
    updated_at: Option<usize>,
    rating: usize,
    title: Option<usize>,
    text: usize,
    link: Option<usize>,
}

impl PlayColumns {
    fn find(header: &csv::StringRecord) -> Result<Self, ReviewError> {
        let index: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(), i))
            .collect();
        let optional = |name: &str| index.get(name).copied();
        let required =
            |name: &str| optional(&name.to_ascii_lowercase()).ok_or_else(|| ReviewError::MissingColumn(name.into()));
        let columns = Self {
            package: required("Package Name")?,
            language: optional("reviewer language"),
            device: optional("device"),
            submitted_millis: optional("review submit millis since epoch"),
            submitted_at: optional("review submit date and time"),
            updated_millis: optional("review last update millis since epoch"),
            updated_at: optional("review last update date and time"),
            rating: required("Star Rating")?,
            title: optional("review title"),
            text: required("Review Text")?,
            link: optional("review link"),
        };
        if columns.submitted_millis.is_none() && columns.submitted_at.is_none() {
            return Err(ReviewError::MissingColumn("Review Submit Millis Since Epoch".into()));
        }
        Ok(columns)
    }

    fn review(&self, record: &csv::StringRecord) -> Result<FeedbackReceived, String> {
        let field = |column: Option<usize>| {
            column
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let package = field(Some(self.package)).ok_or("no package name")?;
        let rating = match field(Some(self.rating)) {
            None => None,
            Some(value) => Some(
                value
                    .parse::<u8>()
                    .ok()
                    .filter(|r| (1..=5).contains(r))
                    .ok_or_else(|| format!("star rating {value:?} is not 1-5"))?,
            ),
        };
        let text = feedback_text(field(Some(self.text)), rating).ok_or("no text and no rating")?;
        let submitted =
            play_time(field(self.submitted_millis), field(self.submitted_at))?.ok_or("no submission time")?;
        let updated = play_time(field(self.updated_millis), field(self.updated_at))?.unwrap_or(submitted);
        let link = field(self.link).map(str::to_owned);
        let external_id = match link.as_deref().and_then(review_id) {
            Some(id) => id,
            None => format!(
                "{package}:{}:{}",
                submitted.timestamp_millis(),
                field(self.device).unwrap_or("-")
            ),
        };
        Ok(FeedbackReceived {
            source: FeedbackSource::GooglePlay,
            external_id,
            revision: updated.to_rfc3339_opts(SecondsFormat::Millis, true),
            author: None,
            rating,
            subject: field(self.title).and_then(single_line),
            text,
            language: field(self.language).and_then(language_tag),
            received_at: updated,
            link,
        })
    }
}

/// A time from the millis column, else the date-and-time column; an error when present
/// but unreadable.
fn play_time(millis: Option<&str>, at: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    if let Some(millis) = millis {
        return millis
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| format!("time {millis:?} is not milliseconds since the epoch"));
    }
    match at {
        Some(at) => crate::parse_time(at)
            .map(Some)
            .ok_or_else(|| format!("time {at:?} is not a date and time")),
        None => Ok(None),
    }
}

/// The `reviewId` query parameter of a Play Console review link, percent-decoded.
fn review_id(link: &str) -> Option<String> {
    let query = link.split_once('?')?.1;
    let value = query.split('&').find_map(|pair| pair.strip_prefix("reviewId="))?;
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?
        .trim()
        .to_owned();
    (!decoded.is_empty()).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_without_a_bom_is_recognised() {
        let csv = "Package Name,Review Submit Millis Since Epoch,Star Rating,Review Text\ncom.x,1700000000000,3,ok\n";
        let utf16: Vec<u8> = csv.encode_utf16().flat_map(|unit| unit.to_le_bytes()).collect();
        let export = parse_google_play_export(&utf16).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(export.reviews.len(), 1);
        assert_eq!(export.reviews[0].external_id, "com.x:1700000000000:-");
        assert_eq!(export.reviews[0].revision, "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn not_an_export() {
        assert!(matches!(
            parse_google_play_export(b"a,b\n1,2\n"),
            Err(ReviewError::MissingColumn(_))
        ));
        assert!(matches!(
            parse_google_play_export(&[0xff, 0xfe, 0x00, 0xd8]),
            Err(ReviewError::Encoding(_))
        ));
        assert!(matches!(
            parse_google_play_export(&[b'a', 0xc3, 0x28]),
            Err(ReviewError::Encoding(_))
        ));
        assert!(matches!(
            parse_app_store_export(b"{}"),
            Err(ReviewError::NotAppStoreReviews(_))
        ));
        assert!(matches!(
            parse_app_store_export(b"<xml/>"),
            Err(ReviewError::NotJson(_))
        ));
    }

    #[test]
    fn review_ids_come_from_links() {
        assert_eq!(
            review_id("https://play.google.com/console/review-details?reviewId=gp%3AAOqp&corpus=PUBLIC_REVIEWS")
                .as_deref(),
            Some("gp:AOqp")
        );
        assert_eq!(review_id("https://play.google.com/store/apps/details?id=com.x"), None);
    }
}
