#![no_main]
//! Arbitrary bytes as an App Store Connect reviews JSON and as a Google Play reviews CSV.

use libfuzzer_sys::fuzz_target;
use sluice_feedback::{parse_app_store_export, parse_google_play_export};

fuzz_target!(|data: &[u8]| {
    for parse in [parse_app_store_export, parse_google_play_export] {
        let export = parse(data);
        assert_eq!(export, parse(data), "not deterministic");
        if let Ok(export) = export {
            export.reviews.iter().for_each(sluice_fuzz::check_item);
        }
    }
});
