//! `berth scan SOURCE`: image scanning (owned by the scan work).
use clap::Args;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// What to scan: registry:REF, oci-dir:PATH, docker-archive:PATH, dir:PATH or a bare reference.
    pub source: String,
}

pub async fn run(args: ScanArgs) -> anyhow::Result<i32> {
    anyhow::bail!("scanning {} is not built yet", args.source)
}
