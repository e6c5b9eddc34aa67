//! An OpenVEX document as the exceptions API imports it: any bytes parse to a document or a
//! refusal, never a panic, and within the statement and scope limits.
#![no_main]
use berth_hss::policy::openvex::{MAX_SCOPES, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = parse(data) {
        assert!(doc.scopes.len() <= MAX_SCOPES);
        for s in &doc.scopes {
            assert!(s.scope.vulnerability_or_check.is_some());
        }
    }
});
