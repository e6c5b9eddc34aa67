//! Manifests, indexes and image configs as the scanner reads them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = berth_oci::ParsedManifest::parse(None, data);
    let _ = serde_json_config(data);
});

fn serde_json_config(data: &[u8]) -> Option<()> {
    let cfg: berth_scan::baseline::ImageConfig = serde_json::from_slice(data).ok()?;
    let _ = berth_scan::baseline::config_checks(&cfg);
    Some(())
}
