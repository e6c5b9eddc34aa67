//! Generic secret assignments: `DB_PASSWORD = "k3Jx9..."`, `api_key: 7f9a...`, the shape of
//! gitleaks' `generic-api-key` rule, checked in plain code after the YARA pass found one of the
//! secret words (`baseline::SECRET_WORDS`, the same words the image ENV check uses).
//!
//! What counts, as gitleaks decides it: an identifier holding a secret word, an assignment
//! operator (`=`, `:`, `:=`, `=>`, `?=`; never `==`), and a value of 10 to 150 characters of
//! `[A-Za-z0-9_.=+/-]`, quoted or ending at a space, `;` or `,`, whose Shannon entropy is at
//! least 3.5 bits per character and which holds a digit (gitleaks' extra check for its generic
//! rules: words and identifiers rarely do, keys nearly always). Narrower than gitleaks on
//! purpose: an image holds a whole OS of text, so the bare words `key`, `auth`, `access` and
//! `api`, which gitleaks also takes, are not secret words here.
//!
//! What never counts (allow-lists): values that are references rather than literals (a call, a
//! path, `${VAR}`, `%(x)s`, `{{ x }}`: the character set or the terminator refuses them),
//! placeholders and documentation values (`changeme`, `example`, `your_…`, `xxxx`, `<…>`,
//! a value holding a secret word itself), source-code constants and functions assigned to a
//! field (`SCREAMING_SNAKE`/`snake_case` values), credential scopes and paths (three or more
//! `/`), test and benchmark trees by any name (`aws-signing-test-suite/`, `benches/`),
//! identifiers that name where a secret is rather than the secret (`*_FILE`, `*_PATH`,
//! `*_NAME`, ...), files that are not text, and — beyond the allow-list every secret rule
//! shares (`analyze::secret_path_allowed`: library source, tests, fixtures, docs) — what
//! Trivy's `usr-dirs` and `locale-dir` allow rules leave out: `/usr/share`, `/usr/include`,
//! `/usr/lib` (the OS's own files, installed by its packages) and locale catalogues, plus
//! example/template copies of configuration (`.env.example`, `*.sample`, `*.template`,
//! `*.dist`).
use std::ops::Range;

/// Bits per character a value needs (gitleaks' `generic-api-key` uses 3.5).
pub const MIN_ENTROPY: f64 = 3.5;
/// At most this many generic assignments are listed per file: a generated file of thousands
/// must not swamp the report.
pub const MAX_PER_FILE: usize = 20;
const MIN_LEN: usize = 10;
const MAX_LEN: usize = 150;
/// How far an identifier may extend before and after its secret word (gitleaks: 50 and 20).
const MAX_BEFORE: usize = 50;
const MAX_AFTER: usize = 20;

/// Words that make a value a placeholder or a documentation value, lower case.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "fake",
    "placeholder",
    "changeme",
    "change_me",
    "changeit",
    "your_",
    "your-",
    "yourkey",
    "xxxx",
    "****",
    "redacted",
    "replace",
    "insert",
    "todo",
    "secret",
    "password",
    "passwd",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
    "auth_key",
    "test",
    "mock",
    "default",
    "null",
    "undefined",
    "localhost",
];

/// Identifier endings that name where a secret is kept, or something about it, not the
/// secret (`baseline::NOT_SECRET_SUFFIXES` plus a few common in source and config).
const NOT_SECRET_ENDINGS: &[&str] = &[
    "_file",
    "_path",
    "_dir",
    "_url",
    "_uri",
    "_host",
    "_port",
    "_user",
    "_username",
    "_name",
    "_length",
    "_len",
    "_size",
    "_ttl",
    "_expiry",
    "_timeout",
    "_type",
    "_field",
    "_header",
    "_param",
    "_env",
    "_var",
    "_id",
    "_endpoint",
    "_count",
    "_hash",
    "_version",
];

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn value_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'=' | b'+' | b'/' | b'-')
}

/// Whether the content looks like text: no NUL byte in its first 8 KiB (what git and grep
/// use). Binaries hold secret words in symbol tables and strings, never assignments.
pub fn is_text(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(8192)]).is_none()
}

/// Paths the generic rule leaves alone, beyond `analyze::secret_path_allowed`.
pub fn path_allowed(path: &str) -> bool {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let base = base.to_ascii_lowercase();
    // Test and benchmark trees by any name (`aws-signing-test-suite/`, `integration_tests/`,
    // `benches/`): their tokens are fixtures.
    let test_dir = dir.split('/').any(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("test") || c.contains("bench")
    });
    test_dir
        || path.starts_with("/usr/share/")
        || path.starts_with("/usr/include/")
        || path.starts_with("/usr/lib/")
        || path.contains("/locale/")
        || [
            ".example",
            ".sample",
            ".template",
            ".tmpl",
            ".dist",
            ".po",
            ".pot",
            ".rst",
        ]
        .iter()
        .any(|s| base.ends_with(s))
        || base.contains(".example.")
        || base.contains(".sample.")
}

/// Shannon entropy of `v` in bits per byte.
pub fn entropy(v: &[u8]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in v {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a candidate value is a secret-shaped literal: long enough, high entropy, a digit,
/// no placeholder word, not a path.
pub fn value_is_secret(v: &[u8]) -> bool {
    if !(MIN_LEN..=MAX_LEN).contains(&v.len())
        || !v.iter().any(u8::is_ascii_digit)
        || v.starts_with(b"/")
        || v.starts_with(b".")
        || entropy(v) < MIN_ENTROPY
    {
        return false;
    }
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    !PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
        && !is_code_identifier(v)
        // A credential scope or a path (`AKID/20150830/us-east-1/s3/aws4_request`), not a key.
        && v.iter().filter(|&&b| b == b'/').count() < 3
}

/// `SCREAMING_SNAKE` or `snake_case` with digits (`IKEEXT_CERTIFICATE_CREDENTIAL0`,
/// `x25519_check_private_key_bytes`): a constant or function assigned in source code, not a
/// secret. Random keys mix cases.
fn is_code_identifier(v: &[u8]) -> bool {
    v.contains(&b'_')
        && (v
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            || v.iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
}

/// The assignment around a secret word found at `word`: the identifier's range and the
/// value's, if the bytes have the shape described in the module doc.
pub fn assignment_at(data: &[u8], word: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    // The identifier: the word, extended over identifier bytes on both sides, bounded.
    let mut start = word.start;
    while start > 0 && word.start - start < MAX_BEFORE && ident_byte(data[start - 1]) {
        start -= 1;
    }
    if start > 0 && ident_byte(data[start - 1]) {
        return None;
    }
    let mut end = word.end;
    while end < data.len() && end - word.end < MAX_AFTER && ident_byte(data[end]) {
        end += 1;
    }
    if data.get(end).copied().is_some_and(ident_byte) {
        return None;
    }
    let ident = data.get(start..end)?;
    let lower = String::from_utf8_lossy(ident).to_ascii_lowercase();
    let lower = lower.trim_end_matches(['.', '-', '_']);
    if NOT_SECRET_ENDINGS.iter().any(|s| lower.ends_with(s)) {
        return None;
    }
    // A closing quote of a quoted key, a few blanks, the operator, blanks and an opening quote.
    let at = |i: usize| data.get(i).copied();
    let mut i = end;
    if matches!(at(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    let blanks = |i: &mut usize, max: usize| {
        let mut k = 0;
        while k < max && matches!(at(*i), Some(b' ' | b'\t')) {
            *i += 1;
            k += 1;
        }
    };
    blanks(&mut i, 3);
    match (at(i), at(i + 1)) {
        (Some(b'='), Some(b'>')) | (Some(b':' | b'?'), Some(b'=')) => i += 2,
        (Some(b'='), Some(b'=')) => return None,
        (Some(b'=' | b':'), _) => i += 1,
        _ => return None,
    }
    blanks(&mut i, 5);
    let quote = match at(i) {
        Some(q @ (b'"' | b'\'' | b'`')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    let v_start = i;
    while i < data.len() && i - v_start <= MAX_LEN && value_byte(data[i]) {
        i += 1;
    }
    let value = v_start..i;
    // The value must end where a literal ends: its closing quote, or (unquoted) a blank, `;`,
    // `,`, `#` or the end of the line/file. `token = make_token(...)` ends at `(`: a call.
    let ok_end = match (quote, at(i)) {
        (Some(q), Some(c)) => c == q,
        (Some(_), None) => false,
        (None, None) => true,
        (None, Some(c)) => matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b',' | b'#'),
    };
    (ok_end && value_is_secret(&data[value.clone()])).then_some((start..end, value))
}

/// The YARA rule (in `rules/secrets.yar`) that finds the secret words.
pub const RULE: &str = "Generic_Secret";

/// The generic secret assignments around the secret words `rule` matched in `data`, each as
/// "Generic secret NAME VALUE (line N)" with the value masked, skipping values inside `spans`
/// (found by a specific rule) and files the generic rule leaves alone.
#[cfg(feature = "yara")]
pub fn hits(
    rule: &yara_x::Rule<'_, '_>,
    path: &str,
    data: &[u8],
    spans: &[Range<usize>],
    out: &mut Vec<String>,
) {
    if path_allowed(path) || !is_text(data) {
        return;
    }
    let mut found: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for p in rule.patterns() {
        for m in p.matches() {
            let Some((name, value)) = assignment_at(data, m.range()) else {
                continue;
            };
            let overlaps = |r: &Range<usize>| r.start < value.end && value.start < r.end;
            // One identifier can hold two words (`secret_token`): one hit per assignment.
            if spans.iter().any(overlaps) || found.iter().any(|(_, v)| overlaps(v)) {
                continue;
            }
            found.push((name, value));
        }
    }
    found.sort_by_key(|(n, _)| n.start);
    let listed = found.len().min(MAX_PER_FILE);
    for (name, value) in &found[..listed] {
        out.push(format!(
            "Generic secret {} {} (line {})",
            String::from_utf8_lossy(&data[name.clone()]),
            // Base64 padding would leave the mask nothing to show.
            crate::secret_text::mask(
                String::from_utf8_lossy(&data[value.clone()]).trim_end_matches('=')
            ),
            crate::secret_text::line_of(data, name.start)
        ));
    }
    if found.len() > listed {
        out.push(format!(
            "Generic secret: {} more assignments not listed",
            found.len() - listed
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, word: &str) -> Option<(String, String)> {
        let lower = text.to_ascii_lowercase();
        let s = lower.find(word)?;
        let (n, v) = assignment_at(text.as_bytes(), s..s + word.len())?;
        Some((text[n].to_string(), text[v].to_string()))
    }

    #[test]
    fn assignments_in_the_usual_syntaxes() {
        let v = "k3Jx9QzT2mWv8Lp4";
        for (text, word, name) in [
            (format!("DB_PASSWORD={v}\n"), "password", "DB_PASSWORD"),
            (format!("db_password = \"{v}\""), "password", "db_password"),
            (format!("  api_key: '{v}'"), "api_key", "api_key"),
            (
                format!("{{\"client_secret\": \"{v}\"}}"),
                "secret",
                "client_secret",
            ),
            (format!("$token := \"{v}\""), "token", "token"),
            (format!("'auth_token' => '{v}',"), "token", "auth_token"),
            (format!("export GH_TOKEN={v}; run"), "token", "GH_TOKEN"),
        ] {
            assert_eq!(
                find(&text, word),
                Some((name.to_string(), v.to_string())),
                "{text}"
            );
        }
    }

    #[test]
    fn references_placeholders_and_low_entropy_are_not_secrets() {
        for (text, word) in [
            ("if password == \"k3Jx9QzT2mWv8Lp4\":", "password"),
            ("token = make_token(k3Jx9QzT2mWv8Lp4)", "token"),
            ("password = os.environ[\"DB_PASSWORD\"]", "password"),
            ("DB_PASSWORD=${DB_PASSWORD}", "password"),
            ("DB_PASSWORD_FILE=/run/secrets/db9", "password"),
            ("secret: /etc/app/k3Jx9QzT2mWv8Lp4", "secret"),
            ("password = \"changeme123456\"", "password"),
            ("api_key: \"your_api_key_here_123\"", "api_key"),
            ("password = \"aaaaaaaaaa1\"", "password"),
            ("token_type = \"bearer_token1\"", "token"),
            ("max_tokens = 4096", "token"),
            ("secret = \"short1\"", "secret"),
            ("tokenizer = Tokenizer2Fast", "token"),
            ("password = \"12345678901\"", "password"),
            ("PASSWORD: k3Jx9QzT2mWv8Lp4(", "password"),
            // Constants and functions assigned in source, scopes and paths.
            (
                "ikeCredentials: IKEEXT_CERTIFICATE_CREDENTIAL0,",
                "credential",
            ),
            (
                "generate_private_key: x25519_generate_private_key,",
                "private_key",
            ),
            (
                "Credential=AKIDEXAMPL3/20150830/us-east-1/service/aws4_request",
                "credential",
            ),
            ("credentials: MI_UserCredentials_0,", "credential"),
        ] {
            assert_eq!(find(text, word), None, "{text}");
        }
    }

    #[test]
    fn entropy_and_text() {
        assert!(entropy(b"aaaaaaaa") < 0.01);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(entropy(b"k3Jx9QzT2mWv8Lp4") >= MIN_ENTROPY);
        assert!(is_text(b"a=1\n"));
        assert!(!is_text(b"\x7fELF\x00\x01"));
    }

    #[test]
    fn os_files_locales_and_templates_are_allowed() {
        for p in [
            "/usr/lib/python3.11/smtplib.py",
            "/usr/share/perl5/Net/SMTP.pm",
            "/app/locale/de/LC_MESSAGES/app.po",
            "/app/.env.example",
            "/app/config.sample.yml",
            "/etc/app/settings.yml.dist",
            "/src/aws-sigv4/aws-signing-test-suite/v4/context.json",
            "/src/jsonwebtoken/benches/jwt.rs",
        ] {
            assert!(path_allowed(p), "{p}");
        }
        for p in [
            "/app/.env",
            "/etc/app/settings.yml",
            "/usr/local/bin/run.sh",
        ] {
            assert!(!path_allowed(p), "{p}");
        }
    }
}
