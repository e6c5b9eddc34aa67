//! The feed sniffer and every feed parser (OSV JSON and zip, Debian tracker lists, Alpine
//! secdb YAML/JSON) on arbitrary bytes: errors, never panics; the result encodes.
#![no_main]
use berth_vulndb::feed::Builder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Builder::new();
    let explicit = data.first().is_some_and(|c| c & 1 == 1);
    let _ = b.parse_blob("fuzz", data, explicit);
    let _ = b.finish(Vec::new(), 0);
});
