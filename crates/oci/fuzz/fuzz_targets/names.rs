//! Repository names, tags, digests and references come straight from request paths.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = berth_oci::validate_repository(s);
        let _ = berth_oci::validate_tag(s);
        let _ = s.parse::<berth_oci::Digest>();
        let _ = s.parse::<berth_oci::Reference>();
    }
});
