//! Manifests arrive from any client: parsing must never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for content_type in [None, Some("application/vnd.oci.image.index.v1+json")] {
        let _ = berth_oci::ParsedManifest::parse(content_type, data);
    }
});
