//! App Store Connect and Google Play review exports (this crate's own fixtures).

mod common;

use common::{own, time};
use sluice_feedback::{
    parse_app_store_export, parse_app_store_reviews, parse_google_play_export, parse_google_play_reviews,
    FeedbackSource,
};

#[test]
fn app_store_customer_reviews() {
    let body = own("app_store/customer_reviews.json");
    let export = parse_app_store_export(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(export.reviews.len(), 3);
    let first = &export.reviews[0];
    assert_eq!(first.source, FeedbackSource::AppStore);
    assert_eq!(first.external_id, "00000029-a1b2-4c3d-9e8f-0123456789ab");
    assert_eq!(first.revision, "2024-03-04T07:41:12-08:00");
    assert_eq!(first.received_at, time("2024-03-04T15:41:12Z"));
    assert_eq!(first.rating, Some(2));
    assert_eq!(first.subject.as_deref(), Some("Charts stopped loading"));
    assert_eq!(first.author.as_deref(), Some("MorningAnalyst"));
    assert_eq!(first.language.as_deref(), Some("en"));
    assert_eq!(
        first.text,
        "Since the last update the portfolio charts stay blank on my iPad.\nPlease fix, I use this every morning."
    );
    assert_eq!(
        first.link.as_deref(),
        Some("https://api.appstoreconnect.apple.com/v1/customerReviews/00000029-a1b2-4c3d-9e8f-0123456789ab")
    );
    let french = &export.reviews[1];
    assert_eq!(french.language.as_deref(), Some("fr"));
    assert_eq!(french.text, "Les alertes de résultats trimestriels sont parfaites. 👍");
    // Stars without words: still an item, with a text that says so; Switzerland has no
    // single language.
    let silent = &export.reviews[2];
    assert_eq!(silent.rating, Some(4));
    assert_eq!(silent.text, "Rated 4 of 5 stars, with no written comment.");
    assert_eq!(silent.subject, None);
    assert_eq!(silent.language, None);
    assert_eq!(silent.link, None);
    // A rating of 9 and a review response are left out, counted, with reasons.
    let skipped: Vec<(u64, bool)> = export
        .skipped
        .iter()
        .map(|s| (s.position, s.reason.contains("rating") || s.reason.contains("type")))
        .collect();
    assert_eq!(skipped, vec![(4, true), (5, true)]);
    assert_eq!(parse_app_store_reviews(&body), Ok(export.reviews));
}

#[test]
fn google_play_csv_in_utf16le_with_bom_and_in_utf8_read_the_same() {
    let utf16 = own("google_play/reviews_utf16le_bom.csv");
    assert_eq!(&utf16[..2], &[0xff, 0xfe], "the fixture is UTF-16LE with a BOM");
    let utf8 = own("google_play/reviews_utf8.csv");
    let from_utf16 = parse_google_play_export(&utf16).unwrap_or_else(|e| panic!("{e}"));
    let from_utf8 = parse_google_play_export(&utf8).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_utf16, from_utf8);
    // A UTF-8 BOM is fine too.
    let with_bom = [&[0xef, 0xbb, 0xbf][..], &utf8].concat();
    assert_eq!(parse_google_play_export(&with_bom), Ok(from_utf8.clone()));
    assert_eq!(parse_google_play_reviews(&utf16), Ok(from_utf8.reviews.clone()));
}

#[test]
fn google_play_rows() {
    let export =
        parse_google_play_export(&own("google_play/reviews_utf16le_bom.csv")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(export.reviews.len(), 3);
    let crash = &export.reviews[0];
    assert_eq!(crash.source, FeedbackSource::GooglePlay);
    assert_eq!(crash.external_id, "gp:AOqpTOExample_1");
    assert_eq!(crash.revision, "2024-03-02T18:00:00.000Z");
    assert_eq!(crash.received_at, time("2024-03-02T18:00:00Z"));
    assert_eq!(crash.rating, Some(1));
    assert_eq!(
        crash.text,
        "Crashes every time I open a 10-K.\nReinstalling did not help."
    );
    assert_eq!(crash.language.as_deref(), Some("en"));
    assert_eq!(crash.subject, None);
    assert!(crash
        .link
        .as_deref()
        .is_some_and(|l| l.contains("reviewId=gp%3AAOqpTOExample_1")));

    let german = &export.reviews[1];
    assert_eq!(german.external_id, "gp:AOqpTOExample_2");
    assert_eq!(german.language.as_deref(), Some("de-DE"));
    assert_eq!(german.rating, Some(5));
    assert_eq!(
        german.text,
        "Sehr übersichtlich – die Kennzahlen sind schnell gefunden. 📈"
    );

    // No link, no text: identified by package, submission time and device.
    let stars_only = &export.reviews[2];
    assert_eq!(stars_only.external_id, "com.sluice.research:1709670600000:OnePlus7T");
    assert_eq!(stars_only.revision, "2024-03-05T20:30:00.000Z");
    assert_eq!(stars_only.language.as_deref(), Some("pt-BR"));
    assert_eq!(stars_only.text, "Rated 4 of 5 stars, with no written comment.");
    assert_eq!(stars_only.link, None);

    // Row 4 has neither text nor rating, row 5 a rating that is not a number.
    let skipped: Vec<u64> = export.skipped.iter().map(|s| s.position).collect();
    assert_eq!(skipped, vec![4, 5]);
    assert!(export.skipped[0].reason.contains("no text and no rating"));
    assert!(export.skipped[1].reason.contains("seven"));
}
