//! Benchmark: import feeds, open the database, match 10,000 packages.
//!
//! `cargo run --release -p berth-vulndb --example bench -- FEED...` (see bench/vulndb.sh).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::str::FromStr;
use std::time::Instant;

use berth_vulndb::{Database, Ecosystem, PackageQuery, Target};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sources: Vec<String> = std::env::args().skip(1).collect();
    if sources.is_empty() {
        return Err("usage: bench FEED...".into());
    }
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let t = Instant::now();
    let report = rt.block_on(berth_vulndb::import(dir.path(), &sources))?;
    let import = t.elapsed();
    let size = std::fs::metadata(Database::file_path(dir.path()))?.len();
    println!(
        "import: {:.2} s, peak RSS {:.1} MiB, on-disk {:.1} MiB; {} advisories read, {} stored, {} affected entries, {} skipped, {} problems",
        import.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0,
        size as f64 / 1048576.0,
        report.advisories_read,
        report.advisories,
        report.affected,
        report.skipped,
        report.problems.len()
    );

    if std::env::var_os("BENCH_DETAIL").is_some() {
        for p in &report.problems {
            println!("  problem: {}: {}", p.location, p.reason);
        }
    }
    let mut best = f64::MAX;
    let mut db = None;
    for _ in 0..5 {
        let t = Instant::now();
        let d = Database::open(dir.path())?;
        best = best.min(t.elapsed().as_secs_f64());
        db = Some(d);
    }
    let db = db.ok_or("no database")?;
    println!("open: {:.1} ms (best of 5)", best * 1000.0);
    if std::env::var_os("BENCH_DETAIL").is_some() {
        let t = Instant::now();
        let bytes = std::fs::read(Database::file_path(dir.path()))?;
        println!(
            "  read file: {:.1} ms ({} bytes)",
            t.elapsed().as_secs_f64() * 1000.0,
            bytes.len()
        );
        let s = db.store();
        let strings: usize = s
            .index
            .values()
            .flat_map(|m| m.values())
            .flatten()
            .map(|a| {
                a.ranges.iter().map(|r| r.len()).sum::<usize>()
                    + a.fixed.len()
                    + a.listed_versions().count()
            })
            .sum();
        println!(
            "  index: {} namespaces, {} packages, {} version strings, advisory bytes {}",
            s.index.len(),
            s.index.values().map(|m| m.len()).sum::<usize>(),
            strings,
            s.advisory_bytes.len()
        );
    }

    // 10,000 queries drawn from the database's own packages: half at a fixed version (mostly
    // not affected), half at a version below it (affected), across every namespace.
    let mut keys: Vec<(String, String, String)> = Vec::new();
    let mut namespaces: Vec<_> = db.store().index.iter().collect();
    namespaces.sort_by(|a, b| a.0.cmp(b.0));
    for (ns, pkgs) in namespaces {
        let mut names: Vec<_> = pkgs.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        for (name, entries) in names {
            let fixed = entries
                .iter()
                .find_map(|e| e.fixed.first().cloned())
                .unwrap_or_else(|| "1.0".to_owned());
            keys.push((ns.clone(), name.clone(), fixed));
        }
    }
    let mut queries: Vec<(String, String, String)> = Vec::with_capacity(10_000);
    let step = (keys.len() / 5_000).max(1);
    let mut i = 0;
    while queries.len() < 10_000 && !keys.is_empty() {
        let (ns, name, fixed) = &keys[(i * step + i / keys.len()) % keys.len()];
        let v = if i % 2 == 0 {
            fixed.clone()
        } else {
            "0.0.1".to_owned()
        };
        queries.push((ns.clone(), name.clone(), v));
        i += 1;
    }
    let targets: Vec<Target<'_>> = queries
        .iter()
        .map(|(ns, _, _)| {
            let (a, b) = ns.split_once(':').unwrap_or((ns, ""));
            match a {
                "osv" => Target::Lang(Ecosystem::from_str(b).unwrap_or(Ecosystem::PyPI)),
                distro => Target::Os { distro, release: b },
            }
        })
        .collect();
    let t = Instant::now();
    let mut counted = 0usize;
    for (q, target) in queries.iter().zip(&targets) {
        let pq = PackageQuery {
            target: *target,
            name: &q.1,
            source_name: None,
            version: &q.2,
        };
        counted += db.count_matches(&pq)?;
    }
    let c = t.elapsed();
    println!(
        "evaluate: {} packages in {:.1} ms on one thread ({counted} advisories, no Match built)",
        queries.len(),
        c.as_secs_f64() * 1000.0
    );
    let reps = std::env::var("BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1usize);
    for _ in 1..reps {
        for (q, target) in queries.iter().zip(&targets) {
            let pq = PackageQuery {
                target: *target,
                name: &q.1,
                source_name: None,
                version: &q.2,
            };
            std::hint::black_box(db.matches(&pq)?);
        }
    }
    let t = Instant::now();
    let mut matched = 0usize;
    for (q, target) in queries.iter().zip(&targets) {
        let pq = PackageQuery {
            target: *target,
            name: &q.1,
            source_name: None,
            version: &q.2,
        };
        matched += db.matches(&pq)?.len();
    }
    let m = t.elapsed();
    println!(
        "match (pessimistic mix: half below every fix): {} packages in {:.1} ms on one thread ({matched} matches)",
        queries.len(),
        m.as_secs_f64() * 1000.0
    );

    // A maintained image: most packages at their newest fixed version, one in ten at an older
    // fixed version.
    let mut newest: Vec<String> = Vec::with_capacity(queries.len());
    for (ns, name, fixed) in &queries {
        let entries = &db.store().index[ns][name];
        let scheme = entries[0].scheme;
        let mut best = fixed.clone();
        for f in entries.iter().flat_map(|e| e.fixed.iter()) {
            if scheme.compare(f, &best).is_ok_and(|o| o.is_gt()) {
                best = f.clone();
            }
        }
        newest.push(best);
    }
    let t = Instant::now();
    let mut matched = 0usize;
    for (i, ((q, target), v)) in queries.iter().zip(&targets).zip(&newest).enumerate() {
        let pq = PackageQuery {
            target: *target,
            name: &q.1,
            source_name: None,
            version: if i % 10 == 0 { &q.2 } else { v },
        };
        matched += db.matches(&pq)?.len();
    }
    println!(
        "match (maintained-image mix): {} packages in {:.1} ms on one thread ({matched} matches)",
        queries.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
