//! Per-file analysis, run while a layer streams past: SHA-256 blocklist, YARA rules, packages
//! embedded in binaries and Java archives, private keys. Only the files catalogers need later
//! (package databases, manifests) are kept in memory; everything else is dropped after this.
//!
//! A file is read into memory only when it is within the per-file limit and its size fits in
//! the scan's memory budget (`budget`); otherwise it is streamed past — hashed for the
//! blocklist, searched for Go build info — and the report says it was not analysed, and why.
// Without the YARA engine (fuzzing builds) the rule-matching half is compiled out and its
// helpers go unused.
#![cfg_attr(
    not(feature = "yara"),
    allow(dead_code, unused_variables, clippy::ptr_arg)
)]
use std::collections::HashMap;
use std::io::{self, Read};
#[cfg(feature = "yara")]
use std::path::Path;
use std::sync::Arc;
#[cfg(feature = "yara")]
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::budget::{MemoryBudget, Wait};
use crate::catalog;
use crate::catalog::binary::GoBuildInfoStream;
use crate::error::{Result, ScanError};
use crate::fs::{Derived, FileEntry, MalwareHit};
use crate::generic_secret;
use crate::model::Severity;
use crate::options::{Limits, ScanOptions};
use crate::secret_text::{line_of, mask};

pub const BUILTIN_RULES: &str = include_str!("../rules/builtin.yar");
/// Secret rules, namespace `secrets`: their matches are baseline findings, not malware.
pub const SECRET_RULES: &str = include_str!("../rules/secrets.yar");
#[cfg(feature = "yara")]
const SECRETS_NS: &str = "secrets";

/// SHA-256 of known-bad files shipped with berth: the EICAR test file and ClamAV's test file
/// `clam.exe` (544 bytes; the hash ClamAV's own test suite uses in `clam.hsb`).
const BUILTIN_BLOCKLIST: &[(&str, &str)] = &[
    (
        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
        "EICAR anti-malware test file",
    ),
    (
        "71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495",
        "ClamAV test file (clam.exe)",
    ),
];

/// Members of one zip or jar searched for malware, and the bytes they may inflate to in all:
/// an archive of a million entries, or of small entries that inflate to gigabytes, is searched
/// up to these bounds and the rest is reported as not searched.
const MAX_ARCHIVE_MEMBERS: usize = 10_000;
const MAX_ARCHIVE_INFLATED: u64 = 256 << 20;

/// Files larger than this are not searched for private keys.
const MAX_SECRET_SCAN: usize = 1 << 20;

pub struct Analyzer {
    #[cfg(feature = "yara")]
    rules: Option<yara_x::Rules>,
    /// Report malware rule matches (the rules may be compiled for the secret rules alone).
    malware: bool,
    blocklist: HashMap<[u8; 32], String>,
    pub limits: Limits,
}

/// A per-thread YARA scanner (yara-x scanners are not shared between threads).
pub struct FileScanner<'r> {
    #[cfg(feature = "yara")]
    yara: Option<yara_x::Scanner<'r>>,
    #[cfg(not(feature = "yara"))]
    yara: Option<std::marker::PhantomData<&'r ()>>,
    /// Keep lockfiles and manifests for the declared-package catalogers: only in `dir:` scans
    /// (an image scan reports what is installed and does not hold them).
    pub keep_declared: bool,
}

impl Analyzer {
    pub fn new(opts: &ScanOptions) -> Result<Analyzer> {
        // One YARA pass serves both: the malware rules and, for the baseline checks, the
        // secret rules (a second pass over every file would cost as much again).
        #[cfg(feature = "yara")]
        let rules = if opts.malware || opts.baseline {
            Some(compile_rule_set(
                opts.malware,
                opts.baseline,
                if opts.malware {
                    &opts.yara_rule_dirs
                } else {
                    &[]
                },
            )?)
        } else {
            None
        };
        let mut blocklist = HashMap::new();
        if opts.malware {
            for (hex, why) in BUILTIN_BLOCKLIST {
                if let Some(k) = parse_sha256(hex) {
                    blocklist.insert(k, (*why).to_string());
                }
            }
            for (hex, why) in &opts.blocklist_entries {
                if let Some(k) = parse_sha256(hex) {
                    blocklist.entry(k).or_insert_with(|| why.clone());
                }
            }
            for file in &opts.blocklists {
                let text =
                    std::fs::read_to_string(file).map_err(|e| ScanError::io(file.display(), e))?;
                for (n, line) in text.lines().enumerate() {
                    let line = line.split('#').next().unwrap_or("").trim();
                    if line.is_empty() {
                        continue;
                    }
                    let (hex, why) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
                    let key = parse_sha256(hex).ok_or_else(|| {
                        ScanError::Rules(format!(
                            "{}:{}: not a SHA-256 hex digest: {hex:?}",
                            file.display(),
                            n + 1
                        ))
                    })?;
                    let why = if why.trim().is_empty() {
                        "blocklisted file"
                    } else {
                        why.trim()
                    };
                    blocklist.insert(key, why.to_string());
                }
            }
        }
        Ok(Analyzer {
            #[cfg(feature = "yara")]
            rules,
            blocklist,
            malware: opts.malware,
            limits: opts.limits.clone(),
        })
    }

    pub fn file_scanner(&self) -> FileScanner<'_> {
        FileScanner {
            #[cfg(feature = "yara")]
            yara: self.rules.as_ref().map(|r| {
                let mut s = yara_x::Scanner::new(r);
                s.set_timeout(Duration::from_secs(10));
                s
            }),
            #[cfg(not(feature = "yara"))]
            yara: None,
            keep_declared: false,
        }
    }

    /// Reads one file's content from a stream (a tar entry or a file) and analyses it. The
    /// content is read into memory only within the per-file limit and once its size is reserved
    /// in `budget` (kept files stay reserved for the rest of the scan); otherwise the file is
    /// streamed past (see [`Analyzer::stream_past`]).
    pub fn analyze_stream(
        &self,
        reader: &mut dyn Read,
        fe: &mut FileEntry,
        scanner: &mut FileScanner<'_>,
        limits: &Limits,
        budget: &MemoryBudget,
    ) -> io::Result<()> {
        let keep = catalog::keep_content(&fe.path, scanner.keep_declared);
        let (cap, cap_name) = if catalog::is_package_db(&fe.path) {
            (limits.max_package_db_size, "max_package_db_size")
        } else {
            (limits.max_buffered_file_size, "max_buffered_file_size")
        };
        if fe.size > cap {
            let why = format!("over the limit of {cap} bytes per file ({cap_name})");
            return self.stream_past(reader, fe, &why);
        }
        // This thread holds no other reservation here, so it may wait for other threads'.
        let Some(held) = budget.reserve(fe.size, Wait::WhileOthersAnalyse) else {
            let why = format!(
                "no room left in the scan's memory budget of {} bytes (max_buffered_bytes)",
                budget.limit()
            );
            return self.stream_past(reader, fe, &why);
        };
        // Declared after `held`, so dropped before it: the bytes are freed, then released.
        let mut buf = Vec::with_capacity(usize::try_from(fe.size).unwrap_or(0));
        reader.take(fe.size).read_to_end(&mut buf)?;
        if (buf.len() as u64) < fe.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated file",
            ));
        }
        let d = self.analyze_bytes(&fe.path, &buf, scanner, 0, budget);
        if !d.is_empty() {
            fe.derived = Some(Arc::new(d));
        }
        if keep {
            held.keep();
            fe.content = Some(Arc::new(buf));
        }
        Ok(())
    }

    /// Reads a file that is not held in memory as it streams past: its SHA-256 (blocklist) and
    /// Go build info are still found; YARA, Java archives, cargo-auditable data, private keys
    /// and the catalogers need the whole content, so the file gets a warning naming it, its
    /// size and `why` it was not analysed.
    fn stream_past(&self, reader: &mut dyn Read, fe: &mut FileEntry, why: &str) -> io::Result<()> {
        let mut h = Sha256::new();
        let mut go = GoBuildInfoStream::new();
        let mut buf = vec![0u8; 64 << 10];
        let mut left = fe.size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = reader.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated file",
                ));
            }
            h.update(&buf[..n]);
            go.feed(&buf[..n]);
            left -= n as u64;
        }
        let sum: [u8; 32] = h.finalize().into();
        let mut d = Derived::default();
        self.check_blocklist(&sum, &mut d);
        if !d.malware.is_empty() {
            d.sha256 = Some(sum);
        }
        let mut checked = "its SHA-256 (blocklist)";
        match go.finish() {
            Ok(Some(info)) => {
                d.packages.extend(catalog::binary::go_packages(&info));
                checked = "its SHA-256 (blocklist) and Go build info";
            }
            Ok(None) => {}
            Err(e) => d.warnings.push(format!("{}: {e}", fe.path)),
        }
        d.warnings.push(format!(
            "file {} ({} bytes) was not analysed: {why}; only {checked} were checked",
            fe.path, fe.size
        ));
        fe.derived = Some(Arc::new(d));
        Ok(())
    }

    fn check_blocklist(&self, sum: &[u8; 32], d: &mut Derived) {
        if let Some(why) = self.blocklist.get(sum) {
            d.malware.push(MalwareHit {
                rule: "sha256-blocklist".into(),
                severity: Severity::Critical,
                description: why.clone(),
                member: None,
                member_sha256: None,
            });
        }
    }

    /// Blocklist and YARA hits on one piece of content.
    /// Blocklist and YARA hits on one piece of content; matches of the secret rules go to
    /// `secrets`.
    fn malware_hits(
        &self,
        path: &str,
        data: &[u8],
        scanner: &mut FileScanner<'_>,
        warnings: &mut Vec<String>,
        secrets: &mut Vec<String>,
    ) -> (Vec<MalwareHit>, Option<[u8; 32]>) {
        let mut d = Derived::default();
        let mut sum = None;
        // YARA first: its rule names the malware; the blocklist only knows the hash.
        #[cfg(feature = "yara")]
        if let Some(s) = scanner.yara.as_mut() {
            match s.scan(data) {
                Ok(results) => {
                    // The generic assignment rule runs last, skipping what a specific rule
                    // found (`token: ghp_...` is a GitHub token, not also a generic secret).
                    let mut generic = None;
                    let mut spans = Vec::new();
                    for rule in results.matching_rules() {
                        if rule.namespace() == SECRETS_NS {
                            if secret_path_allowed(path) {
                                continue;
                            }
                            if rule.identifier() == generic_secret::RULE {
                                generic = Some(rule);
                            } else {
                                secret_hits(&rule, data, &mut d.secrets, &mut spans);
                            }
                            continue;
                        }
                        if !self.malware {
                            continue;
                        }
                        let mut severity = Severity::High;
                        let mut description = String::new();
                        for (key, value) in rule.metadata() {
                            match (key, value) {
                                ("severity", yara_x::MetaValue::String(v)) => {
                                    severity = Severity::parse(v).unwrap_or(Severity::High)
                                }
                                ("description", yara_x::MetaValue::String(v)) => {
                                    description = v.to_string()
                                }
                                _ => {}
                            }
                        }
                        d.malware.push(MalwareHit {
                            rule: format!("yara:{}.{}", rule.namespace(), rule.identifier()),
                            severity,
                            description,
                            member: None,
                            member_sha256: None,
                        });
                    }
                    if let Some(rule) = generic {
                        generic_secret::hits(&rule, path, data, &spans, &mut d.secrets);
                    }
                }
                Err(e) => warnings.push(format!("{path}: YARA scan failed: {e}")),
            }
        }
        if !self.blocklist.is_empty() {
            let s: [u8; 32] = Sha256::digest(data).into();
            self.check_blocklist(&s, &mut d);
            sum = Some(s);
        }
        if !d.malware.is_empty() && sum.is_none() {
            sum = Some(Sha256::digest(data).into());
        }
        secrets.append(&mut d.secrets);
        (d.malware, sum)
    }

    /// Searches the members of a zip or jar (and zips nested in it, up to
    /// `max_nesting_depth`) for malware: ClamAV's `clam.zip` holds `clam.exe`. Bounded: each
    /// member within the per-file limit and reserved in the memory budget (never waiting: the
    /// caller holds the archive's reservation), at most `MAX_ARCHIVE_MEMBERS` members and
    /// `MAX_ARCHIVE_INFLATED` bytes per archive; what is left out is said in a warning. In a
    /// Java archive, classes and nested archives are left to the Java cataloger (searching
    /// every class of every jar would double the cost of Java images for rules that target
    /// scripts and executables).
    #[allow(clippy::too_many_arguments)]
    fn scan_archive_members(
        &self,
        path: &str,
        prefix: &str,
        data: &[u8],
        scanner: &mut FileScanner<'_>,
        depth: usize,
        budget: &MemoryBudget,
        inflated: &mut u64,
        d: &mut Derived,
    ) {
        if depth > self.limits.max_nesting_depth {
            d.warnings.push(format!(
                "{path}: {prefix}archive nested deeper than {} levels was not searched for malware",
                self.limits.max_nesting_depth
            ));
            return;
        }
        let Ok(mut zip) = zip::ZipArchive::new(io::Cursor::new(data)) else {
            return;
        };
        let java = catalog::java::has_java_ext(path) && prefix.is_empty();
        let cap = self.limits.max_buffered_file_size;
        let mut skipped = 0usize;
        for i in 0..zip.len() {
            if i >= MAX_ARCHIVE_MEMBERS {
                skipped += zip.len() - i;
                break;
            }
            let Ok(mut f) = zip.by_index(i) else {
                skipped += 1;
                continue;
            };
            let name = catalog::java::entry_name(&f);
            if f.is_dir()
                || (java && (name.ends_with(".class") || catalog::java::has_java_ext(&name)))
            {
                continue;
            }
            let size = f.size();
            if size > cap || *inflated + size > MAX_ARCHIVE_INFLATED {
                skipped += 1;
                continue;
            }
            let Some(_held) = budget.reserve(size, Wait::No) else {
                skipped += 1;
                continue;
            };
            let member = match catalog::java::read_entry(&mut f, size) {
                Ok(b) => b,
                Err(e) => {
                    d.warnings.push(format!("{path}: {prefix}{e}"));
                    skipped += 1;
                    continue;
                }
            };
            drop(f);
            *inflated += member.len() as u64;
            // Secrets in archive members are not reported (a jar's bundled test resources).
            let (hits, sum) =
                self.malware_hits(path, &member, scanner, &mut d.warnings, &mut Vec::new());
            for mut h in hits {
                h.member = Some(format!("{prefix}{name}"));
                h.member_sha256 = sum;
                d.malware.push(h);
            }
            if member.starts_with(b"PK\x03\x04") {
                self.scan_archive_members(
                    path,
                    &format!("{prefix}{name}!"),
                    &member,
                    scanner,
                    depth + 1,
                    budget,
                    inflated,
                    d,
                );
            }
        }
        if skipped > 0 {
            d.warnings.push(format!(
                "{path}: {skipped} {prefix}archive members were not searched for malware (over the per-file limit, the archive's {MAX_ARCHIVE_MEMBERS} members or {MAX_ARCHIVE_INFLATED} inflated bytes, the memory budget, or unreadable)"
            ));
        }
    }

    /// Analyses a whole file held in memory. `depth` is the archive nesting depth; archives
    /// nested in it are read within `budget`.
    pub fn analyze_bytes(
        &self,
        path: &str,
        data: &[u8],
        scanner: &mut FileScanner<'_>,
        depth: usize,
        budget: &MemoryBudget,
    ) -> Derived {
        let mut d = Derived::default();
        let mut secrets = Vec::new();
        let (hits, sum) = self.malware_hits(path, data, scanner, &mut d.warnings, &mut secrets);
        d.tokens = secrets;
        if !hits.is_empty() {
            d.sha256 = sum;
        }
        d.malware = hits;
        // Zip and jar members, when there are rules to search them with.
        if data.starts_with(b"PK\x03\x04") && (scanner.yara.is_some() || !self.blocklist.is_empty())
        {
            let mut inflated = 0;
            self.scan_archive_members(
                path,
                "",
                data,
                scanner,
                depth,
                budget,
                &mut inflated,
                &mut d,
            );
        }
        if catalog::binary::is_executable(data) {
            match catalog::binary::packages(data) {
                Ok(p) => d.packages.extend(p),
                Err(e) => d.warnings.push(format!("{path}: {e}")),
            }
        } else if catalog::java::is_java_archive(path, data) {
            match catalog::java::packages(path, data, depth, &self.limits, budget, &mut d.warnings)
            {
                Ok(p) => d.packages.extend(p),
                Err(e) => d.warnings.push(format!("{path}: {e}")),
            }
        } else if data.len() <= MAX_SECRET_SCAN && !secret_path_allowed(path) {
            d.secrets.extend(find_private_keys(data));
        }
        d
    }
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let v = hex::decode(hex.trim()).ok()?;
    v.try_into().ok()
}

/// Paths whose secret-shaped strings are not leaked secrets, as in Trivy's and gitleaks'
/// default allow-lists: installed library source (a string constant `-----BEGIN OPENSSH
/// PRIVATE KEY-----` in `cryptography/hazmat/primitives/serialization/ssh.py` is a parser's, not
/// a key), documentation, and test fixtures and examples.
pub fn secret_path_allowed(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "/site-packages/",
        "/dist-packages/",
        "/node_modules/",
        "/vendor/",
        "/gems/",
        "/usr/share/doc/",
        "/usr/share/man/",
        "/usr/lib/go/",
        "/usr/local/go/",
        "/go/pkg/mod/",
        "/.cargo/registry/",
        "/test/",
        "/tests/",
        "/testdata/",
        "/fixtures/",
        "/spec/",
        "/examples/",
        "/example/",
    ];
    let base = path.rsplit('/').next().unwrap_or(path);
    DIRS.iter().any(|d| path.contains(d))
        || base.ends_with("_test.go")
        || base.starts_with("test_")
        || base.ends_with(".md")
}

/// Values that are documented examples, never real credentials (AWS's documentation keys and
/// anything marked as an example or placeholder).
fn secret_value_allowed(value: &str) -> bool {
    let v = value.to_ascii_uppercase();
    v.contains("EXAMPLE") || v.contains("XXXXXXXX") || v.contains("DUMMY") || v.contains("FAKE")
}

/// The secrets a secret rule matched in `data`, each as "KIND VALUE (line N)" with the value
/// masked: the report must not become the leak. The rule found a prefix; the credential's
/// shape after it is checked here (`secret_at`).
#[cfg(feature = "yara")]
fn secret_hits(
    rule: &yara_x::Rule<'_, '_>,
    data: &[u8],
    out: &mut Vec<String>,
    spans: &mut Vec<std::ops::Range<usize>>,
) {
    let mut kind = rule.identifier().to_string();
    for (key, value) in rule.metadata() {
        if let ("description", yara_x::MetaValue::String(v)) = (key, value) {
            kind = v.to_string();
        }
    }
    for p in rule.patterns() {
        for m in p.matches() {
            let start = m.range().start;
            let Some(value) = secret_at(rule.identifier(), data, start, m.range().end) else {
                continue;
            };
            let span = value.as_ptr() as usize - data.as_ptr() as usize;
            spans.push(span..span + value.len());
            let value = String::from_utf8_lossy(value).into_owned();
            if secret_value_allowed(&value) {
                continue;
            }
            let line = line_of(data, start);
            let hit = format!("{kind} {} (line {line})", mask(&value));
            if !out.contains(&hit) {
                out.push(hit);
            }
        }
    }
}

/// The credential whose prefix the rule `rule` found at `start..end`, if the bytes around it
/// have the credential's documented shape.
fn secret_at<'d>(rule: &str, data: &'d [u8], start: usize, end: usize) -> Option<&'d [u8]> {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    // `n` bytes from `from` that satisfy `ok`, with no further such byte after them.
    let run = |from: usize, ok: &dyn Fn(u8) -> bool| -> usize {
        data.get(from..)
            .map_or(0, |rest| rest.iter().take_while(|&&b| ok(b)).count())
    };
    let word_start = start == 0 || !data.get(start - 1).copied().is_some_and(alnum);
    let prefix = data.get(start..end)?;
    match rule {
        "AWS_Access_Key_ID" => {
            let n = run(end, &|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            (word_start && n == 16 && !data.get(end + n).copied().is_some_and(alnum))
                .then(|| &data[start..end + 16])
        }
        "AWS_Secret_Access_Key" => {
            // key["']? [:=] ["']? value: at most a few spaces and quotes around the sign.
            let mut i = end;
            let skip = |i: &mut usize, set: &[u8], max: usize| {
                let mut k = 0;
                while k < max && data.get(*i).is_some_and(|b| set.contains(b)) {
                    *i += 1;
                    k += 1;
                }
            };
            skip(&mut i, b"\"'", 1);
            skip(&mut i, b" \t", 4);
            if !matches!(data.get(i), Some(b'=' | b':')) {
                return None;
            }
            i += 1;
            skip(&mut i, b" \t", 4);
            skip(&mut i, b"\"'", 1);
            let ok = |b: u8| alnum(b) || b == b'/' || b == b'+';
            let n = run(i, &ok);
            (n == 40).then(|| &data[i..i + 40])
        }
        "GitHub_Token" => {
            let (ok, len): (&dyn Fn(u8) -> bool, usize) = if prefix == b"github_pat_" {
                (&|b: u8| alnum(b) || b == b'_', 82)
            } else {
                (&alnum, 36)
            };
            (word_start && run(end, ok) == len).then(|| &data[start..end + len])
        }
        "GitLab_Token" => {
            let n = run(end, &|b| alnum(b) || b == b'_' || b == b'-');
            (word_start && n == 20).then(|| &data[start..end + 20])
        }
        "Slack_Token" => {
            if prefix == b"hooks.slack.com/services/" {
                // T<team>/B<bot>/<24-character secret>
                let mut i = end;
                for (lead, lo, hi) in [(b'T', 8, 12), (b'B', 8, 12)] {
                    if data.get(i) != Some(&lead) {
                        return None;
                    }
                    let n = run(i + 1, &|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                    if !(lo..=hi).contains(&n) || data.get(i + 1 + n) != Some(&b'/') {
                        return None;
                    }
                    i += n + 2;
                }
                (run(i, &alnum) == 24).then(|| &data[start..i + 24])
            } else {
                // xoxb-<digits>-<digits>-<token>, as Slack issues them.
                let n = run(end, &|b| alnum(b) || b == b'-');
                let body = data.get(end..end + n)?;
                let groups = body.split(|&b| b == b'-').filter(|g| !g.is_empty()).count();
                let digits_first = body.first().is_some_and(u8::is_ascii_digit);
                (word_start && n >= 20 && groups >= 3 && digits_first)
                    .then(|| &data[start..end + n])
            }
        }
        _ => None,
    }
}

/// Compiles the built-in rules (namespace `berth`) and every `*.yar`/`*.yara` file of the user's
/// directories (namespace = file stem).
#[cfg(feature = "yara")]
pub fn compile_rules(dirs: &[std::path::PathBuf]) -> Result<yara_x::Rules> {
    compile_rule_set(true, false, dirs)
}

/// The malware rules (built-in and `dirs`) and/or the secret rules (namespace `secrets`).
#[cfg(feature = "yara")]
pub fn compile_rule_set(
    malware: bool,
    secrets: bool,
    dirs: &[std::path::PathBuf],
) -> Result<yara_x::Rules> {
    let mut compiler = yara_x::Compiler::new();
    if secrets {
        compiler.new_namespace(SECRETS_NS);
        compiler
            .add_source(SECRET_RULES)
            .map_err(|e| ScanError::Rules(format!("secret rules: {e}")))?;
    }
    if malware {
        compiler.new_namespace("berth");
        compiler
            .add_source(BUILTIN_RULES)
            .map_err(|e| ScanError::Rules(format!("built-in rules: {e}")))?;
    }
    for dir in dirs {
        let mut files: Vec<std::path::PathBuf> = if dir.is_file() {
            vec![dir.clone()]
        } else {
            std::fs::read_dir(dir)
                .map_err(|e| ScanError::io(dir.display(), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yar" | "yara")))
                .collect()
        };
        files.sort();
        for f in files {
            let src = std::fs::read_to_string(&f).map_err(|e| ScanError::io(f.display(), e))?;
            let ns = Path::new(&f)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("user")
                .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
            // `secrets` is the secret rules' namespace: a user's file of that name is malware.
            let ns = if ns == SECRETS_NS {
                format!("user_{ns}")
            } else {
                ns
            };
            compiler.new_namespace(&ns);
            compiler
                .add_source(src.as_str())
                .map_err(|e| ScanError::Rules(format!("{}: {e}", f.display())))?;
        }
    }
    Ok(compiler.build())
}

/// Whether a PEM body follows a `-----BEGIN ... PRIVATE KEY-----` line: a line break, then a
/// line of at least 16 base64 characters (or an RFC 1421 header such as `Proc-Type:`). Source
/// code that names the marker as a string constant (`b"-----BEGIN OPENSSH PRIVATE KEY-----"`
/// in a key parser) has a quote or a `\n` escape there instead: a parser, not a key.
fn has_pem_body(after: &[u8]) -> bool {
    let after = after.strip_prefix(b"\r").unwrap_or(after);
    let Some(body) = after.strip_prefix(b"\n") else {
        return false;
    };
    let line = body.split(|&b| b == b'\n').next().unwrap_or(body);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let b64 = line
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .count();
    (b64 >= 16 && b64 == line.len()) || line.starts_with(b"Proc-Type:")
}

/// Finds PEM private keys. Returns the kind of each key found (e.g. "RSA PRIVATE KEY").
pub fn find_private_keys(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let finder = memchr::memmem::Finder::new(b"-----BEGIN ");
    for pos in finder.find_iter(data) {
        let rest = &data[pos + 11..];
        let end = rest.iter().take(64).position(|&b| b == b'-').unwrap_or(0);
        let label = &rest[..end];
        if label.ends_with(b"PRIVATE KEY")
            && rest[end..].starts_with(b"-----")
            && has_pem_body(&rest[end + 5..])
        {
            let label = String::from_utf8_lossy(label).into_owned();
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile_and_match_eicar() {
        let rules = compile_rules(&[]).unwrap();
        let mut s = yara_x::Scanner::new(&rules);
        let eicar = [
            "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
            "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
        ]
        .concat();
        let r = s.scan(eicar.as_bytes()).unwrap();
        let names: Vec<_> = r
            .matching_rules()
            .map(|r| r.identifier().to_string())
            .collect();
        assert_eq!(names, ["EICAR_Test_File"]);
        let r = s.scan(b"hello world").unwrap();
        assert_eq!(r.matching_rules().count(), 0);
        assert_eq!(
            hex::encode(Sha256::digest(eicar.as_bytes())),
            BUILTIN_BLOCKLIST[0].0
        );
    }

    #[test]
    fn secret_shapes_are_checked_after_the_prefix() {
        let at = |rule: &str, text: &str, prefix: &str| {
            let start = text.find(prefix).unwrap();
            super::secret_at(rule, text.as_bytes(), start, start + prefix.len())
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        // Time zones, words and too-short or too-long runs are not keys.
        assert_eq!(at("AWS_Access_Key_ID", "TZ=ASIA/Tokyo", "ASIA"), None);
        assert_eq!(
            at("AWS_Access_Key_ID", "xAKIAABCDEFGHIJKLMNOP", "AKIA"),
            None
        );
        assert_eq!(
            at("AWS_Access_Key_ID", "AKIAABCDEFGHIJKLMNOPQ", "AKIA"),
            None
        );
        assert_eq!(
            at("AWS_Access_Key_ID", "id=AKIAABCDEFGHIJKLMNOP;", "AKIA").as_deref(),
            Some("AKIAABCDEFGHIJKLMNOP")
        );
        assert_eq!(
            at(
                "AWS_Secret_Access_Key",
                "AWS_SECRET_ACCESS_KEY: \"aaaa\"",
                "AWS_SECRET_ACCESS_KEY"
            ),
            None
        );
        assert_eq!(at("GitHub_Token", "ghp_short", "ghp_"), None);
        assert_eq!(at("Slack_Token", "xoxb-not-a-token", "xoxb-"), None);
        assert_eq!(
            at(
                "Slack_Token",
                "https://hooks.slack.com/services/T0/B0/x",
                "hooks.slack.com/services/"
            ),
            None
        );
    }

    #[test]
    fn a_key_marker_without_a_body_is_not_a_key() {
        assert!(
            find_private_keys(b"_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"\n").is_empty()
        );
        assert!(find_private_keys(b"k = \"-----BEGIN RSA PRIVATE KEY-----\\nMIIE\"").is_empty());
        assert_eq!(
            find_private_keys(b"-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n"),
            ["RSA PRIVATE KEY"]
        );
    }

    #[test]
    fn finds_private_keys() {
        let pem =
            b"junk\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(find_private_keys(pem), ["OPENSSH PRIVATE KEY"]);
        assert!(find_private_keys(b"-----BEGIN CERTIFICATE-----\n").is_empty());
        assert!(find_private_keys(b"-----BEGIN ").is_empty());
    }
}
