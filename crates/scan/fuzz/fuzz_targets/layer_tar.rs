//! Any bytes as a layer blob (plain, gzip or zstd tar): must return Ok or Err, never panic, and
//! respect the limits.
#![no_main]
use berth_scan::analyze::Analyzer;
use berth_scan::layer::{Totals, read_layer};
use berth_scan::{Limits, ScanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_files: 10_000, max_layer_size: 64 << 20, bomb_min_size: 1 << 20, ..Limits::default() };
    let opts = ScanOptions { limits: limits.clone(), ..ScanOptions::default() };
    let Ok(analyzer) = Analyzer::new(&opts) else { return };
    let totals = Totals::new(&limits);
    let _ = read_layer(data, Some(0), None, &limits, &totals, &analyzer);
});
