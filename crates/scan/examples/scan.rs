//! `cargo run --release -p berth-scan --example scan -- SOURCE`: the engine alone (no vulnerability
//! database), printing the JSON report. Used by bench/scan.sh so the benchmark does not need the
//! whole workspace built in release mode.
use berth_scan::source::{DockerArchiveSource, OciDirSource};
use berth_scan::{NoProgress, PlatformSpec, ScanOptions, Scanner};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args()
        .nth(1)
        .ok_or("usage: scan oci-dir:PATH|docker-archive:PATH|dir:PATH")?;
    let scanner = Scanner::new(ScanOptions::default())?;
    let report = if let Some(p) = arg.strip_prefix("oci-dir:") {
        scanner.scan_image(
            &OciDirSource::open(p.as_ref(), None)?,
            &PlatformSpec::default(),
            &NoProgress,
        )?
    } else if let Some(p) = arg.strip_prefix("docker-archive:") {
        scanner.scan_image(
            &DockerArchiveSource::open(p.as_ref(), None)?,
            &PlatformSpec::default(),
            &NoProgress,
        )?
    } else {
        scanner.scan_dir(arg.trim_start_matches("dir:").as_ref(), &NoProgress)?
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
