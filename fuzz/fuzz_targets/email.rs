#![no_main]
//! Arbitrary bytes as a raw e-mail (parsed, and screened for SES's verdicts), and as text
//! to strip of quotes and signatures.

use libfuzzer_sys::fuzz_target;
use sluice_feedback::{parse_email, screen_inbound, strip_quoted_and_signature, MAX_TEXT_CHARS};
use sluice_fuzz::check_result;

fuzz_target!(|data: &[u8]| {
    let key = "inbound-email/fuzz";
    let parsed = parse_email(data, key);
    check_result(&parsed, &parse_email(data, key));
    if let Ok(item) = &parsed {
        assert_eq!(item.link.as_deref(), Some(key));
        assert_eq!(item.external_id, item.revision);
    }

    let screened = screen_inbound(data);
    assert_eq!(screened, screen_inbound(data), "not deterministic");
    if let Some(sender) = &screened.sender {
        assert_eq!(sender, &sender.to_lowercase());
    }

    let text = String::from_utf8_lossy(data);
    let stripped = strip_quoted_and_signature(&text);
    assert_eq!(stripped.trim(), stripped);
    assert!(stripped.chars().count() <= MAX_TEXT_CHARS);
    assert_eq!(stripped, strip_quoted_and_signature(&text), "not deterministic");
});
