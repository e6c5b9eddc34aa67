//! rpm header blobs and the Berkeley DB / NDB / sqlite rpmdb parsers.
#![no_main]
use berth_scan::catalog::rpm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rpm::parse_header(data);
    let _ = rpm::bdb_blobs(data);
    let _ = rpm::ndb_blobs(data);
});
